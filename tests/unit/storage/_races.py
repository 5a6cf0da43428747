"""Two nodes over one database, for the race tests of the storage and service suites.

The memory store is one store shared by both "nodes"; its threads switch far more often than the
default 5 ms so that a check and a write made under two separate lock holds would interleave with
the rival. SQLite is two stores over one file, PostgreSQL two stores over one database.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from elsewhere.storage import MemoryStore, open_store
from tests.unit.storage._postgres import needs_postgres
from tests.unit.storage.test_contract_postgres import race

__all__ = ["NODE_KINDS", "race", "two_nodes"]

#: The ``params`` of a two-node fixture.
NODE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=needs_postgres)]


@contextmanager
def two_nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Two stores on one database of the kind ``request.param`` names."""
    if request.param == "memory":
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        store = MemoryStore()
        try:
            yield store, store
        finally:
            sys.setswitchinterval(interval)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'races.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    one, two = open_store(url), open_store(url)
    try:
        yield one, two
    finally:
        one.close()
        two.close()
