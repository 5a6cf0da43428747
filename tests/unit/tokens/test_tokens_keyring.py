"""The key ring: rotation semantics, serialisation and sealing under the master key."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.errors import InternalError
from elsewhere.tokens import (
    KeyRing,
    KeyRingError,
    KeyState,
    RingKey,
    build_key_ring,
    format_key_ring,
    open_key_ring,
    parse_key_ring,
    seal_key_ring,
)

from .conftest import T0

MASTER = b"m" * 32


def _key(n: int) -> bytes:
    return bytes([n]) * 32


def test_new_ring_has_one_active_key() -> None:
    """A fresh ring holds key 1, active, which seals."""
    ring = build_key_ring(_key(1), created_at=T0)
    assert [k.key_id for k in ring.keys] == [1]
    assert ring.current.key_id == 1
    assert ring.current.state is KeyState.ACTIVE


def test_add_makes_the_newest_key_current() -> None:
    """Adding a key gives it the next id and makes it the sealing key; the old one stays active."""
    ring = build_key_ring(_key(1), created_at=T0).add(_key(2), created_at=T0 + dt.timedelta(1))
    assert ring.current.key_id == 2
    assert ring.get(1) is not None
    assert ring.get(1).state is KeyState.ACTIVE  # type: ignore[union-attr]


def test_rotate_retires_every_other_key() -> None:
    """Rotation adds a new active key and retires the rest, which stay in the ring."""
    ring = build_key_ring(_key(1), created_at=T0).rotate(_key(2), created_at=T0 + dt.timedelta(1))
    assert ring.current.key_id == 2
    assert ring.get(1).state is KeyState.RETIRED  # type: ignore[union-attr]


def test_current_prefers_newest_active_not_highest_id() -> None:
    """The sealing key is the newest *active* key; a retired newer key never seals."""
    ring = KeyRing(
        (
            RingKey(7, _key(7), T0, KeyState.ACTIVE),
            RingKey(3, _key(3), T0 + dt.timedelta(hours=1), KeyState.ACTIVE),
            RingKey(9, _key(9), T0 + dt.timedelta(hours=2), KeyState.RETIRED),
        )
    )
    assert ring.current.key_id == 3


def test_ring_without_active_key_cannot_seal() -> None:
    """A ring of retired keys only opens; asking for the sealing key is an internal error."""
    ring = build_key_ring(_key(1), created_at=T0).retire(1)
    with pytest.raises(KeyRingError) as info:
        _ = ring.current
    assert isinstance(info.value, InternalError)


def test_remove_and_prune() -> None:
    """Remove drops one key; prune drops only retired keys older than the cut-off."""
    ring = (
        build_key_ring(_key(1), created_at=T0)
        .rotate(_key(2), created_at=T0 + dt.timedelta(days=1))
        .rotate(_key(3), created_at=T0 + dt.timedelta(days=2))
    )
    assert [k.key_id for k in ring.remove(2).keys] == [1, 3]
    pruned = ring.prune(created_before=T0 + dt.timedelta(days=1))
    assert [k.key_id for k in pruned.keys] == [2, 3]
    with pytest.raises(KeyError):
        ring.remove(42)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("fail/duplicate-id", (RingKey(1, _key(1), T0), RingKey(1, _key(2), T0))),
    ],
)
def test_ring_refuses_bad_keys(name: str, keys: tuple[RingKey, ...]) -> None:
    """A ring with two keys of one id is refused."""
    with pytest.raises(ValueError, match="duplicate"):
        KeyRing(keys)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("fail/short-key", (1, b"k" * 31, T0)),
        ("fail/negative-id", (-1, _key(1), T0)),
        ("fail/id-over-32-bits", (2**32, _key(1), T0)),
        ("fail/naive-time", (1, _key(1), dt.datetime(2026, 1, 1))),
    ],
)
def test_ring_key_refuses_bad_fields(name: str, args: tuple[object, ...]) -> None:
    """Ring keys are 32 bytes, with a 32-bit id and an aware creation time."""
    with pytest.raises(ValueError, match=r".+"):
        RingKey(*args)  # type: ignore[arg-type]


def test_repr_hides_key_bytes() -> None:
    """Neither a ring key nor a ring shows key material in its repr."""
    ring = build_key_ring(b"\xab" * 32, created_at=T0)
    assert "\\xab" not in repr(ring)
    assert "\\xab" not in repr(ring.keys[0])


_ring_keys = st.lists(
    st.builds(
        RingKey,
        key_id=st.integers(min_value=0, max_value=2**32 - 1),
        key=st.binary(min_size=32, max_size=32),
        created_at=st.datetimes(
            min_value=dt.datetime(1970, 1, 1),
            max_value=dt.datetime(9000, 1, 1),
            timezones=st.just(dt.UTC),
        ),
        state=st.sampled_from(KeyState),
    ),
    max_size=6,
    unique_by=lambda k: k.key_id,
)


@given(_ring_keys)
def test_format_parse_round_trip(keys: list[RingKey]) -> None:
    """Any ring survives formatting and parsing unchanged."""
    ring = KeyRing(tuple(keys))
    assert parse_key_ring(format_key_ring(ring)) == ring


@given(_ring_keys)
def test_seal_open_round_trip(keys: list[RingKey]) -> None:
    """Any ring survives sealing and opening under the same master key."""
    ring = KeyRing(tuple(keys))
    assert open_key_ring(seal_key_ring(ring, MASTER), MASTER) == ring


def test_sealed_ring_does_not_show_keys() -> None:
    """The sealed blob contains no ring key in the clear."""
    ring = build_key_ring(b"\xab" * 32, created_at=T0)
    assert b"\xab" * 8 not in seal_key_ring(ring, MASTER)


def test_sealed_ring_refuses_wrong_master_key() -> None:
    """Opening with another master key fails as an internal error, revealing nothing."""
    blob = seal_key_ring(build_key_ring(_key(1), created_at=T0), MASTER)
    with pytest.raises(KeyRingError):
        open_key_ring(blob, b"n" * 32)


def test_sealed_ring_refuses_any_tampered_byte() -> None:
    """Flipping any bit of any byte of the sealed ring makes it fail to open."""
    blob = seal_key_ring(build_key_ring(_key(1), created_at=T0), MASTER)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(KeyRingError):
            open_key_ring(bytes(tampered), MASTER)


@pytest.mark.parametrize(
    ("name", "blob"),
    [
        ("fail/empty", b""),
        ("fail/header-only", b"EWKS\x01"),
        ("fail/short-ciphertext", b"EWKS\x01" + b"\x00" * 10),
        ("fail/plain-ring", b"EWKR\x01\x00"),
    ],
)
def test_open_key_ring_refuses_garbage(name: str, blob: bytes) -> None:
    """Garbage blobs fail to open."""
    with pytest.raises(KeyRingError):
        open_key_ring(blob, MASTER)


def test_master_key_must_be_32_bytes() -> None:
    """A short master key is refused."""
    with pytest.raises(KeyRingError):
        seal_key_ring(build_key_ring(_key(1), created_at=T0), b"short")


@given(st.binary(max_size=200))
def test_parse_key_ring_refuses_garbage(data: bytes) -> None:
    """Arbitrary bytes either parse to a ring or raise KeyRingError, nothing else."""
    try:
        ring = parse_key_ring(data)
    except KeyRingError:
        return
    assert format_key_ring(ring) == data
