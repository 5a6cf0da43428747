"""Building blocks of the development CA: keys, names, CA and workload certificates, CRLs.

Everything here takes ``now`` (and optionally keys and serials) as parameters and returns
``cryptography`` objects; nothing reads the clock or touches files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "KEY_TYPES",
    "CertifiedKey",
    "KeyType",
    "PrivateKey",
    "Revocation",
    "build_crl",
    "build_intermediate_ca",
    "build_root_ca",
    "generate_key",
    "issue_certificate",
    "parse_name",
    "parse_san",
]

KeyType = Literal["rsa1024", "rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521"]
KEY_TYPES: tuple[str, ...] = get_args(KeyType)
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SigningHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512

# A dev CA backdates notBefore a little so that a server whose clock runs slightly behind the CA
# host still accepts a certificate issued "now" (the same habit as step-ca and cfssl).
DEFAULT_BACKDATE = dt.timedelta(minutes=5)

_CURVES: dict[str, ec.EllipticCurve] = {
    "p256": ec.SECP256R1(),
    "p384": ec.SECP384R1(),
    "p521": ec.SECP521R1(),
}

# Short names accepted in subject strings, RFC 4514 §3 plus the OpenSSL spellings in common use.
_NAME_OIDS: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "STREET": NameOID.STREET_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "TITLE": NameOID.TITLE,
    "GN": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
}


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate together with its private key."""

    certificate: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True)
class Revocation:
    """One revoked serial number and when it was revoked."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = field(default=None)


def generate_key(key_type: str) -> PrivateKey:
    """A fresh private key of ``key_type`` (rsa2048, rsa3072, rsa4096, p256, p384, p521)."""
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type])
    if key_type.startswith("rsa") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    raise ValueError(f"unknown key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}")


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_name(text: str) -> x509.Name:
    """Parse an RFC 4514 name (``CN=web,OU=b,O=Example``) or an OpenSSL one (``/O=Example/CN=web``).

    The RFC 4514 form lists the most specific attribute first (the last one in the certificate),
    as ``openssl x509 -nameopt RFC2253`` and AWS event payloads print it; the slash form lists
    attributes in certificate order, as ``openssl req -subj`` takes them. Empty text is the empty
    Name.
    """
    text = text.strip()
    if not text:
        return x509.Name([])
    if text.startswith("/"):
        attributes: list[x509.NameAttribute[str]] = []
        for piece in (p for p in _split_unescaped(text[1:], "/") if p):
            key, sep, value = piece.partition("=")
            oid = _NAME_OIDS.get(key.strip().upper())
            if not sep or oid is None:
                raise ValueError(f"subject part {piece!r} is not of the form KEY=value")
            attributes.append(x509.NameAttribute(oid, value))
        return x509.Name(attributes)
    overrides = dict(_NAME_OIDS)
    try:
        return x509.Name.from_rfc4514_string(text, overrides)
    except ValueError as exc:
        raise ValueError(f"subject {text!r} is not an RFC 4514 name: {exc}") from None


def parse_san(text: str) -> x509.GeneralName:
    """Parse a SAN spec: dns:, uri:, email:, ip:, dirname:, rid: or othername: and a value.

    ``othername:1.3.6.1.4.1.311.20.2.3=user@example`` stores the value as a UTF8String.
    """
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    if not sep or not value:
        raise ValueError(f"SAN {text!r} is not of the form type:value")
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    if kind in ("email", "rfc822"):
        return x509.RFC822Name(value)
    if kind == "ip":
        return x509.IPAddress(ipaddress.ip_address(value))
    if kind in ("dirname", "dir", "name"):
        return x509.DirectoryName(parse_name(value))
    if kind in ("rid", "registeredid"):
        return x509.RegisteredID(x509.ObjectIdentifier(value))
    if kind == "othername":
        oid, eq, inner = value.partition("=")
        if not eq:
            raise ValueError(f"SAN {text!r}: othername takes OID=value")
        return x509.OtherName(x509.ObjectIdentifier(oid.strip()), _der_utf8_string(inner))
    raise ValueError(
        f"unknown SAN type {kind!r}; expected dns, uri, email, ip, dirname, rid or othername"
    )


def _der_utf8_string(text: str) -> bytes:
    """DER of a UTF8String (X.690 §8.21), the usual value of an otherName such as a UPN."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        length = bytes([len(data)])
    else:
        size = (len(data).bit_length() + 7) // 8
        length = bytes([0x80 | size]) + len(data).to_bytes(size, "big")
    return b"\x0c" + length + data


