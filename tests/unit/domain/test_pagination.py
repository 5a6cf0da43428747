"""Pagination tokens: round trip and tamper evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.domain import InvalidPageTokenError, format_page_token, parse_page_token
from elsewhere.errors import ValidationError

KEY = b"k" * 32
keys = st.binary(min_size=16, max_size=64)
scopes = st.sampled_from(["trust-anchors", "profiles", "crls", "subjects"])
afters = st.text(max_size=64)


@settings(max_examples=150)
@given(keys, scopes, afters)
def test_round_trip(key: bytes, scope: str, after: str) -> None:
    """A token parses back to the key it was made for."""
    assert parse_page_token(key, scope, format_page_token(key, scope, after)) == after


@settings(max_examples=150)
@given(scopes, afters, st.data())
def test_any_single_character_change_is_refused(
    scope: str, after: str, data: st.DataObject
) -> None:
    """Changing any one character of a token makes it invalid."""
    token = format_page_token(KEY, scope, after)
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ")
    )
    forged = token[:index] + replacement + token[index + 1 :]
    if forged == token:
        return
    with pytest.raises(InvalidPageTokenError):
        parse_page_token(KEY, scope, forged)


@settings(max_examples=150)
@given(st.text(max_size=200))
def test_garbage_is_refused(text: str) -> None:
    """Arbitrary text is never accepted as a token."""
    with pytest.raises(InvalidPageTokenError):
        parse_page_token(KEY, "profiles", text)


def test_other_key_is_refused() -> None:
    """A token made under another key does not verify."""
    token = format_page_token(b"a" * 32, "profiles", "x")
    with pytest.raises(InvalidPageTokenError):
        parse_page_token(b"b" * 32, "profiles", token)


def test_other_scope_is_refused() -> None:
    """A token of one listing cannot be used for another."""
    token = format_page_token(KEY, "profiles", "x")
    with pytest.raises(InvalidPageTokenError) as info:
        parse_page_token(KEY, "crls", token)
    assert isinstance(info.value, ValidationError)
    assert info.value.status == 400


def test_non_canonical_spelling_is_refused() -> None:
    """Flipping the unused low bits of the last base64 character is still a forgery."""
    token = format_page_token(KEY, "profiles", "x")
    body, tag = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(tag[-1])
    # A 16-byte MAC is 22 characters; the last carries 2 bits and 4 unused ones.
    forged = f"{body}.{tag[:-1]}{alphabet[last ^ 1]}"
    with pytest.raises(InvalidPageTokenError):
        parse_page_token(KEY, "profiles", forged)
