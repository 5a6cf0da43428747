"""IAM check-then-write races in the store, met by two nodes at once.

Each case runs on the memory store, on two SQLite stores over one database file (two processes
of one host) and on two PostgreSQL stores over one database (two replicas). The invariants: no
attachment or permissions boundary names a policy that does not exist; of two policies created
with one name exactly one is stored; concurrent tag writes with different keys all land and the
tag quota holds; concurrent attachments do not pass the attachment quota.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from elsewhere.domain import Tag
from elsewhere.domain._iam import (
    MAX_ATTACHED_POLICIES,
    MAX_TAGS,
    ManagedPolicy,
    PolicyVersion,
    Role,
    User,
)
from tests.unit.storage._races import race

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
DOC = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
    '"Resource":"*"}]}'
)
ROUNDS = 20
HAMMER = 40


def _arn(name: str, path: str = "/") -> str:
    """The ARN of a customer managed policy."""
    return f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"


def _add_policy(store: Any, name: str, path: str = "/") -> str:
    """Create a managed policy with v1 as its default; its ARN."""
    arn = _arn(name, path)
    policy_id = "ANPA" + (name.upper() + "X" * 17)[:17]
    policy = ManagedPolicy(policy_id, arn, name, path, "", "v1", DOC, 0, (), T0, T0)
    store.add_managed_policy(policy, PolicyVersion("v1", DOC, True, T0))
    return arn


def _role(name: str, boundary: str | None = None) -> Role:
    """A role with no tags (or with ``boundary`` as its permissions boundary)."""
    return Role(
        role_id="AROA" + (name.upper() + "X" * 17)[:17],
        arn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
        name=name,
        path="/",
        assume_role_policy=DOC,
        description="",
        max_session_duration=3600,
        permissions_boundary_arn=boundary,
        tags=(),
        created_at=T0,
    )


def _user(name: str) -> User:
    """A user with no tags and no boundary."""
    return User(
        "AIDA" + (name.upper() + "X" * 17)[:17],
        f"arn:aws:iam::{ACCOUNT}:user/{name}",
        name,
        "/",
        None,
        (),
        T0,
    )


def _add_owner(store: Any, kind: str, name: str) -> None:
    """Create a role or a user called ``name``."""
    assert store.add_role(_role(name)) if kind == "role" else store.add_user(_user(name))


def _outcome(action: Callable[[], object]) -> Callable[[], object]:
    """The action, with a KeyError (no such owner or policy) or a refusal returned, not raised."""

    def run() -> object:
        try:
            return action()
        except (KeyError, OverflowError) as exc:
            return exc

    return run


def _assert_nothing_dangles(store: Any) -> None:
    """Every attachment and every permissions boundary names a policy that reads back."""
    for kind, owners in (("role", store.list_roles()), ("user", store.list_users())):
        for owner in owners:
            for arn in store.list_attached_policy_arns(kind, owner.name):
                assert store.get_managed_policy(arn) is not None, (kind, owner.name, arn)
            boundary = owner.permissions_boundary_arn
            assert boundary is None or store.get_managed_policy(boundary) is not None


# --- DeletePolicy against attachments and boundaries -------------------------------------------


def test_delete_policy_races_attach(nodes: tuple[Any, Any]) -> None:
    """DeletePolicy against AttachRolePolicy/AttachUserPolicy: one wins, nothing dangles."""
    one, two = nodes
    _add_owner(one, "role", "app")
    _add_owner(one, "user", "app")
    for n in range(ROUNDS):
        kind = ("role", "user")[n % 2]
        arn = _add_policy(one, f"p{n}")
        removed, attached = race(
            partial(one.remove_unused_managed_policy, arn),
            _outcome(partial(two.attach_managed_policy, kind, "app", arn)),
        )
        if removed == "removed":
            assert isinstance(attached, KeyError)
            assert one.get_managed_policy(arn) is None
            assert two.list_attached_policy_arns(kind, "APP") == []
        else:
            assert (removed, attached) == ("attached", True)
            assert two.get_managed_policy(arn).attachment_count == 1
            assert one.detach_policy(kind, "app", arn)
            assert two.remove_unused_managed_policy(arn) == "removed"
        _assert_nothing_dangles(two)


def test_delete_policy_races_put_boundary(nodes: tuple[Any, Any]) -> None:
    """DeletePolicy against Put*PermissionsBoundary: one wins, no boundary names a gone policy."""
    one, two = nodes
    _add_owner(one, "role", "app")
    _add_owner(one, "user", "app")
    for n in range(ROUNDS):
        update = two.update_role if n % 2 == 0 else two.update_user
        arn = _add_policy(one, f"b{n}")

        def put(arn: str = arn, update: Any = update) -> object:
            return update("app", lambda o: dataclasses.replace(o, permissions_boundary_arn=arn))

        removed, put_result = race(partial(one.remove_unused_managed_policy, arn), _outcome(put))
        if removed == "removed":
            assert isinstance(put_result, KeyError)
            assert put_result.args == (arn,)
        else:
            assert removed == "attached"
            assert put_result.permissions_boundary_arn == arn
            update("app", lambda o: dataclasses.replace(o, permissions_boundary_arn=None))
            assert two.remove_unused_managed_policy(arn) == "removed"
        _assert_nothing_dangles(two)


def test_delete_policy_races_create_role_with_boundary(nodes: tuple[Any, Any]) -> None:
    """CreateRole with a boundary against DeletePolicy: the role is refused or the delete is."""
    one, two = nodes
    for n in range(ROUNDS):
        arn = _add_policy(one, f"c{n}")
        removed, added = race(
            partial(one.remove_unused_managed_policy, arn),
            partial(two.add_role, _role(f"r{n}", boundary=arn)),
        )
        assert (removed, added) in (("removed", False), ("attached", True))
        assert (one.get_role(f"r{n}") is not None) is added
        _assert_nothing_dangles(two)


def test_delete_role_races_attach(nodes: tuple[Any, Any]) -> None:
    """DeleteRole against AttachRolePolicy: no attachment outlives its role."""
    one, two = nodes
    arn = _add_policy(one, "shared")
    for n in range(ROUNDS):
        one.add_role(_role(f"gone{n}"))
        removed, attached = race(
            partial(one.remove_role, f"gone{n}"),
            _outcome(partial(two.attach_managed_policy, "role", f"gone{n}", arn)),
        )
        assert removed is True
        assert attached is True or isinstance(attached, KeyError)
        assert two.list_attached_policy_arns("role", f"gone{n}") == []
    assert one.get_managed_policy(arn).attachment_count == 0
    assert one.remove_unused_managed_policy(arn) == "removed"


def test_hammering_attach_and_delete(nodes: tuple[Any, Any]) -> None:
    """One node keeps attaching and detaching while the other deletes and recreates the policy."""
    one, two = nodes
    one.add_role(_role("app"))
    one.add_user(_user("app"))
    arn = _add_policy(one, "hammered")

    def attacher() -> None:
        """Attach to the role and the user, then detach, over and over."""
        for _ in range(HAMMER):
            for kind in ("role", "user"):
                try:
                    one.attach_managed_policy(kind, "app", arn)
                except KeyError:
                    continue
            for kind in ("role", "user"):
                one.detach_policy(kind, "app", arn)

    def deleter() -> None:
        """Delete the policy when it is unused, and create it again when it is gone."""
        for _ in range(HAMMER):
            if two.remove_unused_managed_policy(arn) == "absent":
                _add_policy(two, "hammered")

    race(attacher, deleter)
    _assert_nothing_dangles(one)


def test_delete_policy_refuses_what_is_in_use(nodes: tuple[Any, Any]) -> None:
    """remove_unused_managed_policy: attached, boundary, other versions, absent, then removed."""
    one, two = nodes
    arn = _add_policy(one, "used")
    assert one.add_role(_role("app"))
    assert one.add_user(_user("app"))
    assert two.attach_managed_policy("user", "app", arn)
    assert two.attach_managed_policy("user", "APP", arn)
    assert one.remove_unused_managed_policy(arn) == "attached"
    assert one.detach_policy("user", "app", arn)
    one.update_role("app", lambda r: dataclasses.replace(r, permissions_boundary_arn=arn))
    assert two.remove_unused_managed_policy(arn) == "attached"
    one.update_role("app", lambda r: dataclasses.replace(r, permissions_boundary_arn=None))
    assert one.add_next_policy_version(arn, DOC, is_default=False, when=T0) is not None
    assert two.remove_unused_managed_policy(arn) == "versions"
    assert one.remove_policy_version(arn, "v2")
    assert two.remove_unused_managed_policy(arn) == "removed"
    assert two.remove_unused_managed_policy(arn) == "absent"
    with pytest.raises(KeyError):
        one.attach_managed_policy("role", "app", arn)
    with pytest.raises(KeyError):
        one.attach_managed_policy("role", "nobody", _add_policy(one, "other"))
    assert not one.add_role(_role("bounded", boundary=arn))
    assert one.get_role("bounded") is None
    with pytest.raises(KeyError):
        one.update_user("app", lambda u: dataclasses.replace(u, permissions_boundary_arn=arn))
    assert one.update_user("nobody", lambda u: u) is None


# --- attachment quota ----------------------------------------------------------------------------


def test_attachments_race_for_the_last_slot(nodes: tuple[Any, Any]) -> None:
    """Two attachments of different policies for the last free slot: exactly one gets it."""
    one, two = nodes
    one.add_role(_role("app"))
    for n in range(MAX_ATTACHED_POLICIES - 1):
        assert one.attach_managed_policy("role", "app", _add_policy(one, f"a{n}"))
    spare = _add_policy(one, "spare")
    for n in range(ROUNDS // 2):
        first, second = _add_policy(one, f"x{n}"), _add_policy(one, f"y{n}")
        won = race(
            partial(one.attach_managed_policy, "role", "app", first, limit=MAX_ATTACHED_POLICIES),
            partial(two.attach_managed_policy, "role", "app", second, limit=MAX_ATTACHED_POLICIES),
        )
        assert sorted(won) == [False, True]
        attached = two.list_attached_policy_arns("role", "app")
        assert len(attached) == MAX_ATTACHED_POLICIES
        assert one.detach_policy("role", "app", first if won[0] else second)
    assert one.attach_managed_policy("role", "app", spare, limit=MAX_ATTACHED_POLICIES)
    assert not one.attach_managed_policy("role", "app", first, limit=MAX_ATTACHED_POLICIES)
    assert one.attach_managed_policy("role", "app", spare, limit=MAX_ATTACHED_POLICIES)


# --- CreatePolicy: one name, one policy -----------------------------------------------------------


def test_create_policy_races_on_one_name(nodes: tuple[Any, Any]) -> None:
    """Two CreatePolicy calls of one name (same path, or not): exactly one is stored."""
    one, two = nodes
    for n in range(ROUNDS):
        name = f"dup{n}"
        paths = ("/", "/") if n % 2 else ("/a/", "/b/")
        made = race(
            _outcome(partial(_add_policy, one, name, paths[0])),
            _outcome(partial(_add_policy, two, name, paths[1])),
        )
        assert sum(isinstance(m, KeyError) for m in made) == 1
        assert [p.name for p in two.list_managed_policies()].count(name) == 1


# --- tags: read-modify-write ----------------------------------------------------------------------


def _tagger(store: Any, kind: str, key: str) -> Callable[[], object]:
    """An action adding tag ``key`` to the raced role, user or policy, quota-checked."""

    def add(record: Any) -> Any:
        tags = {t.key: t for t in record.tags}
        tags[key] = Tag(key, key.upper())
        if len(tags) > MAX_TAGS:
            raise OverflowError(key)
        return dataclasses.replace(record, tags=tuple(tags.values()))

    update = _updater(store, kind)

    def run() -> object:
        try:
            return update(add)
        except OverflowError as exc:
            return exc

    return run


def _updater(store: Any, kind: str) -> Callable[[Callable[[Any], Any]], Any]:
    """The store's atomic update of the raced role, user or policy."""
    if kind == "role":
        return partial(store.update_role, "tagged")
    if kind == "user":
        return partial(store.update_user, "tagged")
    return partial(store.update_managed_policy, _arn("tagged"))


