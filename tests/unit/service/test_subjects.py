"""ListSubjects, GetSubject, and the batched SubjectRecorder that feeds them."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from elsewhere.domain import is_uuid
from elsewhere.errors import ResourceNotFound
from elsewhere.service import ControlPlane, Store, SubjectRecorder
from elsewhere.service._subjects import MAX_ATTEMPTS
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, T0

ISSUER = "CN=Test Root CA"


def recorder(store: Store, **kwargs: Any) -> SubjectRecorder:
    """A recorder over the test store, without its background thread unless asked."""
    kwargs.setdefault("background", False)
    return SubjectRecorder(store.subjects, account_id=ACCOUNT, region=REGION, **kwargs)


def seen(rec: SubjectRecorder, subject: str, serial: str, minutes: int, **extra: Any) -> None:
    """Record one authentication ``minutes`` after T0."""
    rec.record(
        x509_subject=subject,
        seen_at=T0 + dt.timedelta(minutes=minutes),
        serial_number=serial,
        issuer=ISSUER,
        x509_certificate_data=f"PEM {serial}",
        failed=False,
        **extra,
    )


def test_subjects_are_recorded_and_listed(cp: ControlPlane, store: Store) -> None:
    """One subject per distinct DN; lastSeenAt follows the latest use; credentials newest first."""
    rec = recorder(store)
    seen(rec, "CN=alice", "01", 0)
    seen(rec, "CN=bob", "02", 1)
    seen(rec, "CN=alice", "03", 2, instance_properties={"host": "a1"})
    assert rec.pending() == 3
    rec.flush()
    assert rec.pending() == 0

    listed = cp.handle("ListSubjects", {}, CALLER)["subjects"]
    assert sorted(s["x509Subject"] for s in listed) == ["CN=alice", "CN=bob"]
    alice = next(s for s in listed if s["x509Subject"] == "CN=alice")
    assert is_uuid(alice["subjectId"])
    assert alice["subjectArn"] == (
        f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:subject/{alice['subjectId']}"
    )
    assert alice["enabled"] is True
    assert alice["createdAt"] == T0
    assert alice["lastSeenAt"] == T0 + dt.timedelta(minutes=2)
    assert set(alice) == {
        "subjectArn",
        "subjectId",
        "enabled",
        "x509Subject",
        "lastSeenAt",
        "createdAt",
        "updatedAt",
    }

    detail = cp.handle("GetSubject", {"subjectId": alice["subjectId"]}, CALLER)["subject"]
    assert [c["serialNumber"] for c in detail["credentials"]] == ["03", "01"]
    assert detail["credentials"][0] == {
        "seenAt": T0 + dt.timedelta(minutes=2),
        "serialNumber": "03",
        "issuer": ISSUER,
        "enabled": True,
        "x509CertificateData": "PEM 03",
        "failed": False,
    }
    assert detail["instanceProperties"] == [
        {"seenAt": T0 + dt.timedelta(minutes=2), "properties": {"host": "a1"}, "failed": False}
    ]


def test_same_certificate_is_one_credential(cp: ControlPlane, store: Store) -> None:
    """Using the same certificate again updates its seenAt instead of adding a row."""
    rec = recorder(store)
    seen(rec, "CN=alice", "01", 0)
    seen(rec, "CN=alice", "01", 5)
    rec.flush()
    subject_id = cp.handle("ListSubjects", {}, CALLER)["subjects"][0]["subjectId"]
    creds = cp.handle("GetSubject", {"subjectId": subject_id}, CALLER)["subject"]["credentials"]
    assert [(c["serialNumber"], c["seenAt"]) for c in creds] == [
        ("01", T0 + dt.timedelta(minutes=5))
    ]


def test_flushes_in_batches(store: Store) -> None:
    """A flush writes everything, max_batch records per transaction."""
    rec = recorder(store, max_batch=2)
    for i in range(5):
        seen(rec, f"CN=s{i}", "01", i)
    rec.flush()
    assert len(store.subjects.list_page(None, 100)) == 5


def test_background_thread_flushes_and_close_drains(store: Store) -> None:
    """The thread writes on its own; close() writes the rest and stops it."""
    rec = recorder(store, background=True, flush_interval=0.01)
    seen(rec, "CN=early", "01", 0)
    deadline = time.monotonic() + 5
    while rec.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rec.pending() == 0
    seen(rec, "CN=late", "02", 1)
    rec.close()
    assert {s.x509_subject for s in store.subjects.list_page(None, 10)} == {"CN=early", "CN=late"}
    with pytest.raises(RuntimeError):
        seen(rec, "CN=after", "03", 2)


def test_queue_limit_sheds(store: Store) -> None:
    """Beyond max_queue, records are dropped and counted rather than blocking."""
    rec = recorder(store, max_queue=2)
    for i in range(4):
        seen(rec, f"CN={i}", "01", i)
    assert (rec.pending(), rec.dropped) == (2, 2)


class _FlakyStore:
    """A subject repository that refuses every write while ``down``, and any record whose
    subject is in ``refused`` (as a store refuses a value it cannot hold)."""

    def __init__(self, store: Store | None = None, refused: tuple[str, ...] = ()) -> None:
        self.down = False
        self.refused = refused
        self.calls = 0
        self.written: list[str] = []

    def record_authentications(self, batch: Any) -> None:
        self.calls += 1
        if self.down:
            raise OSError("database down")
        if any(r.x509_subject in self.refused for r in batch):
            raise ValueError("the store cannot hold this record")
        self.written.extend(r.x509_subject for r in batch)

    def get(self, subject_id: str) -> None:
        return None

    def list_page(self, after: str | None, limit: int) -> list[Any]:
        return []


def flaky_recorder(flaky: _FlakyStore) -> SubjectRecorder:
    """A recorder over ``flaky``, without its background thread."""
    return SubjectRecorder(flaky, account_id=ACCOUNT, region=REGION, background=False)


def test_failed_flush_keeps_the_batch() -> None:
    """If the store is down, the batch stays queued for the next flush."""
    flaky = _FlakyStore()
    rec = flaky_recorder(flaky)
    seen(rec, "CN=x", "01", 0)
    flaky.down = True
    with pytest.raises(OSError, match="down"):
        rec.flush()
    assert rec.pending() == 1
    flaky.down = False
    rec.flush()
    assert (rec.pending(), flaky.written, rec.unwritable) == (0, ["CN=x"], 0)


def test_store_down_is_probed_with_few_single_writes() -> None:
    """A batch that fails is retried one by one, but three failures in a row stop the probing."""
    flaky = _FlakyStore()
    rec = flaky_recorder(flaky)
    for i in range(10):
        seen(rec, f"CN={i}", "01", i)
    flaky.down = True
    with pytest.raises(OSError, match="down"):
        rec.flush()
    assert (flaky.calls, rec.pending(), rec.unwritable) == (4, 10, 0)


def test_one_unwritable_record_does_not_hold_back_the_others() -> None:
    """A record the store refuses is dropped and counted; the rest of its batch is written."""
    flaky = _FlakyStore(refused=("CN=poison",))
    rec = flaky_recorder(flaky)
    seen(rec, "CN=a", "01", 0)
    seen(rec, "CN=poison", "02", 1)
    seen(rec, "CN=b", "03", 2)
    rec.flush()  # handled: nothing left to retry, so nothing is raised
    assert sorted(flaky.written) == ["CN=a", "CN=b"]
    assert (rec.pending(), rec.unwritable) == (0, 1)
    seen(rec, "CN=c", "04", 3)
    rec.flush()
    assert flaky.written[-1] == "CN=c"
    assert rec.state().as_json()["unwritableRecords"] == 1


def test_lone_unwritable_record_is_dropped_after_max_attempts() -> None:
    """A record that fails alone is retried for MAX_ATTEMPTS flushes, then dropped."""
    flaky = _FlakyStore(refused=("CN=poison",))
    rec = flaky_recorder(flaky)
    seen(rec, "CN=poison", "01", 0)
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(ValueError, match="cannot hold"):
            rec.flush()
        assert rec.pending() == 1
    rec.flush()
    assert (rec.pending(), rec.unwritable) == (0, 1)


@pytest.mark.parametrize(
    ("case", "subject", "properties"),
    [
        ("fail/nul-in-subject", "CN=a\x00", None),
        ("fail/surrogate-in-property", "CN=a", {"k": "\ud800"}),
        ("fail/nul-in-property-key", "CN=a", {"\x00": "v"}),
    ],
)
def test_unstorable_records_are_not_queued(
    store: Store, case: str, subject: str, properties: dict[str, str] | None
) -> None:
    """A record holding text no store can hold is counted and never queued."""
    rec = recorder(store)
    seen(rec, subject, "01", 0, instance_properties=properties)
    assert (rec.pending(), rec.unwritable) == (0, 1), case
    rec.flush()


def test_the_loop_counts_failures_and_recovers() -> None:
    """The background writer counts a failing store on /ping and clears it once writes work."""
    flaky = _FlakyStore()
    flaky.down = True
    rec = SubjectRecorder(flaky, account_id=ACCOUNT, region=REGION, flush_interval=0.01)
    try:
        seen(rec, "CN=x", "01", 0)
        deadline = time.monotonic() + 10
        while rec.state().consecutive_failures < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        state = rec.state()
        assert state.failing
        assert state.failures >= 3
        flaky.down = False
        while rec.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        while rec.state().failing and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flaky.written == ["CN=x"]
        assert not rec.state().failing
        assert rec.state().failures >= 3
    finally:
        rec.close()


def test_unknown_subject_is_404(cp: ControlPlane) -> None:
    """GetSubject of an unknown id answers ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle("GetSubject", {"subjectId": "00000000-0000-4000-8000-000000000000"}, CALLER)


