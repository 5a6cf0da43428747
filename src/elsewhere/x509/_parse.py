"""Parsing certificates, CA bundles and CRLs as they arrive over the API and in headers."""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from elsewhere.errors import ValidationError
from elsewhere.x509._rules import PathPolicy, ca_problem, describe, structure_problem

__all__ = [
    "parse_ca_bundle",
    "parse_certificate_header",
    "parse_chain_header",
    "parse_crl",
    "parse_crl_signers",
]

_PEM_CERT_BEGIN = "-----BEGIN CERTIFICATE-----"

# What cryptography raises for bytes it cannot take: ValueError (malformed DER, a name or
# extension that does not decode), InvalidVersion (an X.509 or CRL version field other than
# v1..v3 / v1..v2, RFC 5280 §4.1.2.1, §5.1.2.1), UnsupportedAlgorithm (an algorithm identifier it
# does not know). Every one of them is a ValidationError at the parse, never an exception later.
_UNPARSABLE = (
    ValueError,
    x509.InvalidVersion,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def _name_part_problem(cert: x509.Certificate) -> str | None:
    """Why a name of ``cert`` has a part that no conforming CA writes, or None.

    The names must decode already. An attribute value is at least one character in every string
    type X.520 defines for names (RFC 5280 Appendix A, ``ub-*`` bounds: SIZE (1..ub)); a trust
    anchor built on an empty one refused every CreateSession later. A NUL inside a value is the
    "null prefix" trick (``good.example\0.evil.example`` shown as ``good.example``), refused in a
    name as it is in any API text.
    """
    for which, name in (("subject", cert.subject), ("issuer", cert.issuer)):
        for attribute in name:
            value = attribute.value
            label = getattr(attribute.oid, "_name", None) or attribute.oid.dotted_string
            if len(value) == 0:
                return f"has an empty {label} in its {which}"
            if isinstance(value, str) and "\x00" in value:
                return f"has a NUL character in the {label} of its {which}"
    return None


def _elements(content: bytes) -> list[bytes]:
    """The DER elements (tag, length and value) inside a constructed value's content.

    Only for certificates cryptography has parsed already, so the encoding is well-formed DER.
    """
    out = []
    at = 0
    while at < len(content):
        first = content[at + 1]
        if first < 0x80:
            start, size = at + 2, first
        else:
            count = first & 0x7F
            start = at + 2 + count
            size = int.from_bytes(content[at + 2 : start], "big")
        out.append(content[at : start + size])
        at = start + size
    return out


def _inner(element: bytes) -> bytes:
    """The content of one DER element (its tag and length left out)."""
    first = element[1]
    return element[2 if first < 0x80 else 2 + (first & 0x7F) :]


def _algorithm_problem(cert: x509.Certificate) -> str | None:
    """Why the two signature algorithm fields differ, or None.

    RFC 5280 §4.1.1.2: signatureAlgorithm "MUST contain the same algorithm identifier as the
    signature field in the sequence tbsCertificate"; cryptography's verifier refuses a path
    through a certificate where they differ, the trust anchor's own included.
    """
    der = cert.public_bytes(serialization.Encoding.DER)
    tbs, algorithm, _ = _elements(_inner(der))
    fields = _elements(_inner(tbs))
    signature = fields[2] if fields[0][0] == 0xA0 else fields[1]
    if signature != algorithm:
        return "has a signature algorithm that differs from the one its signed part names"
    return None


def _anchor_problem(cert: x509.Certificate) -> str | None:
    """What makes a trust anchor's certificate refuse every path later, or None.

    Found by running malformed anchors through CreateSession: a serial that is negative or longer
    than 20 octets (RFC 5280 §4.1.2.2; zero is accepted, roots with serial 0 exist), a critical
    extension nobody knows (§4.2: the certificate must be rejected), and signature algorithm
    fields that differ. (A key the path rules refuse is :func:`ca_problem`'s, with the policy.)
    """
    serial = cert.serial_number
    if serial < 0 or serial.bit_length() // 8 + 1 > 20:
        return f"has a serial number that is negative or longer than 20 octets ({serial})"
    for extension in cert.extensions:
        if extension.critical and isinstance(extension.value, x509.UnrecognizedExtension):
            return (
                f"has a critical extension {extension.oid.dotted_string} that is not known; "
                "RFC 5280 §4.2 requires such a certificate to be rejected"
            )
    return _algorithm_problem(cert)


def parse_ca_bundle(
    pem: str, *, max_certificates: int = 2, policy: PathPolicy | None = None
) -> tuple[x509.Certificate, ...]:
    """Parse a trust anchor's PEM bundle into CA certificates, or raise ValidationError.

    At most ``max_certificates`` (the Roles Anywhere quota is 2 per trust anchor); every one must
    be a v3 CA certificate with keyCertSign, without an MD5/SHA-1 signature, and with a key of a
    type and size ``policy`` allows (by default Roles Anywhere's, :class:`PathPolicy`).
    """
    policy = policy or PathPolicy()
    if _PEM_CERT_BEGIN not in pem:
        raise ValidationError(
            "x509CertificateData is not a PEM certificate bundle "
            f"(no '{_PEM_CERT_BEGIN}' line found)"
        )
    try:
        certs = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except _UNPARSABLE as exc:
        raise ValidationError(f"x509CertificateData could not be parsed as PEM: {exc}") from None
    if len(certs) > max_certificates:
        raise ValidationError(
            f"x509CertificateData holds {len(certs)} certificates; "
            f"a trust anchor takes at most {max_certificates}"
        )
    for position, cert in enumerate(certs, start=1):
        # Roles Anywhere's CA rule, the same one path validation applies (x509._rules).
        problem = (
            ca_problem(cert, policy, anchor=True)
            or _name_part_problem(cert)
            or _anchor_problem(cert)
        )
        if problem is not None:
            # describe() never raises, also for a subject that does not decode.
            name = describe(cert).removeprefix("certificate ")
            raise ValidationError(f"certificate {position} of the bundle ({name}) {problem}")
    return tuple(certs)


def parse_crl(data: bytes, *, check_entries: bool = False) -> x509.CertificateRevocationList:
    """Parse CRL bytes given as PEM or DER (both are accepted by ImportCrl), or raise.

    The CRL must parse cleanly: its issuer, extensions and signature algorithm decode (so nothing
    that reads them later meets an exception). ``check_entries`` decodes every revoked entry too
    (serial, date, extensions), as ImportCrl and UpdateCrl do once; it costs about 5 µs per entry,
    too much for every snapshot rebuild.
    """
    stripped = data.lstrip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            crl = x509.load_pem_x509_crl(stripped)
        else:
            crl = x509.load_der_x509_crl(data)
    except _UNPARSABLE as exc:
        raise ValidationError(f"crlData is not a PEM or DER X.509 CRL: {exc}") from None
    try:
        crl.issuer  # noqa: B018 - decoding is the check
        crl.extensions  # noqa: B018
        crl.signature_hash_algorithm  # noqa: B018
        crl.last_update_utc  # noqa: B018
        crl.next_update_utc  # noqa: B018
        if check_entries:
            for entry in crl:
                entry.serial_number  # noqa: B018
                entry.revocation_date_utc  # noqa: B018
                entry.extensions  # noqa: B018
    except _UNPARSABLE as exc:
        raise ValidationError(f"crlData does not parse cleanly: {exc}") from None
    return crl


#: Certificates that may travel with one CRL (see parse_crl_signers).
MAX_CRL_SIGNERS = 5


def parse_crl_signers(
    data: bytes, *, max_certificates: int = MAX_CRL_SIGNERS
) -> tuple[x509.Certificate, ...]:
    """The certificates imported together with a CRL, or raise ValidationError.

    ``crlData`` in PEM form may carry, after (or before) the CRL, the certificates that vouch for
    its signer: a CA's separate CRL-signing certificate, or the link certificate of a CA key
    rollover. They are untrusted material: a CRL signer is used only once it validates to the
    trust anchor (``x509._revocation``). A DER CRL carries none. Each must parse cleanly.
    """
    if _PEM_CERT_BEGIN.encode() not in data:
        return ()
    try:
        certs = x509.load_pem_x509_certificates(data)
    except _UNPARSABLE as exc:
        raise ValidationError(f"crlData holds a certificate that does not parse: {exc}") from None
    if len(certs) > max_certificates:
        raise ValidationError(
            f"crlData holds {len(certs)} certificates besides the CRL; at most "
            f"{max_certificates} are taken"
        )
    for position, cert in enumerate(certs, start=1):
        problem = structure_problem(cert)
        if problem is not None:
            raise ValidationError(f"certificate {position} of crlData {problem}")
    return tuple(certs)


def _decode_der_b64(value: str, what: str) -> x509.Certificate:
    text = value.strip()
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not valid base64") from None
    try:
        cert = x509.load_der_x509_certificate(der)
    except _UNPARSABLE as exc:
        raise ValidationError(f"{what} is not a DER X.509 certificate: {exc}") from None
    # Names and extensions are decoded now (x509._rules.structure_problem), so every later reader
    # (attributes, subject records, path validation, the log) meets a certificate that parses.
    # The serial is judged by the path rules, which know whether a certificate is an anchor.
    problem = (
        structure_problem(cert, check_serial=False)
        or _name_part_problem(cert)
        or _algorithm_problem(cert)
    )
    if problem is not None:
        raise ValidationError(f"{what} {problem}")
    return cert


def parse_certificate_header(value: str) -> x509.Certificate:
    """Parse the ``X-Amz-X509`` header: base64 of the leaf's DER (reference §3.5)."""
    if not value.strip():
        raise ValidationError("the X-Amz-X509 header is empty")
    return _decode_der_b64(value, "the X-Amz-X509 header")


def parse_chain_header(value: str, *, max_certificates: int = 5) -> tuple[x509.Certificate, ...]:
    """Parse ``X-Amz-X509-Chain``: comma-separated base64 DER, at most ``max_certificates``.

    Empty items (a trailing comma) are ignored; the order is kept, as the server builds the path
    itself and never trusts the order (reference §3.5).
    """
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) > max_certificates:
        raise ValidationError(
            f"the X-Amz-X509-Chain header holds {len(items)} certificates; "
            f"at most {max_certificates} are allowed"
        )
    return tuple(
        _decode_der_b64(item, f"certificate {i} of the X-Amz-X509-Chain header")
        for i, item in enumerate(items, start=1)
    )
