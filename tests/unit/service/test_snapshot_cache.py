"""The configuration snapshot preloads what profiles name and bounds what it learns later."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from elsewhere.clock import FixedClock
from elsewhere.domain import Tag
from elsewhere.domain._iam import ManagedPolicy, PolicyVersion, Role
from elsewhere.pki import quick_chain
from elsewhere.service import ControlPlane, Store
from elsewhere.service._sessions import CreateSessionHandler, SessionSettings
from elsewhere.service._snapshot import (
    MAX_MISSES,
    RoleView,
    SnapshotProvider,
    StoreRoleSource,
    _Memo,
    load_or_create_key_ring,
)
from elsewhere.sigv4 import HttpRequest, parse_signed_request, sign_x509_request
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, T0

MASTER_KEY = bytes(range(32))
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
)
READ_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
    }
)


class CountingSource:
    """A role source over the store that notes every load (a load is a store read)."""

    def __init__(self, store: Store) -> None:
        self._inner = StoreRoleSource(store)  # type: ignore[arg-type]
        self.roles: list[str] = []
        self.policies: list[str] = []
        self.on_load: list[Any] = []

    def load_role(self, arn: str) -> RoleView | None:
        """Note the load, then read the store."""
        self.roles.append(arn)
        for hook in self.on_load:
            hook(arn)
        return self._inner.load_role(arn)

    def load_managed_policy(self, arn: str) -> str | None:
        """Note the load, then read the store."""
        self.policies.append(arn)
        return self._inner.load_managed_policy(arn)

    def reset(self) -> None:
        """Forget the loads so far."""
        self.roles.clear()
        self.policies.clear()


def add_role(store: Store, name: str, *, attached: tuple[str, ...] = ()) -> str:
    """Create a role (with ``attached`` managed policies) in the IAM store; return its ARN."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    iam: Any = store
    iam.add_role(
        Role(
            role_id="AROA" + os.urandom(8).hex().upper()[:17],
            arn=arn,
            name=name,
            path="/",
            assume_role_policy=TRUST,
            description="",
            max_session_duration=3600,
            permissions_boundary_arn=None,
            tags=(Tag("team", "blue"),),
            created_at=T0,
        )
    )
    for policy_arn in attached:
        iam.attach_policy("role", name, policy_arn)
    return arn


def add_policy(store: Store, name: str, document: str = READ_ONLY) -> str:
    """Create a customer managed policy; return its ARN."""
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    iam: Any = store
    iam.add_managed_policy(
        ManagedPolicy(
            policy_id="ANPA" + os.urandom(8).hex().upper()[:17],
            arn=arn,
            name=name,
            path="/",
            description="",
            default_version_id="v1",
            document=document,
            attachment_count=0,
            tags=(),
            created_at=T0,
            updated_at=T0,
        ),
        PolicyVersion("v1", document, True, T0),
    )
    return arn


def add_profile(cp: ControlPlane, roles: list[str], **extra: Any) -> dict[str, Any]:
    """An enabled profile for ``roles``; its ProfileDetail."""
    params = {"name": "p-" + os.urandom(4).hex(), "roleArns": roles, "enabled": True, **extra}
    detail: dict[str, Any] = cp.handle("CreateProfile", params, CALLER)["profile"]
    return detail


@pytest.fixture
def source(store: Store) -> CountingSource:
    """A counting role source over the test store."""
    return CountingSource(store)


@pytest.fixture
def make_provider(store: Store, source: CountingSource) -> Iterator[Any]:
    """Build a provider that refreshes only when told (no thread, no interval expiry)."""
    made: list[SnapshotProvider] = []

    def build() -> SnapshotProvider:
        provider = SnapshotProvider(
            store,
            source,
            master_key=MASTER_KEY,
            refresh_interval=1e9,
            background=False,
            monotonic=lambda: 0.0,
        )
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


