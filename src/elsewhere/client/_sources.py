"""Where the certificate and its private key come from.

Sources follow AWS's credential helper (reference §7.3): PEM or DER certificates, PEM bundles of
intermediates, PKCS#8 (plain or encrypted), PKCS#1 and SEC1 private keys, PKCS#12 bundles and
PKCS#11 tokens (RFC 7512 URIs). A file source re-reads its files on every ``load()`` so long-running
commands pick up rotated certificates and keys (the helper does the same since 1.2.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from elsewhere.client._errors import CredentialSourceError, KeyMismatchError
from elsewhere.sigv4 import X509PrivateKey

__all__ = [
    "CredentialSource",
    "FileCredentialSource",
    "SigningIdentity",
    "SigningKey",
    "StaticCredentialSource",
    "build_credential_source",
    "load_certificate",
    "load_certificate_bundle",
    "load_pkcs12",
    "load_private_key",
    "verify_key_matches_certificate",
]

# RSA, EC, and ML-DSA (AWS4-X509-MLDSA, added to Roles Anywhere in 2026; reference §3.1).
SigningKey = X509PrivateKey
_SIGNING_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    mldsa.MLDSA44PrivateKey,
    mldsa.MLDSA65PrivateKey,
    mldsa.MLDSA87PrivateKey,
)

_PKCS11_PREFIX = "pkcs11:"


@dataclass(frozen=True)
class SigningIdentity:
    """A leaf certificate, the key that signs for it, and the intermediates sent along."""

    certificate: x509.Certificate
    private_key: SigningKey
    intermediates: tuple[x509.Certificate, ...] = ()


class CredentialSource(Protocol):
    """Something that yields the current signing identity (re-read on every call)."""

    def load(self) -> SigningIdentity:
        """The identity to sign the next request with."""
        ...


@dataclass(frozen=True)
class StaticCredentialSource:
    """An identity held in memory (for library users who already have the objects)."""

    identity: SigningIdentity

    def load(self) -> SigningIdentity:
        """The identity given at construction, after the key/certificate match check."""
        verify_key_matches_certificate(self.identity.private_key, self.identity.certificate)
        return self.identity


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CredentialSourceError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise CredentialSourceError(f"{what} path is a directory: {path}") from None
    except OSError as exc:
        raise CredentialSourceError(f"cannot read {what} file {path}: {exc.strerror}") from None


def _is_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data


def load_certificate(path: str | Path) -> x509.Certificate:
    """Read one certificate from a PEM (first block) or DER file."""
    path = Path(path)
    data = _read(path, "certificate")
    try:
        if _is_pem(data):
            certificates = x509.load_pem_x509_certificates(data)
            return certificates[0]
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CredentialSourceError(
            f"certificate file {path} holds no valid PEM or DER X.509 certificate"
        ) from None


def load_certificate_bundle(path: str | Path) -> tuple[x509.Certificate, ...]:
    """Read every certificate of a PEM bundle (or a single DER certificate), in file order."""
    path = Path(path)
    data = _read(path, "intermediates")
    try:
        if _is_pem(data):
            return tuple(x509.load_pem_x509_certificates(data))
        return (x509.load_der_x509_certificate(data),)
    except ValueError:
        raise CredentialSourceError(
            f"intermediates file {path} is not a PEM bundle of X.509 certificates"
        ) from None


def _as_signing_key(key: object, path: Path) -> SigningKey:
    if isinstance(key, _SIGNING_KEY_TYPES):
        return key
    raise CredentialSourceError(
        f"private key in {path} is of type {type(key).__name__}; "
        "IAM Roles Anywhere signs with RSA, EC or ML-DSA keys"
    )


def load_private_key(path: str | Path, password: str | None = None) -> SigningKey:
    """Read an RSA or EC private key: PKCS#8 (plain or encrypted), PKCS#1 or SEC1, PEM or DER.

    An empty password means no password, as in AWS's helper.
    """
    path = Path(path)
    data = _read(path, "private key")
    secret = password.encode() if password else None
    pem = _is_pem(data)
    # A DER file does not say whether it is encrypted until parsed; PEM says so in its label.
    encrypted = b"ENCRYPTED" in data if pem else _der_is_encrypted(data)
    if encrypted and secret is None:
        raise CredentialSourceError(
            f"private key {path} is encrypted: give its password with --pkcs8-password"
        )
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, password=secret if encrypted else None)
    except ValueError:
        if encrypted:
            raise CredentialSourceError(
                f"cannot decrypt private key {path}: wrong password"
            ) from None
        raise CredentialSourceError(
            f"private key file {path} holds no PKCS#8, PKCS#1 or SEC1 private key"
        ) from None
    except (TypeError, cryptography.exceptions.UnsupportedAlgorithm) as exc:
        raise CredentialSourceError(f"cannot load private key {path}: {exc}") from None
    return _as_signing_key(key, path)


def _der_is_encrypted(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, password=None)
    except TypeError:
        return True  # "Password was not given but private key is encrypted"
    except (ValueError, cryptography.exceptions.UnsupportedAlgorithm):
        return False
    return False


def load_pkcs12(path: str | Path, password: str | None = None) -> SigningIdentity:
    """Read a PKCS#12 bundle: the key, its end-entity certificate and the other certificates.

    The end-entity is the certificate that matches the key (AWS's helper takes the one that issues
    no other; matching the key is stricter and gives the same answer for well-formed bundles).
    """
    path = Path(path)
    data = _read(path, "PKCS#12")
    secret = password.encode() if password else None
    try:
        bundle = pkcs12.load_pkcs12(data, secret)
    except ValueError:
        raise CredentialSourceError(
            f"cannot read PKCS#12 bundle {path}: not PKCS#12, or wrong password"
        ) from None
    if bundle.key is None:
        raise CredentialSourceError(f"PKCS#12 bundle {path} holds no private key")
    key = _as_signing_key(bundle.key, path)
    certificates = [c.certificate for c in bundle.additional_certs]
    if bundle.cert is not None:
        certificates.insert(0, bundle.cert.certificate)
    if not certificates:
        raise CredentialSourceError(f"PKCS#12 bundle {path} holds no certificate")
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaves = [c for c in certificates if _spki(c) == public]
    if not leaves:
        raise KeyMismatchError(f"no certificate in PKCS#12 bundle {path} matches its private key")
    leaf = leaves[0]
    # The Go helper sends the leaf again in X-Amz-X509-Chain (reference §3.5); we do not.
    rest = tuple(c for c in certificates if c != leaf)
    return SigningIdentity(certificate=leaf, private_key=key, intermediates=rest)


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_key_matches_certificate(key: SigningKey, certificate: x509.Certificate) -> None:
    """Raise :class:`KeyMismatchError` unless ``key`` is the certificate's private key."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != _spki(certificate):
        raise KeyMismatchError(
            "the private key does not match the certificate's public key "
            f"(certificate serial {certificate.serial_number}, subject "
            f"{certificate.subject.rfc4514_string()!r})"
        )


