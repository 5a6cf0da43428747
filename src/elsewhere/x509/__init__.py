"""X.509 for Roles Anywhere: parsing, path validation with revocation, certificate attributes.

Pure: no I/O, no clock (``now`` is a parameter). Path building and signature checks are
``cryptography``'s verifier; this package sets the Roles Anywhere policy around it.
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
)
from elsewhere.x509._path import PathPolicy, ValidatedPath, validate_path

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
    "source_identity",
    "validate_path",
]
