"""Certificate → principal tags, subject string, source identity and session name (§5, §6.3)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "RDN_SHORT_NAMES",
    "CertificateAttributes",
    "certificate_attributes",
    "default_session_name",
    "format_subject_dn",
    "source_identity",
]

# The RDNs that become tags. AWS documents C, O, OU, ST, L, CN (and mentions UID); the full set is
# not published (reference §5.1, §10.4). We map the RFC 4514 §3 short names plus serialNumber,
# under the short names AWS uses; any other attribute type is not mapped.
RDN_SHORT_NAMES: dict[x509.ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
}

# Names that RFC 4514 has no short form for, spelled as OpenSSL's RFC 2253 output spells them.
_DN_OVERRIDES: dict[x509.ObjectIdentifier, str] = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
}

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CertificateAttributes:
    """The mappable attributes of a leaf, each an ordered tuple of (specifier, value).

    ``subject`` and ``issuer`` hold ("CN", "Alice")-style pairs; ``san`` holds ("DNS", ...),
    ("URI", ...) and ("Name/CN", ...) pairs. Repeated RDNs are one value joined with "/".
    """

    subject: Pairs
    issuer: Pairs
    san: Pairs

    def tags(self) -> Pairs:
        """Every attribute as a principal tag: ("x509Subject/CN", "Alice"), ... in order."""
        return (
            tuple((f"x509Subject/{k}", v) for k, v in self.subject)
            + tuple((f"x509Issuer/{k}", v) for k, v in self.issuer)
            + tuple((f"x509SAN/{k}", v) for k, v in self.san)
        )

    def field(self, certificate_field: str) -> Pairs:
        """The pairs of ``x509Subject``, ``x509Issuer`` or ``x509SAN``."""
        fields = {"x509Subject": self.subject, "x509Issuer": self.issuer, "x509SAN": self.san}
        try:
            return fields[certificate_field]
        except KeyError:
            raise ValueError(f"unknown certificate field {certificate_field!r}") from None


def _name_pairs(name: x509.Name) -> Pairs:
    """Recognised RDNs in certificate order; repeats joined with "/" (User Guide, trust policy)."""
    values: dict[str, list[str]] = {}
    for attribute in name:
        short = RDN_SHORT_NAMES.get(attribute.oid)
        if short is None or not isinstance(attribute.value, str):
            continue
        values.setdefault(short, []).append(attribute.value)
    return tuple((k, "/".join(v)) for k, v in values.items())


def _san_pairs(cert: x509.Certificate) -> Pairs:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    pairs: list[tuple[str, str]] = []
    # Only the first value of each mapped type counts (reference §5.1).
    dns = san.get_values_for_type(x509.DNSName)
    if dns:
        pairs.append(("DNS", dns[0]))
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if uris:
        pairs.append(("URI", uris[0]))
    names = san.get_values_for_type(x509.DirectoryName)
    if names:
        pairs.extend((f"Name/{k}", v) for k, v in _name_pairs(names[0]))
    return tuple(pairs)


def certificate_attributes(cert: x509.Certificate) -> CertificateAttributes:
    """The x509Subject / x509Issuer / x509SAN attributes of ``cert`` (reference §5.1)."""
    return CertificateAttributes(
        subject=_name_pairs(cert.subject),
        issuer=_name_pairs(cert.issuer),
        san=_san_pairs(cert),
    )


def format_subject_dn(name: x509.Name) -> str:
    """The subject string of a Subject resource: RFC 4514, e.g. ``CN=web,OU=a,O=Example``.

    AWS does not document the format (reference §6.3); its EventBridge events print issuers as
    ``L=Seattle,CN=CA Root v1,ST=Washington,C=US``: comma-separated, no spaces, last RDN first,
    which is RFC 4514 (and ``openssl -nameopt RFC2253``). The string is unique per DER name
    (RFC 4514 escapes make it unambiguous), so it can key the Subject record.
    """
    return name.rfc4514_string(_DN_OVERRIDES)


def _serial_hex(cert: x509.Certificate) -> str:
    text = format(abs(cert.serial_number), "x")
    # Left-padded to an even length: serial 3 is "03" (reference §4.3 step 8, §5.4).
    return text if len(text) % 2 == 0 else "0" + text


def source_identity(cert: x509.Certificate) -> str | None:
    """The session's source identity per the User Guide's "Source identity rules" (§5.4).

    CN of at most 61 characters: ``CN=<cn>``; 62 to 64: ``<cn>``; no CN: ``ID=<serial hex>``.
    A CN longer than 64 characters cannot be a source identity (STS limit): None, and the
    caller refuses the session.
    """
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    texts = [v for v in cns if isinstance(v, str)]
    if not texts:
        return f"ID={_serial_hex(cert)}"
    cn = "/".join(texts)
    if len(cn) <= 61:
        return f"CN={cn}"
    if len(cn) <= 64:
        return cn
    return None


def default_session_name(cert: x509.Certificate) -> str:
    """The role session name when the caller sets none: the serial in lowercase even-length hex."""
    return _serial_hex(cert)
