"""Outbound federation's switch and signing keys in the store: the IAM semantics, and races."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator

import pytest

from elsewhere.clock import FixedClock
from elsewhere.oidc import Federation, IssuerState, KeyPhase, PrivateKey
from elsewhere.service._federation import (
    ISSUER_STATE_SECRET,
    FeatureDisabled,
    FeatureEnabled,
    IssuerStateConflict,
    OutboundFederation,
    load_issuer_state,
    load_or_create_issuer_state,
    rotate_signing_keys,
)
from elsewhere.service._ports import SecretRepository
from elsewhere.storage import MemoryStore
from tests.unit.oidc.conftest import MASTER, T0, key_for

ISSUER = "https://idp.example.com"


_COUNTERS: dict[str, Iterator[int]] = {}


def _keys() -> Callable[[str], PrivateKey]:
    """A key generator handing out test keys, a new one for each call in this module."""

    def generate(alg: str) -> PrivateKey:
        return key_for(alg, next(_COUNTERS.setdefault(alg, itertools.count(100))))

    return generate


class Interleaved:
    """Secrets where another writer lands between this writer's read and its first write."""

    def __init__(self, inner: SecretRepository, other_writer: Callable[[], object]) -> None:
        self._inner = inner
        self._other: Callable[[], object] | None = other_writer
        self.writes = 0

    def get(self, name: str) -> bytes | None:
        """Read through."""
        return self._inner.get(name)

    def put(self, name: str, value: bytes) -> None:
        """Write through."""
        self._inner.put(name, value)

    def get_or_create(self, name: str, value: bytes) -> bytes:
        """Through."""
        return self._inner.get_or_create(name, value)

    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        """Let the other writer win once, then compare-and-set as asked."""
        if self._other is not None:
            other, self._other = self._other, None
            other()
        self.writes += 1
        return self._inner.put_if(name, expected, value)


@pytest.fixture
def store() -> MemoryStore:
    """An empty store with the first keys made (as a server's first start does)."""
    memory = MemoryStore()
    load_or_create_issuer_state(memory.secrets, MASTER, now=T0, generate=_keys())
    return memory


def _federation(secrets: SecretRepository) -> OutboundFederation:
    return OutboundFederation(secrets, MASTER, FixedClock(T0), issuer=ISSUER)


def test_never_enabled_info_is_feature_disabled(store: MemoryStore) -> None:
    """Before the first Enable, GetOutboundWebIdentityFederationInfo is FeatureDisabled (404)."""
    with pytest.raises(FeatureDisabled) as info:
        _federation(store.secrets).info()
    assert info.value.code_for("query") == "FeatureDisabled"
    assert info.value.status_for("query") == 404


def test_enable_then_info_then_disable(store: MemoryStore) -> None:
    """Enable answers the issuer; info says enabled; after Disable, info says disabled."""
    federation = _federation(store.secrets)
    assert federation.enable() == ISSUER
    assert federation.info().enabled
    assert federation.info().issuer == ISSUER
    federation.disable()
    assert not federation.info().enabled
    assert federation.info().issuer == ISSUER
    assert federation.enable() == ISSUER  # enabling again after a disable is allowed


@pytest.mark.parametrize(
    ("case", "steps", "error"),
    [
        ("fail/enable-twice", ("enable", "enable"), FeatureEnabled),
        ("fail/disable-never-enabled", ("disable",), FeatureDisabled),
        ("fail/disable-twice", ("enable", "disable", "disable"), FeatureDisabled),
    ],
)
def test_switch_errors(
    store: MemoryStore, case: str, steps: tuple[str, ...], error: type[Exception]
) -> None:
    """The last step of each sequence fails with the IAM error the model names."""
    federation = _federation(store.secrets)
    for step in steps[:-1]:
        getattr(federation, step)()
    with pytest.raises(error):
        getattr(federation, steps[-1])()


def test_switch_errors_wire_codes() -> None:
    """FeatureEnabled is 409 and FeatureDisabled 404, as the IAM model declares them."""
    assert (FeatureEnabled().code_for("query"), FeatureEnabled().status_for("query")) == (
        "FeatureEnabled",
        409,
    )
    assert FeatureDisabled().status_for("query") == 404


