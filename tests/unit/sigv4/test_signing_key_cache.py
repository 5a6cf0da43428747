"""The cache of derived signing keys the authenticators hold: bounds, dates and timing symmetry."""

from __future__ import annotations

import datetime as dt

import pytest

import elsewhere.service._authn as authn
from elsewhere.errors import InvalidSignature, UnrecognizedClient
from elsewhere.service._authn import AccessKeySecret, Authenticator, Principal, SigningKeyCache
from elsewhere.sigv4 import (
    CredentialScope,
    HttpRequest,
    derive_signing_key,
    parse_signed_request,
    sign_hmac_request,
)

NOW = dt.datetime(2026, 3, 4, 12, 0, 0, tzinfo=dt.UTC)
KEY_ID = "AKIAEXAMPLEEXAMPLE01"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the AWS documentation example key
USER = Principal(
    arn="arn:aws:iam::123456789012:user/ops",
    account="123456789012",
    kind="user",
    user_id="AIDAEXAMPLEEXAMPLE001",
    name="ops",
    access_key_id=KEY_ID,
)


def _scope(
    date: str = "20260304", region: str = "us-east-1", service: str = "sts"
) -> CredentialScope:
    return CredentialScope(date, region, service, "aws4_request")


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, CredentialScope]]:
    """Every signing key the cache derives, recorded in order."""
    calls: list[tuple[str, CredentialScope]] = []

    def counting(secret: str, scope: CredentialScope) -> bytes:
        calls.append((secret, scope))
        return derive_signing_key(secret, scope)

    monkeypatch.setattr(authn, "derive_signing_key", counting)
    return calls


def test_ok_second_use_is_a_hit(derivations: list[tuple[str, CredentialScope]]) -> None:
    """The same key id, secret and scope: derived once, the same bytes both times."""
    cache = SigningKeyCache()
    first = cache.signing_key(KEY_ID, SECRET, _scope(), now=NOW)
    second = cache.signing_key(KEY_ID, SECRET, _scope(), now=NOW)
    assert first == second == derive_signing_key(SECRET, _scope())
    assert len(derivations) == 1
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("key_id", "secret", "scope"),
    [
        pytest.param("AKIAOTHER00000000001", SECRET, _scope(), id="ok/other-key-id"),
        pytest.param(KEY_ID, "x" * 40, _scope(), id="ok/other-secret"),
        pytest.param(KEY_ID, SECRET, _scope(region="eu-west-1"), id="ok/other-region"),
        pytest.param(KEY_ID, SECRET, _scope(service="iam"), id="ok/other-service"),
        pytest.param(KEY_ID, SECRET, _scope(date="20260305"), id="ok/other-date"),
    ],
)
def test_ok_each_part_of_the_entry_counts(
    derivations: list[tuple[str, CredentialScope]],
    key_id: str,
    secret: str,
    scope: CredentialScope,
) -> None:
    """Changing any of key id, secret, region, service or date derives a new, correct key."""
    cache = SigningKeyCache()
    cache.signing_key(KEY_ID, SECRET, _scope(), now=NOW)
    key = cache.signing_key(key_id, secret, scope, now=NOW)
    assert key == derive_signing_key(secret, scope)
    assert len(derivations) == 2
    assert len(cache) == 2


@pytest.mark.parametrize(
    ("date", "cached"),
    [
        ("20260303", True),
        ("20260304", True),
        ("20260305", True),
        ("20260302", False),  # a presigned URL of two days ago: derived each time
        ("20260306", False),
        ("20250304", False),
    ],
    ids=lambda v: str(v),
)
def test_only_dates_around_now_are_kept(
    derivations: list[tuple[str, CredentialScope]], date: str, cached: bool
) -> None:
    """Yesterday, today and tomorrow (UTC) are cached; any other date is derived every time."""
    cache = SigningKeyCache()
    for _ in range(3):
        cache.signing_key(KEY_ID, SECRET, _scope(date=date), now=NOW)
    assert len(derivations) == (1 if cached else 3)
    assert len(cache) == (1 if cached else 0)


def test_a_new_day_drops_dates_that_left_the_window() -> None:
    """Two days later, yesterday's and today's keys (and their secrets) are gone."""
    cache = SigningKeyCache()
    for date in ("20260303", "20260304", "20260305"):
        cache.signing_key(KEY_ID, SECRET, _scope(date=date), now=NOW)
    assert len(cache) == 3
    cache.signing_key(KEY_ID, SECRET, _scope(date="20260306"), now=NOW + dt.timedelta(days=2))
    assert len(cache) == 2  # 20260305 and 20260306 remain
    cache.signing_key(KEY_ID, SECRET, _scope(date="20260310"), now=NOW + dt.timedelta(days=6))
    assert len(cache) == 1


