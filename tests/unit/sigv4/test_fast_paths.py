"""The fast paths of parsing and canonicalisation give byte-identical results to the plain code.

The oracles below are the straightforward implementations elsewhere used before the fast paths
(kept here, not in src/): every shortcut must agree with them on every input, errors included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from elsewhere.errors import ElsewhereError, IncompleteSignature, InvalidSignature
from elsewhere.sigv4 import (
    CredentialScope,
    HttpRequest,
    canonical_header_value,
    canonical_headers,
    canonical_request,
    derive_signing_key,
    parse_amz_date,
    parse_signed_request,
    sign_hmac_request,
    verify_hmac_signature,
)
from elsewhere.sigv4._canonical import canonical_query_string, canonical_uri
from elsewhere.sigv4._parse import (
    _check_algorithm,
    _parse_credential,
    _parse_http_date,
    format_amz_date,
)

PROPS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
SCOPE = CredentialScope("20260304", "us-east-1", "sts", "aws4_request")

# Every character str.split() treats as whitespace in ASCII, a few Unicode ones, and ordinary
# token characters, so the strategies hit both the fast path and the fallback.
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000"
TOKEN_CHARS = "AZaz09-_=+/.:;,"
mixed = st.text(st.sampled_from(WHITESPACE + TOKEN_CHARS + "ÄßΣ"), max_size=200)
long_tokens = st.builds(
    lambda core, pad: pad[0] + core + pad[1],
    st.text(st.sampled_from(TOKEN_CHARS), min_size=60, max_size=300),
    st.tuples(st.sampled_from(["", " ", "\t", "\xa0"]), st.sampled_from(["", " ", "\n", "\x1f"])),
)
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)


# --- Oracles: the plain implementations ------------------------------------------------------


def oracle_header_value(value: str) -> str:
    """Trim and collapse whitespace by splitting (the definition)."""
    return " ".join(value.split())


def oracle_header_values(request: HttpRequest, name: str) -> list[str]:
    """Every value of ``name`` by scanning all headers and folding every name."""
    return [v for n, v in request.headers if n.lower() == name.lower()]


def oracle_canonical_headers(request: HttpRequest, signed_headers: tuple[str, ...]) -> str:
    """One ``name:value`` line per signed header, repeated values joined with commas."""
    lines = []
    for name in signed_headers:
        lname = name.lower()
        values = ",".join(oracle_header_value(v) for v in oracle_header_values(request, lname))
        lines.append(f"{lname}:{values}\n")
    return "".join(lines)


def oracle_canonical_request(
    request: HttpRequest, signed_headers: tuple[str, ...], payload_hash: str
) -> str:
    """The canonical request assembled field by field, with no shortcut."""
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query_string(request.raw_query),
            oracle_canonical_headers(request, signed_headers),
            ";".join(h.lower() for h in signed_headers),
            payload_hash,
        ]
    )


_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")


def oracle_amz_date(text: str) -> dt.datetime:
    """Compact ISO-8601 read field by field with datetime()."""
    if text.isascii() and _AMZ_DATE.fullmatch(text):
        try:
            return dt.datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[9:11]),
                int(text[11:13]),
                int(text[13:15]),
                tzinfo=dt.UTC,
            )
        except ValueError:
            pass
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def oracle_parse_header_form(request: HttpRequest) -> tuple[object, ...]:
    """The header-form fields, parsed by stripping, splitting and a dict, as a comparable tuple."""
    authorization = oracle_header_values(request, "authorization")[0]
    algorithm, _, rest = authorization.strip().partition(" ")
    _check_algorithm(algorithm)
    fields: dict[str, str] = {}
    for token in rest.split(","):
        token = token.strip()
        if not token:
            continue
        if "=" not in token:
            raise IncompleteSignature(
                f"'{token}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{authorization}'"
            )
        key, _, value = token.partition("=")
        fields[key.strip()] = value.strip()
    first = {n: oracle_header_values(request, n) for n in ("x-amz-date", "date")}
    amz_date_header = first["x-amz-date"][0] if first["x-amz-date"] else None
    date_header = first["date"][0] if first["date"] else None
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if amz_date_header is None and date_header is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise IncompleteSignature(" ".join(missing) + f" Authorization={authorization}")
    credential, scope = _parse_credential(fields["Credential"])
    if amz_date_header is not None:
        amz_date = amz_date_header.strip()
        timestamp = oracle_amz_date(amz_date)
    else:
        timestamp = _parse_http_date((date_header or "").strip())
        amz_date = format_amz_date(timestamp)
    signed_headers = tuple(fields["SignedHeaders"].split(";"))
    lowered = {h.lower() for h in signed_headers}
    if "host" not in lowered:
        raise IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    if amz_date_header is not None and "x-amz-date" not in lowered:
        raise IncompleteSignature("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
    tokens = oracle_header_values(request, "x-amz-security-token")
    declared = oracle_header_values(request, "x-amz-content-sha256")
    payload_hash = declared[0].strip() if declared else hashlib.sha256(request.body).hexdigest()
    return (
        algorithm,
        credential,
        scope,
        amz_date,
        timestamp,
        signed_headers,
        fields["Signature"],
        tokens[0] if tokens else None,
        payload_hash,
    )


def oracle_signing_key(secret: str, scope: CredentialScope) -> bytes:
    """kSigning with an hmac.HMAC object per step."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (scope.date, scope.region, scope.service, scope.terminator):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _outcome(f: object, *args: object) -> tuple[str, object]:
    try:
        return "ok", f(*args)  # type: ignore[operator]
    except ElsewhereError as exc:
        return type(exc).__name__, (exc.message, exc.reason)


