"""Where the certificate and its private key come from.

Sources follow AWS's credential helper (reference §7.3): PEM or DER certificates, PEM bundles of
intermediates, PKCS#8 (plain or encrypted), PKCS#1 and SEC1 private keys, PKCS#12 bundles and
PKCS#11 tokens (RFC 7512 URIs). A file source re-reads its files on every ``load()`` so long-running
commands pick up rotated certificates and keys (the helper does the same since 1.2.0).

Where a file path is expected, elsewhere also takes ``-`` (standard input, read once: the
certificate is its first CERTIFICATE block, ``--intermediates -`` the blocks after it, the key
its private-key block) and ``env:NAME`` (an environment variable holding PEM text, or base64 of
DER or PKCS#12 bytes), so a key need never be written to disk. AWS's helper has neither.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa

from elsewhere.client._errors import CredentialSourceError, KeyMismatchError
from elsewhere.sigv4 import X509PrivateKey

__all__ = [
    "ENV_PREFIX",
    "STDIN",
    "CredentialSource",
    "FileCredentialSource",
    "Inputs",
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

#: A flag value naming standard input.
STDIN = "-"
#: The prefix of a flag value naming an environment variable (``env:NAME``).
ENV_PREFIX = "env:"


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


@dataclass(frozen=True)
class Inputs:
    """Where values that are not file paths are read: standard input and the environment.

    Standard input can be read only once: what it held is kept, for every source that names it
    and every later ``load()`` (rotation needs files).
    """

    stdin: Callable[[], bytes] = _read_stdin
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _held: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def read(self, location: str | Path, what: str) -> bytes:
        """The bytes ``location`` names: a file, ``-`` or ``env:NAME``."""
        text = str(location)
        if text == STDIN:
            if STDIN not in self._held:
                self._held[STDIN] = self.stdin()
            data = self._held[STDIN]
            if not data:
                raise CredentialSourceError(f"{what}: standard input is empty")
            return data
        if text.startswith(ENV_PREFIX):
            return self._environment(text.removeprefix(ENV_PREFIX), what)
        return _read(Path(location), what)

    def _environment(self, name: str, what: str) -> bytes:
        value = self.environ.get(name)
        if not value or not value.strip():
            raise CredentialSourceError(f"{what}: environment variable {name} is not set")
        if "-----BEGIN " in value:
            return value.encode("utf-8")
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise CredentialSourceError(
                f"{what}: environment variable {name} holds neither PEM nor base64"
            ) from None


_DEFAULT_INPUTS = Inputs()


def _named(location: str | Path, what: str, *, file: str = " file") -> str:
    """How messages name what ``location`` holds: "<what> file PATH", "<what> on standard input"."""
    text = str(location)
    if text == STDIN:
        return f"{what} on standard input"
    if text.startswith(ENV_PREFIX):
        return f"{what} in environment variable {text.removeprefix(ENV_PREFIX)}"
    return f"{what}{file} {location}"


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


def _certificates(location: str | Path, what: str, inputs: Inputs) -> tuple[x509.Certificate, ...]:
    data = inputs.read(location, what)
    try:
        if _is_pem(data):
            return tuple(x509.load_pem_x509_certificates(data))
        return (x509.load_der_x509_certificate(data),)
    except ValueError:
        return ()


def load_certificate(path: str | Path, *, inputs: Inputs = _DEFAULT_INPUTS) -> x509.Certificate:
    """Read one certificate: the first PEM block, or DER (``-`` and ``env:NAME`` too)."""
    certificates = _certificates(path, "certificate", inputs)
    if not certificates:
        raise CredentialSourceError(
            f"{_named(path, 'certificate')} holds no valid PEM or DER X.509 certificate"
        )
    return certificates[0]


def load_certificate_bundle(
    path: str | Path, *, inputs: Inputs = _DEFAULT_INPUTS
) -> tuple[x509.Certificate, ...]:
    """Read every certificate of a PEM bundle (or a single DER certificate), in file order."""
    certificates = _certificates(path, "intermediates", inputs)
    if not certificates:
        raise CredentialSourceError(
            f"{_named(path, 'intermediates')} is not a PEM bundle of X.509 certificates"
        )
    return certificates


def _as_signing_key(key: object, where: str) -> SigningKey:
    if isinstance(key, _SIGNING_KEY_TYPES):
        return key
    raise CredentialSourceError(
        f"{where} is of type {type(key).__name__}; "
        "IAM Roles Anywhere signs with RSA, EC or ML-DSA keys"
    )


def load_private_key(
    path: str | Path, password: str | None = None, *, inputs: Inputs = _DEFAULT_INPUTS
) -> SigningKey:
    """Read an RSA or EC private key: PKCS#8 (plain or encrypted), PKCS#1 or SEC1, PEM or DER.

    An empty password means no password, as in AWS's helper.
    """
    where = _named(path, "private key")
    data = inputs.read(path, "private key")
    secret = password.encode() if password else None
    pem = _is_pem(data)
    # A DER file does not say whether it is encrypted until parsed; PEM says so in its label.
    encrypted = b"ENCRYPTED" in data if pem else _der_is_encrypted(data)
    if encrypted and secret is None:
        raise CredentialSourceError(
            f"{where} is encrypted: give its password with --pkcs8-password"
        )
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, password=secret if encrypted else None)
    except ValueError:
        if encrypted:
            raise CredentialSourceError(f"cannot decrypt {where}: wrong password") from None
        raise CredentialSourceError(
            f"{where} holds no PKCS#8, PKCS#1 or SEC1 private key"
        ) from None
    except (TypeError, cryptography.exceptions.UnsupportedAlgorithm) as exc:
        raise CredentialSourceError(f"cannot load {where}: {exc}") from None
    return _as_signing_key(key, where)


def _der_is_encrypted(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, password=None)
    except TypeError:
        return True  # "Password was not given but private key is encrypted"
    except (ValueError, cryptography.exceptions.UnsupportedAlgorithm):
        return False
    return False


def load_pkcs12(
    path: str | Path, password: str | None = None, *, inputs: Inputs = _DEFAULT_INPUTS
) -> SigningIdentity:
    """Read a PKCS#12 bundle: the key, its end-entity certificate and the other certificates.

    The end-entity is the certificate that matches the key (AWS's helper takes the one that issues
    no other; matching the key is stricter and gives the same answer for well-formed bundles).
    """
    from cryptography.hazmat.primitives.serialization import pkcs12  # rarely used: load late

    where = _named(path, "PKCS#12 bundle", file="")
    data = inputs.read(path, "PKCS#12")
    secret = password.encode() if password else None
    try:
        bundle = pkcs12.load_pkcs12(data, secret)
    except ValueError:
        raise CredentialSourceError(
            f"cannot read {where}: not PKCS#12, or wrong password"
        ) from None
    if bundle.key is None:
        raise CredentialSourceError(f"{where} holds no private key")
    key = _as_signing_key(bundle.key, f"the private key of {where}")
    certificates = [c.certificate for c in bundle.additional_certs]
    if bundle.cert is not None:
        certificates.insert(0, bundle.cert.certificate)
    if not certificates:
        raise CredentialSourceError(f"{where} holds no certificate")
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaves = [c for c in certificates if _spki(c) == public]
    if not leaves:
        raise KeyMismatchError(f"no certificate in {where} matches its private key")
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
    """Certificate and key files (or one PKCS#12 file), re-read at every ``load()``.

    Each path may also be ``-`` or ``env:NAME`` (see the module docstring).
    """

    certificate_path: str | Path
    private_key_path: str | Path | None = None
    intermediates_path: str | Path | None = None
    password: str | None = None
    inputs: Inputs = _DEFAULT_INPUTS

    def load(self) -> SigningIdentity:
        """Read the files now and check that the key matches the certificate."""
        extra: tuple[x509.Certificate, ...] = ()
        if self.intermediates_path is not None:
            extra = load_certificate_bundle(self.intermediates_path, inputs=self.inputs)
            if str(self.intermediates_path) == str(self.certificate_path):
                extra = extra[1:]  # the first certificate there is the leaf
        if self.private_key_path is None:
            data = self.inputs.read(self.certificate_path, "certificate")
            if _is_pem(data):
                raise CredentialSourceError(
                    f"{_named(self.certificate_path, 'certificate')} is PEM: --private-key is "
                    "required (only a PKCS#12 bundle may stand without it)"
                )
            identity = load_pkcs12(self.certificate_path, self.password, inputs=self.inputs)
            return SigningIdentity(
                certificate=identity.certificate,
                private_key=identity.private_key,
                intermediates=identity.intermediates + extra,
            )
        certificate = load_certificate(self.certificate_path, inputs=self.inputs)
        key = load_private_key(self.private_key_path, self.password, inputs=self.inputs)
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
    inputs: Inputs | None = None,
) -> CredentialSource:
    """Choose the source for these helper flags (files, PKCS#12 or PKCS#11).

    Paths may be ``-`` (standard input) or ``env:NAME``; ``inputs`` says where those are read.
    """
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
        certificate_path=certificate,
        private_key_path=private_key or None,
        intermediates_path=intermediates or None,
        password=pkcs8_password,
        inputs=inputs or _DEFAULT_INPUTS,
    )
