"""Hypothesis properties: canonical forms, sign->verify round trips, tampering, botocore parity."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elsewhere.errors import ElsewhereError
from elsewhere.sigv4 import (
    HttpRequest,
    canonical_headers,
    canonical_query_string,
    check_scope,
    encode_query_component,
    parse_amz_date,
    parse_signed_request,
    sign_hmac_request,
    sign_x509_request,
    verify_hmac_signature,
    verify_x509_signature,
)
from tests.unit.sigv4._vectors import X509

PROPS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
pairs = st.lists(st.tuples(text, text), max_size=6)
segment = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="/"),
    min_size=1,
    max_size=8,
)
paths = st.lists(segment, max_size=4).map(lambda s: "/" + "/".join(quote(x, safe="") for x in s))
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True).filter(
    lambda n: (
        n.lower() not in {"host", "authorization", "x-amz-date", "date", "x-amz-content-sha256"}
    )
)
header_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=16
)
headers = st.dictionaries(header_names.map(str.lower), header_values, max_size=4)


def _wire_query(items: list[tuple[str, str]]) -> str:
    return "&".join(f"{encode_query_component(k)}={encode_query_component(v)}" for k, v in items)


def _request(
    path: str, query: list[tuple[str, str]], extra: dict[str, str], body: bytes
) -> HttpRequest:
    return HttpRequest(
        "POST", path, _wire_query(query), (("Host", "svc.example:8080"), *extra.items()), body
    )


@PROPS
@given(pairs, st.randoms(use_true_random=False))
def test_canonical_query_is_order_independent(items: list[tuple[str, str]], rnd: object) -> None:
    """Shuffling the query parameters never changes the canonical query string."""
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert canonical_query_string(_wire_query(items)) == canonical_query_string(
        _wire_query(shuffled)
    )


@PROPS
@given(pairs)
def test_canonical_query_is_idempotent_and_matches_botocore(items: list[tuple[str, str]]) -> None:
    """Canonicalising twice changes nothing; the result equals botocore's for the same params."""
    once = canonical_query_string(_wire_query(items))
    assert canonical_query_string(once) == once
    expected = SigV4Auth(Credentials("a", "b"), "s", "r")._canonical_query_string_params(items)
    assert once == expected


@PROPS
@given(pairs)
def test_canonical_query_ignores_needless_percent_encoding(items: list[tuple[str, str]]) -> None:
    """Encoding every byte (even unreserved ones) gives the same canonical query string."""

    def all_encoded(s: str) -> str:
        return "".join(f"%{b:02X}" for b in s.encode("utf-8"))

    heavy = "&".join(f"{all_encoded(k)}={all_encoded(v)}" for k, v in items)
    assert canonical_query_string(heavy) == canonical_query_string(_wire_query(items))


@PROPS
@given(headers, st.randoms(use_true_random=False), st.integers(0, 3), st.integers(0, 3))
def test_canonical_headers_order_and_whitespace_independent(
    extra: dict[str, str], rnd: object, lead: int, inner: int
) -> None:
    """Header order (distinct names), name case and surrounding/inner whitespace do not matter."""
    items = [("Host", "h"), *extra.items()]
    names = tuple(sorted(n.lower() for n, _ in items))
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    padded = tuple(
        (n.upper(), " " * lead + v.replace("-", "-" + " " * inner) + "\t" * lead)
        for n, v in shuffled
    )
    collapsed = tuple((n, v.replace("-", "- ") if inner else v) for n, v in items)
    a = canonical_headers(HttpRequest("GET", "/", "", tuple(collapsed), b""), names)
    b = canonical_headers(HttpRequest("GET", "/", "", padded, b""), names)
    assert a == b


@PROPS
@given(paths, pairs, headers, st.binary(max_size=64), st.booleans(), st.booleans())
def test_hmac_sign_verify_round_trip(
    path: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    body: bytes,
    presign: bool,
    token: bool,
) -> None:
    """Whatever the path, query, headers and body, what we sign we verify (both forms)."""
    signed_request = sign_hmac_request(
        _request(path, query, extra, body),
        access_key_id="AKIDEXAMPLE",
        secret_access_key="secret/+key",
        region="eu-west-1",
        service="sts",
        now=NOW,
        session_token="to/ken+=" if token else None,
        presign_expires=900 if presign else None,
    )
    signed = parse_signed_request(signed_request)
    assert signed.presigned is presign
    assert signed.security_token == ("to/ken+=" if token else None)
    check_scope(signed, service="sts", region="eu-west-1")
    verify_hmac_signature(signed_request, signed, "secret/+key")