def _parsed(request: HttpRequest) -> tuple[object, ...]:
    s = parse_signed_request(request)
    return (
        s.algorithm,
        s.credential,
        s.scope,
        s.amz_date,
        s.timestamp,
        s.signed_headers,
        s.signature,
        s.security_token,
        s.payload_hash,
    )


# --- Header values and the header index --------------------------------------------------------


@PROPS
@given(st.one_of(mixed, long_tokens, any_text))
@example("A" * 65)
@example("A" * 65 + " ")
@example(" " + "A" * 65)
@example("A" * 40 + "\x1c" + "A" * 40)
@example("A" * 40 + "\u3000" + "A" * 40)
@example("A" * 40 + "  " + "A" * 40)
def test_header_value_matches_split(value: str) -> None:
    """canonical_header_value equals split-and-join on every string, short or long."""
    assert canonical_header_value(value) == oracle_header_value(value)


def test_long_token_without_whitespace_is_returned_as_is() -> None:
    """A long base64 value with no whitespace comes back unchanged (the fast path)."""
    token = "IQoJb3JpZ2luX2VjE" * 100
    assert canonical_header_value(token) is token


header_name = st.text(st.sampled_from("HhOoSsTtXx-AaMmZzİΣς"), min_size=1, max_size=6)
raw_headers = st.lists(st.tuples(header_name, st.one_of(mixed, long_tokens)), max_size=8)


@PROPS
@given(raw_headers, st.lists(header_name, min_size=1, max_size=6))
def test_canonical_headers_match_oracle(headers: list[tuple[str, str]], names: list[str]) -> None:
    """Names in any case, repeated or absent headers: the same canonical block as the oracle."""
    request = HttpRequest("GET", "/", "", tuple(headers), b"")
    signed = tuple(names)
    assert canonical_headers(request, signed) == oracle_canonical_headers(request, signed)
    for name in names:
        assert request.header_values(name) == oracle_header_values(request, name)
        expected = oracle_header_values(request, name)
        assert request.header(name) == (expected[0] if expected else None)


@PROPS
@given(
    st.sampled_from(["GET", "get", "Post", "PUT", "ǅ", "ß", ""]),
    st.sampled_from(["/", "//", "/a/../b", "/a%20b/", "", "/./"]),
    st.sampled_from(["", "a=1&b=2", "X-Amz-Signature=x&a=%7e", "&&"]),
    raw_headers,
    st.lists(header_name, min_size=1, max_size=5),
)
def test_canonical_request_matches_oracle(
    method: str, path: str, query: str, headers: list[tuple[str, str]], names: list[str]
) -> None:
    """Method, path, query, headers and the signed-name list: byte-identical to the oracle."""
    request = HttpRequest(method, path, query, tuple(headers), b"")
    signed = tuple(names)
    got = canonical_request(request, signed, "UNSIGNED-PAYLOAD")
    assert got == oracle_canonical_request(request, signed, "UNSIGNED-PAYLOAD")


# --- Dates -------------------------------------------------------------------------------------

