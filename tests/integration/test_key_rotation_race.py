"""`elsewhere keys rotate` run by several operators (or replicas) at once loses no key.

Each rotation opens the store on its own, as separate processes would, on a real SQLite file and
on PostgreSQL. A rotation that loses the compare-and-set re-reads the ring and rotates that, so
every key any rotation announced is still in the ring, and tokens sealed with it still open.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from elsewhere.app import ServerSettings
from elsewhere.app._files import load_or_create_master_key
from elsewhere.app._keys import (
    KeyRotationConflict,
    list_session_keys,
    rotate_key_ring,
    rotate_session_keys,
)
from elsewhere.clock import FixedClock
from elsewhere.service._ports import SecretRepository
from elsewhere.service._snapshot import KEY_RING_SECRET, load_or_create_key_ring
from elsewhere.storage import MemoryStore, open_store
from elsewhere.tokens import KeyRing, open_key_ring
from tests.unit.storage._postgres import needs_postgres
from tests.unit.storage.test_contract_postgres import race

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
OPERATORS = 4
ROUNDS = 3


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ServerSettings:
    """A server's data directory (with its master key) and store."""
    load_or_create_master_key(tmp_path)
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_database")
    return ServerSettings(data_dir=tmp_path, database_url=url)


def test_concurrent_rotations_lose_no_announced_key(settings: ServerSettings) -> None:
    """Rotations at the same instant: each one's new key stays in the ring, with a distinct id."""
    clock = FixedClock(T0)
    first = list_session_keys(settings, clock=clock)
    announced: list[int] = []
    for _ in range(ROUNDS):
        rings = race(*(lambda: rotate_session_keys(settings, clock=clock),) * OPERATORS)
        for ring in rings:
            assert isinstance(ring, list)
            active = [e.key_id for e in ring if e.state == "active"]
            assert len(active) == 1
            announced.extend(active)
    assert len(set(announced)) == len(announced) == ROUNDS * OPERATORS
    final = list_session_keys(settings, clock=clock)
    assert {e.key_id for e in first} | set(announced) == {e.key_id for e in final}
    assert [e.key_id for e in final if e.state == "active"] == [max(announced)]


def test_concurrent_rotations_keep_every_key_s_bytes(settings: ServerSettings) -> None:
    """The keys rotations returned are in the stored ring byte for byte (their tokens open)."""
    master_key = load_or_create_master_key(settings.data_dir)
    stores = [open_store(settings.effective_database_url) for _ in range(OPERATORS)]
    try:
        load_or_create_key_ring(stores[0].secrets, master_key, now=T0)
        rings = race(*(lambda s=s: rotate_key_ring(s.secrets, master_key, now=T0) for s in stores))
        blob = stores[0].secrets.get(KEY_RING_SECRET)
        assert blob is not None
        stored = open_key_ring(blob, master_key)
        for ring in rings:
            assert isinstance(ring, KeyRing)
            kept = stored.get(ring.current.key_id)
            assert kept is not None
            assert kept.key == ring.current.key
    finally:
        for store in stores:
            store.close()


class _Interloper:
    """Secrets whose next ``put_if`` calls first let another rotation write the ring."""

    def __init__(self, inner: SecretRepository, master_key: bytes, interleave: int) -> None:
        self._inner = inner
        self._master_key = master_key
        self._interleave = interleave
        self.interloper_rings: list[KeyRing] = []
        self.attempts = 0

    def get(self, name: str) -> bytes | None:
        """The stored secret."""
        return self._inner.get(name)

    def put(self, name: str, value: bytes) -> None:
        """Set the secret."""
        self._inner.put(name, value)

    def get_or_create(self, name: str, value: bytes) -> bytes:
        """The stored secret, first writer wins."""
        return self._inner.get_or_create(name, value)

    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        """Let another rotation win first (while interleaving), then try the compare-and-set."""
        self.attempts += 1
        if self._interleave:
            self._interleave -= 1
            self.interloper_rings.append(rotate_key_ring(self._inner, self._master_key, now=T0))
        return self._inner.put_if(name, expected, value)


def test_a_rotation_that_loses_the_race_rotates_the_winner_s_ring() -> None:
    """Another rotation writes between our read and our write: we retry on its ring, keeping it."""
    master_key = bytes(range(32))
    store = MemoryStore()
    load_or_create_key_ring(store.secrets, master_key, now=T0)
    secrets = _Interloper(store.secrets, master_key, interleave=2)
    ring = rotate_key_ring(secrets, master_key, now=T0)
    assert secrets.attempts == 3
    assert [k.key_id for k in ring.keys] == [1, 2, 3, 4]
    for other in secrets.interloper_rings:
        kept = ring.get(other.current.key_id)
        assert kept is not None
        assert kept.key == other.current.key
    blob = store.secrets.get(KEY_RING_SECRET)
    assert blob is not None
    assert open_key_ring(blob, master_key).keys == ring.keys


def test_rotation_gives_up_after_bounded_attempts_having_written_nothing() -> None:
    """Every attempt lost: KeyRotationConflict, and the ring is the last winner's, untouched."""
    master_key = bytes(range(32))
    store = MemoryStore()
    load_or_create_key_ring(store.secrets, master_key, now=T0)
    secrets = _Interloper(store.secrets, master_key, interleave=3)
    with pytest.raises(KeyRotationConflict):
        rotate_key_ring(secrets, master_key, now=T0, attempts=3)
    assert secrets.attempts == 3
    blob = store.secrets.get(KEY_RING_SECRET)
    assert blob is not None
    assert [k.key_id for k in open_key_ring(blob, master_key).keys] == [1, 2, 3, 4]


def test_rotation_of_a_store_without_a_ring_makes_one_first() -> None:
    """Rotating before any server started makes the first ring, then rotates it (ids 1 and 2)."""
    master_key = bytes(range(32))
    store = MemoryStore()
    ring = rotate_key_ring(store.secrets, master_key, now=T0)
    assert [(k.key_id, k.state.value) for k in ring.keys] == [(1, "retired"), (2, "active")]