def test_now_is_read_in_utc() -> None:
    """A ``now`` with an offset is placed on its UTC date."""
    cache = SigningKeyCache()
    tokyo = dt.timezone(dt.timedelta(hours=9))
    late = dt.datetime(2026, 3, 6, 8, 0, tzinfo=tokyo)  # 2026-03-05T23:00Z
    cache.signing_key(KEY_ID, SECRET, _scope(date="20260304"), now=late)
    assert len(cache) == 1


def test_bound_per_date_drops_the_oldest(derivations: list[tuple[str, CredentialScope]]) -> None:
    """Past ``max_per_date`` the oldest key of that date goes first; the count never exceeds it."""
    cache = SigningKeyCache(max_per_date=3)
    ids = [f"AKIAEXAMPLE{i:09d}" for i in range(5)]
    for key_id in ids:
        cache.signing_key(key_id, SECRET, _scope(), now=NOW)
    assert len(cache) == 3
    derivations.clear()
    cache.signing_key(ids[-1], SECRET, _scope(), now=NOW)  # still held
    assert derivations == []
    cache.signing_key(ids[0], SECRET, _scope(), now=NOW)  # evicted, derived again
    assert len(derivations) == 1
    assert len(cache) == 3


def test_overlong_key_ids_are_not_kept() -> None:
    """A claimed key id longer than IAM allows (128) never takes room in the cache."""
    cache = SigningKeyCache()
    key = cache.signing_key("A" * 129, SECRET, _scope(), now=NOW)
    assert key == derive_signing_key(SECRET, _scope())
    assert len(cache) == 0


def test_fail_zero_bound() -> None:
    """A cache that could hold nothing is a configuration error."""
    with pytest.raises(ValueError, match="max_per_date"):
        SigningKeyCache(max_per_date=0)


# --- The authenticator's use of it ------------------------------------------------------------


def _lookup(records: dict[str, AccessKeySecret]) -> authn.SecretLookup:
    def lookup(access_key_id: str) -> AccessKeySecret | None:
        return records.get(access_key_id)

    return lookup


def _request(key_id: str = KEY_ID, secret: str = SECRET) -> HttpRequest:
    unsigned = HttpRequest(
        "POST",
        "/",
        "",
        (("Host", "127.0.0.1:8080"), ("Content-Type", "application/x-www-form-urlencoded")),
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    return sign_hmac_request(
        unsigned,
        access_key_id=key_id,
        secret_access_key=secret,
        region="us-east-1",
        service="sts",
        now=NOW,
    )


def _authenticate(auth: Authenticator, request: HttpRequest) -> Principal:
    return auth.authenticate(request, parse_signed_request(request), service="sts", now=NOW)


def test_ok_known_key_verifies_on_miss_and_hit(
    derivations: list[tuple[str, CredentialScope]],
) -> None:
    """A valid call authenticates with a derived key, then again with the cached one."""
    auth = Authenticator(
        _lookup({KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, True)}), region="us-east-1"
    )
    assert _authenticate(auth, _request()) == USER
    assert _authenticate(auth, _request()) == USER
    assert len(derivations) == 1


def test_fail_wrong_signature_after_a_hit(derivations: list[tuple[str, CredentialScope]]) -> None:
    """A cached key does not let a signature made with another secret through."""
    auth = Authenticator(
        _lookup({KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, True)}), region="us-east-1"
    )
    _authenticate(auth, _request())
    with pytest.raises(InvalidSignature):
        _authenticate(auth, _request(secret="x" * 40))
    assert len(derivations) == 1


def test_fail_rotated_secret_is_not_served_from_cache() -> None:
    """A key id whose secret changed derives from the new secret; the old one stops working."""
    records = {KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, True)}
    auth = Authenticator(_lookup(records), region="us-east-1")
    _authenticate(auth, _request())
    records[KEY_ID] = AccessKeySecret(KEY_ID, "n" * 40, USER, True)
    assert _authenticate(auth, _request(secret="n" * 40)) == USER
    with pytest.raises(InvalidSignature):
        _authenticate(auth, _request())


