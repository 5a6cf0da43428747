"""Deliberately weak certificates, for tests of refusals only.

``cryptography`` no longer signs certificates with SHA-1 or MD5, yet a verifier must be shown to
refuse them. These helpers re-sign an RSA-signed certificate by rewriting the two
AlgorithmIdentifiers (RFC 5280 §4.1.1.2 and §4.1.2.3) in place: sha256WithRSAEncryption,
sha1WithRSAEncryption and md5WithRSAEncryption have OIDs of the same length, and an RSA PKCS#1 v1.5
signature is always the modulus length, so the DER keeps its shape.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["hazmat_resign_with_legacy_hash"]

_PREFIX = bytes.fromhex("06092a864886f70d0101")  # OID 1.2.840.113549.1.1.*
_SUFFIX = {"sha256": 0x0B, "sha384": 0x0C, "sha512": 0x0D, "sha1": 0x05, "md5": 0x04}


def hazmat_resign_with_legacy_hash(
    cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, algorithm: str = "sha1"
) -> x509.Certificate:
    """A copy of an RSA-signed ``cert`` re-signed by ``issuer_key`` with ``sha1`` or ``md5``."""
    if algorithm not in ("sha1", "md5"):
        raise ValueError("algorithm must be 'sha1' or 'md5'")
    # The weak hash is the point: this makes refusal fixtures, never real certificates.
    chosen: hashes.HashAlgorithm = (
        hashes.SHA1() if algorithm == "sha1" else hashes.MD5()  # noqa: S303
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    old = next(
        (_PREFIX + bytes([s]) for s in _SUFFIX.values() if der.count(_PREFIX + bytes([s])) == 2),
        None,
    )
    if old is None:
        raise ValueError("certificate is not signed with RSA PKCS#1 v1.5 and SHA-2")
    new_der = der.replace(old, _PREFIX + bytes([_SUFFIX[algorithm]]))
    tbs = x509.load_der_x509_certificate(new_der).tbs_certificate_bytes
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), chosen)
    if len(signature) != len(cert.signature):
        raise ValueError("issuer key size differs from the original signature length")
    return x509.load_der_x509_certificate(new_der[: -len(signature)] + signature)
