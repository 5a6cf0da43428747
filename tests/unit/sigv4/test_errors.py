"""Parse, time and scope checks: outcomes and AWS's exact error texts, as ok/... fail/... tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from elsewhere.errors import (
    ElsewhereError,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    SignatureExpired,
)
from elsewhere.sigv4 import (
    HttpRequest,
    SignedRequest,
    check_request_time,
    check_scope,
    parse_signed_request,
    sign_hmac_request,
)

NOW = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)
GOOD_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abcd"
)


def _req(
    headers: tuple[tuple[str, str], ...] = (), query: str = "", body: bytes = b""
) -> HttpRequest:
    return HttpRequest("POST", "/", query, (("Host", "example.com"), *headers), body)


def _auth(value: str, date: str | None = "20150830T123600Z") -> HttpRequest:
    headers = [("Authorization", value)]
    if date is not None:
        headers.append(("X-Amz-Date", date))
    return _req(tuple(headers))


PRESIGN = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=abcd"
)

PARSE_FAIL = [
    ("fail/no-authentication", _req(), MissingAuthenticationToken, "Missing Authentication Token"),
    (
        "fail/missing-equal-sign",
        _auth("AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab"),
        IncompleteSignature,
        "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
        "'AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=ab'",
    ),
    (
        "fail/missing-all-parts",
        _auth("AWS4-HMAC-SHA256 ", date=None),
        IncompleteSignature,
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256 ",
    ),
    (
        "fail/missing-signature",
        _auth(
            "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/iam/aws4_request, SignedHeaders=host"
        ),
        IncompleteSignature,
        "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 "
        "Credential=A/20150830/us-east-1/iam/aws4_request, SignedHeaders=host",
    ),
    (
        "fail/credential-four-parts",
        _auth(GOOD_AUTH.replace("AKIDEXAMPLE/", "")),
        IncompleteSignature,
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/"
        "term, got '20150830/us-east-1/iam/aws4_request'",
    ),
    (
        "fail/unsupported-algorithm",
        _auth(GOOD_AUTH.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")),
        IncompleteSignature,
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'",
    ),
    (
        "fail/host-not-signed",
        _auth(GOOD_AUTH.replace("host;", "")),
        IncompleteSignature,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    ),
    (
        "fail/x-amz-date-not-signed",
        _auth(GOOD_AUTH.replace(";x-amz-date", "")),
        IncompleteSignature,
        "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
    ),
    (
        "fail/bad-date",
        _auth(GOOD_AUTH, date="2015-08-30T12:36:00Z"),
        IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    ),
    (
        "fail/impossible-date",
        _auth(GOOD_AUTH, date="20150230T123600Z"),
        IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got '20150230T123600Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    ),
    (
        "fail/presigned-missing-signature",
        _req(query=PRESIGN.replace("&X-Amz-Signature=abcd", "")),
        IncompleteSignature,
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "Re-examine the query-string parameters.",
    ),
    (
        "fail/presigned-expires-not-a-number",
        _req(query=PRESIGN.replace("X-Amz-Expires=3600", "X-Amz-Expires=soon")),
        IncompleteSignature,
        "X-Amz-Expires should be a number",
    ),
    (
        "fail/presigned-expires-over-a-week",
        _req(query=PRESIGN.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801")),
        IncompleteSignature,
        "X-Amz-Expires must be less than a week (in seconds) that is 604800",
    ),
]


@pytest.mark.parametrize(
    ("request_", "error", "text"),
    [c[1:] for c in PARSE_FAIL],
    ids=[c[0] for c in PARSE_FAIL],
)
def test_parse_failures(request_: HttpRequest, error: type[ElsewhereError], text: str) -> None:
    """fail/...: malformed or missing signature parts raise the right error with AWS's text."""
    with pytest.raises(error) as info:
        parse_signed_request(request_)
    assert type(info.value) is error
    assert info.value.message == text


def test_ok_parse_header_form() -> None:
    """ok/header: every part of the Authorization header lands in SignedRequest."""
    signed = parse_signed_request(
        _req(
            (
                ("Authorization", GOOD_AUTH),
                ("X-Amz-Date", "20150830T123600Z"),
                ("X-Amz-Security-Token", "tok"),
            ),
            body=b"x",
        )
    )
    assert signed.algorithm == "AWS4-HMAC-SHA256"
    assert signed.credential == "AKIDEXAMPLE"
    assert (signed.scope.date, signed.scope.region, signed.scope.service) == (
        "20150830",
        "us-east-1",
        "iam",
    )
    assert signed.scope.terminator == "aws4_request"
    assert signed.timestamp == NOW
    assert signed.signed_headers == ("host", "x-amz-date")
    assert signed.signature == "abcd"
    assert signed.security_token == "tok"
    assert not signed.presigned
    assert signed.expires is None
    assert signed.payload_hash == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_ok_parse_presigned_form() -> None:
    """ok/presigned: the X-Amz-* query parameters are decoded into SignedRequest."""
    signed = parse_signed_request(_req(query=PRESIGN + "&X-Amz-Security-Token=a%2Fb"))
    assert signed.presigned
    assert signed.expires == 3600
    assert signed.scope.service == "sts"
    assert signed.security_token == "a/b"
    assert signed.signed_headers == ("host",)


