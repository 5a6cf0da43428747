"""IAM writes bump the configuration version only when they change something.

Every replica rebuilds its snapshot (and reloads the roles profiles name) on a bump, so a refused
or no-op IAM call (deleting what is not there, a key past the quota) must not cause one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from elsewhere.domain import AccessKey
from elsewhere.domain._iam import Role, User
from elsewhere.service import Store
from tests.unit.storage.test_contract import store

__all__ = ["store"]  # the memory/SQLite/PostgreSQL fixture of the contract suite

ACCOUNT = "123456789012"
T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _role(name: str) -> Role:
    return Role(
        role_id="AROA" + name.upper().ljust(17, "X")[:17],
        arn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
        name=name,
        path="/",
        assume_role_policy="{}",
        description="",
        max_session_duration=3600,
        permissions_boundary_arn=None,
        tags=(),
        created_at=T0,
    )


def _user(name: str) -> User:
    return User(
        user_id="AIDA" + name.upper().ljust(17, "X")[:17],
        arn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        name=name,
        path="/",
        permissions_boundary_arn=None,
        tags=(),
        created_at=T0,
    )


def _key(n: int, user: User) -> AccessKey:
    return AccessKey(
        access_key_id=f"AKIA{n:016d}",
        secret_access_key="sealed",
        principal_arn=user.arn,
        user_name=user.name,
        status="Active",
        created_at=T0,
    )


def _bumps(store: Any, action: Any) -> int:
    before = store.config_version()
    action()
    return int(store.config_version() - before)


def test_changes_bump_once_and_no_ops_do_not(store: Store) -> None:
    """A real change bumps by one; refused and no-op writes leave the version alone."""
    iam: Any = store
    dev = _user("dev")
    assert _bumps(iam, lambda: iam.add_role(_role("app"))) == 1
    assert _bumps(iam, lambda: iam.add_user(dev)) == 1
    assert _bumps(iam, lambda: iam.remove_role("absent")) == 0
    assert _bumps(iam, lambda: iam.remove_unused_owner("role", "absent")) == 0
    assert _bumps(iam, lambda: iam.remove_unused_managed_policy("arn:aws:iam::1:policy/x")) == 0
    assert _bumps(iam, lambda: iam.add_user_access_key("dev", _key(1, dev), limit=1)) == 1
    refused: list[str] = []
    assert (
        _bumps(iam, lambda: refused.append(iam.add_user_access_key("dev", _key(2, dev), limit=1)))
        == 0
    )
    assert refused == ["limit"]
    assert _bumps(iam, lambda: iam.remove_unused_owner("user", "dev")) == 0
    assert _bumps(iam, lambda: iam.remove_unused_owner("role", "app")) == 1
