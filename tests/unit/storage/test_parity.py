"""MemoryStore and the SQL stores behave the same: one random script, identical observations.

The script (seeded, so a failure names its seed and step) mixes every method of the store ports
over small pools of ids, keys and times, so that collisions, ties, case differences, non-ASCII
text and no-op writes are frequent. Each step records its result (``repr``, so time zones and
map key order count) and how much ``config_version`` grew; a full dump of the configuration after
each step checks the rule "a write bumps the version iff it changed the configuration".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from elsewhere.domain import (
    AccessKey,
    AliasInUseError,
    AuthenticationRecord,
    Crl,
    NotificationSetting,
    Profile,
    Tag,
    TrustAnchor,
    TrustAnchorSource,
)
from elsewhere.service import Store
from elsewhere.storage import MemoryStore, open_store
from tests.unit.storage._postgres import empty_postgres_store, needs_postgres

T0 = dt.datetime(2026, 11, 28, 12, 0, 0, 250001, tzinfo=dt.UTC)
ARN = "arn:aws:rolesanywhere:us-east-1:123456789012"
ZONES = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=45)),
    dt.timezone(-dt.timedelta(hours=3)),
)

#: Record ids: UUIDs and short texts whose code-point order differs from a locale's ("B" < "a").
IDS = (
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "B",
    "a",
    "ab",
    "\u00e9",
    "Z-1",
)
AFTER = (None, "", "A", "a0", "\u00c4", *IDS)
TAG_KEYS = ("a", "B", "b", "\u00e9", "Z", "a b")
DNS = ("CN=a", "CN=b", "cn=a")
SERIALS = ("01", "02", "0A", "0a", "10")
ISSUERS = ("CN=CA", "CN=ca", "CN=Z")
PROPERTY_KEYS = ("x", "Y", "\u00e9")
KEY_IDS = ("AKIA1", "AKIA2", "akia1", "AKIA3")
PRINCIPALS = ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/u")

STEPS = 100
DUMP_EVERY = 5
SEEDS = (1, 2, 3)
#: (engine, seed) of the comparisons: PostgreSQL is slower per statement, so one seed there.
COMPARED = [
    ("sqlite", 1),
    ("sqlite", 2),
    pytest.param("postgres", 3, marks=needs_postgres),
]


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at the latest schema, migrated once and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "parity.db"
    open_store(f"sqlite:///{path}").close()
    return path


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A new, empty store of one kind."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "parity.db")
        return open_store(f"sqlite:///{tmp_path / 'parity.db'}")
    return empty_postgres_store(request)


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=needs_postgres)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store in turn."""
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


# --- records ------------------------------------------------------------------------------------


def at(seconds: int, zone: int = 0) -> dt.datetime:
    """T0 plus ``seconds``, expressed in one of ``ZONES``."""
    return (T0 + dt.timedelta(seconds=seconds)).astimezone(ZONES[zone])


def anchor(
    i: int, variant: int = 0, arn_of: int | None = None, zone: int = 0, alias: str | None = None
) -> TrustAnchor:
    """A trust anchor with id ``IDS[i]``; ``arn_of`` borrows another id's ARN."""
    return TrustAnchor(
        id=IDS[i],
        arn=f"{ARN}:trust-anchor/{IDS[i if arn_of is None else arn_of]}",
        name=f"anchor {variant}",
        source=TrustAnchorSource("CERTIFICATE_BUNDLE", "PEM", None),
        enabled=variant % 2 == 0,
        created_at=at(0, zone),
        updated_at=at(variant, zone),
        notification_settings=(NotificationSetting("CA_CERTIFICATE_EXPIRY", True, 45, "ALL", "x"),),
        alias_name=alias,
        previous_alias_name=alias and "previous",
    )


