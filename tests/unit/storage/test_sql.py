"""What only the SQL store has: migrations, SQLite's WAL mode, sharing one database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from elsewhere.domain import Tag
from elsewhere.storage import open_store
from elsewhere.storage._schema import metadata
from elsewhere.storage._sql import _alembic_config, _head_revision


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


def test_unique_alias_migration_keeps_the_earliest_holder(tmp_path: Path) -> None:
    """0004 leaves a duplicated alias on the earliest created record and drops previous aliases."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    base = {
        "name": "p",
        "enabled": True,
        "created_by": "root",
        "role_arns": "[]",
        "managed_policy_arns": "[]",
        "duration_seconds": 3600,
        "accept_role_session_name": False,
        "require_instance_properties": False,
        "attribute_mappings": "[]",
        "previous_alias_name": "old",
        "updated_at": dt.datetime(2026, 1, 2),
    }
    rows = [
        ("00000000-0000-4000-8000-000000000002", "dup", dt.datetime(2026, 1, 1)),
        ("00000000-0000-4000-8000-000000000001", "dup", dt.datetime(2026, 1, 2)),
        ("00000000-0000-4000-8000-000000000003", "own", dt.datetime(2026, 1, 3)),
    ]
    table = sa.Table("profiles", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        for record_id, alias, created in rows:
            conn.execute(
                sa.insert(table).values(
                    id=record_id,
                    arn=f"arn:aws:rolesanywhere:us-east-1:123456789012:profile/{record_id}",
                    alias_name=alias,
                    created_at=created,
                    **base,
                )
            )
    engine.dispose()
    store = open_store(url)
    try:
        held = {p.id[-1]: (p.alias_name, p.previous_alias_name) for p in store.profiles.list_all()}
        assert held == {"1": (None, None), "2": ("dup", None), "3": ("own", None)}
        assert "previous_alias_name" not in {
            c["name"] for c in sa.inspect(store.engine).get_columns("profiles")
        }
    finally:
        store.close()