@pytest.mark.parametrize(
    ("key_id", "active", "reason"),
    [
        ("AKIAUNKNOWN000000001", None, "unknown access key AKIAUNKNOWN000000001"),
        (KEY_ID, False, f"inactive access key {KEY_ID}"),
        ("AKIA-NOT-A-KEY", None, "unknown access key AKIA-NOT-A-KEY"),
    ],
    ids=["fail/unknown", "fail/inactive", "fail/malformed"],
)
def test_fail_unknown_key_misses_and_hits_like_a_known_one(
    derivations: list[tuple[str, CredentialScope]],
    key_id: str,
    active: bool | None,
    reason: str,
) -> None:
    """Unknown and inactive keys: the same answer as before, and the same derive-then-hit pattern.

    The decoy's key is cached under the id the caller claims, so whether a key exists does not
    decide whether its first call misses the cache.
    """
    records = {} if active is None else {KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, active)}
    auth = Authenticator(_lookup(records), region="us-east-1")
    pattern = []
    for _ in range(3):
        before = len(derivations)
        with pytest.raises(UnrecognizedClient) as caught:
            _authenticate(auth, _request(key_id=key_id))
        assert caught.value.message == UnrecognizedClient().message
        assert caught.value.reason == reason
        pattern.append(len(derivations) - before)
    assert pattern == [1, 0, 0]

    known = Authenticator(
        _lookup({KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, True)}), region="us-east-1"
    )
    known_pattern = []
    for _ in range(3):
        before = len(derivations)
        with pytest.raises(InvalidSignature):
            _authenticate(known, _request(secret="x" * 40))  # a probe with a wrong signature
        known_pattern.append(len(derivations) - before)
    assert known_pattern == pattern


def test_authenticators_can_share_a_cache() -> None:
    """A cache passed in is the one used."""
    cache = SigningKeyCache()
    auth = Authenticator(
        _lookup({KEY_ID: AccessKeySecret(KEY_ID, SECRET, USER, True)}),
        region="us-east-1",
        signing_keys=cache,
    )
    _authenticate(auth, _request())
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("now", "date"),
    [
        (dt.datetime.min.replace(tzinfo=dt.UTC), "00010101"),
        (dt.datetime.max.replace(tzinfo=dt.UTC), "99991231"),
    ],
    ids=["ok/first-day", "ok/last-day"],
)
def test_ok_window_at_the_ends_of_the_calendar(now: dt.datetime, date: str) -> None:
    """A clock at year 1 or 9999 still gets a window (without the day that does not exist)."""
    cache = SigningKeyCache()
    cache.signing_key(KEY_ID, SECRET, _scope(date=date), now=now)
    assert len(cache) == 1


def test_ok_session_key_derives_the_secret_only_on_a_miss() -> None:
    """A verified session is kept by id and token: the secret callable runs on the miss only."""
    cache = SigningKeyCache()
    calls: list[int] = []

    def secret() -> str:
        calls.append(1)
        return SECRET

    token = "IQoJ" * 120
    keys = {cache.session_signing_key("ASIAEXAMPLE0000001", token, secret, _scope(), now=NOW)}
    keys.add(cache.session_signing_key("ASIAEXAMPLE0000001", token, secret, _scope(), now=NOW))
    assert keys == {derive_signing_key(SECRET, _scope())}
    assert len(calls) == 1
    cache.session_signing_key("ASIAEXAMPLE0000001", token + "A", secret, _scope(), now=NOW)
    assert len(calls) == 2  # another token is another entry


def test_overlong_session_tokens_are_not_kept() -> None:
    """A token past 2048 characters is derived every time rather than held."""
    cache = SigningKeyCache()
    for _ in range(2):
        cache.session_signing_key(
            "ASIAEXAMPLE0000001", "A" * 2049, lambda: SECRET, _scope(), now=NOW
        )
    assert len(cache) == 0


def test_no_secret_is_held() -> None:
    """Long-term entries hold the secret's SHA-256 and session entries the token, never a secret."""
    cache = SigningKeyCache()
    cache.signing_key(KEY_ID, SECRET, _scope(), now=NOW)
    cache.session_signing_key(
        "ASIAEXAMPLE0000001", "IQoJ" * 10, lambda: "t" * 40, _scope(), now=NOW
    )
    held = repr(cache.entries())
    assert SECRET not in held
    assert "t" * 40 not in held
    assert len(cache) == 2