def profile(i: int, variant: int = 0, zone: int = 0, alias: str | None = None) -> Profile:
    """A profile with id ``IDS[i]``."""
    return Profile(
        id=IDS[i],
        arn=f"{ARN}:profile/{IDS[i]}",
        name=f"profile {variant}",
        enabled=variant % 2 == 1,
        created_by="arn:aws:iam::123456789012:root",
        role_arns=("arn:aws:iam::123456789012:role/r",),
        managed_policy_arns=(),
        duration_seconds=900 + variant,
        accept_role_session_name=False,
        require_instance_properties=False,
        attribute_mappings=(),
        created_at=at(0, zone),
        updated_at=at(variant, zone),
        alias_name=alias,
    )


def crl(i: int, variant: int = 0, zone: int = 0, alias: str | None = None) -> Crl:
    """A CRL with id ``IDS[i]``."""
    return Crl(
        id=IDS[i],
        arn=f"{ARN}:crl/{IDS[i]}",
        name="c",
        enabled=True,
        crl_data=bytes([variant, 0, 255]),
        trust_anchor_arn=f"{ARN}:trust-anchor/{IDS[0]}",
        created_at=at(0, zone),
        updated_at=at(variant, zone),
        alias_name=alias,
    )


def auth(
    dn: int,
    serial: str,
    seconds: int,
    *,
    issuer: str = "CN=CA",
    properties: dict[str, str] | None = None,
    failed: bool = False,
    zone: int = 0,
) -> AuthenticationRecord:
    """An authentication of ``DNS[dn]``; its new id depends on the DN only."""
    new_id = f"00000000-0000-4000-8000-{100 + dn:012d}"
    return AuthenticationRecord(
        x509_subject=DNS[dn],
        seen_at=at(seconds, zone),
        serial_number=serial,
        issuer=issuer,
        x509_certificate_data=f"PEM {serial}",
        failed=failed,
        new_subject_id=new_id,
        new_subject_arn=f"{ARN}:subject/{new_id}",
        instance_properties=properties,
    )


def access_key(i: int, principal: int = 0, status: str = "Active") -> AccessKey:
    """An access key with id ``KEY_IDS[i]``."""
    return AccessKey(KEY_IDS[i], "not-a-secret", PRINCIPALS[principal], "u", status, at(7, 1))


# --- the random script --------------------------------------------------------------------------

Step = tuple[str, Callable[[Store], Any]]


