"""Batched recording of authentications into subject records (``ListSubjects``/``GetSubject``).

CreateSession must not wait on a database write, so each attempt is queued in memory (coalesced
per certificate) and a background thread writes batches: every ``flush_interval`` seconds or as
soon as ``max_batch`` records are waiting. ``flush()`` writes what is queued now; ``close()``
stops the thread after a last flush (graceful shutdown). A record queued but not yet flushed is
lost if the process dies, which costs at most one subject's ``lastSeenAt`` update, never a
credential.

One record the store refuses must not stop the others: a batch that fails is written again one
record at a time, and a record that fails on its own while others succeed, or that has failed in
``MAX_ATTEMPTS`` flushes, is dropped, logged and counted. Records holding text no store can hold
are dropped as they are queued. Failures are counted and shown on ``/ping``
(:mod:`elsewhere.service._health`); a failing store is logged once per streak and then once a
minute, not on every flush.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from elsewhere.domain import AuthenticationRecord, format_rolesanywhere_arn, unstorable_constraints
from elsewhere.service._health import LoopHealth, LoopState
from elsewhere.service._ports import SubjectRepository

__all__ = ["MAX_ATTEMPTS", "SubjectRecorder"]

_log = logging.getLogger("elsewhere.subjects")

#: Flushes a record may fail in before it is dropped (20 flushes of 0.5 s: a store that is down for
#: longer loses the attempts it missed, never a credential).
MAX_ATTEMPTS = 20
# Single writes that fail in a row, with none succeeding, before the store is taken to be down.
_PROBES = 3


_Key = tuple[str, str, str, bool, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class _Pending:
    """The latest attempt of one certificate and outcome, waiting to be written."""

    seen_at: dt.datetime
    x509_certificate_data: str
    instance_properties: Mapping[str, str] | None
    subject_id: str | None
    attempts: int = 0  # flushes that failed to write it


class SubjectRecorder:
    """Queues authentications, coalesced per certificate, and writes them to the store in batches.

    The store keeps one row per (subject, issuer, serial) with its last ``seenAt`` and ``failed``,
    so attempts of one certificate with one outcome (and one set of instance properties) are
    coalesced as they arrive: a workload that asks for credentials in a loop costs one dictionary
    update per request and one row per flush. ``max_queue`` bounds the distinct certificates
    waiting; ``max_batch`` is the size of one write transaction and wakes the writer early.
    """

    def __init__(
        self,
        subjects: SubjectRepository,
        *,
        account_id: str,
        region: str,
        partition: str = "aws",
        flush_interval: float = 0.5,
        max_batch: int = 200,
        max_queue: int = 100_000,
        background: bool = True,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._subjects = subjects
        self._account = account_id
        self._region = region
        self._partition = partition
        self._interval = flush_interval
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._new_id = new_id
        self._pending: dict[_Key, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.dropped = 0  # attempts shed because the queue was full
        self.unwritable = 0  # records dropped because the store refused them
        self.health = LoopHealth("subjectRecording", _log, "writing subject records")
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name="elsewhere-subject-recorder", daemon=True
            )
            self._thread.start()

    def record(
        self,
        *,
        x509_subject: str,
        seen_at: dt.datetime,
        serial_number: str,
        issuer: str,
        x509_certificate_data: str,
        failed: bool,
        instance_properties: Mapping[str, str] | None = None,
        subject_id: str | None = None,
    ) -> None:
        """Queue one CreateSession attempt (never blocks on the store).

        ``subject_id`` is the id a subject seen for the first time gets (default: ``new_id()``
        when the record is written); a subject that exists keeps its id.
        """
        props = tuple(sorted(instance_properties.items())) if instance_properties else ()
        key: _Key = (x509_subject, issuer, serial_number, failed, props)
        texts = (x509_subject, issuer, serial_number, *(t for kv in props for t in kv))
        if any(unstorable_constraints(t) for t in texts):
            # CreateSession refuses such properties and DNs escape such characters; whatever
            # still holds one would fail every batch it is in (domain._text).
            with self._lock:
                self.unwritable += 1
            _log.warning("subject record of %r not queued: it holds text no store can hold", key)
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("the subject recorder is closed")
            seen = self._pending.get(key)
            if seen is not None:
                if seen_at >= seen.seen_at:
                    seen.seen_at = seen_at
                    seen.x509_certificate_data = x509_certificate_data
                return
            if len(self._pending) >= self._max_queue:
                # Back-pressure by shedding: the store is far behind; keep serving sessions.
                self.dropped += 1
                return
            self._pending[key] = _Pending(
                seen_at,
                x509_certificate_data,
                dict(instance_properties) if instance_properties else None,
                subject_id,
            )
            full = len(self._pending) >= self._max_batch
        if full:
            self._wake.set()

    def pending(self) -> int:
        """How many records (distinct certificate, outcome and properties) wait to be written."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Write everything queued when the flush begins, ``max_batch`` records per transaction.

        Attempts queued while it writes wait for the next flush, so a busy server writes a few
        transactions per interval rather than one per request.
        """
        with self._write_lock:
            with self._lock:
                taken, self._pending = self._pending, {}
            items = sorted(taken.items(), key=lambda item: item[1].seen_at)
            failure: Exception | None = None
            requeued = False
            for start in range(0, len(items), self._max_batch):
                chunk = items[start : start + self._max_batch]
                if failure is not None and requeued:
                    # The store looks down: keep the rest for the next flush, untried.
                    self._requeue(chunk, tried=False, store_works=False)
                    continue
                try:
                    self._subjects.record_authentications([self._entry(k, p) for k, p in chunk])
                    continue
                except Exception as exc:
                    failure = exc
                requeued = self._write_one_by_one(chunk) or requeued
            if failure is not None and requeued:
                raise failure

    def _write_one_by_one(self, chunk: list[tuple[_Key, _Pending]]) -> bool:
        """Write a batch that failed one record at a time; True if records were put back.

        One record the store refuses must not keep the others out. After ``_PROBES`` failures in
        a row with no success the store is taken to be down, and the rest is put back untried.
        """
        wrote = False
        failed: list[tuple[_Key, _Pending]] = []
        misses = 0
        for i, (key, pending) in enumerate(chunk):
            if misses >= _PROBES and not wrote:
                self._requeue(failed, tried=True, store_works=False)
                self._requeue(chunk[i:], tried=False, store_works=False)
                return True
            try:
                self._subjects.record_authentications([self._entry(key, pending)])
            except Exception:
                failed.append((key, pending))
                misses += 1
                continue
            wrote, misses = True, 0
        return self._requeue(failed, tried=True, store_works=wrote)

    def _requeue(
        self, records: list[tuple[_Key, _Pending]], *, tried: bool, store_works: bool
    ) -> bool:
        """Put records back for a later flush, or drop those that cannot be written.

        A record that failed on its own while others of its batch were written is refused for
        itself, not because the store is down, and so is one that failed in :data:`MAX_ATTEMPTS`
        flushes: both are dropped. Attempts queued meanwhile are newer and win. True if any
        record was put back.
        """
        dropped = []
        kept = False
        with self._lock:
            for key, entry in records:
                if tried:
                    entry.attempts += 1
                    if store_works or entry.attempts >= MAX_ATTEMPTS:
                        self.unwritable += 1
                        dropped.append(key)
                        continue
                kept = True
                newer = self._pending.get(key)
                if newer is None or newer.seen_at < entry.seen_at:
                    self._pending[key] = entry
        for key in dropped:
            _log.warning("subject record of %r dropped: the store does not take it", key)
        return kept

    def state(self) -> LoopState:
        """The writer's state for ``/ping``: failures, and records shed or dropped."""
        with self._lock:
            counts = {"droppedRecords": self.dropped, "unwritableRecords": self.unwritable}
        return self.health.state(counts=counts)

    def _entry(self, key: _Key, pending: _Pending) -> AuthenticationRecord:
        x509_subject, issuer, serial_number, failed, _ = key
        subject_id = pending.subject_id if pending.subject_id is not None else self._new_id()
        return AuthenticationRecord(
            x509_subject=x509_subject,
            seen_at=pending.seen_at,
            serial_number=serial_number,
            issuer=issuer,
            x509_certificate_data=pending.x509_certificate_data,
            failed=failed,
            new_subject_id=subject_id,
            new_subject_arn=format_rolesanywhere_arn(
                self._partition, self._region, self._account, "subject", subject_id
            ),
            instance_properties=pending.instance_properties,
        )

    def close(self) -> None:
        """Stop the background thread after writing what is queued."""
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:
                self.health.failed(exc)  # logged once per streak, then once a minute
            else:
                self.health.succeeded()
            with self._lock:
                if self._closed:
                    return