def _tamper(request: HttpRequest, how: int) -> HttpRequest:
    if how == 0:
        return replace(request, body=request.body + b"!")
    if how == 1:
        return replace(request, method="PUT")
    if how == 2:
        return replace(request, raw_path=request.raw_path.rstrip("/") + "/x")
    if how == 3:
        query = request.raw_query
        return replace(request, raw_query=f"{query}&zz=1" if query else "zz=1")
    # a signed header value changes
    return replace(
        request,
        headers=tuple((n, v + "z" if n.lower() == "host" else v) for n, v in request.headers),
    )


@PROPS
@given(paths, pairs, headers, st.binary(max_size=32), st.booleans(), st.integers(0, 4))
def test_hmac_tampering_fails(
    path: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    body: bytes,
    presign: bool,
    how: int,
) -> None:
    """Changing the body, method, path, query or a signed header breaks the signature."""
    signed_request = sign_hmac_request(
        _request(path, query, extra, body),
        access_key_id="AKID",
        secret_access_key="s",
        region="us-east-1",
        service="iam",
        now=NOW,
        presign_expires=60 if presign else None,
    )
    bad = _tamper(signed_request, how)
    with pytest.raises(ElsewhereError):
        verify_hmac_signature(bad, parse_signed_request(bad), "s")


def _botocore_request(
    path: str, query: list[tuple[str, str]], extra: dict[str, str], body: bytes
) -> AWSRequest:
    url = "http://svc.example:8080" + path + ("?" + _wire_query(query) if query else "")
    return AWSRequest(
        method="POST", url=url, headers={"Host": "svc.example:8080", **extra}, data=body
    )


def _from_botocore(request: AWSRequest) -> HttpRequest:
    prepared = request.prepare()
    path, _, query = prepared.url.partition("://")[2].partition("/")[2].partition("?")
    body = prepared.body or b""
    return HttpRequest(
        prepared.method,
        "/" + path,
        query,
        tuple((str(k), str(v)) for k, v in prepared.headers.items()),
        body if isinstance(body, bytes) else body.encode(),
    )


@PROPS
@given(paths, pairs, headers, st.binary(max_size=32), st.booleans())
def test_botocore_parity(
    path: str, query: list[tuple[str, str]], extra: dict[str, str], body: bytes, presign: bool
) -> None:
    """botocore's signature verifies with us, and we produce botocore's exact Authorization."""
    credentials = Credentials("AKIDEXAMPLE", "botosecret", "sessiontoken")
    if presign:
        body = b""  # botocore moves a presigned body into the URL (form requests only)
    request = _botocore_request(path, query, extra, body)
    signer = (
        SigV4QueryAuth(credentials, "sts", "us-west-2", expires=300)
        if presign
        else SigV4Auth(credentials, "sts", "us-west-2")
    )
    signer.add_auth(request)
    wire = _from_botocore(request)
    signed = parse_signed_request(wire)
    verify_hmac_signature(wire, signed, "botosecret")
    if not presign:
        ours = sign_hmac_request(
            _request(path, query, extra, body),
            access_key_id="AKIDEXAMPLE",
            secret_access_key="botosecret",
            region="us-west-2",
            service="sts",
            now=parse_amz_date(signed.amz_date),
            session_token="sessiontoken",
        )
        assert ours.header("authorization") == wire.header("authorization")


EC_CERT = x509.load_pem_x509_certificate(
    (X509 / "needroleshere-examples" / "cert-ec.pem").read_bytes()
)
EC_KEY = serialization.load_pem_private_key(
    (X509 / "needroleshere-examples" / "cert-ec-key.pem").read_bytes(), None
)


@settings(PROPS, max_examples=25)
@given(paths, pairs, headers, st.binary(max_size=32), st.integers(0, 4))
def test_x509_sign_verify_and_tamper(
    path: str, query: list[tuple[str, str]], extra: dict[str, str], body: bytes, how: int
) -> None:
    """X.509 (ECDSA P-256) round-trips for arbitrary requests, and any tampering fails."""
    signed_request = sign_x509_request(
        _request(path, query, extra, body),
        certificate=EC_CERT,
        private_key=EC_KEY,  # type: ignore[arg-type]
        region="us-east-1",
        now=NOW,
    )
    verify_x509_signature(signed_request, parse_signed_request(signed_request), EC_CERT)
    bad = _tamper(signed_request, how)
    with pytest.raises(ElsewhereError):
        verify_x509_signature(bad, parse_signed_request(bad), EC_CERT)
