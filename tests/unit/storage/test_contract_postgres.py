"""What only PostgreSQL shows: the migrations, and several nodes writing one database at once.

Each test has a database of its own (``postgres_database``) and opens it twice, as two replicas
would. PostgreSQL runs writers concurrently (READ COMMITTED), unlike SQLite's single writer, so
the races a replica set meets in production are met here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from functools import partial

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from elsewhere.domain import AuthenticationRecord, Tag
from elsewhere.storage import SqlStore, open_store
from elsewhere.storage._schema import metadata
from elsewhere.storage._sql import _head_revision

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 11, 28, 12, 0, 0, 654321, tzinfo=dt.UTC)
ARN = "arn:aws:rolesanywhere:us-east-1:123456789012"
ROUNDS = 8


@pytest.fixture
def nodes(postgres_database: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one database, as two replicas."""
    one, two = open_store(postgres_database), open_store(postgres_database)
    yield one, two
    one.close()
    two.close()


def race(*actions: Callable[[], object]) -> list[object]:
    """Run the actions at the same moment on threads; re-raise the first failure."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(i: int, action: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return results


def test_migrations_build_the_declared_schema(postgres_url: str) -> None:
    """On PostgreSQL too the migrations give exactly the declared schema, at the head revision."""
    store = open_store(postgres_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        revision = MigrationContext.configure(conn).get_current_revision()
    store.close()
    assert diff == []
    assert revision == _head_revision()


def test_nodes_migrating_together(postgres_database: str) -> None:
    """Opening an already migrated database from two nodes at once changes nothing."""
    stores = race(lambda: open_store(postgres_database), lambda: open_store(postgres_database))
    for store in stores:
        assert isinstance(store, SqlStore)
        store.close()


def test_datetimes_are_utc_whatever_the_session_time_zone(postgres_database: str) -> None:
    """Times come back as the same instant, in UTC, even when the session's zone is not UTC."""
    from elsewhere.domain import AccessKey

    engine = sa.create_engine(
        postgres_database, connect_args={"options": "-c timezone=America/St_Johns"}
    )
    store = SqlStore(engine)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2026, 3, 8, 3, 30, 0, 5, tzinfo=plus_two)
    store.access_keys.add(AccessKey("AKIA1", "s", "arn:aws:iam::1:root", "root", "Active", at))
    got = store.access_keys.get("AKIA1")
    store.close()
    assert got is not None
    assert got.created_at == at
    assert got.created_at.utcoffset() == dt.timedelta(0)


def test_concurrent_config_writes_lose_no_version(nodes: tuple[SqlStore, SqlStore]) -> None:
    """Every configuration write from either node bumps the shared version exactly once."""
    one, two = nodes
    start = one.config_version()
    race(*(partial(s.settings.put, f"k{i}", "v") for i, s in enumerate([one, two] * ROUNDS)))
    assert two.config_version() == start + 2 * ROUNDS


def test_concurrent_put_of_one_setting(nodes: tuple[SqlStore, SqlStore]) -> None:
    """Two nodes setting the same name at once: one value wins, neither write fails."""
    one, two = nodes
    for n in range(ROUNDS):
        race(partial(one.settings.put, f"s{n}", "one"), partial(two.settings.put, f"s{n}", "two"))
        assert one.settings.get(f"s{n}") in ("one", "two")


def test_concurrent_put_of_one_secret(nodes: tuple[SqlStore, SqlStore]) -> None:
    """Two nodes storing the same secret name at once: one value wins, neither write fails."""
    one, two = nodes
    for n in range(ROUNDS):
        race(partial(one.secrets.put, f"s{n}", b"one"), partial(two.secrets.put, f"s{n}", b"two"))
        assert one.secrets.get(f"s{n}") in (b"one", b"two")


def test_concurrent_get_or_create_agrees(nodes: tuple[SqlStore, SqlStore]) -> None:
    """Two nodes creating the same secret at once both get the first writer's value."""
    one, two = nodes
    for n in range(ROUNDS):
        got = race(
            partial(one.secrets.get_or_create, f"ring{n}", b"one"),
            partial(two.secrets.get_or_create, f"ring{n}", b"two"),
        )
        assert got[0] == got[1]
        assert got[0] in (b"one", b"two")


def test_concurrent_tagging_of_one_key(nodes: tuple[SqlStore, SqlStore]) -> None:
    """TagResource of the same key on two replicas at once: last writer wins, no error."""
    one, two = nodes
    for n in range(ROUNDS):
        arn = f"{ARN}:profile/p{n}"
        race(
            partial(one.tags.put, arn, [Tag("team", "one"), Tag("a", "1")]),
            partial(two.tags.put, arn, [Tag("team", "two")]),
        )
        got = one.tags.get(arn)
        assert got in ((Tag("a", "1"), Tag("team", "one")), (Tag("a", "1"), Tag("team", "two")))


def _auth(n: int, serial: str) -> AuthenticationRecord:
    new_id = f"00000000-0000-4000-8000-{n:012d}"
    return AuthenticationRecord(
        x509_subject="CN=shared workload",
        seen_at=T0 + dt.timedelta(seconds=n),
        serial_number=serial,
        issuer="CN=CA",
        x509_certificate_data=f"PEM {serial}",
        failed=False,
        new_subject_id=new_id,
        new_subject_arn=f"{ARN}:subject/{new_id}",
    )


def test_concurrent_first_sight_of_one_subject(nodes: tuple[SqlStore, SqlStore]) -> None:
    """Two nodes recording a new subject at once make one subject holding both credentials."""
    one, two = nodes
    race(
        partial(one.subjects.record_authentications, [_auth(1, "01")]),
        partial(two.subjects.record_authentications, [_auth(2, "02")]),
    )
    (subject,) = one.subjects.list_page(None, 10)
    full = two.subjects.get(subject.id)
    assert full is not None
    assert sorted(c.serial_number for c in full.credentials) == ["01", "02"]
    assert full.last_seen_at == T0 + dt.timedelta(seconds=2)
