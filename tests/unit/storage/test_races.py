"""Races on one managed policy's versions and on one secret, met by two nodes at once.

Each case runs on the memory store, on two SQLite stores over one database file (two processes
of one host) and on two PostgreSQL stores over one database (two replicas). The invariants: a
policy's default version always exists and reads back; DeletePolicyVersion never removes the
default; CreatePolicyVersion never passes the version quota; of two compare-and-sets from the
same value exactly one wins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from elsewhere.domain._iam import MAX_POLICY_VERSIONS, ManagedPolicy, PolicyVersion
from elsewhere.storage import SqlStore, open_store
from elsewhere.storage._schema import iam_policies
from tests.unit.storage._races import race

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
ARN = "arn:aws:iam::123456789012:policy/raced"
ROUNDS = 25
HAMMER = 60


def _doc(n: int) -> str:
    """A distinct, valid policy document per ``n`` (its Sid tells which one was read)."""
    return (
        f'{{"Version":"2012-10-17","Statement":[{{"Sid":"S{n}","Effect":"Allow",'
        '"Action":"s3:GetObject","Resource":"*"}]}'
    )


def _add_policy(store: Any) -> None:
    """Create the raced policy with v1 as its default."""
    policy = ManagedPolicy("ANPA" + "R" * 17, ARN, "raced", "/", "", "v1", _doc(1), 0, (), T0, T0)
    store.add_managed_policy(policy, PolicyVersion("v1", _doc(1), True, T0))


def _assert_default_readable(store: Any) -> ManagedPolicy:
    """The policy reads back, and its default version exists with the document it returns."""
    policy = store.get_managed_policy(ARN)
    assert isinstance(policy, ManagedPolicy)
    default = store.get_policy_version(ARN, policy.default_version_id)
    assert default is not None
    assert default.is_default
    assert default.document == policy.document
    assert [v.version_id for v in store.list_policy_versions(ARN) if v.is_default] == [
        policy.default_version_id
    ]
    assert [p.arn for p in store.list_managed_policies()] == [ARN]
    return policy


def _drop_non_defaults(store: Any) -> None:
    """Delete every version but the default."""
    for v in store.list_policy_versions(ARN):
        if not v.is_default:
            assert store.remove_policy_version(ARN, v.version_id)


def test_set_default_races_delete_of_the_same_version(nodes: tuple[Any, Any]) -> None:
    """SetDefault(v) against Delete(v): exactly one wins, and the default always exists."""
    one, two = nodes
    _add_policy(one)
    for n in range(ROUNDS):
        v = one.add_next_policy_version(ARN, _doc(n + 2), is_default=False, when=T0)
        assert v is not None
        set_ok, removed = race(
            partial(one.set_default_policy_version, ARN, v.version_id, T0),
            partial(two.remove_policy_version, ARN, v.version_id),
        )
        assert [set_ok, removed].count(True) == 1
        policy = _assert_default_readable(two)
        if set_ok:
            assert policy.default_version_id == v.version_id
            assert policy.document == _doc(n + 2)
        else:
            assert one.get_policy_version(ARN, v.version_id) is None
        _drop_non_defaults(one)


def test_hammering_set_default_and_delete(nodes: tuple[Any, Any]) -> None:
    """Two writers hammer one policy while a reader checks that every read succeeds."""
    one, two = nodes
    _add_policy(one)
    for n in range(3):
        one.add_next_policy_version(ARN, _doc(n + 2), is_default=False, when=T0)
    stop = threading.Event()
    reads: list[int] = []

    def setter() -> None:
        """Make each listed version the default in turn (some are gone by then)."""
        for i in range(HAMMER):
            versions = one.list_policy_versions(ARN)
            one.set_default_policy_version(ARN, versions[i % len(versions)].version_id, T0)

    def deleter() -> None:
        """Delete a version that was not the default when listed, then add one back."""
        for i in range(HAMMER):
            others = [v for v in two.list_policy_versions(ARN) if not v.is_default]
            if others:
                two.remove_policy_version(ARN, others[i % len(others)].version_id)
            two.add_next_policy_version(
                ARN, _doc(100 + i), is_default=False, when=T0, limit=MAX_POLICY_VERSIONS
            )

    def reader() -> None:
        """Read the policy with its default document until the writers stop."""
        while not stop.is_set():
            assert two.get_managed_policy(ARN) is not None
            reads.append(1)

    def writers() -> None:
        """Run both writers at once, then stop the reader."""
        try:
            race(setter, deleter)
        finally:
            stop.set()

    race(writers, reader)
    assert reads
    _assert_default_readable(one)
    assert len(one.list_policy_versions(ARN)) <= MAX_POLICY_VERSIONS


def test_create_version_races_for_the_last_slot(nodes: tuple[Any, Any]) -> None:
    """Two CreatePolicyVersion calls for the quota's last free slot: exactly one gets it."""
    one, two = nodes
    _add_policy(one)
    for n in range(MAX_POLICY_VERSIONS - 2):
        one.add_next_policy_version(ARN, _doc(n + 2), is_default=False, when=T0)
    for n in range(ROUNDS // 2):

        def add(store: Any, k: int) -> Any:
            return store.add_next_policy_version(
                ARN, _doc(1000 + k), is_default=True, when=T0, limit=MAX_POLICY_VERSIONS
            )

        made = race(partial(add, one, 2 * n), partial(add, two, 2 * n + 1))
        assert sum(v is not None for v in made) == 1
        versions = one.list_policy_versions(ARN)
        assert len(versions) == MAX_POLICY_VERSIONS
        winner = next(v for v in made if isinstance(v, PolicyVersion))
        assert _assert_default_readable(two).default_version_id == winner.version_id
        oldest = versions[-1]
        assert one.remove_policy_version(ARN, oldest.version_id)


def test_delete_of_the_default_is_refused(nodes: tuple[Any, Any]) -> None:
    """The store itself refuses to delete the default version, whoever asks."""
    one, _ = nodes
    _add_policy(one)
    assert not one.remove_policy_version(ARN, "v1")
    assert _assert_default_readable(one).default_version_id == "v1"
    assert not one.remove_policy_version(ARN, "v9")
    assert not one.remove_policy_version(ARN + "-none", "v1")
    assert not one.set_default_policy_version(ARN + "-none", "v1", T0)
    with pytest.raises(KeyError):
        one.add_next_policy_version(ARN + "-none", _doc(2), is_default=False, when=T0)


def test_a_stale_copy_does_not_bring_back_an_old_default(nodes: tuple[Any, Any]) -> None:
    """Tagging with a copy read before SetDefault+Delete keeps the new default (no dangling)."""
    one, two = nodes
    _add_policy(one)
    stale = one.get_managed_policy(ARN)
    v2 = one.add_next_policy_version(ARN, _doc(2), is_default=True, when=T0)
    assert v2 is not None
    assert one.remove_policy_version(ARN, "v1")
    assert two.replace_managed_policy(dataclasses.replace(stale, description="d", tags=()))
    policy = _assert_default_readable(one)
    assert (policy.default_version_id, policy.description) == (v2.version_id, "d")


def _point_default_at_a_missing_version(store: Any) -> None:
    """Write the state the old race left behind: a default naming a deleted version."""
    if isinstance(store, SqlStore):
        with store.engine.begin() as conn:
            conn.execute(
                sa.update(iam_policies)
                .where(iam_policies.c.arn == ARN)
                .values(default_version_id="v9")
            )
    else:
        iam = store._iam
        iam.policies[ARN] = dataclasses.replace(iam.policies[ARN], default_version_id="v9")


def test_a_missing_default_reads_as_absent_and_can_be_repaired(nodes: tuple[Any, Any]) -> None:
    """A default naming no version hides the policy (no crash); SetDefault to a real one heals."""
    one, two = nodes
    _add_policy(one)
    one.add_next_policy_version(ARN, _doc(2), is_default=False, when=T0)
    _point_default_at_a_missing_version(one)
    assert two.get_managed_policy(ARN) is None
    assert two.list_managed_policies() == []
    assert not two.set_default_policy_version(ARN, "v9", T0)
    assert two.set_default_policy_version(ARN, "v2", T0)
    assert _assert_default_readable(one).document == _doc(2)


# --- secrets: compare-and-set -----------------------------------------------------------------


def test_put_if_is_a_compare_and_set(nodes: tuple[Any, Any]) -> None:
    """put_if writes only over the expected value (None: only when absent) and bumps on success."""
    one, two = nodes
    assert one.secrets.put_if("ring", None, b"\x00a")
    assert not two.secrets.put_if("ring", None, b"b")
    start = one.config_version()
    assert not two.secrets.put_if("ring", b"\x00", b"c")
    assert one.config_version() == start
    assert two.secrets.get("ring") == b"\x00a"
    assert two.secrets.put_if("ring", b"\x00a", b"\xffd")
    assert one.config_version() > start
    assert one.secrets.get("ring") == b"\xffd"
    assert not one.secrets.put_if("ring", b"\x00a", b"e")
    assert one.secrets.get("ring") == b"\xffd"


def test_racing_put_ifs_from_one_value(nodes: tuple[Any, Any]) -> None:
    """Two nodes replacing the same value at once: exactly one wins, its value is stored."""
    one, two = nodes
    current: bytes | None = None
    for n in range(ROUNDS):
        mine, theirs = b"one%d" % n, b"two%d" % n
        won = race(
            partial(one.secrets.put_if, "ring", current, mine),
            partial(two.secrets.put_if, "ring", current, theirs),
        )
        assert won.count(True) == 1
        current = mine if won[0] else theirs
        assert one.secrets.get("ring") == two.secrets.get("ring") == current


def test_sqlite_write_transactions_see_what_they_lock(tmp_path: Path) -> None:
    """On SQLite a write transaction holds the write lock from its first statement, a read."""
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    one, two = open_store(url), open_store(url)
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        """Read inside a write transaction and hold it open."""
        with one._db.write(bump=False) as conn:
            conn.execute(sa.select(iam_policies.c.arn)).all()
            entered.set()
            release.wait(timeout=10)
            order.append("first")

    def second() -> None:
        """Start a write while the first one is open: it must wait for it."""
        entered.wait(timeout=10)
        timer = threading.Timer(0.3, release.set)
        timer.start()
        with two._db.write(bump=False) as conn:
            conn.execute(sa.select(iam_policies.c.arn)).all()
            order.append("second")
        timer.join()

    race(first, second)
    one.close()
    two.close()
    assert order == ["first", "second"]
