"""Signature-algorithm and key checks shared by bundle parsing and path validation."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import ObjectIdentifier, SignatureAlgorithmOID

__all__ = [
    "MAX_RSA_EXPONENT_BITS",
    "describe_name",
    "key_problem",
    "public_key_problem",
    "weak_signature",
]

# Roles Anywhere refuses MD5- and SHA-1-signed certificates (User Guide, "Signature validation").
# 1.3.14.3.2.29 is the old OIW sha1WithRSA spelling that some CAs still emit.
_WEAK: dict[ObjectIdentifier, str] = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "md5WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    ObjectIdentifier("1.3.14.3.2.29"): "sha1WithRSA (OIW)",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa-with-SHA1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa-with-SHA1",
    ObjectIdentifier("1.2.840.113549.1.1.2"): "md2WithRSAEncryption",
}


def weak_signature(cert: x509.Certificate) -> str | None:
    """The name of the certificate's signature algorithm if it is MD5/MD2/SHA-1 based, else None."""
    return _WEAK.get(cert.signature_algorithm_oid)


def describe_name(name: x509.Name) -> str:
    """A Name for messages: its RFC 4514 string, or ``<empty subject>``."""
    text = name.rfc4514_string()
    return text if text else "<empty subject>"


_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


#: The largest RSA public exponent accepted, in bits. Every CA in use picks 65537 (17 bits);
#: FIPS 186-5 §A.1.1 allows up to 256 bits, and OpenSSL itself refuses more than 64 bits for
#: moduli above 3072 bits. A verification costs in proportion to the exponent's bits: a 3,072-bit
#: exponent on a 3,072-bit modulus makes one check cost what a few hundred normal ones do.
MAX_RSA_EXPONENT_BITS = 64


def key_problem(
    cert: x509.Certificate,
    *,
    min_rsa_bits: int,
    max_rsa_bits: int | None = None,
    allowed_curves: frozenset[str],
    who: str = "certificate",
) -> str | None:
    """Why the certificate's public key is not acceptable (a sentence about ``who``), or None."""
    try:
        key = cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # unknown algorithm, bad key
        return f"{who} has a public key that cannot be used: {exc}"
    return public_key_problem(
        key,
        min_rsa_bits=min_rsa_bits,
        max_rsa_bits=max_rsa_bits,
        allowed_curves=allowed_curves,
        who=who,
    )


def public_key_problem(
    key: object,
    *,
    min_rsa_bits: int,
    max_rsa_bits: int | None = None,
    allowed_curves: frozenset[str],
    who: str = "certificate",
) -> str | None:
    """:func:`key_problem` for a key already loaded."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < min_rsa_bits:
            return (
                f"{who} has an RSA key of {key.key_size} bits, below the minimum of {min_rsa_bits}"
            )
        if max_rsa_bits is not None and key.key_size > max_rsa_bits:
            return (
                f"{who} has an RSA key of {key.key_size} bits, above the maximum of {max_rsa_bits}"
            )
        exponent = key.public_numbers().e
        if exponent.bit_length() > MAX_RSA_EXPONENT_BITS or exponent < 3 or exponent % 2 == 0:
            return (
                f"{who} has an RSA key whose public exponent ({exponent.bit_length()} bits) is not "
                f"an odd number of 2 to {MAX_RSA_EXPONENT_BITS} bits"
            )
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVE_NAMES.get(key.curve.name, key.curve.name)
        if curve not in allowed_curves:
            allowed = ", ".join(sorted(allowed_curves))
            return (
                f"{who} has an EC key on curve {curve}, which is not allowed (allowed: {allowed})"
            )
        return None
    if isinstance(key, dsa.DSAPublicKey):
        return f"{who} has a DSA key; DSA is not supported"
    # Ed25519/Ed448 are refused by the path verifier itself; ML-DSA is left to it as well.
    return None
