"""The gateway's request handling, driven as ASGI in process: limits, formats, request ids."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from elsewhere.api import Gateway, GatewaySettings
from elsewhere.clock import FixedClock
from elsewhere.service._authn import AccessKeySecret, Authenticator, Principal
from elsewhere.sigv4 import HttpRequest, sign_hmac_request

NOW = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
KEY_ID = "AKIAEXAMPLEROOT00001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the AWS documentation example key
ROOT = Principal(
    arn="arn:aws:iam::123456789012:root",
    account="123456789012",
    kind="root",
    user_id="123456789012",
    name="root",
    access_key_id=KEY_ID,
)
FORM = "application/x-www-form-urlencoded; charset=utf-8"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _lookup(access_key_id: str) -> AccessKeySecret | None:
    """The one root key of these tests."""
    if access_key_id != KEY_ID:
        return None
    return AccessKeySecret(KEY_ID, SECRET, ROOT, active=True)


class _Sts:
    """An STS handler that answers GetCallerIdentity and records what it was given."""

    def __init__(self) -> None:
        """No calls yet."""
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        """Who the caller is."""
        self.calls.append((operation, params))
        return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}


def _gateway(sts: _Sts | None = None, **settings: Any) -> Gateway:
    """A gateway serving only STS, with a fixed clock."""
    return Gateway(
        authenticator=Authenticator(_lookup, region="us-east-1"),
        handlers={"sts": sts or _Sts()},
        clock=FixedClock(NOW),
        settings=GatewaySettings(**settings),
    )


def _signed(
    body: bytes,
    *,
    query: str = "",
    service: str = "sts",
    extra: tuple[tuple[str, str], ...] = (),
) -> HttpRequest:
    """A form POST signed with the root key, as botocore signs it."""
    headers = (("Host", "localhost"), ("Content-Type", FORM), *extra)
    request = HttpRequest("POST", "/", query, headers, body)
    return sign_hmac_request(
        request,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        service=service,
        now=NOW,
    )


class _Result:
    """What the gateway sent."""

    def __init__(self) -> None:
        """Nothing sent yet."""
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.body = b""


async def _drive(gateway: Gateway, request: HttpRequest, receive: Any = None) -> _Result:
    """Run one request through ``gateway`` and collect the response."""
    scope = {
        "type": "http",
        "method": request.method,
        "path": request.raw_path,
        "raw_path": request.raw_path.encode(),
        "query_string": request.raw_query.encode(),
        "headers": [(n.lower().encode(), v.encode()) for n, v in request.headers],
        "client": ("127.0.0.1", 5555),
        "scheme": "http",
    }

    async def whole_body() -> dict[str, Any]:
        return {"type": "http.request", "body": request.body, "more_body": False}

    result = _Result()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = dict(message["headers"])
        else:
            result.body += message.get("body", b"")

    await gateway(scope, receive or whole_body, send)
    return result


def _run(gateway: Gateway, request: HttpRequest, receive: Any = None) -> _Result:
    """:func:`_drive` on a fresh event loop."""
    return asyncio.run(_drive(gateway, request, receive))


def test_get_caller_identity_answers_in_xml() -> None:
    """ok/ a signed GetCallerIdentity is answered in XML with the request id in body and header."""
    result = _run(_gateway(), _signed(b"Action=GetCallerIdentity&Version=2011-06-15"))
    assert result.status == 200
    request_id = result.headers[b"x-amzn-requestid"].decode()
    assert UUID4.fullmatch(request_id)
    assert result.headers[b"content-type"] == b"text/xml"
    assert result.headers[b"content-length"] == str(len(result.body)).encode()
    assert result.headers[b"date"] == b"Sat, 01 Mar 2025 12:00:00 GMT"
    assert result.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><UserId>123456789012</UserId><Account>123456789012</Account>"
        b"<Arn>arn:aws:iam::123456789012:root</Arn>"
        b"</GetCallerIdentityResult><ResponseMetadata><RequestId>"
        + request_id.encode()
        + b"</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )


def test_request_ids_differ() -> None:
    """ok/ every request gets its own request id."""
    gateway = _gateway()
    request = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    ids = {_run(gateway, request).headers[b"x-amzn-requestid"] for _ in range(20)}
    assert len(ids) == 20


def test_query_string_and_form_are_both_input() -> None:
    """ok/ input pairs come from the query string and the form body; X-Amz-* pairs are not input."""
    sts = _Sts()
    request = _signed(b"Version=2011-06-15&X-Amz-Foo=1", query="Action=GetCallerIdentity")
    assert _run(_gateway(sts), request).status == 200
    assert sts.calls == [("GetCallerIdentity", {})]


def test_non_ascii_signed_header_is_read_as_utf8() -> None:
    """ok/ a signed header value with UTF-8 bytes verifies: it is read as botocore signed it."""
    request = _signed(
        b"Action=GetCallerIdentity&Version=2011-06-15", extra=(("X-Custom", "café ü"),)
    )
    assert _run(_gateway(), request).status == 200


def test_repeated_signed_header_is_joined() -> None:
    """ok/ a header sent twice is signed and verified as its values joined by commas."""
    request = _signed(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        extra=(("X-Custom", "a"), ("X-Custom", "b")),
    )
    assert _run(_gateway(), request).status == 200


def test_wrong_signature_is_an_xml_error() -> None:
    """fail/ a bad signature on an STS call is SignatureDoesNotMatch, in STS's XML format."""
    signed = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    tampered = HttpRequest(
        signed.method,
        signed.raw_path,
        signed.raw_query,
        signed.headers,
        b"Action=GetCallerIdentity&Version=2011-06-15&X=1",
    )
    result = _run(_gateway(), tampered)
    assert result.status == 403
    assert b"<ErrorResponse" in result.body
    assert b"<Code>SignatureDoesNotMatch</Code>" in result.body


