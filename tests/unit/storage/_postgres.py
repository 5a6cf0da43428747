"""A PostgreSQL store for tests, emptied first, on the suite's own server (``tests/postgres.py``).

The ``postgres_url`` fixture starts a throwaway PostgreSQL (or uses the server named by
``ELSEWHERE_TEST_POSTGRES_URL``) and skips with a visible reason when none is available.
"""

from __future__ import annotations

import pytest

from elsewhere.storage import SqlStore, open_store
from elsewhere.storage._schema import metadata

#: Marks a parameter that needs PostgreSQL (the fixture skips with a reason when there is none).
needs_postgres = pytest.mark.postgres


def empty_postgres_store(request: pytest.FixtureRequest) -> SqlStore:
    """Open the session database at the latest schema, every table but the version row empty."""
    store = open_store(request.getfixturevalue("postgres_url"))
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "config_version":
                conn.execute(table.delete())
    return store