digits = st.text(st.sampled_from("0123456789"), min_size=2, max_size=2)


@PROPS
@given(
    st.builds(
        lambda y, m, d, h, mi, s: f"{y}{m}{d}T{h}{mi}{s}Z",
        st.sampled_from(["0000", "0001", "1970", "2024", "2026", "9999"]),
        digits,
        digits,
        digits,
        digits,
        digits,
    )
)
@example("20240229T235959Z")
@example("20230229T000000Z")
@example("20261129T240000Z")
@example("20261129T235960Z")
@example("00000101T000000Z")
def test_amz_date_matches_oracle(text: str) -> None:
    """Every YYYYMMDDTHHMMSSZ string, valid or out of range: same datetime or same error."""
    assert _outcome(parse_amz_date, text) == _outcome(oracle_amz_date, text)
    if _outcome(oracle_amz_date, text)[0] == "ok":
        assert parse_amz_date(text).tzinfo is dt.UTC


@pytest.mark.parametrize(
    "text",
    [
        "fail/2026-11-29T00:00:00Z",
        "fail/20261129T000000",
        "fail/20261129T000000+0000",
        "fail/２0261129T000000Z",
        "fail/20261129t000000z",
        "fail/20261129T24000Z",
    ],
)
def test_fail_amz_date_other_forms(text: str) -> None:
    """Forms fromisoformat would read but SigV4 does not accept stay refused."""
    value = text.removeprefix("fail/")
    with pytest.raises(IncompleteSignature):
        parse_amz_date(value)


# --- The Authorization header ------------------------------------------------------------------

# Valid variants are listed several times so that most examples get past the first error.
VALID_CREDENTIAL = "Credential=AKIDEXAMPLE/20260304/us-east-1/sts/aws4_request"
credential_piece = st.sampled_from(
    [
        VALID_CREDENTIAL,
        VALID_CREDENTIAL,
        VALID_CREDENTIAL,
        " Credential = AKIDEXAMPLE/20260304/us-east-1/sts/aws4_request ",
        "Credential=AKIDEXAMPLE/20260304/us-east-1/sts",
        "Credential=",
        "",
    ]
)
signed_headers_piece = st.sampled_from(
    [
        "SignedHeaders=host;x-amz-date",
        "SignedHeaders=Host;X-Amz-Date",
        "SignedHeaders=host;x-amz-security-token",
        "SignedHeaders=HOST",
        "SignedHeaders=x-amz-date;ΣHOST",
        "SignedHeaders=host;ς;x-amz-date",
        "SignedHeaders=",
        "",
    ]
)
signature_piece = st.sampled_from(
    ["Signature=" + "0" * 64, "Signature=" + "0" * 64, "Signature=abc=def", "Signature=", ""]
)
extra_piece = st.sampled_from(["", "  ", "\t", "nonsense", "Extra=1", "Signature=" + "1" * 64])
authorizations = st.builds(
    lambda pre, alg, sep, pieces, joiner: pre + alg + sep + joiner.join(pieces),
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["AWS4-HMAC-SHA256"] * 4 + ["AWS4-HMAC-SHA1"]),
    st.sampled_from([" ", " ", " ", "  ", ""]),
    st.tuples(credential_piece, signed_headers_piece, signature_piece, extra_piece)
    .map(list)
    .flatmap(st.permutations),
    st.sampled_from([",", ", ", " ,", ",\t"]),
)
primary_date = st.sampled_from(
    [
        [("X-Amz-Date", "20260304T050607Z")],
        [("x-amz-date", "20260304T050607Z")],
        [("x-amz-date", " 20260304T050607Z ")],
        [("Date", "Wed, 04 Mar 2026 05:06:07 GMT")],
        [("x-amz-date", "20260304T256000Z")],
        [("date", "not a date")],
        [],
    ]
)
other_headers = st.lists(
    st.sampled_from(
        [
            ("X-Amz-Date", "20260304T050607Z"),
            ("Date", "Wed, 04 Mar 2026 05:06:07 GMT"),
            ("X-Amz-Security-Token", "IQoJ" * 30),
            ("x-amz-security-token", "second"),
            ("x-amz-content-sha256", " " + "a" * 64 + " "),
            ("Host", "example.com"),
        ]
    ),
    max_size=3,
)
date_headers = st.builds(lambda first, rest: first + rest, primary_date, other_headers)


