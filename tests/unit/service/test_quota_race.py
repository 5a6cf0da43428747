"""Quotas stay hard limits when another replica inserts at the same moment."""

from __future__ import annotations

from typing import Any

import pytest

from elsewhere.clock import FixedClock
from elsewhere.errors import ValidationError
from elsewhere.service import ControlPlane, ControlPlaneSettings
from elsewhere.storage import MemoryStore

from .conftest import ACCOUNT, CALLER, REGION, ROLE, T0


class _RacingRepository:
    """A repository where, while ``racing``, another replica inserts alongside each insert."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.racing = False
        self._phantom = 0

    def add(self, record: Any, tags: Any = ()) -> None:
        self._inner.add(record, tags)
        if self.racing:
            self._phantom = 1  # the other replica's row, committed between check and insert

    def remove(self, record_id: str) -> Any:
        return self._inner.remove(record_id)

    def count(self) -> int:
        return int(self._inner.count()) + self._phantom

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Store:
    def __init__(self) -> None:
        self._inner = MemoryStore()
        self.profiles = _RacingRepository(self._inner.profiles)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_fail_concurrent_insert_at_the_limit_is_backed_out() -> None:
    """An insert that another replica's insert pushed over the quota is removed and refused."""
    store = _Store()
    cp = ControlPlane(
        store,  # type: ignore[arg-type]
        FixedClock(T0),
        account_id=ACCOUNT,
        region=REGION,
        settings=ControlPlaneSettings(max_profiles=2),
    )
    cp.handle("CreateProfile", {"name": "one", "roleArns": [ROLE]}, CALLER)
    store.profiles.racing = True  # the next insert races with another replica's
    with pytest.raises(ValidationError, match="maximum of 2 profiles"):
        cp.handle("CreateProfile", {"name": "two", "roleArns": [ROLE]}, CALLER)
    store.profiles.racing = False
    store.profiles._phantom = 0  # the other replica's profile is deleted again
    assert [p.name for p in store.profiles.list_all()] == ["one"]
    cp.handle("CreateProfile", {"name": "two", "roleArns": [ROLE]}, CALLER)
    assert sorted(p.name for p in store.profiles.list_all()) == ["one", "two"]
