"""HMAC SigV4 (``AWS4-HMAC-SHA256``): signing key, signing and verification.

Source: AWS General Reference, "Signature Version 4 signing process"; botocore ``auth.py``
``SigV4Auth`` and ``SigV4QueryAuth`` (what the signer reproduces).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import re
from typing import cast

from elsewhere.errors import InvalidSignature
from elsewhere.sigv4._canonical import canonical_request, encode_query_component, string_to_sign
from elsewhere.sigv4._model import CredentialScope, HttpRequest, SignedRequest
from elsewhere.sigv4._parse import ALGORITHM_HMAC, TERMINATOR, format_amz_date

__all__ = [
    "SIGNED_HEADERS_EXCLUDED",
    "UNSIGNED_PAYLOAD",
    "check_payload_hash",
    "derive_signing_key",
    "headers_to_sign",
    "sign_hmac_request",
    "verify_hmac_signature",
]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Headers botocore never signs: hop-by-hop headers a proxy may rewrite, tracing headers and
# User-Agent, which are added or changed after signing (botocore auth.py SIGNED_HEADERS_BLACKLIST).
SIGNED_HEADERS_EXCLUDED = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def derive_signing_key(secret_access_key: str, scope: CredentialScope) -> bytes:
    """kSigning = HMAC chain over date, region, service and terminator, keyed by 'AWS4'+secret.

    The key depends only on the secret and the scope, so a caller may keep it for the scope's
    day and pass it to :func:`verify_hmac_signature` as ``signing_key`` (AWS General Reference,
    "Signature Version 4 signing process": the derived key is meant to be reused).
    """
    # hmac.digest is the one-shot OpenSSL path: the same HMAC-SHA256 without building an
    # hmac.HMAC object per step.
    key = hmac.digest(("AWS4" + secret_access_key).encode("utf-8"), scope.date.encode(), "sha256")
    key = hmac.digest(key, scope.region.encode("utf-8"), "sha256")
    key = hmac.digest(key, scope.service.encode("utf-8"), "sha256")
    return hmac.digest(key, scope.terminator.encode("utf-8"), "sha256")


def check_payload_hash(request: HttpRequest, signed: SignedRequest) -> None:
    """Raise InvalidSignature unless the declared payload hash covers the body actually received.

    A hex ``X-Amz-Content-SHA256`` must equal the body's hash, or the signature would cover a
    body other than the one received. ``UNSIGNED-PAYLOAD`` is honoured (the caller decides
    whether a service allows it); ``STREAMING-*`` chunked signing is not supported.
    """
    declared = signed.payload_hash
    if declared == UNSIGNED_PAYLOAD:
        return
    if not _HEX_SHA256.fullmatch(declared):
        raise InvalidSignature(reason=f"unsupported x-amz-content-sha256 value {declared[:40]!r}")
    actual = request._body_sha256()
    if not hmac.compare_digest(declared.lower(), actual):
        raise InvalidSignature(reason="x-amz-content-sha256 does not match the body")


def _expected_signature(
    request: HttpRequest,
    signed: SignedRequest,
    signing_key: bytes,
    exclude_query: frozenset[str] = frozenset(),
    *,
    normalize_path: bool = True,
) -> bytes:
    creq = canonical_request(
        request,
        signed.signed_headers,
        signed.payload_hash,
        presigned=signed.presigned,
        exclude_query=exclude_query,
        normalize_path=normalize_path,
    )
    sts = string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq)
    return hmac.digest(signing_key, sts.encode("utf-8"), "sha256").hex().encode("ascii")


def verify_hmac_signature(
    request: HttpRequest,
    signed: SignedRequest,
    secret_access_key: str | None = None,
    *,
    normalize_path: bool = True,
    signing_key: bytes | None = None,
) -> None:
    """Raise InvalidSignature unless ``signed`` is a valid HMAC SigV4 signature of ``request``.

    Give the secret, or ``signing_key``: the key :func:`derive_signing_key` derives from that
    secret for ``signed.scope`` (a caller that caches derived keys skips four HMACs); exactly
    one of the two. Signatures are compared in constant time. A presigned request whose
    ``X-Amz-Security-Token`` was appended *after* signing (AWS IoT style; aws-c-auth vector
    ``post-sts-header-after``) is accepted as well: the token is authenticated on its own by
    the caller. ``normalize_path=False`` is S3-style path handling, for the conformance suites
    only.
    """
    if (secret_access_key is None) == (signing_key is None):
        raise TypeError("give exactly one of secret_access_key and signing_key")
    if signed.algorithm != ALGORITHM_HMAC:
        raise InvalidSignature(reason=f"algorithm {signed.algorithm} is not HMAC")
    check_payload_hash(request, signed)
    if signing_key is None:
        signing_key = derive_signing_key(cast(str, secret_access_key), signed.scope)
    given = signed.signature.encode("ascii", "replace")
    expected = _expected_signature(request, signed, signing_key, normalize_path=normalize_path)
    if hmac.compare_digest(expected, given):
        return
    if signed.presigned and signed.security_token is not None:
        expected = _expected_signature(
            request,
            signed,
            signing_key,
            frozenset({"X-Amz-Security-Token"}),
            normalize_path=normalize_path,
        )
        if hmac.compare_digest(expected, given):
            return
    raise InvalidSignature(reason="HMAC signature does not match")


def headers_to_sign(headers: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The sorted, de-duplicated lower-case names a botocore-style signer signs."""
    names = {n.lower() for n, _ in headers} - SIGNED_HEADERS_EXCLUDED
    if "host" not in names:
        raise ValueError("a request to sign needs a Host header")
    return tuple(sorted(names))


