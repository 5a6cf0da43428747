"""PKCS#11 tokens (smart cards, HSMs, SoftHSM) as a key and certificate source.

Objects are named by RFC 7512 URIs, as in AWS's helper (reference §7.3): path attributes select the
token (``token``, ``manufacturer``, ``serial``, ``model``, ``slot-id``, ``slot-description``,
``slot-manufacturer``) and the object (``object`` = label, ``id``, ``type``); query attributes give
``pin-value``, ``pin-source`` (``file:`` path) and ``module-path``. The private key never leaves the
token: :class:`_TokenRsaKey` and :class:`_TokenEcKey` implement ``cryptography``'s private-key
interfaces with ``sign()`` done by the token, so the X.509 SigV4 signer takes them unchanged.
"""

from __future__ import annotations

import getpass
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    KeySerializationEncryption,
    PrivateFormat,
)

from elsewhere.client._errors import CredentialSourceError
from elsewhere.client._sources import (
    SigningIdentity,
    SigningKey,
    load_certificate,
    load_certificate_bundle,
)

__all__ = ["DEFAULT_PKCS11_MODULE", "Pkcs11CredentialSource", "Pkcs11Uri", "parse_pkcs11_uri"]

# AWS's helper loads p11-kit's proxy module when --pkcs11-lib is not given (reference §7.2).
DEFAULT_PKCS11_MODULE = "p11-kit-proxy.so"

_PATH_ATTRIBUTES = frozenset(
    {
        "token",
        "manufacturer",
        "serial",
        "model",
        "library-manufacturer",
        "library-description",
        "library-version",
        "object",
        "type",
        "id",
        "slot-id",
        "slot-description",
        "slot-manufacturer",
    }
)


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed RFC 7512 URI: path attributes (``id`` as bytes) and query attributes."""

    path: dict[str, str] = field(default_factory=dict)
    object_id: bytes | None = None
    query: dict[str, str] = field(default_factory=dict)


def parse_pkcs11_uri(uri: str) -> Pkcs11Uri:
    """Parse ``pkcs11:<attr>=<value>;...?<attr>=<value>&...`` (RFC 7512 §2.3)."""
    if not uri.startswith("pkcs11:"):
        raise CredentialSourceError(f"{uri!r} is not a PKCS#11 URI (it must start with pkcs11:)")
    rest = uri[len("pkcs11:") :]
    path_part, _, query_part = rest.partition("?")
    path: dict[str, str] = {}
    object_id: bytes | None = None
    for item in filter(None, path_part.split(";")):
        name, sep, value = item.partition("=")
        if not sep or name not in _PATH_ATTRIBUTES:
            raise CredentialSourceError(f"PKCS#11 URI has an unknown path attribute {name!r}")
        if name in path or (name == "id" and object_id is not None):
            raise CredentialSourceError(f"PKCS#11 URI repeats the attribute {name!r}")
        raw = unquote_to_bytes(value)
        if name == "id":
            object_id = raw
        else:
            path[name] = raw.decode("utf-8")
    query: dict[str, str] = {}
    for item in filter(None, query_part.split("&")):
        name, sep, value = item.partition("=")
        if not sep:
            raise CredentialSourceError(f"PKCS#11 URI query attribute {name!r} has no value")
        query[name] = unquote_to_bytes(value).decode("utf-8")
    if path.get("type") not in (None, "private", "cert", "public"):
        raise CredentialSourceError(f"PKCS#11 URI type {path['type']!r} is not supported")
    return Pkcs11Uri(path=path, object_id=object_id, query=query)


def _fail(message: str) -> NoReturn:
    raise CredentialSourceError(message)


class _TokenKeyMixin:
    """Shared parts of the token-held keys: the object, the certificate's public key."""

    def __init__(self, key_object: Any, public_key: Any) -> None:
        self._object = key_object
        self._public = public_key

    def public_key(self) -> Any:
        """The public half, taken from the certificate."""
        return self._public

    @property
    def key_size(self) -> int:
        """Size of the key in bits."""
        return int(self._public.key_size)

    def private_numbers(self) -> NoReturn:
        """Not available: the key cannot leave the token."""
        _fail("a PKCS#11 private key cannot be exported")

    def private_bytes(
        self,
        encoding: Encoding,
        format: PrivateFormat,
        encryption_algorithm: KeySerializationEncryption,
    ) -> NoReturn:
        """Not available: the key cannot leave the token."""
        _fail("a PKCS#11 private key cannot be exported")

    def __copy__(self) -> Any:
        """Token keys are references; a copy is the same reference."""
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """Token keys are references; a copy is the same reference."""
        return self


