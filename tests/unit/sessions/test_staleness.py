"""The configuration snapshot stays live: a record it cannot use is left out (failing closed),
a refresh that fails is counted and logged once, and past the 1 s bound CreateSession is refused
with 503 rather than served from stale trust."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from elsewhere.clock import FixedClock
from elsewhere.domain import DEFAULT_ATTRIBUTE_MAPPINGS, Crl, Profile
from elsewhere.errors import ServiceUnavailable
from elsewhere.pki import quick_chain
from elsewhere.service import ControlPlane, SubjectRecorder
from elsewhere.service._sessions import CreateSessionHandler, SessionSettings
from elsewhere.service._snapshot import SnapshotProvider, StoreRoleSource, load_or_create_key_ring
from elsewhere.storage import open_store
from elsewhere.x509 import UntrustedCertificate

from .conftest import ACCOUNT, MASTER_KEY, NOW, REGION, World, session_request

POISONED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/\ud800"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    """The monotonic clock of the snapshot provider."""
    return Ticks()


@pytest.fixture
def sql_world(tmp_path: Path, ticks: Ticks) -> Iterator[World]:
    """A CreateSession world over a SQLite store, refreshed by requests (no thread)."""
    store = open_store(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    clock = FixedClock(NOW)
    cp = ControlPlane(store, clock, account_id=ACCOUNT, region=REGION)
    load_or_create_key_ring(store.secrets, MASTER_KEY, now=NOW)
    snapshots = SnapshotProvider(
        store,
        StoreRoleSource(store),
        master_key=MASTER_KEY,
        refresh_interval=0.2,
        background=False,
        monotonic=ticks,
    )
    recorder = SubjectRecorder(store.subjects, account_id=ACCOUNT, region=REGION, background=False)
    handler = CreateSessionHandler(
        snapshots, clock, settings=SessionSettings(account_id=ACCOUNT, region=REGION),
        recorder=recorder,
    )
    yield World(store, cp, clock, snapshots, handler, recorder)  # type: ignore[arg-type]
    recorder.close()
    snapshots.close()
    store.close()


def _case(world: World) -> tuple[object, str, str, str]:
    chain = quick_chain(NOW, "p256")
    role = world.add_role("r" + str(len(world.store.list_roles())))
    anchor = world.add_anchor(chain)
    return chain, anchor, role, world.add_profile([role])


def _poisoned_profile(world: World, template_arn: str) -> Profile:
    """A profile as an older elsewhere stored it: a role ARN holding a lone surrogate."""
    template = world.snapshots.current().profile(template_arn)
    assert template is not None
    return dataclasses.replace(
        template,
        id="00000000-0000-4000-8000-00000000beef",
        arn=template.arn.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-00000000beef",
        name="poisoned",
        role_arns=(POISONED_ROLE,),
        managed_policy_arns=(f"arn:aws:iam::{ACCOUNT}:policy/\udc00",),
        attribute_mappings=DEFAULT_ATTRIBUTE_MAPPINGS,
    )


def test_poisoned_profile_does_not_freeze_revocation(sql_world: World, ticks: Ticks) -> None:
    """A stored role ARN no store can look up is left out; DisableProfile still takes effect."""
    chain, anchor, role, profile = _case(sql_world)
    sql_world.snapshots.refresh()
    request = session_request(chain, anchor=anchor, profile=profile, role=role)  # type: ignore[arg-type]
    assert sql_world.call(request).status == 201
    sql_world.store.profiles.add(_poisoned_profile(sql_world, profile))
    sql_world.cp.handle("DisableProfile", {"profileId": profile.rsplit("/", 1)[1]}, "root")
    ticks.now += 0.3
    with pytest.raises(Exception, match="Unable to assume role"):
        sql_world.call(request)
    state = sql_world.snapshots.state()
    assert (state.failing, state.impaired, state.counts["unreadableRecords"]) == (False, True, 2)
    assert sql_world.snapshots.current().role(POISONED_ROLE) is None


def test_a_crl_that_does_not_parse_fails_its_anchor_closed(world: World) -> None:
    """An enabled CRL that does not parse makes its anchor trust nothing (it used to be skipped,
    which let a revoked certificate through)."""
    chain, anchor, role, profile = _case(world)
    request = session_request(chain, anchor=anchor, profile=profile, role=role)  # type: ignore[arg-type]
    assert world.call(request).status == 201
    world.store.crls.add(
        Crl(
            id="00000000-0000-4000-8000-0000000000c1",
            arn=anchor.replace("trust-anchor/", "crl/"),
            name="broken",
            enabled=True,
            crl_data=b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
            trust_anchor_arn=anchor,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    world.snapshots.refresh()
    with pytest.raises(UntrustedCertificate) as refused:
        world.call(request)
    assert "does not parse" in refused.value.reason
    assert world.snapshots.state().impaired


def test_past_the_bound_create_session_is_refused(
    world: World, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that stops answering: served within 1 s, then 503, then served again once it heals;
    the failure streak is logged once with its traceback, and counted."""
    provider = SnapshotProvider(
        world.store,
        StoreRoleSource(world.store),
        master_key=MASTER_KEY,
        refresh_interval=0.2,
        background=False,
        monotonic=ticks,
    )
    handler = CreateSessionHandler(
        provider, world.clock, settings=SessionSettings(account_id=ACCOUNT, region=REGION)
    )
    world = dataclasses.replace(world, snapshots=provider, handler=handler)
    chain, anchor, role, profile = _case(world)
    provider.refresh()
    request = session_request(chain, anchor=anchor, profile=profile, role=role)  # type: ignore[arg-type]
    healthy = world.store.config_version

    def down() -> int:
        raise OSError("database down")

    world.store.config_version = down  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="elsewhere.snapshot")
    for _ in range(4):  # 0.8 s of failing refreshes: still within the bound
        ticks.now += 0.2
        assert world.call(request).status == 201
    ticks.now += 0.3
    with pytest.raises(ServiceUnavailable) as refused:
        world.call(request)
    assert refused.value.status == 503
    assert refused.value.code == "ServiceUnavailableException"
    assert "past the 1 s bound" in refused.value.reason
    assert provider.stale()
    state = provider.state()
    assert state.failing
    assert state.failures == state.consecutive_failures >= 5
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    world.store.config_version = healthy  # type: ignore[method-assign]
    ticks.now += 0.2
    assert world.call(request).status == 201
    assert not provider.stale()
    assert not provider.state().failing
    assert "works again after" in caplog.text
    provider.close()


def test_refresher_lag_is_caught_up_on_the_request_path(world: World, ticks: Ticks) -> None:
    """A healthy store but a refresher that fell behind: the request reads the version itself."""
    provider = SnapshotProvider(
        world.store,
        StoreRoleSource(world.store),
        master_key=MASTER_KEY,
        refresh_interval=3600,  # the background refresher never gets to run in this test
        monotonic=ticks,
    )
    try:
        ticks.now += 5
        assert provider.age_seconds() == 5
        before = provider.current()
        assert provider.age_seconds() == 0
        world.add_profile([world.add_role("late")])
        ticks.now += 5
        assert provider.current() is not before  # the change is picked up on the request path
        ticks.now += 5
        assert not provider.stale()  # /ping catches a lagging refresher up the same way
        assert provider.state().failures == 0
    finally:
        provider.close()