@dataclass(frozen=True)
class FileCredentialSource:
    """Certificate and key files (or one PKCS#12 file), re-read at every ``load()``."""

    certificate_path: Path
    private_key_path: Path | None = None
    intermediates_path: Path | None = None
    password: str | None = None

    def load(self) -> SigningIdentity:
        """Read the files now and check that the key matches the certificate."""
        extra: tuple[x509.Certificate, ...] = ()
        if self.intermediates_path is not None:
            extra = load_certificate_bundle(self.intermediates_path)
        if self.private_key_path is None:
            data = _read(self.certificate_path, "certificate")
            if _is_pem(data):
                raise CredentialSourceError(
                    f"certificate {self.certificate_path} is PEM: --private-key is required "
                    "(only a PKCS#12 bundle may stand without it)"
                )
            identity = load_pkcs12(self.certificate_path, self.password)
            return SigningIdentity(
                certificate=identity.certificate,
                private_key=identity.private_key,
                intermediates=identity.intermediates + extra,
            )
        certificate = load_certificate(self.certificate_path)
        key = load_private_key(self.private_key_path, self.password)
        verify_key_matches_certificate(key, certificate)
        return SigningIdentity(certificate=certificate, private_key=key, intermediates=extra)


def build_credential_source(
    *,
    certificate: str | None,
    private_key: str | None = None,
    intermediates: str | None = None,
    pkcs8_password: str | None = None,
    pkcs11_lib: str | None = None,
    reuse_pin: bool = False,
) -> CredentialSource:
    """Choose the source for these helper flags (files, PKCS#12 or PKCS#11)."""
    uses_pkcs11 = bool(
        (certificate or "").startswith(_PKCS11_PREFIX)
        or (private_key or "").startswith(_PKCS11_PREFIX)
    )
    if uses_pkcs11:
        from elsewhere.client._pkcs11 import Pkcs11CredentialSource

        return Pkcs11CredentialSource.from_flags(
            certificate=certificate,
            private_key=private_key,
            intermediates=intermediates,
            module=pkcs11_lib,
            reuse_pin=reuse_pin,
        )
    if not certificate:
        raise CredentialSourceError("--certificate is required")
    return FileCredentialSource(
        certificate_path=Path(certificate),
        private_key_path=Path(private_key) if private_key else None,
        intermediates_path=Path(intermediates) if intermediates else None,
        password=pkcs8_password,
    )
