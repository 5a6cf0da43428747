"""One contract for every store: MemoryStore, SQLite (a real file), PostgreSQL (when configured).

PostgreSQL runs on the suite's throwaway server (``tests/postgres.py``), or on the server named
by ``ELSEWHERE_TEST_POSTGRES_URL``; without one these cases skip with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from elsewhere.domain import (
    AccessKey,
    AliasInUseError,
    AttributeMapping,
    AuthenticationRecord,
    Crl,
    NotificationSetting,
    Profile,
    Tag,
    TipConfiguration,
    TrustAnchor,
    TrustAnchorSource,
)
from elsewhere.service import Store
from elsewhere.storage import MemoryStore, open_store
from tests.unit.storage._postgres import empty_postgres_store, needs_postgres

T0 = dt.datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=dt.UTC)
ARN = "arn:aws:rolesanywhere:us-east-1:123456789012"


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=needs_postgres),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store under contract."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = open_store(f"sqlite:///{tmp_path / 'contract.db'}")
    else:
        made = empty_postgres_store(request)
    yield made
    made.close()


def uid(n: int) -> str:
    """A UUID whose order follows ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def anchor(n: int, **changes: object) -> TrustAnchor:
    """A trust anchor with every field set."""
    record = TrustAnchor(
        id=uid(n),
        arn=f"{ARN}:trust-anchor/{uid(n)}",
        name=f"anchor {n}",
        source=TrustAnchorSource("CERTIFICATE_BUNDLE", "-----BEGIN CERTIFICATE-----\n"),
        enabled=True,
        created_at=T0,
        updated_at=T0 + dt.timedelta(seconds=n),
        notification_settings=(
            NotificationSetting("CA_CERTIFICATE_EXPIRY", True, 45, "ALL", "x"),
            NotificationSetting("END_ENTITY_CERTIFICATE_EXPIRY", False, None, None, None),
        ),
        crl_dp_revocation_enabled=True,
        alias_name="alias",
        previous_alias_name=None,
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def profile(n: int) -> Profile:
    """A profile with every field set."""
    return Profile(
        id=uid(n),
        arn=f"{ARN}:profile/{uid(n)}",
        name="p",
        enabled=False,
        created_by="arn:aws:iam::123456789012:root",
        role_arns=("arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"),
        managed_policy_arns=(),
        duration_seconds=900,
        accept_role_session_name=True,
        require_instance_properties=False,
        attribute_mappings=(
            AttributeMapping("x509SAN", ("DNS", "Name/*")),
            AttributeMapping("x509Subject", ()),
        ),
        created_at=T0,
        updated_at=T0,
        session_policy='{"Version":"2012-10-17"}',
        alias_name=None,
        previous_alias_name=None,
        tip_configuration=TipConfiguration("ENABLED", None, "x509Subject/CN"),
    )


def crl(n: int, anchor_arn: str) -> Crl:
    """A CRL with binary data (every byte value)."""
    return Crl(
        id=uid(n),
        arn=f"{ARN}:crl/{uid(n)}",
        name="c",
        enabled=True,
        crl_data=bytes(range(256)),
        trust_anchor_arn=anchor_arn,
        created_at=T0,
        updated_at=T0,
    )


# --- repositories -------------------------------------------------------------------------------


def test_records_round_trip(store: Store) -> None:
    """Every field of every record comes back as written, datetimes aware UTC to the microsecond."""
    a, p, c = anchor(1), profile(2), crl(3, anchor(1).arn)
    store.trust_anchors.add(a)
    store.profiles.add(p)
    store.crls.add(c)
    assert store.trust_anchors.get(a.id) == a
    assert store.profiles.get(p.id) == p
    assert store.crls.get(c.id) == c
    got = store.trust_anchors.get(a.id)
    assert got is not None
    assert got.created_at.tzinfo is not None
    assert got.created_at.utcoffset() == dt.timedelta(0)


def test_minimal_records_round_trip(store: Store) -> None:
    """Optional fields left empty come back empty."""
    a = anchor(
        1,
        notification_settings=(),
        alias_name=None,
        source=TrustAnchorSource("AWS_ACM_PCA", None, "arn:aws:acm-pca:x"),
    )
    p = dataclasses.replace(profile(2), session_policy=None, tip_configuration=None)
    store.trust_anchors.add(a)
    store.profiles.add(p)
    assert store.trust_anchors.get(a.id) == a
    assert store.profiles.get(p.id) == p


def test_get_by_alias(store: Store) -> None:
    """A record is found by its exact alias (case-sensitive); a free alias finds nothing."""
    store.trust_anchors.add(anchor(1, alias_name="prod/eu"))
    store.trust_anchors.add(anchor(2, alias_name=None))
    found = store.trust_anchors.get_by_alias("prod/eu")
    assert found is not None
    assert found.id == uid(1)
    assert store.trust_anchors.get_by_alias("Prod/eu") is None
    assert store.trust_anchors.get_by_alias("prod") is None
    assert store.profiles.get_by_alias("prod/eu") is None


def test_previous_alias_name_is_not_kept(store: Store) -> None:
    """previous_alias_name belongs to one update's answer: the store keeps none."""
    store.trust_anchors.add(anchor(1, previous_alias_name="old"))
    assert store.trust_anchors.get(uid(1)) == anchor(1)
    version = store.config_version()
    assert store.trust_anchors.replace(anchor(1, previous_alias_name="older")) is True
    assert store.config_version() == version  # nothing stored changed
    assert store.trust_anchors.get(uid(1)) == anchor(1)


def test_alias_is_unique_per_resource_type(store: Store) -> None:
    """A taken alias is refused on add and replace, changing nothing; case and type tell apart."""
    store.trust_anchors.add(anchor(1, alias_name="prod"))
    version = store.config_version()
    with pytest.raises(AliasInUseError, match="Alias name prod is already in use"):
        store.trust_anchors.add(anchor(2, alias_name="prod"))
    assert store.config_version() == version
    store.trust_anchors.add(anchor(3, alias_name=None))
    version = store.config_version()
    with pytest.raises(AliasInUseError):
        store.trust_anchors.replace(anchor(3, alias_name="prod"))
    assert store.config_version() == version
    assert [a.alias_name for a in store.trust_anchors.list_all()] == ["prod", None]
    store.trust_anchors.add(anchor(4, alias_name=None))  # any number hold no alias
    store.trust_anchors.add(anchor(5, alias_name="Prod"))  # alias names are case-sensitive
    store.profiles.add(dataclasses.replace(profile(6), alias_name="prod"))  # another type
    store.trust_anchors.replace(anchor(1, alias_name="renamed"))
    store.trust_anchors.replace(anchor(3, alias_name="prod"))  # given up, free again
    store.trust_anchors.remove(uid(3))
    store.trust_anchors.add(anchor(7, alias_name="prod"))  # freed by the delete


def test_add_duplicate_id_raises_key_error(store: Store) -> None:
    """Adding a record whose id exists is refused."""
    store.trust_anchors.add(anchor(1))
    with pytest.raises(KeyError):
        store.trust_anchors.add(anchor(1, name="other"))
    assert store.trust_anchors.count() == 1


def test_replace_and_remove(store: Store) -> None:
    """Replace overwrites an existing record only; remove returns what it removed."""
    assert store.trust_anchors.replace(anchor(1)) is False
    store.trust_anchors.add(anchor(1))
    changed = anchor(1, name="renamed", enabled=False)
    assert store.trust_anchors.replace(changed) is True
    assert store.trust_anchors.get(uid(1)) == changed
    assert store.trust_anchors.remove(uid(1)) == changed
    assert store.trust_anchors.remove(uid(1)) is None
    assert store.trust_anchors.get(uid(1)) is None


def test_listing_by_id(store: Store) -> None:
    """list_page is ordered by id and resumes after the given id; count and list_all agree."""
    for n in (5, 1, 4, 2, 3):
        store.profiles.add(profile(n))
    assert [p.id for p in store.profiles.list_page(None, 2)] == [uid(1), uid(2)]
    assert [p.id for p in store.profiles.list_page(uid(2), 2)] == [uid(3), uid(4)]
    assert [p.id for p in store.profiles.list_page(uid(4), 2)] == [uid(5)]
    assert store.profiles.list_page(uid(5), 2) == []
    assert [p.id for p in store.profiles.list_all()] == [uid(n) for n in range(1, 6)]
    assert store.profiles.count() == 5
    assert store.trust_anchors.count() == 0


# --- tags ---------------------------------------------------------------------------------------


def test_tags(store: Store) -> None:
    """Tags merge by key, list by key, are removed by key, and are separate per resource."""
    one, two = f"{ARN}:profile/{uid(1)}", f"{ARN}:profile/{uid(2)}"
    assert store.tags.get(one) == ()
    store.tags.put(one, [Tag("b", "1"), Tag("a", "1")])
    store.tags.put(one, [Tag("a", "2"), Tag("c", "")])
    store.tags.put(two, [Tag("a", "x")])
    assert store.tags.get(one) == (Tag("a", "2"), Tag("b", "1"), Tag("c", ""))
    store.tags.remove(one, ["b", "missing"])
    assert store.tags.get(one) == (Tag("a", "2"), Tag("c", ""))
    store.tags.clear(one)
    assert store.tags.get(one) == ()
    assert store.tags.get(two) == (Tag("a", "x"),)


def test_add_with_tags_and_remove_with_tags(store: Store) -> None:
    """A record added with tags has them; removing it removes them; a refused add adds none."""
    store.trust_anchors.add(anchor(1), [Tag("team", "blue"), Tag("env", "prod")])
    store.profiles.add(profile(2), [Tag("k", "v")])
    store.crls.add(crl(3, anchor(1).arn), (Tag("c", ""),))
    assert store.tags.get(anchor(1).arn) == (Tag("env", "prod"), Tag("team", "blue"))
    assert store.tags.get(profile(2).arn) == (Tag("k", "v"),)
    assert store.tags.get(crl(3, "").arn) == (Tag("c", ""),)
    with pytest.raises(KeyError):
        store.trust_anchors.add(anchor(1, name="again"), [Tag("team", "red")])
    assert store.tags.get(anchor(1).arn) == (Tag("env", "prod"), Tag("team", "blue"))
    store.crls.remove(uid(3))
    store.trust_anchors.remove(uid(1))
    assert store.tags.get(anchor(1).arn) == ()
    assert store.tags.get(crl(3, "").arn) == ()
    assert store.tags.get(profile(2).arn) == (Tag("k", "v"),)


def test_tags_duplicate_keys_in_one_put(store: Store) -> None:
    """Within one put, the last value of a repeated key wins."""
    arn = f"{ARN}:crl/{uid(1)}"
    store.tags.put(arn, [Tag("k", "first"), Tag("k", "last")])
    assert store.tags.get(arn) == (Tag("k", "last"),)


# --- subjects -----------------------------------------------------------------------------------


def auth(subject: str, serial: str, minutes: int, **extra: object) -> AuthenticationRecord:
    """An authentication of ``subject`` ``minutes`` after T0."""
    new_id = uid(abs(hash(subject)) % 10**12)
    record = AuthenticationRecord(
        x509_subject=subject,
        seen_at=T0 + dt.timedelta(minutes=minutes),
        serial_number=serial,
        issuer="CN=CA",
        x509_certificate_data=f"PEM {serial}",
        failed=False,
        new_subject_id=new_id,
        new_subject_arn=f"{ARN}:subject/{new_id}",
    )
    return dataclasses.replace(record, **extra)  # type: ignore[arg-type]


def test_subjects_fold_authentications(store: Store) -> None:
    """Same DN, same subject; lastSeenAt is the latest even out of order; creds newest first."""
    store.subjects.record_authentications(
        [auth("CN=a", "01", 10), auth("CN=a", "02", 30), auth("CN=a", "03", 20, failed=True)]
    )
    store.subjects.record_authentications([auth("CN=a", "01", 5, new_subject_id=uid(99))])
    (listed,) = store.subjects.list_page(None, 10)
    assert listed.credentials == ()
    assert listed.created_at == T0 + dt.timedelta(minutes=10)
    assert listed.last_seen_at == T0 + dt.timedelta(minutes=30)
    full = store.subjects.get(listed.id)
    assert full is not None
    assert [(c.serial_number, c.failed) for c in full.credentials] == [
        ("02", False),
        ("03", True),
        ("01", False),
    ]
    assert full.credentials[2].seen_at == T0 + dt.timedelta(minutes=5)
    assert store.subjects.get(uid(99)) is None


def test_subject_history_is_bounded(store: Store) -> None:
    """Only the most recent credentials and instance-property sets are kept."""
    store.subjects.record_authentications(
        [auth("CN=a", f"{i:02d}", i, instance_properties={"n": str(i % 12)}) for i in range(25)]
    )
    (listed,) = store.subjects.list_page(None, 10)
    full = store.subjects.get(listed.id)
    assert full is not None
    assert [c.serial_number for c in full.credentials] == [f"{i:02d}" for i in range(24, 14, -1)]
    assert len(full.instance_properties) == 10
    assert full.instance_properties[0].properties == {"n": str(24 % 12)}
    assert full.instance_properties[0].seen_at == T0 + dt.timedelta(minutes=24)


def test_subject_listing_pages(store: Store) -> None:
    """Subjects list by id and resume after an id."""
    store.subjects.record_authentications([auth(f"CN={i}", "01", i) for i in range(4)])
    ids = [s.id for s in store.subjects.list_page(None, 10)]
    assert ids == sorted(ids)
    assert [s.id for s in store.subjects.list_page(ids[1], 10)] == ids[2:]


# --- access keys, settings, secrets -------------------------------------------------------------


def test_access_keys(store: Store) -> None:
    """Keys are stored, found, deactivated, listed per principal and removed."""
    root = "arn:aws:iam::123456789012:root"
    key = AccessKey("AKIAEXAMPLE0000001", "s3cr3t", root, "root", "Active", T0)
    other = AccessKey(
        "AKIAEXAMPLE0000002", "x", "arn:aws:iam::123456789012:user/u", "u", "Active", T0
    )
    store.access_keys.add(key)
    store.access_keys.add(other)
    with pytest.raises(KeyError):
        store.access_keys.add(key)
    assert store.access_keys.get(key.access_key_id) == key
    assert store.access_keys.set_status(key.access_key_id, "Inactive") is True
    assert store.access_keys.set_status("AKIAMISSING", "Inactive") is False
    assert store.access_keys.list_for_principal(root) == [
        dataclasses.replace(key, status="Inactive")
    ]
    assert store.access_keys.remove(key.access_key_id) is True
    assert store.access_keys.remove(key.access_key_id) is False
    assert store.access_keys.get(key.access_key_id) is None


def test_settings_and_secrets(store: Store) -> None:
    """Named values are set and overwritten; get_or_create keeps the first value."""
    assert store.settings.get("bootstrap") is None
    store.settings.put("bootstrap", "done")
    store.settings.put("bootstrap", "again")
    assert store.settings.get("bootstrap") == "again"
    assert store.secrets.get("ring") is None
    assert store.secrets.get_or_create("ring", b"\x00first") == b"\x00first"
    assert store.secrets.get_or_create("ring", b"second") == b"\x00first"
    store.secrets.put("ring", b"\xffthird")
    assert store.secrets.get("ring") == b"\xffthird"


def test_config_version_grows_on_every_configuration_write(store: Store) -> None:
    """Each configuration write that changes something bumps the version; subjects do not."""
    versions = [store.config_version()]

    def step() -> None:
        versions.append(store.config_version())
        assert versions[-1] > versions[-2]

    store.trust_anchors.add(anchor(1))
    step()
    store.trust_anchors.replace(anchor(1, enabled=False))
    step()
    store.profiles.add(profile(2))
    step()
    store.crls.add(crl(3, anchor(1).arn))
    step()
    store.crls.remove(uid(3))
    step()
    store.tags.put(anchor(1).arn, [Tag("a", "b"), Tag("c", "d")])
    step()
    store.tags.remove(anchor(1).arn, ["a"])
    step()
    store.tags.clear(anchor(1).arn)
    step()
    store.access_keys.add(AccessKey("AKIA1", "s", "arn:aws:iam::1:root", "root", "Active", T0))
    step()
    store.settings.put("x", "y")
    step()
    store.secrets.put("x", b"y")
    step()
    before = store.config_version()
    store.subjects.record_authentications([auth("CN=a", "01", 0)])
    assert store.config_version() == before
