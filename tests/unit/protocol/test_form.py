"""awsQuery form input: decoding, the input pairs of a request, and the service it points to."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elsewhere.errors import RequestEntityTooLarge, SerializationError
from elsewhere.protocol import (
    MAX_BODY_BYTES,
    MAX_QUERY_PARAMS,
    guess_query_service,
    parse_form,
    query_input,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FORM = "application/x-www-form-urlencoded; charset=utf-8"
# Form text made mostly of the characters that matter to the grammar.
FORM_TEXT = st.text(alphabet=st.sampled_from("ab=&+%2F0fFé \x00"), max_size=40)


def _reference(body: bytes) -> list[tuple[str, str]] | None:
    """What the standard library's parser gives with our settings; None where it refuses."""
    try:
        return urllib.parse.parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_QUERY_PARAMS,
        )
    except ValueError:
        return None


@FUZZ
@given(st.one_of(st.binary(max_size=60), FORM_TEXT.map(lambda t: t.encode())))
def test_parse_form_matches_parse_qsl(body: bytes) -> None:
    """parse_form gives parse_qsl's pairs, and refuses exactly what parse_qsl refuses."""
    expected = _reference(body)
    if expected is None:
        with pytest.raises(SerializationError):
            parse_form(body)
    else:
        assert parse_form(body) == expected


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6))
def test_parse_form_inverts_urlencode(pairs: list[tuple[str, str]]) -> None:
    """What urlencode writes (a form as botocore sends it) decodes to the same pairs."""
    assert parse_form(urllib.parse.urlencode(pairs).encode()) == pairs


@pytest.mark.parametrize(
    ("body", "pairs"),
    [
        pytest.param(b"", [], id="ok/empty"),
        pytest.param(b"a=1&&b=2&", [("a", "1"), ("b", "2")], id="ok/empty-fields-skipped"),
        pytest.param(b"flag&x=", [("flag", ""), ("x", "")], id="ok/blank-values-kept"),
        pytest.param(b"a=b=c", [("a", "b=c")], id="ok/first-equals-splits"),
        pytest.param(b"a+b=%2F+%2b", [("a b", "/ +")], id="ok/plus-and-percent"),
        pytest.param(b"k=%zz%", [("k", "%zz%")], id="ok/bad-escape-kept"),
        pytest.param("n=é".encode(), [("n", "é")], id="ok/utf8"),
    ],
)
def test_parse_form_table(body: bytes, pairs: list[tuple[str, str]]) -> None:
    """Form decoding cases."""
    assert parse_form(body) == pairs


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"a=\xff", id="fail/body-not-utf8"),
        pytest.param(b"a=%FF", id="fail/escape-not-utf8"),
        pytest.param(b"a&" * MAX_QUERY_PARAMS, id="fail/too-many-fields"),
    ],
)
def test_parse_form_refuses(body: bytes) -> None:
    """Undecodable forms are SerializationError."""
    with pytest.raises(SerializationError):
        parse_form(body)


def test_parse_form_limits() -> None:
    """The last field that fits is accepted; a body above MAX_BODY_BYTES is 413."""
    assert len(parse_form(b"a&" * (MAX_QUERY_PARAMS - 1) + b"a")) == MAX_QUERY_PARAMS
    with pytest.raises(RequestEntityTooLarge):
        parse_form(b" " * (MAX_BODY_BYTES + 1))


@pytest.mark.parametrize(
    ("query", "body", "ctype", "pairs"),
    [
        pytest.param("", b"Action=A", FORM, [("Action", "A")], id="ok/body"),
        pytest.param("Action=A", b"", FORM, [("Action", "A")], id="ok/query"),
        pytest.param("Action=A", b"B=1", FORM, [("Action", "A"), ("B", "1")], id="ok/query-first"),
        pytest.param("", b"Action=A", "application/json", [], id="ok/body-not-a-form"),
        pytest.param(
            "Action=A&X-Amz-Date=1&x-amz-foo=2",
            b"X-AMZ-SIGNATURE=3&Xa=4",
            FORM,
            [("Action", "A"), ("Xa", "4")],
            id="ok/auth-parameters-dropped",
        ),
        pytest.param("a=%2F", b"", "", [("a", "/")], id="ok/query-decoded"),
    ],
)
def test_query_input(query: str, body: bytes, ctype: str, pairs: list[tuple[str, str]]) -> None:
    """The input pairs of a request."""
    assert query_input(query, body, ctype) == pairs


def test_query_input_refuses_bad_query() -> None:
    """fail/ a query string that does not decode is a SerializationError."""
    with pytest.raises(SerializationError):
        query_input("a=%FF", b"", "")


@pytest.mark.parametrize(
    ("pairs", "service"),
    [
        pytest.param([("Action", "GetCallerIdentity")], "sts", id="ok/sts-action"),
        pytest.param([("Action", "ListRoles")], "iam", id="ok/iam-action"),
        pytest.param([("Action", "X"), ("Version", "2011-06-15")], "sts", id="ok/sts-version"),
        pytest.param([("Action", "X"), ("Version", "2010-05-08")], "iam", id="ok/iam-version"),
        pytest.param(
            [("Action", "ListRoles"), ("Version", "2011-06-15")], "sts", id="ok/version-first"
        ),
        pytest.param(
            [("Action", "X"), ("Version", "2011-06-15"), ("Version", "2010-05-08")],
            "iam",
            id="ok/last-value-counts",
        ),
        pytest.param([("Version", "2011-06-15")], None, id="fail/no-action"),
        pytest.param([("Action", "Nope"), ("Version", "1")], None, id="fail/unknown"),
        pytest.param([], None, id="fail/empty"),
    ],
)
def test_guess_query_service(pairs: list[tuple[str, str]], service: str | None) -> None:
    """The service a query call points to."""
    assert guess_query_service(pairs) == service
