"""Operator actions on the session-token key ring: list it, rotate it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from elsewhere.app._files import load_or_create_master_key
from elsewhere.app._settings import ServerSettings
from elsewhere.clock import Clock, SystemClock
from elsewhere.service._snapshot import KEY_RING_SECRET, load_or_create_key_ring
from elsewhere.storage import open_store
from elsewhere.tokens import KEY_SIZE, KeyRing, seal_key_ring

__all__ = ["RingEntry", "list_session_keys", "rotate_session_keys"]


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


def rotate_session_keys(settings: ServerSettings, *, clock: Clock | None = None) -> list[RingEntry]:
    """Seal new sessions with a fresh key; older keys are retired but still open live sessions.

    Every replica picks up the new ring within a second (the write bumps the store's
    configuration version). Tokens sealed before the rotation keep working until they expire.
    """
    now = (clock or SystemClock()).now()
    master_key = _require_master_key(settings)
    store = open_store(settings.effective_database_url)
    try:
        ring = load_or_create_key_ring(store.secrets, master_key, now=now).rotate(
            os.urandom(KEY_SIZE), created_at=now
        )
        store.secrets.put(KEY_RING_SECRET, seal_key_ring(ring, master_key))
        return _entries(ring)
    finally:
        store.close()