def _digest(data: bytes | bytearray | memoryview, algorithm: Any) -> bytes:
    data = bytes(data)
    if isinstance(algorithm, utils.Prehashed):
        return data
    if isinstance(algorithm, hashes.SHA256):
        return hashlib.sha256(data).digest()
    if isinstance(algorithm, hashes.SHA384):
        return hashlib.sha384(data).digest()
    if isinstance(algorithm, hashes.SHA512):
        return hashlib.sha512(data).digest()
    _fail(f"PKCS#11 signing does not support {type(algorithm).__name__}")


def _token_sign(key_object: Any, data: bytes, mechanism: Any) -> bytes:
    from pkcs11 import exceptions as p11e

    try:
        return bytes(key_object.sign(data, mechanism=mechanism))
    except p11e.PKCS11Error as exc:
        # A removed token or a closed session; the next load() opens a new session.
        raise CredentialSourceError(
            f"the PKCS#11 token failed to sign: {type(exc).__name__}"
        ) from None


# DER DigestInfo prefixes for RSASSA-PKCS1-v1_5 (RFC 8017 §9.2, note 1).
_DIGEST_INFO = {
    32: bytes.fromhex("3031300d060960864801650304020105000420"),
    48: bytes.fromhex("3041300d060960864801650304020205000430"),
    64: bytes.fromhex("3051300d060960864801650304020305000440"),
}


class _TokenRsaKey(_TokenKeyMixin, rsa.RSAPrivateKey):
    """An RSA key held by a token; signs with CKM_RSA_PKCS over a DigestInfo."""

    def sign(self, data: bytes, padding: padding.AsymmetricPadding, algorithm: Any) -> bytes:
        """RSASSA-PKCS1-v1_5 signature computed by the token."""
        from pkcs11 import Mechanism

        if padding.name != "EMSA-PKCS1-v1_5":
            _fail("PKCS#11 RSA keys sign with PKCS#1 v1.5 padding only")
        digest = _digest(data, algorithm)
        return _token_sign(self._object, _DIGEST_INFO[len(digest)] + digest, Mechanism.RSA_PKCS)

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> NoReturn:
        """Not offered: the helper only signs."""
        _fail("PKCS#11 keys are used for signing only")


class _TokenEcKey(_TokenKeyMixin, ec.EllipticCurvePrivateKey):
    """An EC key held by a token; signs the digest with CKM_ECDSA and returns DER."""

    @property
    def curve(self) -> ec.EllipticCurve:
        """The curve of the certificate's public key."""
        curve: ec.EllipticCurve = self._public.curve
        return curve

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        """ECDSA signature by the token, converted from r||s to DER (as the helper does)."""
        from pkcs11 import Mechanism

        if not isinstance(signature_algorithm, ec.ECDSA):
            _fail("PKCS#11 EC keys sign with ECDSA only")
        digest = _digest(data, signature_algorithm.algorithm)
        raw = _token_sign(self._object, digest, Mechanism.ECDSA)
        half = len(raw) // 2
        return utils.encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> NoReturn:
        """Not offered: the helper only signs."""
        _fail("PKCS#11 keys are used for signing only")


