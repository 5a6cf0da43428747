"""The issuer state: key phases over a rotation, what signs and what is published, sealing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.oidc import (
    MAX_TOKEN_LIFETIME,
    Federation,
    IssuerState,
    IssuerStateError,
    KeyPhase,
    SigningKey,
    build_jwks,
    build_signing_key,
    format_issuer_state,
    open_issuer_state,
    parse_issuer_state,
    seal_issuer_state,
)

from .conftest import MASTER, T0, key_for

DELAY = dt.timedelta(minutes=5)


def _key(
    alg: str, n: int, *, at: dt.datetime = T0, delay: dt.timedelta = dt.timedelta(0)
) -> SigningKey:
    return build_signing_key(key_for(alg, n), alg=alg, now=at, activates_at=at + delay)


def _first() -> IssuerState:
    return IssuerState(Federation.ENABLED, (_key("RS256", 1), _key("ES384", 1)))


def _rotated() -> tuple[IssuerState, SigningKey, SigningKey]:
    """The first keys, then an RS256 rotation one hour later, activating five minutes after."""
    state = _first()
    old = state.signer("RS256", T0)
    assert old is not None
    rotated_at = T0 + dt.timedelta(hours=1)
    new = _key("RS256", 2, at=rotated_at, delay=DELAY)
    return state.with_keys([new], now=rotated_at), old, new


def test_first_keys_sign_at_once() -> None:
    """A new state's keys are active from their creation and each algorithm has a signer."""
    state = _first()
    assert state.missing_algorithms() == ()
    for alg in ("RS256", "ES384"):
        key = state.signer(alg, T0)
        assert key is not None
        assert key.alg == alg
        assert state.phase(key, T0) is KeyPhase.ACTIVE


def test_empty_state_misses_every_algorithm() -> None:
    """Before the first start there is no key and nothing signs."""
    state = IssuerState()
    assert state.federation is Federation.NEVER
    assert not state.enabled
    assert state.missing_algorithms() == ("RS256", "ES384")
    assert state.signer("RS256", T0) is None


def test_rotation_publishes_before_it_signs() -> None:
    """A rotated-in key is in the JWKS at once but signs only from its activation time."""
    state, old, new = _rotated()
    rotated_at = new.created_at
    assert state.phase(new, rotated_at) is KeyPhase.PENDING
    assert new.kid in {k.kid for k in state.published(rotated_at)}
    assert state.signer("RS256", rotated_at) == old
    assert state.signer("RS256", new.activates_at - dt.timedelta(microseconds=1)) == old
    assert state.signer("RS256", new.activates_at) == new
    assert state.phase(new, new.activates_at) is KeyPhase.ACTIVE


def test_retired_key_stays_published_until_its_last_token_expires() -> None:
    """The replaced key leaves the JWKS exactly MAX_TOKEN_LIFETIME after it stopped signing."""
    state, old, new = _rotated()
    assert state.retired_at(old) == new.activates_at
    last_moment = new.activates_at + MAX_TOKEN_LIFETIME - dt.timedelta(microseconds=1)
    assert state.phase(old, new.activates_at) is KeyPhase.RETIRED
    assert old in state.published(last_moment)
    gone = new.activates_at + MAX_TOKEN_LIFETIME
    assert state.phase(old, gone) is KeyPhase.EXPIRED
    assert old not in state.published(gone)
    assert {k["kid"] for k in build_jwks(state, gone)["keys"]} == {
        new.kid,
        state.signer("ES384", gone).kid,  # type: ignore[union-attr]
    }


def test_other_algorithm_is_untouched_by_a_rotation() -> None:
    """Rotating RS256 leaves the ES384 key active."""
    state, _, new = _rotated()
    es = state.signer("ES384", new.activates_at + MAX_TOKEN_LIFETIME * 2)
    assert es is not None
    assert state.phase(es, new.activates_at) is KeyPhase.ACTIVE


def test_storing_new_keys_drops_expired_ones() -> None:
    """Keys whose tokens have all expired are dropped when the state next changes."""
    state, old, new = _rotated()
    later = new.activates_at + MAX_TOKEN_LIFETIME
    newer = _key("RS256", 3, at=later, delay=DELAY)
    pruned = state.with_keys([newer], now=later)
    assert old not in pruned.keys
    assert new in pruned.keys
    assert newer in pruned.keys