def _as_name(subject: str | x509.Name) -> x509.Name:
    return subject if isinstance(subject, x509.Name) else parse_name(subject)


def _hash_for(key: PrivateKey, hash_algorithm: SigningHash | None) -> SigningHash:
    if hash_algorithm is not None:
        return hash_algorithm
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_key_usage(key: PrivateKey) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _validity(
    now: dt.datetime,
    days: float,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime]:
    start = not_before if not_before is not None else now - DEFAULT_BACKDATE
    end = not_after if not_after is not None else now + dt.timedelta(days=days)
    return start, end


def build_root_ca(
    *,
    now: dt.datetime,
    subject: str | x509.Name = "CN=elsewhere development root CA",
    key_type: str = "p256",
    key: PrivateKey | None = None,
    days: float = 3650,
    path_length: int | None = None,
    serial: int | None = None,
    hash_algorithm: SigningHash | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> CertifiedKey:
    """A self-signed root CA: CA:true (critical), keyCertSign + cRLSign, SKI."""
    key = key if key is not None else generate_key(key_type)
    name = _as_name(subject)
    start, end = _validity(now, days, not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(key, _hash_for(key, hash_algorithm))
    return CertifiedKey(cert, key)


def build_intermediate_ca(
    issuer: CertifiedKey,
    *,
    now: dt.datetime,
    subject: str | x509.Name = "CN=elsewhere development intermediate CA",
    key_type: str = "p256",
    key: PrivateKey | None = None,
    days: float = 1825,
    path_length: int | None = 0,
    serial: int | None = None,
    hash_algorithm: SigningHash | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> CertifiedKey:
    """An intermediate CA signed by ``issuer``: CA:true pathLen 0, keyCertSign + cRLSign, AKI."""
    key = key if key is not None else generate_key(key_type)
    start, end = _validity(now, days, not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_as_name(subject))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    cert = builder.sign(issuer.key, _hash_for(issuer.key, hash_algorithm))
    return CertifiedKey(cert, key)


def _aki(issuer: CertifiedKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


_DEFAULT = object()


def issue_certificate(
    issuer: CertifiedKey,
    *,
    now: dt.datetime,
    subject: str | x509.Name,
    sans: Iterable[str | x509.GeneralName] = (),
    key_type: str = "p256",
    key: PrivateKey | None = None,
    days: float = 365,
    serial: int | None = None,
    hash_algorithm: SigningHash | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key_usage: x509.KeyUsage | object | None = _DEFAULT,
    basic_constraints: x509.BasicConstraints | object | None = _DEFAULT,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    extra_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> CertifiedKey:
    """A workload (end-entity) certificate signed by ``issuer``.

    Defaults match Roles Anywhere's leaf rules: CA:false, keyUsage digitalSignature, clientAuth EKU.
    Pass ``key_usage=None`` / ``basic_constraints=None`` / ``extended_key_usage=None`` to leave an
    extension out, or another value to break a rule on purpose (tests of refusals).
    """
    key = key if key is not None else generate_key(key_type)
    start, end = _validity(now, days, not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_as_name(subject))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    bc = (
        x509.BasicConstraints(ca=False, path_length=None)
        if basic_constraints is _DEFAULT
        else (basic_constraints)
    )
    if isinstance(bc, x509.BasicConstraints):
        builder = builder.add_extension(bc, critical=True)
    ku = _leaf_key_usage(key) if key_usage is _DEFAULT else key_usage
    if isinstance(ku, x509.KeyUsage):
        builder = builder.add_extension(ku, critical=True)
    if extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False
        )
    names = [parse_san(s) if isinstance(s, str) else s for s in sans]
    if names:
        # RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=len(_as_name(subject)) == 0
        )
    for ext, critical in extra_extensions:
        builder = builder.add_extension(ext, critical=critical)
    cert = builder.sign(issuer.key, _hash_for(issuer.key, hash_algorithm))
    return CertifiedKey(cert, key)


def build_crl(
    issuer: CertifiedKey,
    revoked: Iterable[Revocation],
    *,
    now: dt.datetime,
    next_update: dt.timedelta = dt.timedelta(days=30),
    crl_number: int = 1,
    hash_algorithm: SigningHash | None = None,
) -> x509.CertificateRevocationList:
    """A CRL signed by ``issuer`` listing ``revoked`` (RFC 5280 §5, with AKI and CRL number)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(now)
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    for entry in revoked:
        rc = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
        )
        if entry.reason is not None:
            rc = rc.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(rc.build())
    return builder.sign(issuer.key, _hash_for(issuer.key, hash_algorithm))