def test_list_subjects_pages(cp: ControlPlane, store: Store) -> None:
    """ListSubjects pages like the other listings."""
    rec = recorder(store)
    for i in range(3):
        seen(rec, f"CN={i}", "01", i)
    rec.flush()
    first = cp.handle("ListSubjects", {"pageSize": 2}, CALLER)
    second = cp.handle("ListSubjects", {"pageSize": 2, "nextToken": first["nextToken"]}, CALLER)
    names = [s["x509Subject"] for s in first["subjects"] + second["subjects"]]
    assert sorted(names) == ["CN=0", "CN=1", "CN=2"]
    assert "nextToken" not in second


def test_explicit_subject_id_is_used_for_a_new_subject(store: Store) -> None:
    """A new subject takes the given id; an existing one keeps its own."""
    rec = recorder(store)
    first = "11111111-1111-4111-8111-111111111111"
    seen(rec, "CN=x", "01", 0, subject_id=first)
    seen(rec, "CN=x", "02", 1, subject_id="22222222-2222-4222-8222-222222222222")
    rec.flush()
    (subject,) = store.subjects.list_page(None, 10)
    assert subject.id == first
    assert subject.arn == f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:subject/{first}"


def test_repeated_attempts_of_one_certificate_are_one_write() -> None:
    """A batch keeps the latest attempt per certificate and outcome; older ones are not written."""
    written: list[list[object]] = []

    class Capture:
        def record_authentications(self, batch: list[object]) -> None:
            written.append(list(batch))

    rec = SubjectRecorder(Capture(), account_id=ACCOUNT, region=REGION, background=False)  # type: ignore[arg-type]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(5):
        rec.record(
            x509_subject="CN=w",
            seen_at=start + dt.timedelta(seconds=i),
            serial_number="1",
            issuer="CN=ca",
            x509_certificate_data="pem",
            failed=False,
        )
    rec.record(
        x509_subject="CN=w",
        seen_at=start + dt.timedelta(seconds=9),
        serial_number="2",
        issuer="CN=ca",
        x509_certificate_data="pem",
        failed=True,
    )
    rec.flush()
    (batch,) = written
    assert [(r.serial_number, r.seen_at.second, r.failed) for r in batch] == [  # type: ignore[attr-defined]
        ("1", 4, False),
        ("2", 9, True),
    ]


