"""Credentials kept fresh for long-running commands (``serve``, ``update``, boto3 sessions).

The policy follows the fixed ``serve`` of AWS's helper (reference §7.4, PR #200): refresh when less
than ten minutes are left, keep the last good credentials when a refresh fails, throttle retries,
and report failure only when no valid credentials remain.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from elsewhere.client._errors import ClientError
from elsewhere.client._session import SessionCredentials
from elsewhere.clock import Clock, SystemClock

__all__ = ["CredentialCache", "CredentialsUnavailableError"]

_log = logging.getLogger("elsewhere.client")


class CredentialsUnavailableError(ClientError):
    """No valid credentials: the last refresh failed and nothing unexpired is held."""

    code = "CredentialsUnavailable"
    status = 500


class CredentialCache:
    """Holds the current credentials and refreshes them through ``fetch`` when they run low."""

    def __init__(
        self,
        fetch: Callable[[], SessionCredentials],
        *,
        clock: Clock | None = None,
        refresh_before: dt.timedelta = dt.timedelta(minutes=10),
        retry_interval: dt.timedelta = dt.timedelta(seconds=5),
    ) -> None:
        self._fetch = fetch
        self._clock = clock or SystemClock()
        self._refresh_before = refresh_before
        self._retry_interval = retry_interval
        self._lock = threading.Lock()
        self._current: SessionCredentials | None = None
        self._last_updated: dt.datetime | None = None
        self._last_failure: dt.datetime | None = None
        self._last_error: ClientError | None = None

    @property
    def last_updated(self) -> dt.datetime | None:
        """When the held credentials were obtained."""
        return self._last_updated

    def get(self) -> SessionCredentials:
        """Valid credentials, refreshed if fewer than ``refresh_before`` remain.

        Raises :class:`CredentialsUnavailableError` when a refresh fails and nothing valid is held.
        """
        with self._lock:
            now = self._clock.now()
            current = self._current
            if current is not None and current.expiration - now > self._refresh_before:
                return current
            throttled = (
                self._last_failure is not None and now - self._last_failure < self._retry_interval
            )
            if not throttled:
                try:
                    fresh = self._fetch()
                except ClientError as exc:
                    self._last_failure = now
                    self._last_error = exc
                    _log.warning("refreshing credentials failed: %s", exc.message)
                else:
                    self._current = fresh
                    self._last_updated = now
                    self._last_failure = None
                    self._last_error = None
                    return fresh
            if current is not None and current.expiration > now:
                return current
            detail = self._last_error.message if self._last_error else "no credentials yet"
            raise CredentialsUnavailableError(f"no valid credentials: {detail}")
