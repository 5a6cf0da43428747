"""Parsing certificates, CA bundles and CRLs as they arrive over the API and in headers."""

from __future__ import annotations

import base64
import binascii

from cryptography import x509

from elsewhere.errors import ValidationError
from elsewhere.x509._algorithms import describe_name
from elsewhere.x509._rules import PathPolicy, ca_problem, structure_problem

__all__ = [
    "parse_ca_bundle",
    "parse_certificate_header",
    "parse_chain_header",
    "parse_crl",
    "parse_crl_signers",
]

_PEM_CERT_BEGIN = "-----BEGIN CERTIFICATE-----"


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
    except ValueError as exc:
        raise ValidationError(f"x509CertificateData could not be parsed as PEM: {exc}") from None
    if len(certs) > max_certificates:
        raise ValidationError(
            f"x509CertificateData holds {len(certs)} certificates; "
            f"a trust anchor takes at most {max_certificates}"
        )
    for position, cert in enumerate(certs, start=1):
        # Roles Anywhere's CA rule, the same one path validation applies (x509._rules).
        problem = ca_problem(cert, policy, anchor=True)
        if problem is not None:
            raise ValidationError(
                f"certificate {position} of the bundle ({describe_name(cert.subject)}) {problem}"
            )
    return tuple(certs)


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """Parse CRL bytes given as PEM or DER (both are accepted by ImportCrl), or raise."""
    stripped = data.lstrip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(stripped)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ValidationError(f"crlData is not a PEM or DER X.509 CRL: {exc}") from None


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
    except ValueError as exc:
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
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise ValidationError(f"{what} is not a DER X.509 certificate: {exc}") from None


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