def test_ok_startup_preloads_profile_roles_and_policies(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """The first snapshot serves a profile's role and managed policy with no store read."""
    attached = add_policy(store, "attached")
    session = add_policy(store, "session")
    role = add_role(store, "listed", attached=(attached,))
    add_profile(cp, [role], managedPolicyArns=[session])
    provider = make_provider()
    assert source.roles == [role]
    assert source.policies == [session]
    source.reset()
    snapshot = provider.current()
    entry = snapshot.role(role)
    assert entry is not None
    assert [p for p, _ in entry.view.managed_policies] == [attached]
    assert len(entry.identity) == 1
    assert snapshot.managed_policy(session) is not None
    assert source.roles == []
    assert source.policies == []


def test_ok_profile_naming_a_missing_role_is_remembered_at_build(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """A role a profile names that does not exist is looked up at build time, not per request."""
    ghost = f"arn:aws:iam::{ACCOUNT}:role/ghost"
    ghost_policy = f"arn:aws:iam::{ACCOUNT}:policy/ghost"
    add_profile(cp, [ghost], managedPolicyArns=[ghost_policy])
    provider = make_provider()
    source.reset()
    for _ in range(3):
        assert provider.current().role(ghost) is None
        assert provider.current().managed_policy(ghost_policy) is None
    assert source.roles == []
    assert source.policies == []


def test_ok_create_session_reads_no_role_from_the_store(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """A successful CreateSession, even the first for its role, loads nothing through the port."""
    chain = quick_chain(T0, "p256")
    role = add_role(store, "workload")
    anchor = cp.handle(
        "CreateTrustAnchor",
        {
            "name": "ta",
            "enabled": True,
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": chain.anchor_pem},
            },
        },
        CALLER,
    )["trustAnchor"]["trustAnchorArn"]
    profile = add_profile(cp, [role])["profileArn"]
    load_or_create_key_ring(store.secrets, MASTER_KEY, now=T0)
    provider = make_provider()
    handler = CreateSessionHandler(
        provider, FixedClock(T0), settings=SessionSettings(account_id=ACCOUNT, region=REGION)
    )
    source.reset()
    query = f"profileArn={profile}&roleArn={role}&trustAnchorArn={anchor}".replace(":", "%3A")
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        query.replace("/", "%2F"),
        (("Host", "127.0.0.1:8080"), ("Content-Type", "application/json")),
        b'{"durationSeconds":3600}',
    )
    request = sign_x509_request(
        unsigned,
        certificate=chain.leaf,
        private_key=chain.leaf_key,  # type: ignore[arg-type]
        region=REGION,
        now=T0,
    )
    answer = handler(request, parse_signed_request(request), "192.0.2.10", True)
    assert answer.status == 201
    assert source.roles == []
    assert source.policies == []


def test_ok_unlisted_role_is_loaded_once_on_demand(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """An STS-style lookup of a role no profile names loads it once, then serves it from memory."""
    add_profile(cp, [add_role(store, "listed")])
    chained = add_role(store, "chained")
    provider = make_provider()
    source.reset()
    first = provider.current().role(chained)
    assert first is not None
    assert first.view.arn == chained
    assert provider.current().role(chained) is first
    assert source.roles == [chained]


def test_ok_refresh_carries_on_demand_roles_and_adds_new_profile_roles(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """After a change, the refresh loads a newly listed role and the roles served before."""
    listed = add_role(store, "listed")
    chained = add_role(store, "chained")
    late = add_role(store, "late")
    add_profile(cp, [listed])
    provider = make_provider()
    assert provider.current().role(chained) is not None
    missing = f"arn:aws:iam::{ACCOUNT}:role/made-up"
    assert provider.current().role(missing) is None
    add_profile(cp, [late])  # bumps the configuration version
    source.reset()
    fresh = provider.refresh()
    assert sorted(source.roles) == sorted([listed, late, chained])  # not the made-up name
    source.reset()
    for arn in (listed, late, chained):
        assert fresh.role(arn) is not None
    assert source.roles == []


def test_ok_refresh_swaps_only_after_preloading(
    store: Store, cp: ControlPlane, source: CountingSource, make_provider: Any
) -> None:
    """While the refresh loads roles, requests are still served the previous snapshot."""
    add_profile(cp, [add_role(store, "one")])
    provider = make_provider()
    old = provider.current()
    seen: list[bool] = []
    source.on_load.append(lambda _arn: seen.append(provider.current() is old))
    add_profile(cp, [add_role(store, "two")])
    fresh = provider.refresh()
    assert fresh is not old
    assert seen
    assert all(seen)
    assert provider.current() is fresh


def test_ok_misses_beyond_the_cap_are_not_remembered(
    store: Store, source: CountingSource, make_provider: Any
) -> None:
    """Made-up role ARNs are remembered up to MAX_MISSES, the least recently asked dropped first."""
    provider = make_provider()
    snapshot = provider.current()
    names = [f"arn:aws:iam::{ACCOUNT}:role/made-up-{i}" for i in range(MAX_MISSES + 10)]
    for arn in names:
        assert snapshot.role(arn) is None
    assert snapshot._role_memo.sizes() == (0, 0, MAX_MISSES)
    source.reset()
    assert snapshot.role(names[-1]) is None  # recent: remembered
    assert source.roles == []
    assert snapshot.role(names[0]) is None  # dropped: read again
    assert source.roles == [names[0]]
    assert snapshot._role_memo.sizes() == (0, 0, MAX_MISSES)


def test_ok_policy_misses_are_bounded(store: Store, make_provider: Any) -> None:
    """Made-up managed policy ARNs are bounded the same way."""
    snapshot = make_provider().current()
    for i in range(MAX_MISSES + 5):
        assert snapshot.managed_policy(f"arn:aws:iam::{ACCOUNT}:policy/made-up-{i}") is None
    assert snapshot._policy_memo.sizes() == (0, 0, MAX_MISSES)


@pytest.mark.parametrize(
    ("name", "asks", "expected"),
    [
        pytest.param("found capped", ["a", "b", "c"], (0, 2, 0), id="ok/found-capped"),
        pytest.param("misses capped", ["x", "y", "z"], (0, 0, 2), id="ok/misses-capped"),
        pytest.param("repeat counted once", ["a", "a", "x", "x"], (0, 1, 1), id="ok/repeat"),
    ],
)
def test_memo_bounds(name: str, asks: list[str], expected: tuple[int, int, int]) -> None:
    """Found and missing lookups each stay within their own cap."""
    memo: _Memo[str] = _Memo(max_found=2, max_misses=2)
    for arn in asks:
        memo.remember(arn, None if arn in "xyz" else arn.upper())
    assert memo.sizes() == expected, name


def test_memo_over_cap_found_entry_replaces_the_oldest() -> None:
    """Past the found cap the oldest lookup is forgotten for the newest."""
    memo: _Memo[str] = _Memo(max_found=1, max_misses=1)
    memo.remember("a", "A")
    memo.remember("b", "B")
    assert memo.lookup("a") == (False, None)
    assert memo.lookup("b") == (True, "B")


def test_memo_found_entries_are_bounded_in_bytes() -> None:
    """Found entries stay within their estimated bytes, however few they are in number."""
    memo: _Memo[str] = _Memo(max_found=100, max_misses=1, max_bytes=1000, weigh=len)
    for arn in "abcdefghij":
        memo.remember(arn, arn * 300)
    assert memo.sizes() == (0, 3, 0)
    assert memo.found_arns() == ["h", "i", "j"]


def test_memo_miss_lookup_refreshes_recency() -> None:
    """Asking for a remembered miss again keeps it over a newer one."""
    memo: _Memo[str] = _Memo(max_found=1, max_misses=2)
    memo.remember("x", None)
    memo.remember("y", None)
    assert memo.lookup("x") == (True, None)
    memo.remember("z", None)
    assert memo.lookup("x") == (True, None)
    assert memo.lookup("y") == (False, None)


def test_memo_pinned_entries_are_not_evicted_or_counted() -> None:
    """What the build loaded stays, found or not, and does not use up the on-demand caps."""
    memo: _Memo[str] = _Memo(max_found=1, max_misses=1)
    memo.pin("p", "P")
    memo.pin("q", None)
    memo.remember("x", None)
    memo.remember("y", None)
    memo.remember("a", "A")
    assert memo.lookup("p") == (True, "P")
    assert memo.lookup("q") == (True, None)
    assert memo.sizes() == (2, 1, 1)
    assert memo.found_arns() == ["p", "a"]


def test_ok_catch_up_serves_a_write_at_once(
    store: Store, cp: ControlPlane, make_provider: Any
) -> None:
    """catch_up after a write: the next current() has it, with no interval elapsed."""
    provider = make_provider()
    role = add_role(store, "ryw")
    profile = add_profile(cp, [role])
    assert profile["profileArn"] not in provider.current().profiles
    provider.catch_up()
    assert profile["profileArn"] in provider.current().profiles


def test_fail_catch_up_logs_a_failed_rebuild_and_does_not_raise(
    store: Store, cp: ControlPlane, make_provider: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A rebuild that fails after a committed write is logged; the write's caller is not hurt."""
    provider = make_provider()
    served = provider.current()
    add_profile(cp, [add_role(store, "ryw-broken")])

    def broken() -> int:
        raise RuntimeError("store unreachable")

    store.config_version = broken  # type: ignore[method-assign]
    provider.catch_up()
    assert provider.current() is served
    assert "refreshing the configuration snapshot failed" in caplog.text
    assert provider.state().failing
