"""The audit log file: one JSON line per record, appended, reopened on request for rotation.

Records are written before the call's answer leaves the server, one ``write(2)`` per line on a
descriptor opened with ``O_APPEND``: several processes may share one file (each line lands
whole, POSIX ``write`` with ``O_APPEND``), and nothing is buffered in memory where a crash could
lose it.

When a write fails (disk full, a closed pipe, a file system gone read-only) the failure is loud
and the record is not lost: :meth:`AuditLog.record` logs the whole record at ERROR on the error
log (standard error), counts the failure, and raises :class:`AuditWriteError`, so the caller can
refuse to hand out the call's result (the gateway answers 500 instead). Every later record tries
the file again, so the log resumes by itself once the cause is fixed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["AuditLog", "AuditTrail", "AuditWriteError", "format_record"]

_log = logging.getLogger("elsewhere.audit")


class AuditWriteError(Exception):
    """An audit record could not be written to the audit log."""


class AuditTrail(Protocol):
    """Where audit records go: one record per call or decision."""

    def record(self, event: Mapping[str, Any]) -> None:
        """Write ``event``; raises :class:`AuditWriteError` if it could not be written."""
        ...


def _default(value: object) -> object:
    """JSON for what the protocol layer hands over besides JSON's own types."""
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return str(isoformat())
    return str(value)


def format_record(event: Mapping[str, Any]) -> bytes:
    """One record as one line of ASCII JSON (every control and non-ASCII character escaped, so
    a value can never split a record in two, and a lone surrogate cannot fail the encoding)."""
    return json.dumps(event, separators=(",", ":"), default=_default).encode("ascii") + b"\n"


class AuditLog:
    """An append-only JSON-lines file (or standard output for ``-``)."""

    def __init__(self, path: str) -> None:
        """Open ``path`` for appending (created 0600); ``-`` writes to standard output."""
        self._path = path
        self._lock = threading.Lock()
        self._fd = -1
        self.records = 0
        self.failures = 0
        self._open()

    @property
    def path(self) -> str:
        """The path given (``-`` for standard output)."""
        return self._path

    def _open(self) -> None:
        if self._path == "-":
            self._fd = 1
            return
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def record(self, event: Mapping[str, Any]) -> None:
        """Append ``event`` as one line; on failure log it whole and raise AuditWriteError."""
        line = format_record(event)
        with self._lock:
            try:
                if self._fd < 0:
                    self._open()  # a reopen that failed earlier: try again
                view = memoryview(line)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError as exc:
                self.failures += 1
                failed: OSError | None = exc
            else:
                self.records += 1
                return
        # Outside the lock: the error log may itself be slow. The record goes there whole, so
        # a failed write never loses it (README, "Audit log").
        _log.error(
            "audit record not written to %s (%s); the record follows: %s",
            self._path,
            failed,
            line.decode("ascii").rstrip("\n"),
        )
        raise AuditWriteError(f"audit log {self._path}: {failed}") from failed

    def reopen(self) -> None:
        """Close and reopen the file (after logrotate moved it away); a no-op for ``-``."""
        if self._path == "-":
            return
        with self._lock:
            old, self._fd = self._fd, -1
            if old >= 0:
                os.close(old)
            try:
                self._open()
            except OSError as exc:
                # Loud, and retried by the next record; that record fails closed if it fails too.
                _log.error("reopening the audit log %s failed: %s", self._path, exc)
                return
        _log.info("audit log %s reopened", self._path)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd > 2:
                os.close(self._fd)
            self._fd = -1
