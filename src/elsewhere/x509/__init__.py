"""X.509 for Roles Anywhere: parsing, path validation with revocation, certificate attributes.

Pure: no I/O, no clock (``now`` is a parameter). Path building and signature checks are
``cryptography``'s verifier; this package sets the Roles Anywhere policy around it.
"""

from elsewhere.x509._errors import UntrustedCertificate
from elsewhere.x509._parse import (
    parse_ca_bundle,
    parse_certificate_header,
    parse_chain_header,
    parse_crl,
)

__all__ = [
    "UntrustedCertificate",
    "parse_ca_bundle",
    "parse_certificate_header",
    "parse_chain_header",
    "parse_crl",
]
