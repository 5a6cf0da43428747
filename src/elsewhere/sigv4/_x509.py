"""X.509 SigV4 (``AWS4-X509-*``), the Roles Anywhere ``CreateSession`` signature.

The canonical request and string to sign are SigV4's; the certificate's private key signs the
string to sign directly: RSASSA-PKCS1-v1_5 with SHA-256, ECDSA with SHA-256 on every curve
(DER-encoded), or pure ML-DSA with an empty context (rolesanywhere-protocol.md §3.1, AWS IAM
Roles Anywhere User Guide "Signing process").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa

from elsewhere.errors import InvalidSignature
from elsewhere.sigv4._canonical import canonical_request, string_to_sign
from elsewhere.sigv4._hmac import (
    _payload_hash_for_signing,
    _without,
    check_payload_hash,
    headers_to_sign,
)
from elsewhere.sigv4._model import CredentialScope, HttpRequest, SignedRequest
from elsewhere.sigv4._parse import (
    ALGORITHM_X509_ECDSA,
    ALGORITHM_X509_MLDSA,
    ALGORITHM_X509_RSA,
    TERMINATOR,
    format_amz_date,
)

__all__ = [
    "SigningCertificate",
    "X509PrivateKey",
    "X509PublicKey",
    "required_x509_headers",
    "sign_x509_request",
    "verify_string_signature",
    "verify_x509_signature",
    "x509_algorithm_for_key",
]

_MLDSA_PRIVATE = (mldsa.MLDSA44PrivateKey, mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey)
_MLDSA_PUBLIC = (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)

X509PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
)
X509PublicKey = (
    rsa.RSAPublicKey
    | ec.EllipticCurvePublicKey
    | mldsa.MLDSA44PublicKey
    | mldsa.MLDSA65PublicKey
    | mldsa.MLDSA87PublicKey
)


def _family(algorithm: str) -> str | None:
    # -SHA384/-SHA512 names (awslabs iam-rolesanywhere-session) are the same family and are
    # still verified with SHA-256 (rolesanywhere-protocol.md §3.1).
    if algorithm == ALGORITHM_X509_MLDSA:
        return "mldsa"
    for prefix, family in (("AWS4-X509-RSA-", "rsa"), ("AWS4-X509-ECDSA-", "ecdsa")):
        if algorithm.startswith(prefix) and algorithm[len(prefix) :] in {
            "SHA256",
            "SHA384",
            "SHA512",
        }:
            return family
    return None


def x509_algorithm_for_key(key: X509PrivateKey | X509PublicKey) -> str:
    """The ``AWS4-X509-*`` algorithm name for a key type."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return ALGORITHM_X509_RSA
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ALGORITHM_X509_ECDSA
    if isinstance(key, _MLDSA_PRIVATE + _MLDSA_PUBLIC):
        return ALGORITHM_X509_MLDSA
    raise InvalidSignature(reason=f"unsupported key type {type(key).__name__}")


def verify_string_signature(
    public_key: object, algorithm: str, message: bytes, signature: bytes
) -> None:
    """Raise InvalidSignature unless ``signature`` is ``algorithm``'s signature of ``message``.

    The primitive under :func:`verify_x509_signature`: RSA PKCS#1 v1.5 / SHA-256, ECDSA /
    SHA-256 with a DER signature on any curve, or pure ML-DSA with an empty context. The key
    type must match the algorithm.
    """
    family = _family(algorithm)
    try:
        if family == "rsa" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            return
        if family == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return
        if family == "mldsa" and isinstance(public_key, _MLDSA_PUBLIC):
            public_key.verify(signature, message)
            return
    except CryptoInvalidSignature:
        raise InvalidSignature(reason=f"{algorithm} signature does not verify") from None
    except ValueError as exc:  # malformed key material or signature encoding
        raise InvalidSignature(reason=f"{algorithm} signature rejected: {exc}") from None
    raise InvalidSignature(
        reason=f"algorithm {algorithm} does not match key type {type(public_key).__name__}"
    )


def required_x509_headers(request: HttpRequest, signed: SignedRequest) -> frozenset[str]:
    """The headers an X.509 signature must sign for ``request``.

    ``host`` and ``x-amz-date`` (SigV4), ``x-amz-x509``, and ``x-amz-x509-chain`` whenever that
    header was sent (AWS Roles Anywhere User Guide, "Signing process"). ``x-amz-date`` is only
    required when the date came from that header rather than the query.
    """
    required = {"host", "x-amz-x509"}
    if not signed.presigned:
        required.add("x-amz-date")
    if request.header("x-amz-x509-chain") is not None:
        required.add("x-amz-x509-chain")
    return frozenset(required)


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """A leaf certificate prepared once for repeated signature checks.

    Holds what every check of the same certificate needs: its DER and canonical base64 (to match
    ``X-Amz-X509``), its public key (None when cryptography cannot load it) and its serial in
    decimal (the credential). A server that sees one workload's certificate on every request
    builds this once instead of re-deriving it per request.
    """

    certificate: x509.Certificate
    der: bytes
    der_base64: str
    public_key: X509PublicKey | None
    serial: str

    @classmethod
    def of(cls, certificate: x509.Certificate) -> SigningCertificate:
        """Prepare ``certificate``."""
        try:
            public_key: X509PublicKey | None = certificate.public_key()  # type: ignore[assignment]
        except (UnsupportedAlgorithm, ValueError):
            # An unknown SubjectPublicKeyInfo algorithm or malformed key bytes: cryptography
            # parses the key only here; the check refuses such a certificate.
            public_key = None
        der = certificate.public_bytes(serialization.Encoding.DER)
        return cls(
            certificate=certificate,
            der=der,
            der_base64=base64.b64encode(der).decode("ascii"),
            public_key=public_key,
            serial=str(certificate.serial_number),
        )