@PROPS
@given(authorizations, date_headers)
@example(
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260304/us-east-1/sts/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    [("X-Amz-Date", "20260304T050607Z")],
)
@example(
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260304/us-east-1/sts/aws4_request, "
    "SignedHeaders=Host;X-Amz-Date, Signature=" + "0" * 64,
    [("X-Amz-Date", "20260304T050607Z")],
)
def test_header_form_matches_oracle(authorization: str, extra: list[tuple[str, str]]) -> None:
    """Any Authorization header and date headers: same parsed fields or the same error text."""
    request = HttpRequest(
        "POST", "/", "", (("Authorization", authorization), *extra), b"Action=GetCallerIdentity"
    )
    assert _outcome(_parsed, request) == _outcome(oracle_parse_header_form, request)


# --- Signing keys and verification with a precomputed key --------------------------------------


@PROPS
@given(any_text, st.sampled_from(["us-east-1", "eu-west-3", "aws-global"]), any_text)
def test_signing_key_matches_hmac_objects(secret: str, region: str, service: str) -> None:
    """derive_signing_key equals the HMAC chain computed with hmac.HMAC objects."""
    scope = CredentialScope("20260304", region, service, "aws4_request")
    assert derive_signing_key(secret, scope) == oracle_signing_key(secret, scope)


def _signed_sts(secret: str = "s" * 40, token: str | None = None) -> HttpRequest:
    unsigned = HttpRequest(
        "POST",
        "/",
        "",
        (("Host", "sts.example"), ("Content-Type", "application/x-www-form-urlencoded")),
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    return sign_hmac_request(
        unsigned,
        access_key_id="AKIDEXAMPLE",
        secret_access_key=secret,
        region="us-east-1",
        service="sts",
        now=NOW,
        session_token=token,
    )


@pytest.mark.parametrize("token", [None, "IQoJ" * 300], ids=["ok/plain", "ok/long-token"])
def test_ok_verify_with_signing_key(token: str | None) -> None:
    """A precomputed signing key verifies exactly what the secret verifies."""
    request = _signed_sts(token=token)
    signed = parse_signed_request(request)
    verify_hmac_signature(request, signed, "s" * 40)
    verify_hmac_signature(request, signed, signing_key=derive_signing_key("s" * 40, SCOPE))


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda: derive_signing_key("t" * 40, SCOPE), id="fail/other-secret"),
        pytest.param(
            lambda: derive_signing_key(
                "s" * 40, CredentialScope("20260304", "eu-west-1", "sts", "aws4_request")
            ),
            id="fail/other-region",
        ),
        pytest.param(lambda: b"\x00" * 32, id="fail/zero-key"),
    ],
)
def test_fail_verify_with_wrong_signing_key(key: object) -> None:
    """A key of another secret or scope fails with the same error as a wrong secret."""
    request = _signed_sts()
    signed = parse_signed_request(request)
    with pytest.raises(InvalidSignature) as wrong_secret:
        verify_hmac_signature(request, signed, "t" * 40)
    with pytest.raises(InvalidSignature) as wrong_key:
        verify_hmac_signature(request, signed, signing_key=key())  # type: ignore[operator]
    assert wrong_key.value.message == wrong_secret.value.message
    assert wrong_key.value.reason == wrong_secret.value.reason


def test_fail_verify_needs_exactly_one_of_secret_and_key() -> None:
    """Neither or both of secret and signing key is a programming error (TypeError)."""
    request = _signed_sts()
    signed = parse_signed_request(request)
    with pytest.raises(TypeError):
        verify_hmac_signature(request, signed)
    with pytest.raises(TypeError):
        verify_hmac_signature(
            request, signed, "s" * 40, signing_key=derive_signing_key("s" * 40, SCOPE)
        )


def test_fail_body_changed_after_parse() -> None:
    """The body hash is remembered per request object, never across requests."""
    request = _signed_sts()
    signed = parse_signed_request(request)
    other = HttpRequest(
        request.method, request.raw_path, request.raw_query, request.headers, b"Action=Other"
    )
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(other, signed, "s" * 40)


def test_python_reads_basic_iso_dates() -> None:
    """The interpreter's fromisoformat reads the basic form (3.11+), which parse_amz_date uses."""
    assert sys.version_info >= (3, 11)
    assert dt.datetime.fromisoformat("20260304T050607Z") == NOW
