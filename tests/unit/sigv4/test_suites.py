"""Both SigV4 conformance suites, in full: sign and verify every case, intermediates compared."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from elsewhere.errors import InvalidSignature
from elsewhere.sigv4 import (
    HttpRequest,
    canonical_request,
    encode_query_component,
    parse_signed_request,
    sign_hmac_request,
    string_to_sign,
    verify_hmac_signature,
)
from tests.unit.sigv4._vectors import (
    AwsCAuthCase,
    ClassicCase,
    aws_c_auth_cases,
    classic_cases,
    parse_http_text,
)

AWS_C_AUTH = aws_c_auth_cases()
CLASSIC = classic_cases()
SUITE_TIME = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# Upstream erratum: this .sreq carries get-vanilla's signature (5fa00fa3...), not the one of its
# own .authz/.creq/.sts (07ec1639...). We check against .authz, and that the .sreq fails.
CLASSIC_SREQ_ERRATA = frozenset({"get-vanilla-with-session-token/get-vanilla-with-session-token"})


def _with_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    return HttpRequest(
        request.method,
        request.raw_path,
        request.raw_query,
        (*request.headers, (name, value)),
        request.body,
    )


def _authorization_line(signed_text: str) -> str:
    for line in signed_text.splitlines():
        if line.lower().startswith("authorization:"):
            return line.partition(":")[2]
    raise AssertionError("no Authorization line")


def _sign_c_auth(case: AwsCAuthCase, *, presigned: bool) -> HttpRequest:
    creds = case.credentials
    request = case.request
    if case.context.get("sign_body") and not presigned:
        # aws-c-auth's sign_body adds a signed X-Amz-Content-SHA256 header in header mode.
        request = _with_header(
            request, "X-Amz-Content-SHA256", hashlib.sha256(request.body).hexdigest()
        )
    token = creds.get("token")
    token_after = bool(case.context.get("omit_session_token"))
    signed = sign_hmac_request(
        request,
        access_key_id=creds["access_key_id"],
        secret_access_key=creds["secret_access_key"],
        region=str(case.context["region"]),
        service=str(case.context["service"]),
        now=case.now,
        session_token=None if token_after else token,
        presign_expires=int(str(case.context["expiration_in_seconds"])) if presigned else None,
        normalize_path=bool(case.context["normalize"]),
    )
    if token_after and token is not None:
        # post-sts-header-after: the token is added once the signature is computed.
        if presigned:
            signed = HttpRequest(
                signed.method,
                signed.raw_path,
                f"{signed.raw_query}&X-Amz-Security-Token={encode_query_component(token)}",
                signed.headers,
                signed.body,
            )
        else:
            signed = _with_header(signed, "X-Amz-Security-Token", token)
    return signed


@pytest.mark.parametrize("presigned", [False, True], ids=["header", "query"])
@pytest.mark.parametrize("case", AWS_C_AUTH, ids=[c.name for c in AWS_C_AUTH])
def test_aws_c_auth_sign(case: AwsCAuthCase, presigned: bool) -> None:
    """Signing reproduces the suite's canonical request, string to sign and signature."""
    prefix = "query" if presigned else "header"
    normalize = bool(case.context["normalize"])
    signed_request = _sign_c_auth(case, presigned=presigned)
    signed = parse_signed_request(signed_request)
    creq = canonical_request(
        signed_request,
        signed.signed_headers,
        signed.payload_hash,
        presigned=presigned,
        normalize_path=normalize,
        # post-sts-header-after: the appended token was not part of what was signed.
        exclude_query=frozenset({"X-Amz-Security-Token"})
        if presigned and case.context.get("omit_session_token")
        else frozenset(),
    )
    assert creq == case.files[f"{prefix}-canonical-request.txt"]
    sts = string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq)
    assert sts == case.files[f"{prefix}-string-to-sign.txt"]
    assert signed.signature == case.files[f"{prefix}-signature.txt"].strip()
    verify_hmac_signature(
        signed_request, signed, case.credentials["secret_access_key"], normalize_path=normalize
    )


@pytest.mark.parametrize("presigned", [False, True], ids=["header", "query"])
@pytest.mark.parametrize("case", AWS_C_AUTH, ids=[c.name for c in AWS_C_AUTH])
def test_aws_c_auth_verify(case: AwsCAuthCase, presigned: bool) -> None:
    """The suite's signed request verifies; our header-form Authorization equals the suite's."""
    prefix = "query" if presigned else "header"
    text = case.files[f"{prefix}-signed-request.txt"]
    wire = parse_http_text(text)
    signed = parse_signed_request(wire)
    assert signed.presigned is presigned
    verify_hmac_signature(
        wire,
        signed,
        case.credentials["secret_access_key"],
        normalize_path=bool(case.context["normalize"]),
    )
    if not presigned:
        ours = _sign_c_auth(case, presigned=False)
        assert dict(ours.headers)["Authorization"] == _authorization_line(text)


@pytest.mark.parametrize("case", CLASSIC, ids=[c.name for c in CLASSIC])
def test_classic_sign(case: ClassicCase) -> None:
    """Signing the .req reproduces .creq, .sts and .authz."""
    token = case.signed.header("x-amz-security-token")
    token_signed = token is not None and "x-amz-security-token" in case.authz
    signed_request = sign_hmac_request(
        case.request,
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SUITE_SECRET,
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
        session_token=token if token_signed else None,
    )
    signed = parse_signed_request(signed_request)
    creq = canonical_request(signed_request, signed.signed_headers, signed.payload_hash)
    assert creq == case.creq
    assert string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq) == case.sts
    assert dict(signed_request.headers)["Authorization"] == case.authz


@pytest.mark.parametrize("case", CLASSIC, ids=[c.name for c in CLASSIC])
def test_classic_verify(case: ClassicCase) -> None:
    """The .sreq parses and verifies, and a wrong secret fails it."""
    wire = case.signed
    if case.name in CLASSIC_SREQ_ERRATA:
        wire = HttpRequest(
            wire.method,
            wire.raw_path,
            wire.raw_query,
            tuple((n, case.authz if n.lower() == "authorization" else v) for n, v in wire.headers),
            wire.body,
        )
    signed = parse_signed_request(wire)
    verify_hmac_signature(wire, signed, SUITE_SECRET)
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(wire, signed, SUITE_SECRET[:-1] + "X")


def test_classic_sreq_erratum_is_really_wrong() -> None:
    """The one upstream .sreq whose signature disagrees with its .authz does fail verification."""
    (case,) = [c for c in CLASSIC if c.name in CLASSIC_SREQ_ERRATA]
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(case.signed, parse_signed_request(case.signed), SUITE_SECRET)
