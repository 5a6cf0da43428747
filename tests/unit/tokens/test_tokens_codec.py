"""The strict binary encoding under tokens and key rings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.tokens._codec import DecodeError, Reader, Writer

_text = st.text(st.characters(exclude_categories=("Cs",)))


@given(
    uints=st.lists(st.integers(min_value=0, max_value=2**64 - 1)),
    sints=st.lists(st.integers(min_value=-(2**62), max_value=2**62)),
    texts=st.lists(st.none() | _text),
)
def test_round_trip(uints: list[int], sints: list[int], texts: list[str | None]) -> None:
    """Every value reads back as written, and the reader ends exactly at the end."""
    out = Writer()
    for u in uints:
        out.uint(u)
    for s in sints:
        out.sint(s)
    for t in texts:
        out.optional_text(t)
    reader = Reader(out.getvalue())
    assert [reader.uint() for _ in uints] == uints
    assert [reader.sint() for _ in sints] == sints
    assert [reader.optional_text() for _ in texts] == texts
    reader.end()


@pytest.mark.parametrize(
    ("name", "data", "read"),
    [
        ("fail/overlong-zero", b"\x80\x00", Reader.uint),
        ("fail/overlong-one", b"\x81\x00", Reader.uint),
        ("fail/truncated-varint", b"\x80", Reader.uint),
        ("fail/eleven-byte-varint", b"\xff" * 10 + b"\x01", Reader.uint),
        ("fail/truncated-text", b"\x05abc", Reader.text),
        ("fail/bad-utf8", b"\x02\xc3\x28", Reader.text),
        ("fail/bad-utf8-optional", b"\x03\xc3\x28", Reader.optional_text),
        ("fail/empty", b"", Reader.uint),
    ],
)
def test_reader_refuses(name: str, data: bytes, read: object) -> None:
    """Non-canonical, truncated and invalid encodings are refused."""
    with pytest.raises(DecodeError):
        read(Reader(data))  # type: ignore[operator]


def test_trailing_bytes_are_refused() -> None:
    """A reader that has not consumed everything fails ``end``."""
    reader = Reader(b"\x01\x02")
    assert reader.uint() == 1
    with pytest.raises(DecodeError):
        reader.end()


def test_too_many_items_are_refused() -> None:
    """A sequence count above the caller's limit is refused before reading items."""
    with pytest.raises(DecodeError):
        Reader(b"\x05").texts(limit=4)


def test_public_surface_is_explicit() -> None:
    """Every name in ``elsewhere.tokens.__all__`` exists, and nothing private is exported."""
    import elsewhere.tokens as tokens

    assert all(hasattr(tokens, name) for name in tokens.__all__)
    assert not [name for name in tokens.__all__ if name.startswith("_")]
    assert len(set(tokens.__all__)) == len(tokens.__all__)