def _tagged(store: Any, kind: str) -> Any:
    """The raced role, user or policy as stored."""
    if kind == "role":
        return store.get_role("tagged")
    if kind == "user":
        return store.get_user("tagged")
    return store.get_managed_policy(_arn("tagged"))


def _seed_tagged(store: Any, kind: str, tags: tuple[Tag, ...] = ()) -> None:
    """Create the raced role, user or policy with ``tags``."""
    if kind == "role":
        store.add_role(dataclasses.replace(_role("tagged"), tags=tags))
    elif kind == "user":
        store.add_user(dataclasses.replace(_user("tagged"), tags=tags))
    else:
        _add_policy(store, "tagged")
        store.update_managed_policy(_arn("tagged"), lambda p: dataclasses.replace(p, tags=tags))


def test_concurrent_tags_both_land(nodes: tuple[Any, Any]) -> None:
    """Two Tag* calls with different keys at once: both tags are stored (no lost update)."""
    one, two = nodes
    kinds = ("role", "user", "policy")
    for kind in kinds:
        _seed_tagged(one, kind)
    for n in range(ROUNDS):
        kind = kinds[n % 3]
        race(_tagger(one, kind, f"a{n}"), _tagger(two, kind, f"b{n}"))
        keys = {t.key for t in _tagged(two, kind).tags}
        assert {f"a{n}", f"b{n}"} <= keys
    assert sum(len(_tagged(one, kind).tags) for kind in kinds) == 2 * ROUNDS