def test_two_rotations_in_a_row_keep_every_key_until_expiry() -> None:
    """A second rotation before the first activates: each key signs in its turn."""
    state, old, new = _rotated()
    second = _key("RS256", 3, at=new.created_at + dt.timedelta(minutes=1), delay=DELAY)
    state = state.with_keys([second], now=second.created_at)
    assert state.signer("RS256", new.activates_at) == new
    assert state.signer("RS256", second.activates_at) == second
    assert state.retired_at(new) == second.activates_at
    assert {old, new, second} <= set(state.published(second.created_at))


def test_duplicate_keys_are_refused() -> None:
    """One key cannot be stored twice (ids are thumbprints)."""
    key = _key("RS256", 1)
    with pytest.raises(ValueError, match="duplicate"):
        IssuerState(Federation.ENABLED, (key, key))


def test_key_id_must_be_the_thumbprint() -> None:
    """A stored kid that is not the key's thumbprint is refused (a swapped key)."""
    with pytest.raises(ValueError, match="thumbprint"):
        SigningKey(
            alg="RS256", private_key=key_for("RS256", 1), created_at=T0, activates_at=T0, kid="x"
        )


def test_seal_and_open_round_trip() -> None:
    """Sealing under the master key and opening gives back the same keys and switch."""
    state, _, _ = _rotated()
    opened = open_issuer_state(seal_issuer_state(state, MASTER), MASTER)
    assert opened == state
    assert opened.federation is Federation.ENABLED
    for a, b in zip(opened.keys, state.keys, strict=True):
        assert a.jwk() == b.jwk()


def test_sealed_state_holds_no_private_key_in_clear() -> None:
    """The sealed blob does not contain the PKCS#8 text of any key."""
    state = _first()
    plain = format_issuer_state(state)
    sealed = seal_issuer_state(state, MASTER)
    assert b"pkcs8" in plain
    assert b"pkcs8" not in sealed


@pytest.mark.parametrize(
    ("case", "blob", "master"),
    [
        ("fail/wrong-master-key", lambda: seal_issuer_state(_first(), MASTER), b"x" * 32),
        (
            "fail/tampered",
            lambda: (lambda b: b[:-1] + bytes([b[-1] ^ 1]))(seal_issuer_state(_first(), MASTER)),
            MASTER,
        ),
        ("fail/not-sealed", lambda: b"garbage", MASTER),
        ("fail/short-master-key", lambda: seal_issuer_state(_first(), MASTER), b"short"),
    ],
)
def test_opening_refuses_what_was_not_sealed_with_the_key(
    case: str, blob: object, master: bytes
) -> None:
    """A wrong or short master key, or a changed blob, is an IssuerStateError."""
    with pytest.raises(IssuerStateError):
        open_issuer_state(blob(), master)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("fail/not-json", b"{"),
        ("fail/wrong-format", b'{"format":2,"federation":"never","keys":[]}'),
        ("fail/unknown-federation", b'{"format":1,"federation":"maybe","keys":[]}'),
        ("fail/bad-key", b'{"format":1,"federation":"never","keys":[{"alg":"RS256"}]}'),
        ("fail/keys-not-list", b'{"format":1,"federation":"never","keys":{}}'),
    ],
)
def test_parse_refuses_garbage(case: str, data: bytes) -> None:
    """Anything but what format_issuer_state writes is an IssuerStateError."""
    with pytest.raises(IssuerStateError):
        parse_issuer_state(data)


_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@settings(max_examples=30)  # each example parses RSA keys, which is slow
@given(
    federation=st.sampled_from(list(Federation)),
    created=_times,
    delay=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30)),
    which=st.lists(st.sampled_from([("RS256", 1), ("RS256", 2), ("ES384", 1)]), unique=True),
)
def test_format_parse_round_trip(
    federation: Federation,
    created: dt.datetime,
    delay: dt.timedelta,
    which: list[tuple[str, int]],
) -> None:
    """Any state parses back to itself from its stored form."""
    keys = tuple(_key(alg, n, at=created, delay=delay) for alg, n in which)
    state = IssuerState(federation, keys)
    assert parse_issuer_state(format_issuer_state(state)) == state