def _check_certificate_header(request: HttpRequest, signer: SigningCertificate) -> None:
    header = request.header("x-amz-x509")
    if header is None:
        raise InvalidSignature(reason="no X-Amz-X509 header")
    text = header.strip()
    if text == signer.der_base64:  # the spelling every signer sends
        return
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature(reason="X-Amz-X509 is not base64") from None
    if der != signer.der:
        raise InvalidSignature(reason="certificate is not the one in X-Amz-X509")


def verify_x509_signature(
    request: HttpRequest,
    signed: SignedRequest,
    certificate: x509.Certificate | SigningCertificate,
) -> None:
    """Raise InvalidSignature unless ``certificate`` made the X.509 SigV4 signature of ``request``.

    Checks, in order: an ``AWS4-X509-*`` algorithm matching the key type, the required signed
    headers, the credential naming the certificate's serial (decimal), ``X-Amz-X509`` holding this
    certificate, the payload hash against the body, then the signature over the string to sign.
    Scope and time are the caller's (:func:`check_scope`, :func:`check_request_time`); the public
    text (``Invalid signature``) is the caller's too. Pass a :class:`SigningCertificate` to check
    many requests of one certificate without re-deriving its key, DER and serial each time.
    """
    family = _family(signed.algorithm)
    if family is None:
        raise InvalidSignature(reason=f"algorithm {signed.algorithm} is not X.509")
    signer = (
        certificate
        if isinstance(certificate, SigningCertificate)
        else SigningCertificate.of(certificate)
    )
    if signer.public_key is None:
        raise InvalidSignature(reason="the certificate's public key is not usable")
    missing = required_x509_headers(request, signed) - {h.lower() for h in signed.signed_headers}
    if missing:
        raise InvalidSignature(reason=f"required headers not signed: {', '.join(sorted(missing))}")
    if signed.credential != signer.serial:
        raise InvalidSignature(reason="credential is not the certificate's serial number")
    _check_certificate_header(request, signer)
    check_payload_hash(request, signed)
    try:
        signature = bytes.fromhex(signed.signature)
    except ValueError:
        raise InvalidSignature(reason="signature is not hex") from None
    creq = canonical_request(
        request, signed.signed_headers, signed.payload_hash, presigned=signed.presigned
    )
    sts = string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq)
    verify_string_signature(signer.public_key, signed.algorithm, sts.encode("utf-8"), signature)


def _b64_der(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _sign_bytes(private_key: X509PrivateKey, message: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        # SHA-256 on every curve, as AWS's helper does (file_system_signer.go).
        return private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    return private_key.sign(message)


def sign_x509_request(
    request: HttpRequest,
    *,
    certificate: x509.Certificate,
    private_key: X509PrivateKey,
    region: str,
    now: dt.datetime,
    intermediates: tuple[x509.Certificate, ...] = (),
    service: str = "rolesanywhere",
) -> HttpRequest:
    """``request`` signed with a certificate's key, as AWS's ``aws_signing_helper`` signs it.

    Adds ``X-Amz-Date``, ``X-Amz-X509`` (base64 DER), ``X-Amz-X509-Chain`` (comma-separated,
    in the order given) when there are intermediates, and ``Authorization`` with the leaf's
    serial number in decimal as the credential. Every header present is signed except the
    hop-by-hop, tracing and User-Agent headers.
    """
    amz_date = format_amz_date(now)
    scope = CredentialScope(amz_date[:8], region, service, TERMINATOR)
    algorithm = x509_algorithm_for_key(private_key)
    headers = _without(
        list(request.headers), "authorization", "x-amz-date", "x-amz-x509", "x-amz-x509-chain"
    )
    headers += [("X-Amz-Date", amz_date), ("X-Amz-X509", _b64_der(certificate))]
    if intermediates:
        headers.append(("X-Amz-X509-Chain", ",".join(_b64_der(c) for c in intermediates)))
    signed_headers = headers_to_sign(tuple(headers))
    unsigned = HttpRequest(
        request.method, request.raw_path, request.raw_query, tuple(headers), request.body
    )
    creq = canonical_request(
        unsigned, signed_headers, _payload_hash_for_signing(headers, request.body)
    )
    sts = string_to_sign(algorithm, amz_date, scope, creq)
    signature = _sign_bytes(private_key, sts.encode("utf-8")).hex()
    authorization = (
        f"{algorithm} Credential={certificate.serial_number}/{scope.format()}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return HttpRequest(
        request.method,
        request.raw_path,
        request.raw_query,
        (*headers, ("Authorization", authorization)),
        request.body,
    )
