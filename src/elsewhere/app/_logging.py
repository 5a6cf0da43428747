"""The server's logs: one buffered stream on standard error, in text or JSON lines.

The access line is the one written for every request, so it is kept cheap: the gateway hands
its fields to :class:`AccessLog`, which formats them in one f-string (the time's text is made
once per second) and appends the line to :class:`LogStream`'s buffer, without a
``logging.LogRecord``, a ``Formatter`` or a ``write`` system call per request. The buffer is
written out by the event loop's tick (every 0.1 s), when it passes 64 KiB, before any other log
record (so the order of lines is kept), and at exit. What can be lost is at most 0.1 s of
access lines if the process is killed; refusals' reasons and everything else logged through
:mod:`logging` are written at once, and the audit log (``--audit-log``) is never buffered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["AccessLog", "JsonFormatter", "LogStream", "configure_logging"]

# The attributes every LogRecord has; anything else was passed in ``extra`` and is a field.
# uvicorn's color_message repeats the message with terminal escapes: not a field.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_json_text = json.encoder.encode_basestring_ascii


def _utc_text(when: float) -> str:
    """RFC 3339 UTC with milliseconds, as JSON lines carry time."""
    moment = dt.datetime.fromtimestamp(when, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class LogStream:
    """Lines gathered in memory and written to one file descriptor in batches."""

    def __init__(self, fd: int = 2, *, max_buffer: int = 64 * 1024) -> None:
        """Write to ``fd`` (standard error by default) once ``max_buffer`` bytes wait, or on
        :meth:`flush`."""
        self._fd = fd
        self._max = max_buffer
        self._parts: list[str] = []
        self._size = 0
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        """Queue ``line`` (which ends in a newline); write the batch out if it is full."""
        with self._lock:
            self._parts.append(line)
            self._size += len(line)
            if self._size < self._max:
                return
            data = self._take()
        self._write(data)

    def write_now(self, line: str) -> None:
        """Write what is queued and ``line`` at once, in order."""
        with self._lock:
            self._parts.append(line)
            data = self._take()
        self._write(data)

    def flush(self) -> None:
        """Write out whatever is queued."""
        with self._lock:
            if not self._parts:
                return
            data = self._take()
        self._write(data)

    def _take(self) -> bytes:
        data = "".join(self._parts).encode("utf-8", "backslashreplace")
        self._parts.clear()
        self._size = 0
        return data

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            # Standard error is gone (a closed pipe): nothing is left to tell. The audit log,
            # which matters, has its own loud failure path.
            pass


class _StreamHandler(logging.Handler):
    """Every log record, formatted, written at once (after any queued access lines)."""

    def __init__(self, stream: LogStream) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._stream.write_now(line + "\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of ASCII JSON."""
        out: dict[str, Any] = {
            "time": _utc_text(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"), default=str)


class AccessLog:
    """The per-request access line, formatted without the logging machinery.

    Text lines read exactly as :mod:`logging`'s ``%(asctime)s INFO elsewhere.access ...`` lines
    did (local time, as the standard formatter writes it); JSON lines carry the same fields as
    members, time in UTC.
    """

    def __init__(
        self,
        stream: LogStream,
        *,
        json_lines: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Write access lines to ``stream``, as text or JSON; ``clock`` tells the time."""
        self._stream = stream
        self._json = json_lines
        self._clock = clock
        self._second = -1
        self._stamp = ""

    def _time_text(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            if self._json:
                self._stamp = dt.datetime.fromtimestamp(second, dt.UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S"
                )
            else:
                self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = int((now - second) * 1000)
        if self._json:
            return f"{self._stamp}.{millis:03d}Z"
        return f"{self._stamp},{millis:03d}"

    def access(
        self,
        client: str,
        method: str,
        path: str,
        status: int,
        milliseconds: float,
        operation: str,
        principal: str,
        request_id: str,
    ) -> None:
        """Queue one request's line."""
        stamp = self._time_text(self._clock())
        if self._json:
            line = (
                f'{{"time":"{stamp}","level":"INFO","logger":"elsewhere.access",'
                f'"client":{_json_text(client)},"method":{_json_text(method)},'
                f'"path":{_json_text(path)},"status":{int(status)},'
                f'"duration_ms":{milliseconds:.1f},"operation":{_json_text(operation)},'
                f'"principal":{_json_text(principal)},"request_id":{_json_text(request_id)}}}\n'
            )
        else:
            line = (
                f"{stamp} INFO elsewhere.access {client} {method} {path} {status} "
                f"{milliseconds:.1f}ms op={operation} principal={principal} "
                f"request_id={request_id}\n"
            )
        self._stream.write(line)

    def decision(
        self,
        client: str,
        request_id: str,
        decision: str,
        status: int,
        milliseconds: float,
        api: str,
        stage: str,
        principal: str,
        resource: str,
        reason: str,
    ) -> None:
        """Queue one authorizer decision's line (its access line too: the authorizer's requests
        get this line instead of the gateway's)."""
        stamp = self._time_text(self._clock())
        if self._json:
            line = (
                f'{{"time":"{stamp}","level":"INFO","logger":"elsewhere.authorizer",'
                f'"client":{_json_text(client)},"request_id":{_json_text(request_id)},'
                f'"decision":{_json_text(decision)},"status":{int(status)},'
                f'"duration_ms":{milliseconds:.1f},"api":{_json_text(api)},'
                f'"stage":{_json_text(stage)},"principal":{_json_text(principal)},'
                f'"resource":{_json_text(resource)},"reason":{_json_text(reason)}}}\n'
            )
        else:
            line = (
                f"{stamp} INFO elsewhere.authorizer request_id={request_id} decision={decision} "
                f"status={status} {milliseconds:.1f}ms client={client} api={api} stage={stage} "
                f"principal={principal} resource={resource or '-'} reason={reason or '-'}\n"
            )
        self._stream.write(line)


def configure_logging(level: str, log_format: str) -> LogStream:
    """Send every log record of the process to one buffered stream on standard error.

    ``log_format`` is ``text`` or ``json``. The caller flushes the stream regularly (the
    server's tick) and at exit.
    """
    sys.stderr.flush()
    stream = LogStream(sys.stderr.fileno())
    handler = _StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return stream
