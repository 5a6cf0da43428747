"""Batched recording of authentications into subject records (``ListSubjects``/``GetSubject``).

CreateSession must not wait on a database write, so each attempt is queued in memory (coalesced
per certificate) and a background thread writes batches: every ``flush_interval`` seconds or as
soon as ``max_batch`` records are waiting. ``flush()`` writes what is queued now; ``close()``
stops the thread after a last flush (graceful shutdown). A record queued but not yet flushed is
lost if the process dies, which costs at most one subject's ``lastSeenAt`` update, never a
credential.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from elsewhere.domain import AuthenticationRecord, format_rolesanywhere_arn
from elsewhere.service._ports import SubjectRepository

__all__ = ["SubjectRecorder"]

_log = logging.getLogger("elsewhere.subjects")


_Key = tuple[str, str, str, bool, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class _Pending:
    """The latest attempt of one certificate and outcome, waiting to be written."""

    seen_at: dt.datetime
    x509_certificate_data: str
    instance_properties: Mapping[str, str] | None
    subject_id: str | None


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
        self.dropped = 0
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
            for start in range(0, len(items), self._max_batch):
                chunk = items[start : start + self._max_batch]
                try:
                    self._subjects.record_authentications([self._entry(k, p) for k, p in chunk])
                except Exception:
                    # Put what is unwritten back so a later flush retries it; attempts queued
                    # meanwhile are newer and win. Then let the caller (or the loop) see it.
                    with self._lock:
                        for key, entry in items[start:]:
                            newer = self._pending.get(key)
                            if newer is None or newer.seen_at < entry.seen_at:
                                self._pending[key] = entry
                    raise

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
            except Exception:
                _log.exception("writing subject records failed; will retry")
            with self._lock:
                if self._closed:
                    return
