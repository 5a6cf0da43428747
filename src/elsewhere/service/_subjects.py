"""Batched recording of authentications into subject records (``ListSubjects``/``GetSubject``).

CreateSession must not wait on a database write, so each attempt is queued in memory and a
background thread writes batches: every ``flush_interval`` seconds or as soon as ``max_batch``
records are waiting. ``flush()`` writes what is queued now; ``close()`` stops the thread after a
last flush (graceful shutdown). A record queued but not yet flushed is lost if the process dies,
which costs at most one subject's ``lastSeenAt`` update, never a credential.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping

from elsewhere.domain import AuthenticationRecord, format_rolesanywhere_arn
from elsewhere.service._ports import SubjectRepository

__all__ = ["SubjectRecorder"]

_log = logging.getLogger("elsewhere.subjects")


class SubjectRecorder:
    """Queues authentications and writes them to the store in batches."""

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
        self._queue: list[AuthenticationRecord] = []
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

        ``subject_id`` is the id a subject seen for the first time gets (default: ``new_id()``);
        a subject that exists keeps its id.
        """
        subject_id = subject_id if subject_id is not None else self._new_id()
        entry = AuthenticationRecord(
            x509_subject=x509_subject,
            seen_at=seen_at,
            serial_number=serial_number,
            issuer=issuer,
            x509_certificate_data=x509_certificate_data,
            failed=failed,
            new_subject_id=subject_id,
            new_subject_arn=format_rolesanywhere_arn(
                self._partition, self._region, self._account, "subject", subject_id
            ),
            instance_properties=dict(instance_properties) if instance_properties else None,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the subject recorder is closed")
            if len(self._queue) >= self._max_queue:
                # Back-pressure by shedding: the store is far behind; keep serving sessions.
                self.dropped += 1
                return
            self._queue.append(entry)
            full = len(self._queue) >= self._max_batch
        if full:
            self._wake.set()

    def pending(self) -> int:
        """How many records wait to be written."""
        with self._lock:
            return len(self._queue)

    def flush(self) -> None:
        """Write everything queued so far."""
        with self._write_lock:
            while True:
                with self._lock:
                    batch, self._queue = (
                        self._queue[: self._max_batch],
                        self._queue[self._max_batch :],
                    )
                if not batch:
                    return
                try:
                    self._subjects.record_authentications(_coalesce(batch))
                except Exception:
                    # Put the batch back in front so a later flush retries it, then let the
                    # caller (or the thread's loop) see the failure.
                    with self._lock:
                        self._queue[:0] = batch
                    raise

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


def _coalesce(batch: list[AuthenticationRecord]) -> list[AuthenticationRecord]:
    """Keep the latest attempt per subject, certificate, outcome and instance properties.

    The store keeps one row per (subject, issuer, serial) with its last ``seenAt`` and
    ``failed``, so earlier attempts of the same certificate in one batch would only be written
    and overwritten; a workload that asks for credentials in a loop costs one write per flush.
    """
    latest: dict[tuple[object, ...], AuthenticationRecord] = {}
    for rec in batch:
        props = tuple(sorted(rec.instance_properties.items())) if rec.instance_properties else ()
        key = (rec.x509_subject, rec.issuer, rec.serial_number, rec.failed, props)
        seen = latest.get(key)
        if seen is None or rec.seen_at >= seen.seen_at:
            latest.pop(key, None)
            latest[key] = rec
    return sorted(latest.values(), key=lambda r: r.seen_at)
