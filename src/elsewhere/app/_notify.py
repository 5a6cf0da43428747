"""Where expiry notifications go, and the loop that runs them once a day.

Sinks: a webhook (``POST`` of the event as JSON, retried) and a JSON-lines file (appended, one
event per line, reopened on SIGHUP like the audit log). The loop checks at start and then every
``interval`` seconds whether today's notices are due (``Notifier.run_due``), which in a cluster
only one replica's check wins each day.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from elsewhere.audit import AuditLog
from elsewhere.clock import Clock
from elsewhere.service._notifications import Notifier

__all__ = ["FileSink", "NotificationLoop", "WebhookSink"]

_log = logging.getLogger("elsewhere.notifications")

# Status codes worth another try: the receiver is busy or briefly failing.
_RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookSink:
    """POSTs each event as JSON to a URL; retries with backoff, then raises."""

    def __init__(
        self,
        url: str,
        *,
        backoff: Sequence[float] = (1.0, 4.0, 16.0),
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Send to ``url``; after a failure wait each ``backoff`` in turn and try again."""
        self.name = url
        self._url = url
        self._backoff = tuple(backoff)
        self._sleep = sleep
        # No redirects: an event goes where the operator said, nowhere else.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def send(self, event: Mapping[str, Any]) -> None:
        """Deliver ``event``; raise ``RuntimeError`` when every attempt failed."""
        problem = ""
        for attempt in range(len(self._backoff) + 1):
            if attempt:
                self._sleep(self._backoff[attempt - 1])
            try:
                answer = self._client.post(
                    self._url, json=dict(event), headers={"User-Agent": "elsewhere-notifications"}
                )
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if 200 <= answer.status_code < 300:
                return
            problem = f"HTTP {answer.status_code}"
            if answer.status_code not in _RETRIED:
                break
        raise RuntimeError(f"{self._url}: {problem}")

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


class FileSink:
    """Appends each event as one JSON line (created 0600; reopened on SIGHUP)."""

    def __init__(self, path: str) -> None:
        """Append to ``path`` (``-``: standard output)."""
        self.name = path
        self._file = AuditLog(path)

    def send(self, event: Mapping[str, Any]) -> None:
        """Write ``event``; raises when it could not be written."""
        self._file.record(event)

    def reopen(self) -> None:
        """Reopen the file after rotation."""
        self._file.reopen()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class NotificationLoop:
    """A background thread that runs the day's notices when they are due."""

    def __init__(self, notifier: Notifier, clock: Clock, *, interval: float = 600.0) -> None:
        """Check now and every ``interval`` seconds."""
        self._notifier = notifier
        self._clock = clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="elsewhere-notifications", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self._notifier.run_due(self._clock.now())
            except Exception:
                _log.exception("expiry notifications failed; will try again")
            if self._stop.wait(self._interval):
                return

    def close(self) -> None:
        """Stop the loop (a run in progress finishes first)."""
        self._stop.set()
        self._thread.join(timeout=30)
