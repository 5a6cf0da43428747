"""What only the SQL store has: migrations, SQLite's WAL mode, sharing one database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from elsewhere.domain import Tag
from elsewhere.storage import open_store
from elsewhere.storage._schema import metadata
from elsewhere.storage._sql import _head_revision


def test_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    """The migrations produce exactly the tables and columns that _schema declares."""
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_open_is_idempotent_and_wal(tmp_path: Path) -> None:
    """Opening twice keeps the data; the database is at the head revision in WAL mode."""
    path = tmp_path / "nested" / "db.sqlite"
    first = open_store(f"sqlite:///{path}")
    first.settings.put("k", "v")
    first.close()
    second = open_store(f"sqlite:///{path}")
    assert second.settings.get("k") == "v"
    second.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        head = raw.execute("SELECT version_num FROM alembic_version").fetchall()
    assert head == [(_head_revision(),)]
    assert head != [(None,)]


def test_two_stores_share_one_database(tmp_path: Path) -> None:
    """A second node sees the first node's writes and its config_version."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    one, two = open_store(url), open_store(url)
    start = two.config_version()
    one.tags.put("arn:aws:rolesanywhere:us-east-1:123456789012:profile/x", [Tag("a", "b")])
    assert two.config_version() > start
    assert two.tags.get("arn:aws:rolesanywhere:us-east-1:123456789012:profile/x") == (
        Tag("a", "b"),
    )
    one.close()
    two.close()


def test_memory_sqlite_url(tmp_path: Path) -> None:
    """``sqlite://`` gives a working in-memory database for the life of the store."""
    store = open_store("sqlite://")
    store.settings.put("k", "v")
    assert store.settings.get("k") == "v"
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM config_version")).scalar_one() >= 1
    store.close()


def test_sqlite_keeps_datetimes_utc(tmp_path: Path) -> None:
    """A non-UTC aware datetime is stored as the same instant and read back in UTC."""
    from elsewhere.domain import AccessKey

    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    plus_two = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2026, 1, 1, 14, 0, 0, 5, tzinfo=plus_two)
    store.access_keys.add(AccessKey("AKIA1", "s", "arn:aws:iam::1:root", "root", "Active", at))
    got = store.access_keys.get("AKIA1")
    store.close()
    assert got is not None
    assert got.created_at == at
    assert got.created_at.tzinfo == dt.UTC
