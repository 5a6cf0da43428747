"""Requests seen without their body, and requests whose header index the caller built."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from elsewhere.errors import InvalidSignature
from elsewhere.sigv4 import (
    BodyWithheldRequest,
    HttpRequest,
    parse_signed_request,
    sign_hmac_request,
    verify_hmac_signature,
)

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the AWS documentation example key


def _signed(body: bytes, *headers: tuple[str, str]) -> HttpRequest:
    return sign_hmac_request(
        HttpRequest("POST", "/items", "", (("Host", "api.example"), *headers), body),
        access_key_id="AKIDEXAMPLE",
        secret_access_key=SECRET,
        region="us-east-1",
        service="execute-api",
        now=NOW,
    )


def _withheld(request: HttpRequest) -> BodyWithheldRequest:
    return BodyWithheldRequest(request.method, request.raw_path, "", request.headers, b"")


def test_declared_hash_stands_in_for_the_body() -> None:
    """A signed X-Amz-Content-SHA256 verifies without the body it names."""
    body = b'{"n":1}'
    signed = _signed(body, ("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest().upper()))
    withheld = _withheld(signed)
    verify_hmac_signature(withheld, parse_signed_request(withheld), SECRET)


def test_without_a_declared_hash_the_body_is_empty() -> None:
    """No declaration: only a signature over an empty body verifies."""
    verify_hmac_signature(
        _withheld(_signed(b"")), parse_signed_request(_withheld(_signed(b""))), SECRET
    )
    withheld = _withheld(_signed(b'{"n":1}'))
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(withheld, parse_signed_request(withheld), SECRET)


def test_a_withheld_body_request_has_no_body() -> None:
    """A request that carries a body is an HttpRequest, never a BodyWithheldRequest."""
    with pytest.raises(ValueError, match="no body"):
        BodyWithheldRequest("POST", "/", "", (("Host", "h"),), b"x")


def test_indexed_request_reads_as_the_plain_one() -> None:
    """A request given its header index answers every lookup as one that built its own."""
    signed = _signed(b"{}", ("X-Custom", "a"), ("x-custom", "b"))
    index: dict[str, list[str]] = {}
    for name, value in signed.headers:
        index.setdefault(name.lower(), []).append(value)
    indexed = HttpRequest.indexed(
        signed.method, signed.raw_path, signed.raw_query, signed.headers, signed.body, index
    )
    assert indexed == signed
    assert indexed.header_values("x-custom") == signed.header_values("x-custom") == ["a", "b"]
    verify_hmac_signature(indexed, parse_signed_request(indexed), SECRET)
