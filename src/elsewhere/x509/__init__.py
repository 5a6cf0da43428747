"""X.509 for Roles Anywhere: parsing, path validation with revocation, certificate attributes.

Pure: no I/O, no clock (``now`` is a parameter). Paths are built and checked by
``cryptography``'s verifier, and by pyhanko-certvalidator where that verifier cannot judge
(``_path``); this package states the Roles Anywhere rules once (``_rules``) and applies revocation
from imported CRLs (``_revocation``).
"""

from elsewhere.x509._attributes import (
    RDN_SHORT_NAMES,
    CertificateAttributes,
    certificate_attributes,
    default_session_name,
    format_subject_dn,
    source_identity,
)
from elsewhere.x509._errors import UntrustedCertificate
from elsewhere.x509._parse import (
    parse_ca_bundle,
    parse_certificate_header,
    parse_chain_header,
    parse_crl,
    parse_crl_signers,
)
from elsewhere.x509._path import ValidatedPath, validate_path
from elsewhere.x509._rules import PathPolicy, validate_public_key

__all__ = [
    "RDN_SHORT_NAMES",
    "CertificateAttributes",
    "PathPolicy",
    "UntrustedCertificate",
    "ValidatedPath",
    "certificate_attributes",
    "default_session_name",
    "format_subject_dn",
    "parse_ca_bundle",
    "parse_certificate_header",
    "parse_chain_header",
    "parse_crl",
    "parse_crl_signers",
    "source_identity",
    "validate_path",
    "validate_public_key",
]