def test_two_enables_racing_give_one_feature_enabled(store: MemoryStore) -> None:
    """When another Enable lands between read and write, this one answers FeatureEnabled."""
    other = _federation(store.secrets)
    racing = Interleaved(store.secrets, other.enable)
    with pytest.raises(FeatureEnabled):
        _federation(racing).enable()
    assert racing.writes == 1  # lost the compare-and-set once, then saw it enabled
    assert _federation(store.secrets).info().enabled


def test_switch_keeps_the_keys(store: MemoryStore) -> None:
    """Enabling and disabling never changes the signing keys."""
    before = load_issuer_state(store.secrets, MASTER)
    federation = _federation(store.secrets)
    federation.enable()
    federation.disable()
    after = load_issuer_state(store.secrets, MASTER)
    assert before is not None
    assert after is not None
    assert before.keys == after.keys


def test_first_start_makes_one_key_per_algorithm_once(store: MemoryStore) -> None:
    """A second start (or replica) finds the keys and makes none."""
    first = load_issuer_state(store.secrets, MASTER)
    again = load_or_create_issuer_state(store.secrets, MASTER, now=T0, generate=_keys())
    assert first is not None
    assert sorted(k.alg for k in first.keys) == ["ES384", "RS256"]
    assert again.keys == first.keys


def test_replicas_starting_together_agree_on_keys() -> None:
    """Two first starts racing: the loser keeps the winner's keys, not its own."""
    memory = MemoryStore()
    winner: list[IssuerState] = []
    racing = Interleaved(
        memory.secrets,
        lambda: winner.append(
            load_or_create_issuer_state(memory.secrets, MASTER, now=T0, generate=_keys())
        ),
    )
    loser = load_or_create_issuer_state(racing, MASTER, now=T0, generate=_keys())
    assert loser.keys == winner[0].keys
    assert load_issuer_state(memory.secrets, MASTER) == winner[0]


def test_rotation_adds_pending_keys(store: MemoryStore) -> None:
    """A rotation stores a new key per algorithm, pending until the delay has passed."""
    delay = dt.timedelta(minutes=5)
    state = rotate_signing_keys(
        store.secrets, MASTER, now=T0, activation_delay=delay, generate=_keys()
    )
    assert len(state.keys) == 4
    pending = [k for k in state.keys if state.phase(k, T0) is KeyPhase.PENDING]
    assert sorted(k.alg for k in pending) == ["ES384", "RS256"]
    assert all(k.activates_at == T0 + delay for k in pending)


def test_racing_rotations_lose_no_key(store: MemoryStore) -> None:
    """A rotation that loses the compare-and-set re-reads and keeps the other's keys too."""
    made = _keys()
    later = T0 + dt.timedelta(seconds=1)

    def other() -> None:
        rotate_signing_keys(store.secrets, MASTER, now=later, generate=made)

    state = rotate_signing_keys(Interleaved(store.secrets, other), MASTER, now=later, generate=made)
    assert len(state.keys) == 6
    stored = load_issuer_state(store.secrets, MASTER)
    assert stored == state


def test_rotation_keeps_the_switch(store: MemoryStore) -> None:
    """A rotation does not turn federation on or off."""
    _federation(store.secrets).enable()
    state = rotate_signing_keys(store.secrets, MASTER, now=T0, generate=_keys())
    assert state.federation is Federation.ENABLED


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("fail/negative-delay", {"activation_delay": dt.timedelta(seconds=-1)}),
        ("fail/unknown-algorithm", {"algorithms": ("HS256",)}),
    ],
)
def test_rotation_refuses_bad_arguments(
    store: MemoryStore, case: str, kwargs: dict[str, object]
) -> None:
    """A negative delay or an algorithm elsewhere does not sign with is a ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the argument
        rotate_signing_keys(store.secrets, MASTER, now=T0, generate=_keys(), **kwargs)  # type: ignore[arg-type]


class _AlwaysLoses(Interleaved):
    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        self.writes += 1
        return False


def test_a_change_that_always_loses_gives_up(store: MemoryStore) -> None:
    """After the bounded number of lost races, the change raises and wrote nothing."""
    before = store.secrets.get(ISSUER_STATE_SECRET)
    losing = _AlwaysLoses(store.secrets, lambda: None)
    with pytest.raises(IssuerStateConflict):
        _federation(losing).enable()
    assert losing.writes == 10
    assert store.secrets.get(ISSUER_STATE_SECRET) == before
