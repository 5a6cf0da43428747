"""Fixtures shared by the storage race tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.storage._races import NODE_KINDS, two_nodes


@pytest.fixture(params=NODE_KINDS)
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Two stores on one database (the memory store: one store, shared)."""
    with two_nodes(request, tmp_path) as pair:
        yield pair