class Pkcs11CredentialSource:
    """Certificate (token or file) and token-held private key; re-read on every ``load()``."""

    def __init__(
        self,
        *,
        module: str,
        certificate_uri: Pkcs11Uri | None,
        certificate_path: Path | None,
        key_uri: Pkcs11Uri,
        intermediates_path: Path | None = None,
        reuse_pin: bool = False,
    ) -> None:
        self._module = module
        self._certificate_uri = certificate_uri
        self._certificate_path = certificate_path
        self._key_uri = key_uri
        self._intermediates_path = intermediates_path
        self._reuse_pin = reuse_pin
        self._session: Any = None
        self._pin: str | None = None

    @classmethod
    def from_flags(
        cls,
        *,
        certificate: str | None,
        private_key: str | None,
        intermediates: str | None,
        module: str | None,
        reuse_pin: bool,
    ) -> Pkcs11CredentialSource:
        """The source for ``--certificate``/``--private-key`` where at least one is a URI."""
        certificate_uri = None
        certificate_path = None
        if certificate and certificate.startswith("pkcs11:"):
            certificate_uri = parse_pkcs11_uri(certificate)
        elif certificate:
            certificate_path = Path(certificate)
        if private_key and private_key.startswith("pkcs11:"):
            key_uri = parse_pkcs11_uri(private_key)
        elif private_key:
            raise CredentialSourceError(
                "a token certificate needs its key in the token: give --private-key as a "
                "pkcs11: URI, or leave it out to use the certificate's URI"
            )
        elif certificate_uri is not None:
            key_uri = certificate_uri
        else:
            raise CredentialSourceError("--certificate is required")
        chosen = (
            key_uri.query.get("module-path")
            or (certificate_uri.query.get("module-path") if certificate_uri else None)
            or module
            or DEFAULT_PKCS11_MODULE
        )
        return cls(
            module=chosen,
            certificate_uri=certificate_uri,
            certificate_path=certificate_path,
            key_uri=key_uri,
            intermediates_path=Path(intermediates) if intermediates else None,
            reuse_pin=reuse_pin,
        )

    def _open(self) -> Any:
        import pkcs11
        from pkcs11 import exceptions as p11e

        if self._session is not None:
            return self._session
        try:
            lib = pkcs11.lib(self._module)
        except (OSError, RuntimeError, p11e.PKCS11Error) as exc:
            raise CredentialSourceError(
                f"cannot load PKCS#11 module {self._module!r}: {exc}"
            ) from None
        token = self._find_token(lib)
        pin = self._find_pin(token.label)
        try:
            try:
                self._session = token.open(user_pin=pin)
            except p11e.UserAlreadyLoggedIn:
                # PKCS#11 login is per application and token (PKCS#11 v2.40 §5.6): another
                # session of this process is logged in already, and new sessions share it.
                self._session = token.open()
        except p11e.PinIncorrect:
            raise CredentialSourceError(
                f"PKCS#11 login to token {token.label!r} failed: wrong PIN"
            ) from None
        except p11e.PKCS11Error as exc:
            raise CredentialSourceError(
                f"cannot open token {token.label!r}: {type(exc).__name__}"
            ) from None
        return self._session

    def _find_token(self, lib: Any) -> Any:
        wanted = self._key_uri.path
        matches = []
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            checks = {
                "token": token.label,
                "manufacturer": token.manufacturer_id,
                "model": token.model,
                "serial": token.serial.decode("ascii", "replace").strip(),
                "slot-id": str(slot.slot_id),
                "slot-description": slot.slot_description,
                "slot-manufacturer": slot.manufacturer_id,
            }
            if all(wanted[k] == v.strip() for k, v in checks.items() if k in wanted):
                matches.append(token)
        if not matches:
            raise CredentialSourceError("no PKCS#11 token matches the URI's token attributes")
        if len(matches) > 1:
            raise CredentialSourceError(
                "several PKCS#11 tokens match the URI: add token=<label> or serial=<serial>"
            )
        return matches[0]

    def _find_pin(self, label: str) -> str | None:
        query = self._key_uri.query
        if "pin-value" in query:
            return query["pin-value"]
        source = query.get("pin-source")
        if source:
            path = source.removeprefix("file:")
            try:
                return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise CredentialSourceError(f"cannot read pin-source {path}: {exc}") from None
        if self._pin is not None and self._reuse_pin:
            return self._pin
        if not sys.stdin.isatty():
            raise CredentialSourceError(
                f"token {label!r} needs a PIN: add ?pin-value=... or pin-source=file:... to the URI"
            )
        self._pin = getpass.getpass(f"Enter PIN for PKCS#11 token '{label}': ")
        return self._pin

    def _find(self, session: Any, uri: Pkcs11Uri, object_class: Any) -> list[Any]:
        from pkcs11 import Attribute

        template: dict[Any, Any] = {Attribute.CLASS: object_class}
        if "object" in uri.path:
            template[Attribute.LABEL] = uri.path["object"]
        if uri.object_id is not None:
            template[Attribute.ID] = uri.object_id
        return list(session.get_objects(template))

    def _certificate(self, session: Any) -> x509.Certificate:
        from pkcs11 import Attribute, ObjectClass

        if self._certificate_path is not None:
            return load_certificate(self._certificate_path)
        if self._certificate_uri is None:
            raise CredentialSourceError("--certificate is required")
        found = self._find(session, self._certificate_uri, ObjectClass.CERTIFICATE)
        if not found:
            raise CredentialSourceError("no certificate in the token matches the PKCS#11 URI")
        if len(found) > 1:
            raise CredentialSourceError(
                "several certificates in the token match the PKCS#11 URI: add object= or id="
            )
        return x509.load_der_x509_certificate(bytes(found[0][Attribute.VALUE]))

    def list_certificates(self) -> list[tuple[x509.Certificate, str]]:
        """Every certificate of the token matching the certificate URI, each with its own URI."""
        from pkcs11 import Attribute, ObjectClass

        uri = self._certificate_uri or self._key_uri
        session = self._open()
        label = session.token.label
        found = []
        for obj in self._find(session, uri, ObjectClass.CERTIFICATE):
            certificate = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
            parts = [f"token={quote(label, safe='')}"]
            try:
                parts.append(f"object={quote(str(obj[Attribute.LABEL]), safe='')}")
                parts.append(f"id={quote_from_bytes(bytes(obj[Attribute.ID]), safe='')}")
            except (KeyError, TypeError):
                pass
            found.append((certificate, "pkcs11:" + ";".join([*parts, "type=cert"])))
        return found

    def load(self) -> SigningIdentity:
        """Read the certificate now and bind the token's private key to it."""
        from pkcs11 import ObjectClass
        from pkcs11 import exceptions as p11e

        for attempt in (1, 2):
            session = self._open()
            try:
                certificate = self._certificate(session)
                keys = self._find(session, self._key_uri, ObjectClass.PRIVATE_KEY)
                break
            except p11e.PKCS11Error as exc:
                # The session died (token removed and reinserted, module reset): open a new
                # one once before giving up.
                self._session = None
                if attempt == 2:
                    raise CredentialSourceError(f"PKCS#11 error: {type(exc).__name__}") from None
        if not keys:
            raise CredentialSourceError("no private key in the token matches the PKCS#11 URI")
        if len(keys) > 1:
            raise CredentialSourceError(
                "several private keys in the token match the PKCS#11 URI: add object= or id="
            )
        public = certificate.public_key()
        key: SigningKey
        if isinstance(public, rsa.RSAPublicKey):
            key = _TokenRsaKey(keys[0], public)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            key = _TokenEcKey(keys[0], public)
        else:
            raise CredentialSourceError("the certificate's key is neither RSA nor EC")
        extra = (
            load_certificate_bundle(self._intermediates_path) if self._intermediates_path else ()
        )
        return SigningIdentity(certificate=certificate, private_key=key, intermediates=extra)
