"""A PostgreSQL store for tests, emptied first; only when ``ELSEWHERE_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import os

import pytest

from elsewhere.storage import SqlStore, open_store
from elsewhere.storage._schema import metadata

POSTGRES_URL = os.environ.get("ELSEWHERE_TEST_POSTGRES_URL")

#: Marks a parameter that needs PostgreSQL, skipped with a visible reason otherwise.
needs_postgres = pytest.mark.skipif(
    POSTGRES_URL is None,
    reason="set ELSEWHERE_TEST_POSTGRES_URL (a database that may be emptied) to run on PostgreSQL",
)


def empty_postgres_store() -> SqlStore:
    """Open the test database at the latest schema with every table but the version row empty."""
    assert POSTGRES_URL is not None
    store = open_store(POSTGRES_URL)
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "config_version":
                conn.execute(table.delete())
    return store