def test_unsigned_query_call_is_answered_in_xml() -> None:
    """fail/ an unsigned IAM-looking call is refused in XML: the format is guessed from Version."""
    request = HttpRequest(
        "POST",
        "/",
        "",
        (("Host", "localhost"), ("Content-Type", FORM)),
        urlencode({"Action": "ListRoles", "Version": "2010-05-08"}).encode(),
    )
    result = _run(_gateway(), request)
    assert result.status == 403
    assert b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in result.body
    assert b"<Code>MissingAuthenticationToken</Code>" in result.body


def test_unsigned_call_without_action_is_answered_in_json() -> None:
    """fail/ an unsigned call that names no query action gets the JSON error format."""
    request = HttpRequest("GET", "/profiles", "", (("Host", "localhost"),), b"")
    result = _run(_gateway(), request)
    assert result.status == 403
    assert result.headers[b"content-type"].startswith(b"application/")
    assert b"MissingAuthenticationToken" in result.headers.get(b"x-amzn-errortype", b"") + (
        result.body
    )


def test_bad_form_is_a_serialization_error_in_xml() -> None:
    """fail/ a form that is not UTF-8 is refused once the scope says it is for STS (XML)."""
    signed = _signed(b"Action=GetCallerIdentity&Version=2011-06-15&A=%FF")
    result = _run(_gateway(), signed)
    assert result.status == 400
    assert b"<ErrorResponse" in result.body


def test_ping() -> None:
    """ok/ GET /ping answers without authentication or body."""
    result = _run(_gateway(), HttpRequest("GET", "/ping", "", (("Host", "localhost"),), b""))
    assert (result.status, result.body) == (200, b'{"status":"ok"}')
    assert UUID4.fullmatch(result.headers[b"x-amzn-requestid"].decode())


def test_declared_body_above_limit_is_413() -> None:
    """fail/ a Content-Length above the body limit is refused before the body is read."""
    signed = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    request = HttpRequest(
        signed.method,
        signed.raw_path,
        signed.raw_query,
        (*signed.headers, ("Content-Length", "2000")),
        signed.body,
    )
    assert _run(_gateway(max_body_bytes=1000), request).status == 413


def test_streamed_body_above_limit_is_413() -> None:
    """fail/ a body that grows past the limit in chunks is refused."""
    chunks = [b"x" * 600, b"x" * 600]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    request = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    assert _run(_gateway(max_body_bytes=1000), request, receive).status == 413


def test_headers_above_limit_are_413() -> None:
    """fail/ headers larger than the header limit are refused."""
    signed = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    request = HttpRequest(
        signed.method,
        signed.raw_path,
        signed.raw_query,
        (*signed.headers, ("X-Padding", "p" * 2000)),
        signed.body,
    )
    assert _run(_gateway(max_header_bytes=1500), request).status == 413


def test_stalled_body_times_out_with_408() -> None:
    """fail/ a client that stops sending the body gets RequestTimeout (408) after the timeout."""

    async def stall() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    request = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    result = _run(_gateway(body_timeout_seconds=0.05), request, stall)
    # The body never came, so nothing says this was a query call: the JSON format answers.
    assert result.status == 408
    assert result.body == b'{"message": "The request body was not received within 0.05 seconds."}'


def test_trickled_body_times_out_as_a_whole() -> None:
    """fail/ a body sent in small pieces, each well within the timeout, is 408 once the whole
    body takes longer than the timeout."""

    pieces = [b"&"] * 50  # 1 s in all, five times the timeout

    async def trickle() -> dict[str, Any]:
        await asyncio.sleep(0.02)
        pieces.pop()
        return {"type": "http.request", "body": b"&", "more_body": bool(pieces)}

    request = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    result = _run(_gateway(body_timeout_seconds=0.2), request, trickle)
    assert result.status == 408
    assert b"not received within 0.2 seconds" in result.body


def test_body_arriving_in_time_is_read_in_chunks() -> None:
    """ok/ a body sent in slow chunks, each within the timeout, is read whole."""
    chunks = [b"Version=2011-06-15", b"Action=GetCallerIdentity&"]

    async def slow() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    signed = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
    assert _run(_gateway(body_timeout_seconds=1.0), signed, slow).status == 200


def test_outside_cancellation_is_not_a_timeout() -> None:
    """ok/ cancelling the request task (a server shutting down) propagates as a cancellation."""

    async def main() -> None:
        async def stall() -> dict[str, Any]:
            await asyncio.sleep(3600)
            raise AssertionError("not reached")

        request = _signed(b"Action=GetCallerIdentity&Version=2011-06-15")
        task = asyncio.create_task(_drive(_gateway(body_timeout_seconds=30.0), request, stall))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