def test_ok_parse_date_header() -> None:
    """ok/date-header: an RFC 1123 Date header stands in for X-Amz-Date (botocore does this)."""
    auth = GOOD_AUTH.replace("x-amz-date", "date")
    signed = parse_signed_request(
        _req((("Authorization", auth), ("Date", "Sun, 30 Aug 2015 12:36:00 GMT")))
    )
    assert signed.amz_date == "20150830T123600Z"
    assert signed.timestamp == NOW


def test_ok_content_sha256_header_is_the_payload_hash() -> None:
    """ok/content-sha256: X-Amz-Content-SHA256 (even UNSIGNED-PAYLOAD) is the payload hash."""
    signed = parse_signed_request(
        _req(
            (
                ("Authorization", GOOD_AUTH),
                ("X-Amz-Date", "20150830T123600Z"),
                ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
            ),
            body=b"x",
        )
    )
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"


def _signed(amz_date: str, *, presigned: bool = False, expires: int | None = None) -> SignedRequest:
    base = parse_signed_request(_auth(GOOD_AUTH, date=amz_date))
    return replace(base, presigned=presigned, expires=expires)


def _at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


TIME_CASES = [
    ("ok/same-second", "20150830T123600Z", "20150830T123600Z", False, None, None),
    ("ok/five-minutes-late", "20150830T123600Z", "20150830T124100Z", False, None, None),
    ("ok/five-minutes-early", "20150830T123600Z", "20150830T123100Z", False, None, None),
    (
        "fail/expired",
        "20211210T145000Z",
        "20211210T145557Z",
        False,
        None,
        "Signature expired: 20211210T145000Z is now earlier than 20211210T145057Z "
        "(20211210T145557Z - 5 min.)",
    ),
    (
        "fail/not-yet-current",
        "20170424T013926Z",
        "20170424T013332Z",
        False,
        None,
        "Signature not yet current: 20170424T013926Z is still later than 20170424T013832Z "
        "(20170424T013332Z + 5 min.)",
    ),
    ("ok/presigned-within-expires", "20150830T123600Z", "20150830T133500Z", True, 3600, None),
    (
        "fail/presigned-past-expires",
        "20150830T123600Z",
        "20150830T133601Z",
        True,
        3600,
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
        "(20150830T133601Z - 60 min.)",
    ),
    (
        "fail/presigned-past-odd-expires",
        "20150830T123600Z",
        "20150830T123700Z",
        True,
        30,
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123630Z "
        "(20150830T123700Z - 30 sec.)",
    ),
    (
        "fail/presigned-not-yet-current",
        "20150830T123600Z",
        "20150830T122900Z",
        True,
        3600,
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123400Z "
        "(20150830T122900Z + 5 min.)",
    ),
    ("ok/presigned-without-expires", "20150830T123600Z", "20150830T124000Z", True, None, None),
]


@pytest.mark.parametrize(
    ("amz_date", "now", "presigned", "expires", "text"),
    [c[1:] for c in TIME_CASES],
    ids=[c[0] for c in TIME_CASES],
)
def test_request_time(
    amz_date: str, now: str, presigned: bool, expires: int | None, text: str | None
) -> None:
    """The ±5 min window (presigned: up to X-Amz-Expires) and AWS's "Signature expired" texts."""
    signed = _signed(amz_date, presigned=presigned, expires=expires)
    if text is None:
        check_request_time(signed, _at(now))
        return
    with pytest.raises(SignatureExpired) as info:
        check_request_time(signed, _at(now))
    assert info.value.message == text
    assert isinstance(info.value, InvalidSignature)


def _scoped(credential: str, amz_date: str = "20150830T123600Z") -> SignedRequest:
    auth = GOOD_AUTH.replace("AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request", credential)
    return parse_signed_request(_auth(auth, date=amz_date))