def _random_step(rnd: random.Random) -> Step:
    """One operation with its arguments drawn from the pools."""
    i, v, z = rnd.randrange(len(IDS)), rnd.randrange(3), rnd.randrange(len(ZONES))
    repo_name = rnd.choice(("trust_anchors", "profiles", "crls"))
    alias = rnd.choice((None, "a", "a", "A"))  # aliases are unique per type, case-sensitive
    make: Callable[[], Any] = {
        "trust_anchors": lambda: anchor(i, v, rnd.choice((None, None, 0, 1)), z, alias),
        "profiles": lambda: profile(i, v, z, alias),
        "crls": lambda: crl(i, v, z, alias),
    }[repo_name]
    op = rnd.randrange(16)
    if op == 0:
        record = make()
        return f"{repo_name}.add({record!r})", lambda s: getattr(s, repo_name).add(record)
    if op == 1:
        record = make()
        return f"{repo_name}.replace({record!r})", lambda s: getattr(s, repo_name).replace(record)
    if op == 2:
        return f"{repo_name}.remove({IDS[i]!r})", lambda s: getattr(s, repo_name).remove(IDS[i])
    if op == 3:
        after, limit = rnd.choice(AFTER), rnd.randrange(-1, 4)
        return (
            f"{repo_name}.list_page({after!r}, {limit})",
            lambda s: getattr(s, repo_name).list_page(after, limit),
        )
    if op == 4:
        return f"{repo_name}.get({IDS[i]!r})", lambda s: getattr(s, repo_name).get(IDS[i])
    arn = f"{ARN}:profile/{rnd.choice(IDS[:2])}"
    if op == 5:
        tags = [
            Tag(rnd.choice(TAG_KEYS), rnd.choice(("", "1", "2"))) for _ in range(rnd.randrange(3))
        ]
        return f"tags.put({arn!r}, {tags!r})", lambda s: s.tags.put(arn, tags)
    if op == 6:
        keys = rnd.sample(TAG_KEYS, rnd.randrange(3))
        return f"tags.remove({arn!r}, {keys!r})", lambda s: s.tags.remove(arn, keys)
    if op == 7:
        return f"tags.clear({arn!r})", lambda s: s.tags.clear(arn)
    if op in (8, 9):
        batch = [
            auth(
                rnd.randrange(len(DNS)),
                rnd.choice(SERIALS),
                rnd.randrange(4),
                issuer=rnd.choice(ISSUERS),
                properties=rnd.choice(
                    (
                        None,
                        {},
                        *({k: str(n)} for k in PROPERTY_KEYS for n in range(2)),
                        {k: rnd.choice("12") for k in rnd.sample(PROPERTY_KEYS, 2)},
                    )
                ),
                failed=rnd.random() < 0.3,
                zone=rnd.randrange(len(ZONES)),
            )
            for _ in range(rnd.randrange(1, 5))
        ]
        return f"subjects.record_authentications({batch!r})", (
            lambda s: s.subjects.record_authentications(batch)
        )
    k, p = rnd.randrange(len(KEY_IDS)), rnd.randrange(len(PRINCIPALS))
    if op == 10:
        key = access_key(k, p)
        return f"access_keys.add({key!r})", lambda s: s.access_keys.add(key)
    if op == 11:
        status = rnd.choice(("Active", "Inactive"))
        return f"access_keys.set_status({KEY_IDS[k]!r}, {status!r})", (
            lambda s: s.access_keys.set_status(KEY_IDS[k], status)
        )
    if op == 12:
        return f"access_keys.remove({KEY_IDS[k]!r})", lambda s: s.access_keys.remove(KEY_IDS[k])
    name = rnd.choice(("k", "K"))
    if op == 13:
        value = rnd.choice(("", "v", "w"))
        return f"settings.put({name!r}, {value!r})", lambda s: s.settings.put(name, value)
    secret = rnd.choice((b"", b"\x00", b"x"))
    if op == 14:
        return f"secrets.put({name!r}, {secret!r})", lambda s: s.secrets.put(name, secret)
    expected = rnd.choice((None, b"", b"\x00", b"x"))
    if rnd.random() < 0.5:
        return f"secrets.get_or_create({name!r}, {secret!r})", (
            lambda s: s.secrets.get_or_create(name, secret)
        )
    return f"secrets.put_if({name!r}, {expected!r}, {secret!r})", (
        lambda s: s.secrets.put_if(name, expected, secret)
    )


def script(seed: int) -> list[Step]:
    """The operations of one seed."""
    rnd = random.Random(seed)
    return [_random_step(rnd) for _ in range(STEPS)]


def dump_configuration(store: Store) -> str:
    """Everything a configuration snapshot could read, as text."""
    return repr(
        (
            store.trust_anchors.list_all(),
            store.profiles.list_all(),
            store.crls.list_all(),
            store.trust_anchors.count(),
            [store.tags.get(f"{ARN}:profile/{i}") for i in IDS[:2]],
            [store.access_keys.list_for_principal(p) for p in PRINCIPALS],
            [store.access_keys.get(k) for k in KEY_IDS],
            [store.settings.get(n) for n in ("k", "K")],
            [store.secrets.get(n) for n in ("k", "K")],
        )
    )


def dump_subjects(store: Store) -> str:
    """Every subject with its credentials and instance properties, as text."""
    listed = store.subjects.list_page(None, 100)
    return repr((listed, [store.subjects.get(s.id) for s in listed]))