def _without(headers: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    drop = {n.lower() for n in names}
    return [(n, v) for n, v in headers if n.lower() not in drop]


def _payload_hash_for_signing(headers: list[tuple[str, str]], body: bytes) -> str:
    for name, value in headers:
        if name.lower() == "x-amz-content-sha256":
            return value
    return hashlib.sha256(body).hexdigest()


def sign_hmac_request(
    request: HttpRequest,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: dt.datetime,
    session_token: str | None = None,
    presign_expires: int | None = None,
    unsigned_payload: bool = False,
    normalize_path: bool = True,
) -> HttpRequest:
    """``request`` signed as botocore signs it: header form, or presigned query form.

    Header form: sets ``X-Amz-Date`` (or rewrites ``Date`` when present), the session token and
    ``Authorization``. Presigned (``presign_expires`` seconds): appends the ``X-Amz-*`` query
    parameters after the request's own, then ``X-Amz-Signature``. Every header present is
    signed except :data:`SIGNED_HEADERS_EXCLUDED`; a ``Host`` header is required.
    ``normalize_path=False`` is S3-style path handling, for the conformance suites only.
    """
    amz_date = format_amz_date(now)
    scope = CredentialScope(amz_date[:8], region, service, TERMINATOR)
    headers = _without(list(request.headers), "authorization")
    if unsigned_payload:
        headers = [
            *_without(headers, "x-amz-content-sha256"),
            ("X-Amz-Content-SHA256", UNSIGNED_PAYLOAD),
        ]
    if presign_expires is not None:
        signed_headers = headers_to_sign(tuple(headers))
        auth_params = [
            ("X-Amz-Algorithm", ALGORITHM_HMAC),
            ("X-Amz-Credential", f"{access_key_id}/{scope.format()}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(presign_expires)),
            ("X-Amz-SignedHeaders", ";".join(signed_headers)),
        ]
        if session_token is not None:
            auth_params.append(("X-Amz-Security-Token", session_token))
        encoded = "&".join(
            f"{encode_query_component(k)}={encode_query_component(v)}" for k, v in auth_params
        )
        query = f"{request.raw_query}&{encoded}" if request.raw_query else encoded
        unsigned = HttpRequest(
            request.method, request.raw_path, query, tuple(headers), request.body
        )
        creq = canonical_request(
            unsigned,
            signed_headers,
            _payload_hash_for_signing(headers, request.body),
            presigned=True,
            normalize_path=normalize_path,
        )
        sts = string_to_sign(ALGORITHM_HMAC, amz_date, scope, creq)
        signature = hmac.digest(
            derive_signing_key(secret_access_key, scope), sts.encode("utf-8"), "sha256"
        ).hex()
        return HttpRequest(
            request.method,
            request.raw_path,
            f"{query}&X-Amz-Signature={signature}",
            tuple(headers),
            request.body,
        )

    if any(n.lower() == "date" for n, _ in headers):
        headers = [
            *_without(headers, "date", "x-amz-date"),
            ("Date", email.utils.formatdate(now.timestamp())),
        ]
    else:
        headers = [*_without(headers, "x-amz-date"), ("X-Amz-Date", amz_date)]
    if session_token is not None:
        headers = [
            *_without(headers, "x-amz-security-token"),
            ("X-Amz-Security-Token", session_token),
        ]
    signed_headers = headers_to_sign(tuple(headers))
    unsigned = HttpRequest(
        request.method, request.raw_path, request.raw_query, tuple(headers), request.body
    )
    creq = canonical_request(
        unsigned,
        signed_headers,
        _payload_hash_for_signing(headers, request.body),
        normalize_path=normalize_path,
    )
    sts = string_to_sign(ALGORITHM_HMAC, amz_date, scope, creq)
    signature = hmac.digest(
        derive_signing_key(secret_access_key, scope), sts.encode("utf-8"), "sha256"
    ).hex()
    authorization = (
        f"{ALGORITHM_HMAC} Credential={access_key_id}/{scope.format()}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return HttpRequest(
        request.method,
        request.raw_path,
        request.raw_query,
        (*headers, ("Authorization", authorization)),
        request.body,
    )