def test_concurrent_tags_hold_the_quota(nodes: tuple[Any, Any]) -> None:
    """Two Tag* calls for the last free tag slot: exactly one lands, the quota holds."""
    one, two = nodes
    kinds = ("role", "user", "policy")
    for kind in kinds:
        _seed_tagged(one, kind, tuple(Tag(f"k{i}", "v") for i in range(MAX_TAGS - 1)))
    for n in range(ROUNDS // 2):
        kind = kinds[n % 3]
        results = race(_tagger(one, kind, f"a{n}"), _tagger(two, kind, f"b{n}"))
        assert sum(isinstance(r, OverflowError) for r in results) == 1
        tags = _tagged(two, kind).tags
        assert len(tags) == MAX_TAGS
        winner = f"a{n}" if not isinstance(results[0], OverflowError) else f"b{n}"
        _updater(one, kind)(
            lambda r, k=winner: dataclasses.replace(r, tags=tuple(t for t in r.tags if t.key != k))
        )
        assert len(_tagged(one, kind).tags) == MAX_TAGS - 1


def test_an_update_that_raises_writes_nothing(nodes: tuple[Any, Any]) -> None:
    """A change that raises leaves the record as it was, and the error reaches the caller."""
    one, two = nodes
    _seed_tagged(one, "policy")

    def boom(record: Any) -> Any:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        two.update_managed_policy(_arn("tagged"), boom)
    assert one.get_managed_policy(_arn("tagged")).tags == ()
    assert one.update_managed_policy(_arn("none"), lambda p: p) is None
    assert one.get_managed_policy(_arn("tagged")).tags == ()


# --- DeleteRole/DeleteUser against the writes that give them policies ----------------------------


def test_delete_owner_races_attach_and_put_inline(nodes: tuple[Any, Any]) -> None:
    """DeleteRole/DeleteUser against an attachment or an inline policy: one is refused."""
    one, two = nodes
    arn = _add_policy(one, "shared")
    for n in range(ROUNDS):
        kind = ("role", "user")[n % 2]
        name = f"o{n}"
        _add_owner(one, kind, name)
        if n % 4 < 2:
            give = _outcome(partial(two.attach_managed_policy, kind, name, arn))
            refusal = "attached"
        else:
            give = partial(two.put_owned_inline_policy, kind, name, "inline", DOC)
            refusal = "policies"
        removed, given = race(partial(one.remove_unused_owner, kind, name), give)
        if removed == "removed":
            assert given is False or isinstance(given, KeyError)
        else:
            assert (removed, given) == (refusal, True)
        get = one.get_role if kind == "role" else one.get_user
        assert (get(name) is None) is (removed == "removed")
        if removed == "removed":
            # A new owner of the same name starts with nothing left over from the old one.
            _add_owner(two, kind, name)
            assert one.list_attached_policy_arns(kind, name) == []
            assert one.list_inline_policies(kind, name) == []
    _assert_nothing_dangles(one)


def test_delete_owner_refuses_what_has_policies(nodes: tuple[Any, Any]) -> None:
    """remove_unused_owner: inline policies, then attachments, then removed, then absent."""
    one, two = nodes
    arn = _add_policy(one, "p")
    _add_owner(one, "user", "app")
    assert two.put_owned_inline_policy("user", "APP", "inline", DOC)
    assert two.attach_managed_policy("user", "app", arn)
    assert one.remove_unused_owner("user", "app") == "policies"
    assert one.remove_inline_policy("user", "app", "inline")
    assert one.remove_unused_owner("user", "app") == "attached"
    assert one.detach_policy("user", "app", arn)
    assert two.remove_unused_owner("user", "App") == "removed"
    assert two.remove_unused_owner("user", "app") == "absent"
    assert not one.put_owned_inline_policy("user", "app", "inline", DOC)
    assert one.list_inline_policies("user", "app") == []


def test_inline_policies_race_for_the_size_quota(nodes: tuple[Any, Any]) -> None:
    """Two inline policies that fit alone but not together: exactly one is stored."""
    one, two = nodes
    _add_owner(one, "role", "app")
    limit = 3 * len(DOC) // 2

    def fits(others: list[tuple[str, str]]) -> None:
        """Refuse when the other policies and this one pass ``limit``."""
        if sum(len(d) for _, d in others) + len(DOC) > limit:
            raise OverflowError(others)

    for n in range(ROUNDS):
        results = race(
            _outcome(partial(one.put_owned_inline_policy, "role", "app", f"a{n}", DOC, check=fits)),
            _outcome(partial(two.put_owned_inline_policy, "role", "app", f"b{n}", DOC, check=fits)),
        )
        assert results.count(True) == 1
        stored = one.list_inline_policies("role", "app")
        assert len(stored) == 1
        assert one.remove_inline_policy("role", "app", stored[0][0])


# --- reads: one snapshot per policy ------------------------------------------------------------


def test_a_policy_whose_default_moves_always_reads_back(nodes: tuple[Any, Any]) -> None:
    """While one node keeps making a new default and deleting the old, reads never miss it."""
    one, two = nodes
    arn = _add_policy(one, "moving")
    done = threading.Event()
    misses: list[str] = []

    def writer() -> None:
        """Create a new default version, then delete every other version, over and over."""
        try:
            for n in range(HAMMER * 2):
                made = one.add_next_policy_version(arn, DOC + " " * n, is_default=True, when=T0)
                for old in one.list_policy_versions(arn):
                    if old.version_id != made.version_id:
                        one.remove_policy_version(arn, old.version_id)
        finally:
            done.set()

    def reader() -> None:
        """Read the policy, its listing and its default version until the writer stops."""
        while not done.is_set():
            policy = two.get_managed_policy(arn)
            if policy is None:
                misses.append("get")
            if [p.arn for p in two.list_managed_policies()] != [arn]:
                misses.append("list")
            if not any(v.is_default for v in two.list_policy_versions(arn)):
                misses.append("versions")

    race(writer, reader)
    assert misses == []