def run(store: Store, steps: list[Step], dump_every: int = 1) -> list[str]:
    """Apply ``steps``; one observation per step, with a full dump every ``dump_every`` steps.

    Dumping after every step also asserts "bumps iff changed" step by step.
    """
    observations = []
    before = dump_configuration(store)
    for n, (label, action) in enumerate(steps):
        version = store.config_version()
        try:
            result = repr(action(store))
        except (KeyError, ValueError, AliasInUseError) as exc:
            result = f"raises {type(exc).__name__}"
        bumped = store.config_version() - version
        observations.append(f"{n}: {label} -> {result} (+{bumped})")
        if dump_every == 1:
            after = dump_configuration(store)
            assert bumped == (1 if after != before else 0), f"step {n}: {label} bumped {bumped}"
            before = after
        if n % dump_every == 0 or n == len(steps) - 1:
            observations.append(dump_configuration(store) + dump_subjects(store))
    return observations


@pytest.mark.parametrize("seed", SEEDS)
def test_random_script_bumps_iff_configuration_changes(seed: int) -> None:
    """On MemoryStore, a write bumps the version by one exactly when the configuration changes.

    The SQL stores are held to the same rule inside the comparison below.
    """
    run(MemoryStore(), script(seed))


@pytest.mark.parametrize(("kind", "seed"), COMPARED)
def test_random_script_same_observations_as_memory(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, seed: int
) -> None:
    """The SQL store answers every step of the script exactly as MemoryStore does.

    Equal version deltas at every step carry MemoryStore's "bumps iff changed" (checked above on
    the same seeds) over to the SQL store; full dumps are compared every ``DUMP_EVERY`` steps.
    """
    steps = script(seed)
    expected = run(MemoryStore(), steps, DUMP_EVERY)
    sql_store = make_store(kind, request, tmp_path)
    try:
        got = run(sql_store, steps, DUMP_EVERY)
    finally:
        sql_store.close()
    for want, have in zip(expected, got, strict=True):
        assert have == want


# --- bumps iff something changed: every write method ----------------------------------------


def _setup(store: Store) -> None:
    """One of each: an anchor, two tags, an access key, a setting, a secret."""
    store.trust_anchors.add(anchor(0))
    store.tags.put(f"{ARN}:x", [Tag("a", "1"), Tag("b", "2")])
    store.access_keys.add(access_key(0))
    store.settings.put("k", "v")
    store.secrets.put("k", b"v")


