"""The development CA: root and intermediate CAs, workload certificates, CRLs, a CA directory.

Not part of the pure core (the CA store writes files), but everything that judges time takes
``now``. ``quick_chain`` makes a working chain in milliseconds for tests.
"""

from elsewhere.pki._build import (
    KEY_TYPES,
    CertifiedKey,
    KeyType,
    PrivateKey,
    Revocation,
    build_crl,
    build_intermediate_ca,
    build_root_ca,
    generate_key,
    issue_certificate,
    parse_name,
    parse_san,
)
from elsewhere.pki._legacy import hazmat_resign_with_legacy_hash
from elsewhere.pki._quick import Chain, cached_key, quick_chain
from elsewhere.pki._store import CaStore, CaStoreError, IssuedRecord, write_private_key

__all__ = [
    "KEY_TYPES",
    "CaStore",
    "CaStoreError",
    "CertifiedKey",
    "Chain",
    "IssuedRecord",
    "KeyType",
    "PrivateKey",
    "Revocation",
    "build_crl",
    "build_intermediate_ca",
    "build_root_ca",
    "cached_key",
    "generate_key",
    "hazmat_resign_with_legacy_hash",
    "issue_certificate",
    "parse_name",
    "parse_san",
    "quick_chain",
    "write_private_key",
]
