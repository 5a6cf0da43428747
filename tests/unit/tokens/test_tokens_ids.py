"""AWS-style identifiers: generation and validation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.errors import UnrecognizedClient, ValidationError
from elsewhere.tokens import (
    ACCESS_KEY_ID_LENGTH,
    SECRET_ACCESS_KEY_LENGTH,
    UNIQUE_ID_LENGTH,
    IdPrefix,
    new_access_key_id,
    new_secret_access_key,
    new_unique_id,
    validate_access_key_id,
    validate_secret_access_key,
    validate_unique_id,
)

_BASE32_TAIL = re.compile(r"[A-Z2-7]+")
_KEY_KINDS = (IdPrefix.ACCESS_KEY, IdPrefix.TEMPORARY_ACCESS_KEY)
_NON_KEY_PREFIXES = [p for p in IdPrefix if p not in _KEY_KINDS]


def test_access_key_id_known_answers() -> None:
    """All-zero bytes give all ``A``; all-one bytes give all ``7`` (RFC 4648 base32 ends)."""
    assert new_access_key_id("AKIA", bytes(10)) == "AKIA" + "A" * 16
    assert new_access_key_id(IdPrefix.TEMPORARY_ACCESS_KEY, b"\xff" * 10) == "ASIA" + "7" * 16


@given(kind=st.sampled_from(["AKIA", "ASIA"]), data=st.binary(min_size=10, max_size=10))
def test_access_key_ids_are_20_base32_characters(kind: str, data: bytes) -> None:
    """An access key id is its prefix and 16 base32 characters, and validates as its kind."""
    value = new_access_key_id(kind, data)
    assert len(value) == ACCESS_KEY_ID_LENGTH
    assert value.startswith(kind)
    assert _BASE32_TAIL.fullmatch(value[4:])
    assert validate_access_key_id(value, kind=kind) == value


@given(a=st.binary(min_size=10, max_size=10), b=st.binary(min_size=10, max_size=10))
def test_access_key_ids_keep_all_80_random_bits(a: bytes, b: bytes) -> None:
    """Different random bytes never give the same access key id."""
    assert (new_access_key_id("ASIA", a) == new_access_key_id("ASIA", b)) == (a == b)


@given(kind=st.sampled_from(_NON_KEY_PREFIXES), data=st.binary(min_size=11, max_size=11))
def test_unique_ids_are_21_characters(kind: IdPrefix, data: bytes) -> None:
    """A unique id is its prefix and 17 base32 characters, like ``AIDAJQABLZS4A3QDU576Q``."""
    value = new_unique_id(kind, data)
    assert len(value) == UNIQUE_ID_LENGTH
    assert value.startswith(kind.value)
    assert _BASE32_TAIL.fullmatch(value[4:])
    assert validate_unique_id(value, kind=kind) == value


def test_random_may_be_a_callable() -> None:
    """A callable random source is asked for exactly the bytes it needs."""
    asked: list[int] = []

    def source(n: int) -> bytes:
        asked.append(n)
        return bytes(n)

    new_access_key_id("AKIA", source)
    new_unique_id("AROA", source)
    new_secret_access_key(source)
    assert asked == [10, 11, 30]


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("fail/short-bytes", lambda: new_access_key_id("AKIA", bytes(9))),
        ("fail/long-bytes", lambda: new_unique_id("AROA", bytes(12))),
        ("fail/role-prefix-as-key", lambda: new_access_key_id("AROA", bytes(10))),
        ("fail/key-prefix-as-unique-id", lambda: new_unique_id("ASIA", bytes(11))),
        ("fail/unknown-prefix", lambda: new_unique_id("ZZZZ", bytes(11))),
        ("fail/short-callable", lambda: new_secret_access_key(lambda n: bytes(n - 1))),
    ],
)
def test_generation_refuses_bad_arguments(name: str, call: object) -> None:
    """Wrong amounts of randomness and wrong prefixes are programming errors."""
    with pytest.raises(ValueError, match=r".+"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("ok/doc-example", "AKIAIOSFODNN7EXAMPLE", None),
        ("ok/doc-example-with-digits-outside-base32", "AKIAI44QH8DHBEXAMPLE", "AKIA"),
        ("ok/temporary", "ASIAIOSFODNN7EXAMPLE", "ASIA"),
    ],
)
def test_validate_access_key_id_accepts(name: str, value: str, kind: str | None) -> None:
    """Documented AWS access key ids validate."""
    assert validate_access_key_id(value, kind=kind) == value


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("fail/lowercase", "akiaiosfodnn7example", None),
        ("fail/too-short", "AKIAIOSFODNN7EXAMPL", None),
        ("fail/too-long", "AKIAIOSFODNN7EXAMPLEX", None),
        ("fail/role-id", "AROAIOSFODNN7EXAMPLE", None),
        ("fail/symbol", "AKIAIOSFODNN7EXAMPL+", None),
        ("fail/wrong-kind", "AKIAIOSFODNN7EXAMPLE", "ASIA"),
        ("fail/empty", "", None),
    ],
)
def test_validate_access_key_id_refuses(name: str, value: str, kind: str | None) -> None:
    """Malformed access key ids are an unrecognized client."""
    with pytest.raises(UnrecognizedClient):
        validate_access_key_id(value, kind=kind)


@given(st.text(max_size=30).filter(lambda s: re.fullmatch(r"(AKIA|ASIA)[A-Z0-9]{16}", s) is None))
def test_validate_access_key_id_refuses_anything_else(value: str) -> None:
    """Any string outside the access key id grammar is refused."""
    with pytest.raises(UnrecognizedClient):
        validate_access_key_id(value)


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("fail/access-key-id-21", "ASIAIOSFODNN7EXAMPLEX", None),
        ("fail/20-characters", "AROA3XFRBF535PLBIFPI", None),
        ("fail/wrong-kind", "AROA3XFRBF535PLBIFPI4", "AIDA"),
        ("fail/lowercase", "aroa3xfrbf535plbifpi4", None),
    ],
)
def test_validate_unique_id_refuses(name: str, value: str, kind: str | None) -> None:
    """Malformed unique ids are a validation error."""
    with pytest.raises(ValidationError):
        validate_unique_id(value, kind=kind)


def test_validate_unique_id_accepts_doc_examples() -> None:
    """The IAM documentation's example ids validate."""
    assert validate_unique_id("AIDAJQABLZS4A3QDU576Q", kind="AIDA")
    assert validate_unique_id("AROA3XFRBF535PLBIFPI4", kind=IdPrefix.ROLE)


@given(st.binary(min_size=30, max_size=30))
def test_secret_access_keys_are_40_base64_characters(data: bytes) -> None:
    """A secret access key has AWS's shape: 40 characters of standard base64, no padding."""
    value = new_secret_access_key(data)
    assert len(value) == SECRET_ACCESS_KEY_LENGTH
    assert validate_secret_access_key(value) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fail/39", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE"),
        ("fail/padding", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEK=="),
        ("fail/urlsafe", "wJalrXUtnFEMI_K7MDENG-bPxRfiCYEXAMPLEKEY"),
    ],
)
def test_validate_secret_access_key_refuses(name: str, value: str) -> None:
    """Secrets of the wrong length or alphabet are refused."""
    with pytest.raises(ValidationError):
        validate_secret_access_key(value)


def test_validate_secret_access_key_accepts_doc_example() -> None:
    """AWS's documented example secret validates."""
    value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert validate_secret_access_key(value) == value