BUMPS: list[tuple[str, Callable[[Store], Any], Any, bool]] = [
    ("ok/add", lambda s: s.trust_anchors.add(anchor(1)), None, True),
    ("ok/replace-missing", lambda s: s.trust_anchors.replace(anchor(1)), False, False),
    ("ok/replace-identical", lambda s: s.trust_anchors.replace(anchor(0)), True, False),
    ("ok/replace-same-instants", lambda s: s.trust_anchors.replace(anchor(0, zone=1)), True, False),
    ("ok/replace-changed", lambda s: s.trust_anchors.replace(anchor(0, 1)), True, True),
    ("ok/remove-missing", lambda s: s.trust_anchors.remove(IDS[1]), None, False),
    ("ok/remove-present", lambda s: s.trust_anchors.remove(IDS[0]) is not None, True, True),
    ("ok/tags-put-nothing", lambda s: s.tags.put(f"{ARN}:x", []), None, False),
    ("ok/tags-put-same", lambda s: s.tags.put(f"{ARN}:x", [Tag("a", "1")]), None, False),
    ("ok/tags-put-value", lambda s: s.tags.put(f"{ARN}:x", [Tag("a", "2")]), None, True),
    ("ok/tags-put-key", lambda s: s.tags.put(f"{ARN}:x", [Tag("A", "1")]), None, True),
    ("ok/tags-put-elsewhere", lambda s: s.tags.put(f"{ARN}:y", [Tag("a", "1")]), None, True),
    ("ok/tags-remove-none", lambda s: s.tags.remove(f"{ARN}:x", []), None, False),
    ("ok/tags-remove-absent", lambda s: s.tags.remove(f"{ARN}:x", ["A", "c"]), None, False),
    ("ok/tags-remove-other-arn", lambda s: s.tags.remove(f"{ARN}:y", ["a"]), None, False),
    ("ok/tags-remove-present", lambda s: s.tags.remove(f"{ARN}:x", ["a", "c"]), None, True),
    ("ok/tags-clear-empty", lambda s: s.tags.clear(f"{ARN}:y"), None, False),
    ("ok/tags-clear-present", lambda s: s.tags.clear(f"{ARN}:x"), None, True),
    ("ok/key-add", lambda s: s.access_keys.add(access_key(1)), None, True),
    ("ok/key-status-missing", lambda s: s.access_keys.set_status("AKIA2", "Active"), False, False),
    ("ok/key-status-same", lambda s: s.access_keys.set_status("AKIA1", "Active"), True, False),
    ("ok/key-status-changed", lambda s: s.access_keys.set_status("AKIA1", "Inactive"), True, True),
    ("ok/key-remove-missing", lambda s: s.access_keys.remove("akia1"), False, False),
    ("ok/key-remove-present", lambda s: s.access_keys.remove("AKIA1"), True, True),
    ("ok/setting-same", lambda s: s.settings.put("k", "v"), None, False),
    ("ok/setting-changed", lambda s: s.settings.put("k", "w"), None, True),
    ("ok/setting-new", lambda s: s.settings.put("K", "v"), None, True),
    ("ok/secret-same", lambda s: s.secrets.put("k", b"v"), None, False),
    ("ok/secret-changed", lambda s: s.secrets.put("k", b"w"), None, True),
    ("ok/secret-new", lambda s: s.secrets.put("K", b""), None, True),
    ("ok/get-or-create-existing", lambda s: s.secrets.get_or_create("k", b"x"), b"v", False),
    ("ok/get-or-create-new", lambda s: s.secrets.get_or_create("K", b"x"), b"x", True),
    ("ok/put-if-stale", lambda s: s.secrets.put_if("k", b"x", b"y"), False, False),
    ("ok/put-if-same-value", lambda s: s.secrets.put_if("k", b"v", b"v"), True, False),
    ("ok/put-if-changed", lambda s: s.secrets.put_if("k", b"v", b"w"), True, True),
    ("ok/put-if-absent-new", lambda s: s.secrets.put_if("K", None, b"w"), True, True),
    ("ok/put-if-absent-taken", lambda s: s.secrets.put_if("k", None, b"w"), False, False),
    (
        "ok/subjects-never",
        lambda s: s.subjects.record_authentications([auth(0, "01", 0)]),
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("action", "result", "bumps"), [c[1:] for c in BUMPS], ids=[c[0] for c in BUMPS]
)
def test_write_bumps_iff_it_changes_something(
    store: Store, action: Callable[[Store], Any], result: Any, bumps: bool
) -> None:
    """Each write method bumps the version by one when it changes something, else not at all."""
    _setup(store)
    before = store.config_version()
    assert action(store) == result
    assert store.config_version() - before == (1 if bumps else 0)


# --- ties, order, time zones, limits, uniqueness ----------------------------------------------


def test_credential_ties_order_by_serial_then_issuer(store: Store) -> None:
    """Credentials seen at the same instant list by serial number, then issuer, by code point."""
    pairs = [(s, i) for s in SERIALS for i in ISSUERS][:9]
    random.Random(7).shuffle(pairs)
    for serial, issuer in pairs:  # one batch each: insertion order must not matter
        store.subjects.record_authentications([auth(0, serial, 5, issuer=issuer)])
    store.subjects.record_authentications([auth(0, "99", 6), auth(0, "00", 4)])
    (listed,) = store.subjects.list_page(None, 10)
    full = store.subjects.get(listed.id)
    assert full is not None
    assert [(c.serial_number, c.issuer) for c in full.credentials] == [
        ("99", "CN=CA"),
        *sorted(pairs),
    ]  # "00" at 4 s is the eleventh, trimmed


def test_trim_keeps_the_first_by_the_listing_order(store: Store) -> None:
    """With more ties than room, the kept credentials are the first ten of the listing order."""
    pairs = [(s, i) for s in SERIALS for i in ISSUERS]
    random.Random(3).shuffle(pairs)
    store.subjects.record_authentications([auth(1, s, 0, issuer=i) for s, i in pairs])
    (listed,) = store.subjects.list_page(None, 10)
    full = store.subjects.get(listed.id)
    assert full is not None
    assert [(c.serial_number, c.issuer) for c in full.credentials] == sorted(pairs)[:10]


def test_instance_property_ties_order_by_canonical_text(store: Store) -> None:
    """Property sets seen at the same instant list by their canonical JSON; keys come sorted."""
    sets = [{"x": "1"}, {"Y": "1"}, {"\u00e9": "1"}, {"x": "0", "Y": "2"}, {}]
    for props in sets:
        store.subjects.record_authentications([auth(2, "01", 1, properties=props)])
    (listed,) = store.subjects.list_page(None, 10)
    full = store.subjects.get(listed.id)
    assert full is not None
    assert [list(p.properties.items()) for p in full.instance_properties] == [
        [("Y", "1")],
        [("Y", "2"), ("x", "0")],
        [("x", "1")],
        [("\u00e9", "1")],
        [],  # "{}" after '{"...': the quote is U+0022, the brace U+007D
    ]


def test_datetimes_come_back_in_utc(store: Store) -> None:
    """An instant written in another zone is read back as the same instant, in UTC."""
    store.trust_anchors.add(anchor(0, zone=1))
    store.access_keys.add(access_key(0))
    store.subjects.record_authentications([auth(0, "01", 3, zone=2)])
    got = store.trust_anchors.get(IDS[0])
    key = store.access_keys.get(KEY_IDS[0])
    (subject,) = store.subjects.list_page(None, 1)
    full = store.subjects.get(subject.id)
    assert got is not None
    assert key is not None
    assert full is not None
    for value in (
        got.created_at,
        key.created_at,
        subject.last_seen_at,
        full.credentials[0].seen_at,
    ):
        assert value.tzinfo is dt.UTC
    assert got.updated_at == at(0)
    assert full.credentials[0].seen_at == at(3)


def test_naive_datetimes_are_refused(store: Store) -> None:
    """A naive datetime is a caller's bug: every store refuses it and stores nothing."""
    naive = T0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        store.trust_anchors.add(dataclasses.replace(anchor(0), created_at=naive))
    with pytest.raises(ValueError, match="naive"):
        store.access_keys.add(dataclasses.replace(access_key(0), created_at=naive))
    with pytest.raises(ValueError, match="naive"):
        store.subjects.record_authentications(
            [dataclasses.replace(auth(0, "01", 0), seen_at=naive)]
        )
    assert store.trust_anchors.count() == 0
    assert store.access_keys.get(KEY_IDS[0]) is None
    assert store.subjects.list_page(None, 10) == []


def test_page_limits(store: Store) -> None:
    """A page of 0 is empty; a negative page size is refused by every listing."""
    store.profiles.add(profile(0))
    store.subjects.record_authentications([auth(0, "01", 0)])
    assert store.profiles.list_page(None, 0) == []
    assert store.subjects.list_page(None, 0) == []
    with pytest.raises(ValueError, match="negative"):
        store.profiles.list_page(None, -1)
    with pytest.raises(ValueError, match="negative"):
        store.subjects.list_page(None, -1)


def test_text_orders_by_code_point(store: Store) -> None:
    """Ids, tag keys and access key ids order as Python's ``sorted``, not as a locale would."""
    for i in range(len(IDS)):
        store.crls.add(crl(i))
    assert [c.id for c in store.crls.list_all()] == sorted(IDS)
    assert [c.id for c in store.crls.list_page("A", 3)] == sorted(IDS)[2:5]
    assert [c.id for c in store.crls.list_page("a0", 10)] == ["ab", "\u00e9"]
    store.tags.put(f"{ARN}:x", [Tag(k, "") for k in TAG_KEYS])
    assert [t.key for t in store.tags.get(f"{ARN}:x")] == sorted(TAG_KEYS)
    for i in range(len(KEY_IDS)):
        store.access_keys.add(access_key(i))
    assert [k.access_key_id for k in store.access_keys.list_for_principal(PRINCIPALS[0])] == sorted(
        KEY_IDS
    )


def test_lookups_are_case_sensitive(store: Store) -> None:
    """Names, keys and DNs that differ only in case are different entries."""
    store.settings.put("k", "lower")
    store.settings.put("K", "upper")
    store.tags.put(f"{ARN}:x", [Tag("a", "lower"), Tag("A", "upper")])
    store.access_keys.add(access_key(0))
    store.subjects.record_authentications([auth(0, "01", 0), auth(2, "01", 0)])
    assert (store.settings.get("k"), store.settings.get("K")) == ("lower", "upper")
    assert store.tags.get(f"{ARN}:x") == (Tag("A", "upper"), Tag("a", "lower"))
    assert store.access_keys.get("akia1") is None
    assert len(store.subjects.list_page(None, 10)) == 2


def test_arns_are_unique(store: Store) -> None:
    """A second record with a taken ARN is refused on add and on replace, changing nothing."""
    store.trust_anchors.add(anchor(0))
    store.trust_anchors.add(anchor(1))
    with pytest.raises(KeyError):
        store.trust_anchors.add(anchor(2, arn_of=0))
    version = store.config_version()
    with pytest.raises(KeyError):
        store.trust_anchors.replace(anchor(1, 1, arn_of=0))
    assert store.config_version() == version
    assert store.trust_anchors.list_all() == [anchor(0), anchor(1)]
    assert store.trust_anchors.replace(anchor(1, 1, arn_of=5)) is True
    store.trust_anchors.add(anchor(2, arn_of=1))  # the ARN given up is free again
    assert store.trust_anchors.count() == 3


def test_returned_maps_are_copies(store: Store) -> None:
    """Editing a returned instance-property map does not change the stored subject."""
    store.subjects.record_authentications([auth(0, "01", 0, properties={"x": "1"})])
    (listed,) = store.subjects.list_page(None, 1)
    first = store.subjects.get(listed.id)
    assert first is not None
    first.instance_properties[0].properties["x"] = "changed"  # type: ignore[index]
    again = store.subjects.get(listed.id)
    assert again is not None
    assert again.instance_properties[0].properties == {"x": "1"}


def test_batch_is_all_or_nothing(store: Store) -> None:
    """A batch with a refused record writes none of its records, in every store."""
    store.subjects.record_authentications([auth(0, "01", 0)])
    naive = dataclasses.replace(auth(1, "02", 1), seen_at=T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        store.subjects.record_authentications([auth(1, "01", 1), naive])
    taken = dataclasses.replace(auth(1, "03", 2), new_subject_id=auth(0, "01", 0).new_subject_id)
    with pytest.raises(KeyError):
        store.subjects.record_authentications([auth(0, "02", 2), taken])
    (only,) = store.subjects.list_page(None, 10)
    full = store.subjects.get(only.id)
    assert full is not None
    assert full.x509_subject == DNS[0]
    assert [c.serial_number for c in full.credentials] == ["01"]


def test_new_subject_id_taken_within_one_batch(store: Store) -> None:
    """Two new DNs given the same new id in one batch: KeyError, nothing written."""
    second = dataclasses.replace(auth(1, "01", 0), new_subject_id=auth(0, "01", 0).new_subject_id)
    with pytest.raises(KeyError):
        store.subjects.record_authentications([auth(0, "01", 0), second])
    assert store.subjects.list_page(None, 10) == []
