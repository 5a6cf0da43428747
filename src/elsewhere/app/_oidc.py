"""Operator actions on the OIDC issuer: list its signing keys, rotate them, export its documents."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from elsewhere.app._keys import _require_master_key
from elsewhere.app._settings import ServerSettings
from elsewhere.clock import Clock, SystemClock
from elsewhere.oidc import (
    DISCOVERY_PATH,
    JWKS_PATH,
    MAX_TOKEN_LIFETIME,
    IssuerState,
    build_discovery_document,
    build_jwks,
)
from elsewhere.service._federation import (
    DEFAULT_ACTIVATION_DELAY,
    load_or_create_issuer_state,
    rotate_signing_keys,
)
from elsewhere.service._issuer import format_document
from elsewhere.service._ports import SecretRepository
from elsewhere.storage import open_store

__all__ = ["SigningKeyEntry", "export_issuer_documents", "list_signing_keys", "rotate_issuer_keys"]


@dataclass(frozen=True)
class SigningKeyEntry:
    """One signing key as the operator sees it: no private material."""

    kid: str
    alg: str
    phase: str
    created_at: str
    activates_at: str
    #: When it leaves the JWKS (its successor's activation plus the longest token life).
    published_until: str


def _iso(when: dt.datetime | None) -> str:
    return "-" if when is None else when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _entries(state: IssuerState, now: dt.datetime) -> list[SigningKeyEntry]:
    entries = []
    for key in state.keys:
        retired = state.retired_at(key)
        entries.append(
            SigningKeyEntry(
                kid=key.kid,
                alg=key.alg,
                phase=state.phase(key, now).value,
                created_at=_iso(key.created_at),
                activates_at=_iso(key.activates_at),
                published_until=_iso(None if retired is None else retired + MAX_TOKEN_LIFETIME),
            )
        )
    return entries


@contextmanager
def _secrets(settings: ServerSettings) -> Iterator[tuple[SecretRepository, bytes]]:
    master_key = _require_master_key(settings)
    store = open_store(settings.effective_database_url)
    try:
        yield store.secrets, master_key
    finally:
        store.close()


def list_signing_keys(
    settings: ServerSettings, *, clock: Clock | None = None
) -> list[SigningKeyEntry]:
    """The issuer's signing keys, oldest activation first."""
    now = (clock or SystemClock()).now()
    with _secrets(settings) as (secrets, master_key):
        return _entries(load_or_create_issuer_state(secrets, master_key, now=now), now)


def rotate_issuer_keys(
    settings: ServerSettings,
    *,
    activation_delay: dt.timedelta = DEFAULT_ACTIVATION_DELAY,
    clock: Clock | None = None,
) -> list[SigningKeyEntry]:
    """Add a new RS256 and ES384 key that sign from ``now + activation_delay``.

    Every replica publishes them within a second (the write bumps the configuration version);
    the keys they replace keep signing until then and stay published until their last token
    has expired.
    """
    now = (clock or SystemClock()).now()
    with _secrets(settings) as (secrets, master_key):
        load_or_create_issuer_state(secrets, master_key, now=now)
        state = rotate_signing_keys(secrets, master_key, now=now, activation_delay=activation_delay)
        return _entries(state, now)


def export_issuer_documents(
    settings: ServerSettings, directory: Path, *, clock: Clock | None = None
) -> list[Path]:
    """Write ``.well-known/openid-configuration`` and ``.well-known/jwks.json`` under ``directory``.

    For an issuer on static hosting (a bucket, a web site) that relying parties such as AWS and
    Azure fetch over public HTTPS: the files are what the server serves now for the issuer
    ``settings.issuer_url``. Export again after each rotation, before the new keys activate.
    """
    now = (clock or SystemClock()).now()
    with _secrets(settings) as (secrets, master_key):
        state = load_or_create_issuer_state(secrets, master_key, now=now)
    written = []
    for path, document in (
        (DISCOVERY_PATH, build_discovery_document(settings.issuer_url)),
        (JWKS_PATH, build_jwks(state, now)),
    ):
        target = directory / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(format_document(document))
        os.replace(partial, target)  # a web server reading the directory never sees half a file
        written.append(target)
    return written
