"""Operator actions on the session-token key ring: list it, rotate it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from elsewhere.app._files import load_or_create_master_key
from elsewhere.app._settings import ServerSettings
from elsewhere.clock import Clock, SystemClock
from elsewhere.errors import ConflictError
from elsewhere.service._ports import SecretRepository
from elsewhere.service._snapshot import KEY_RING_SECRET, load_or_create_key_ring
from elsewhere.storage import open_store
from elsewhere.tokens import KEY_SIZE, KeyRing, open_key_ring, seal_key_ring

__all__ = [
    "ROTATE_ATTEMPTS",
    "KeyRotationConflict",
    "RingEntry",
    "list_session_keys",
    "rotate_key_ring",
    "rotate_session_keys",
]

#: How often a rotation re-reads the ring after losing a race with another rotation.
ROTATE_ATTEMPTS = 10


class KeyRotationConflict(ConflictError):
    """Other rotations kept changing the ring; nothing was written by this one."""

    code = "ConcurrentModification"
    default_message = (
        f"The key ring changed under {ROTATE_ATTEMPTS} attempts to rotate it; try again."
    )


@dataclass(frozen=True)
class RingEntry:
    """One key of the ring, without its bytes."""

    key_id: int
    state: str
    created_at: str


def _entries(ring: KeyRing) -> list[RingEntry]:
    return [
        RingEntry(k.key_id, k.state.value, k.created_at.isoformat().replace("+00:00", "Z"))
        for k in ring.keys
    ]


def _require_master_key(settings: ServerSettings) -> bytes:
    if not (settings.data_dir / "master.key").exists():
        raise FileNotFoundError(
            f"{settings.data_dir / 'master.key'} does not exist: point --data-dir at the "
            "server's data directory"
        )
    return load_or_create_master_key(settings.data_dir)


def list_session_keys(settings: ServerSettings, *, clock: Clock | None = None) -> list[RingEntry]:
    """The keys of the ring, newest last."""
    master_key = _require_master_key(settings)
    store = open_store(settings.effective_database_url)
    try:
        ring = load_or_create_key_ring(
            store.secrets, master_key, now=(clock or SystemClock()).now()
        )
        return _entries(ring)
    finally:
        store.close()


def rotate_key_ring(
    secrets: SecretRepository,
    master_key: bytes,
    *,
    now: dt.datetime,
    random: Callable[[int], bytes] = os.urandom,
    attempts: int = ROTATE_ATTEMPTS,
) -> KeyRing:
    """Rotate the stored ring (new active key, the others retired) and return the stored ring.

    A read-modify-write guarded by a compare-and-set (``secrets.put_if``): when another rotation
    (an operator, a replica) wrote the ring in between, this one re-reads it and rotates that,
    so no key another rotation added is dropped. Raises :class:`KeyRotationConflict` after
    ``attempts`` lost races, having written nothing.
    """
    for _ in range(attempts):
        blob = secrets.get(KEY_RING_SECRET)
        if blob is None:  # no server has started on this store yet: make its first ring
            load_or_create_key_ring(secrets, master_key, now=now, random=random)
            continue
        ring = open_key_ring(blob, master_key).rotate(random(KEY_SIZE), created_at=now)
        if secrets.put_if(KEY_RING_SECRET, blob, seal_key_ring(ring, master_key)):
            return ring
    raise KeyRotationConflict


def rotate_session_keys(settings: ServerSettings, *, clock: Clock | None = None) -> list[RingEntry]:
    """Seal new sessions with a fresh key; older keys are retired but still open live sessions.

    Every replica picks up the new ring within a second (the write bumps the store's
    configuration version). Tokens sealed before the rotation keep working until they expire.
    """
    now = (clock or SystemClock()).now()
    master_key = _require_master_key(settings)
    store = open_store(settings.effective_database_url)
    try:
        return _entries(rotate_key_ring(store.secrets, master_key, now=now))
    finally:
        store.close()