SCOPE_CASES = [
    ("ok/exact", "K/20150830/us-east-1/iam/aws4_request", "iam", "us-east-1", None),
    ("ok/any-region", "K/20150830/eu-west-3/iam/aws4_request", "iam", None, None),
    ("ok/aws-global", "K/20150830/aws-global/iam/aws4_request", "iam", None, None),
    (
        "fail/wrong-region",
        "K/20150830/us-west-1/sts/aws4_request",
        "sts",
        "us-east-1",
        "Credential should be scoped to a valid region, not 'us-west-1'. ",
    ),
    (
        "fail/invalid-region",
        "K/20150830/US_EAST/sts/aws4_request",
        "sts",
        None,
        "Credential should be scoped to a valid region, not 'US_EAST'. ",
    ),
    (
        "fail/wrong-service",
        "K/20150830/us-east-1/s3/aws4_request",
        "rolesanywhere",
        None,
        "Credential should be scoped to correct service: 'rolesanywhere'. ",
    ),
    (
        "fail/wrong-terminator",
        "K/20150830/us-east-1/iam/aws5_request",
        "iam",
        None,
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
    ),
    (
        "fail/wrong-date",
        "K/20150831/us-east-1/iam/aws4_request",
        "iam",
        None,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
    ),
    (
        "fail/everything",
        "K/20150831/x_y/s3/term",
        "iam",
        None,
        "Credential should be scoped to a valid region, not 'x_y'. "
        "Credential should be scoped to correct service: 'iam'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'term'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
    ),
]


@pytest.mark.parametrize(
    ("credential", "service", "region", "text"),
    [c[1:] for c in SCOPE_CASES],
    ids=[c[0] for c in SCOPE_CASES],
)
def test_scope(credential: str, service: str, region: str | None, text: str | None) -> None:
    """Scope region/service/terminator/date checks, every failing sentence concatenated."""
    signed = _scoped(credential)
    if text is None:
        check_scope(signed, service=service, region=region)
        return
    with pytest.raises(InvalidSignature) as info:
        check_scope(signed, service=service, region=region)
    assert type(info.value) is InvalidSignature
    assert info.value.message == text


def test_fail_verify_message_is_aws_mismatch_text() -> None:
    """fail/mismatch: a wrong signature carries AWS's SignatureDoesNotMatch sentence."""
    from elsewhere.sigv4 import verify_hmac_signature

    request = sign_hmac_request(
        _req(),
        access_key_id="K",
        secret_access_key="s",
        region="us-east-1",
        service="iam",
        now=NOW,
    )
    with pytest.raises(InvalidSignature) as info:
        verify_hmac_signature(request, parse_signed_request(request), "t")
    assert info.value.message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )


def test_ok_date_header_round_trip() -> None:
    """ok/date-header-signing: with a Date header we sign it (as botocore does) and still verify."""
    from elsewhere.sigv4 import verify_hmac_signature

    request = sign_hmac_request(
        _req((("Date", "Mon, 01 Jan 2001 00:00:00 GMT"),)),
        access_key_id="K",
        secret_access_key="s",
        region="us-east-1",
        service="iam",
        now=NOW,
    )
    assert request.header("x-amz-date") is None
    assert request.header("date") == "Sun, 30 Aug 2015 12:36:00 -0000"
    signed = parse_signed_request(request)
    assert signed.amz_date == "20150830T123600Z"
    assert "date" in signed.signed_headers
    verify_hmac_signature(request, signed, "s")


def test_ok_unsigned_payload_leaves_body_unauthenticated() -> None:
    """ok/unsigned-payload: UNSIGNED-PAYLOAD is honoured; the body is then not signed."""
    from elsewhere.sigv4 import verify_hmac_signature

    request = sign_hmac_request(
        _req(body=b"one"),
        access_key_id="K",
        secret_access_key="s",
        region="us-east-1",
        service="s3",
        now=NOW,
        unsigned_payload=True,
    )
    changed = replace(request, body=b"two")
    signed = parse_signed_request(changed)
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"
    verify_hmac_signature(changed, signed, "s")


def test_fail_streaming_payload_hash() -> None:
    """fail/streaming-payload: STREAMING-* chunked payload signing is not supported."""
    from elsewhere.sigv4 import verify_hmac_signature

    request = sign_hmac_request(
        _req((("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),)),
        access_key_id="K",
        secret_access_key="s",
        region="us-east-1",
        service="s3",
        now=NOW,
    )
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(request, parse_signed_request(request), "s")


def test_ok_presigned_token_appended_after_signing() -> None:
    """ok/token-after: a presigned URL whose token was appended after signing still verifies."""
    from elsewhere.sigv4 import verify_hmac_signature

    request = sign_hmac_request(
        _req(),
        access_key_id="K",
        secret_access_key="s",
        region="us-east-1",
        service="iot",
        now=NOW,
        presign_expires=60,
    )
    late = replace(request, raw_query=request.raw_query + "&X-Amz-Security-Token=tok")
    signed = parse_signed_request(late)
    assert signed.security_token == "tok"
    verify_hmac_signature(late, signed, "s")
    tampered = replace(late, raw_query=late.raw_query + "&a=b")
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(tampered, parse_signed_request(tampered), "s")
