"""IAM storage contract: the memory store and the SQLite store behave alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from elsewhere.domain import Tag
from elsewhere.domain._iam import ManagedPolicy, PolicyVersion, Role, User
from elsewhere.storage import MemoryStore, open_store

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
ARN = "arn:aws:iam::123456789012:policy/p"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each store implementation, empty (PostgreSQL is skipped without its binaries)."""
    s: Any
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = open_store("sqlite://")
    else:
        s = open_store(request.getfixturevalue("postgres_database"))
    yield s
    s.close()


def _role(name: str = "App") -> Role:
    return Role(
        role_id="AROA" + "A" * 17,
        arn=f"arn:aws:iam::123456789012:role/team/{name}",
        name=name,
        path="/team/",
        assume_role_policy=DOC,
        description="d",
        max_session_duration=3600,
        permissions_boundary_arn=None,
        tags=(Tag("k", "v"),),
        created_at=T0,
    )


def test_role_round_trip_case_insensitive(store: Any) -> None:
    """A role reads back by any case of its name, by ARN and by unique id; a second add of the
    name fails."""
    store.add_role(_role())
    assert store.get_role("app") == _role()
    assert store.get_role_by_arn(_role().arn) == _role()
    assert store.get_role_by_id(_role().role_id) == _role()
    assert store.get_role_by_id("AROA" + "Z" * 17) is None
    with pytest.raises(KeyError):
        store.add_role(_role("APP"))
    assert [r.name for r in store.list_roles()] == ["App"]


def test_role_policies_and_removal(store: Any) -> None:
    """Inline policies and attachments belong to the role and go with it."""
    store.add_role(_role())
    store.put_inline_policy("role", "App", "p1", DOC)
    store.put_inline_policy("role", "App", "p1", DOC + " ")
    assert store.list_role_inline_policies("App") == [("p1", DOC + " ")]
    store.add_managed_policy(_policy(), PolicyVersion("v1", DOC, True, T0))
    store.attach_policy("role", "App", ARN)
    store.attach_policy("role", "App", ARN)
    assert store.list_attached_role_policy_arns("App") == [ARN]
    assert store.get_managed_policy(ARN).attachment_count == 1
    assert store.remove_role("App")
    assert store.get_role("App") is None
    assert store.list_role_inline_policies("App") == []
    assert store.get_managed_policy(ARN).attachment_count == 0


def test_attached_policies_listed_by_arn(store: Any) -> None:
    """Attached policy ARNs come back ordered by ARN, whatever the attachment order."""
    store.add_role(_role())
    arns = [ARN + "-z", ARN + "-a", ARN + "-m"]
    for arn in arns:
        store.attach_policy("role", "App", arn)
    assert store.list_attached_policy_arns("role", "App") == sorted(arns)


def _policy() -> ManagedPolicy:
    return ManagedPolicy("ANPA" + "B" * 17, ARN, "p", "/", "", "v1", DOC, 0, (), T0, T0)


def test_policy_versions(store: Any) -> None:
    """New default versions replace the document; versions list newest first."""
    store.add_managed_policy(_policy(), PolicyVersion("v1", DOC, True, T0))
    store.add_policy_version(ARN, PolicyVersion("v2", DOC + "\n", True, T0))
    p = store.get_managed_policy(ARN)
    assert (p.default_version_id, p.document) == ("v2", DOC + "\n")
    assert [(v.version_id, v.is_default) for v in store.list_policy_versions(ARN)] == [
        ("v2", True),
        ("v1", False),
    ]
    assert store.set_default_policy_version(ARN, "v1", T0)
    assert store.get_managed_policy(ARN).document == DOC
    assert store.remove_policy_version(ARN, "v2")
    assert not store.set_default_policy_version(ARN, "v2", T0)
    assert store.remove_managed_policy(ARN)
    assert store.get_managed_policy(ARN) is None


def test_users(store: Any) -> None:
    """Users behave like roles: unique by name in any case, found by ARN and by unique id."""
    user = User(
        "AIDA" + "C" * 17, "arn:aws:iam::123456789012:user/alice", "alice", "/", None, (), T0
    )
    store.add_user(user)
    assert store.get_user("ALICE") == user
    assert store.get_user_by_arn(user.arn) == user
    assert store.get_user_by_id(user.user_id) == user
    assert store.get_user_by_id("AIDA" + "Z" * 17) is None
    store.put_inline_policy("user", "alice", "x", DOC)
    assert store.list_user_inline_policies("alice") == [("x", DOC)]
    assert store.replace_user(user)
    assert store.remove_user("alice")
    assert store.list_users() == []


def test_version_ids_are_never_reused(store: Any) -> None:
    """After the newest version is deleted, the next one still gets a new number."""
    store.add_managed_policy(_policy(), PolicyVersion("v1", DOC, True, T0))
    assert store.add_next_policy_version(ARN, DOC, is_default=False, when=T0).version_id == "v2"
    v3 = store.add_next_policy_version(ARN, DOC + " ", is_default=True, when=T0)
    assert v3.version_id == "v3"
    assert store.get_managed_policy(ARN).default_version_id == "v3"
    assert store.set_default_policy_version(ARN, "v1", T0)
    assert store.remove_policy_version(ARN, "v3")
    assert store.add_next_policy_version(ARN, DOC, is_default=False, when=T0).version_id == "v4"