def test_flush_writes_only_what_was_queued_when_it_began() -> None:
    """Attempts arriving during a write wait for the next flush instead of one write each."""
    writes: list[list[str]] = []

    class Arriving:
        def record_authentications(self, batch: list[Any]) -> None:
            writes.append([r.x509_subject for r in batch])
            if len(writes) == 1:
                seen(rec, "CN=late", "02", 1)

    rec = SubjectRecorder(Arriving(), account_id=ACCOUNT, region=REGION, background=False)  # type: ignore[arg-type]
    seen(rec, "CN=early", "01", 0)
    rec.flush()
    assert writes == [["CN=early"]]
    assert rec.pending() == 1
    rec.flush()
    assert writes == [["CN=early"], ["CN=late"]]


def test_failed_flush_does_not_overwrite_a_newer_attempt() -> None:
    """A batch put back after a failure keeps any newer attempt of the same certificate."""
    batches: list[list[Any]] = []

    class FailOnce:
        def record_authentications(self, batch: list[Any]) -> None:
            batches.append(batch)
            if len(batches) == 1:
                seen(rec, "CN=x", "01", 7)
            if len(batches) <= 2:  # the batch, then its one record written alone
                raise OSError("database down")

    rec = SubjectRecorder(FailOnce(), account_id=ACCOUNT, region=REGION, background=False)  # type: ignore[arg-type]
    seen(rec, "CN=x", "01", 0)
    with pytest.raises(OSError, match="down"):
        rec.flush()
    rec.flush()
    assert [r.seen_at for r in batches[-1]] == [T0 + dt.timedelta(minutes=7)]


def test_coalesced_attempts_count_once_against_the_queue_limit(store: Store) -> None:
    """Repeats of one certificate do not use up the queue: only distinct certificates count."""
    rec = recorder(store, max_queue=2)
    for minute in range(10):
        seen(rec, "CN=loop", "01", minute)
    seen(rec, "CN=other", "02", 11)
    assert (rec.pending(), rec.dropped) == (2, 0)
