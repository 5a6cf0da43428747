"""Health of the background loops: failures are logged, counted and shown on ``/ping``.

A loop that fails quietly can leave a server serving stale trust (the configuration snapshot) or
losing what it should record (subject records) while every request still looks fine. Each loop
owns a :class:`LoopHealth`: the first failure of a streak is logged with its traceback, later
ones of the same streak once a minute with their count (a loop that retries every 0.2 s must not
fill the log), and the recovery once. ``/ping`` shows each loop's state and counts, never an error
text or a value, since it answers without authentication.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["HealthReport", "LoopHealth", "LoopState", "report_health"]

#: How often a failure streak is logged again after its first failure, in seconds.
REPEAT_LOG_SECONDS = 60.0


@dataclass(frozen=True)
class LoopState:
    """One loop's state for ``/ping``: counts and times only, no error text."""

    name: str
    failing: bool
    failures: int  # since the server started
    consecutive_failures: int
    failing_for_seconds: float | None  # how long the current streak lasts, None when not failing
    # A condition that needs the operator although the loop runs (records it cannot read).
    impaired: bool = False
    # The loop's own counts of records left out or dropped.
    counts: Mapping[str, int] = field(default_factory=dict)
    # The age of what the loop keeps up to date (the configuration), when it has one.
    age_seconds: float | None = None

    @property
    def eventful(self) -> bool:
        """Whether anything went wrong since the start (a failure, a record left out)."""
        return self.failing or self.impaired or self.failures > 0 or any(self.counts.values())

    def as_json(self) -> dict[str, object]:
        """The state as ``/ping`` shows it."""
        out: dict[str, object] = {
            "name": self.name,
            "failing": self.failing,
            "failures": self.failures,
            "consecutiveFailures": self.consecutive_failures,
        }
        if self.failing_for_seconds is not None:
            out["failingForSeconds"] = round(self.failing_for_seconds, 1)
        out.update(self.counts)
        if self.age_seconds is not None:
            out["ageSeconds"] = round(self.age_seconds, 1)
        return out


class LoopHealth:
    """The failure count and streak of one background loop, and its logging."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        what: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``what`` names the work in log lines ("refreshing the configuration snapshot")."""
        self.name = name
        self._log = logger
        self._what = what
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.failures = 0
        self.consecutive_failures = 0
        self._streak_started: float | None = None
        self._last_logged = 0.0

    def failed(self, error: BaseException) -> None:
        """Count one failure; log it if it starts a streak or the last line is a minute old."""
        now = self._monotonic()
        with self._lock:
            self.failures += 1
            self.consecutive_failures += 1
            first = self._streak_started is None
            if first:
                self._streak_started = now
            due = first or now - self._last_logged >= REPEAT_LOG_SECONDS
            if due:
                self._last_logged = now
            count = self.consecutive_failures
        if first:
            self._log.error("%s failed", self._what, exc_info=error)
        elif due:
            self._log.error(
                "%s is still failing: %d failures in a row (%s: %s)",
                self._what,
                count,
                type(error).__name__,
                error,
            )

    def succeeded(self) -> None:
        """End a failure streak, if there is one, and say so."""
        with self._lock:
            if self._streak_started is None:
                return
            count = self.consecutive_failures
            seconds = self._monotonic() - self._streak_started
            self.consecutive_failures = 0
            self._streak_started = None
        self._log.warning("%s works again after %d failures in %.1f s", self._what, count, seconds)

    def state(
        self,
        *,
        impaired: bool = False,
        counts: Mapping[str, int] | None = None,
        age_seconds: float | None = None,
    ) -> LoopState:
        """A snapshot of the counts, with the loop's own condition and figures."""
        with self._lock:
            started = self._streak_started
            return LoopState(
                name=self.name,
                failing=started is not None,
                failures=self.failures,
                consecutive_failures=self.consecutive_failures,
                failing_for_seconds=None if started is None else self._monotonic() - started,
                impaired=impaired,
                counts=dict(counts or {}),
                age_seconds=age_seconds,
            )


@dataclass(frozen=True)
class HealthReport:
    """What ``/ping`` answers: ``ok``, ``degraded`` (serving, but a loop fails or drops work) or
    ``unavailable`` (the configuration is past its staleness bound: CreateSession is refused)."""

    status: str
    loops: tuple[LoopState, ...] = ()

    @property
    def http_status(self) -> int:
        """200 while the server serves everything, 503 when it refuses CreateSession."""
        return 503 if self.status == "unavailable" else 200

    def as_json(self) -> dict[str, object]:
        """The ``/ping`` body: the status, and the loops once anything went wrong since start."""
        if not any(loop.eventful for loop in self.loops):
            return {"status": self.status}
        return {"status": self.status, "loops": [loop.as_json() for loop in self.loops]}


def report_health(loops: Sequence[LoopState], *, unavailable: bool) -> HealthReport:
    """The report over every loop's state: ``unavailable`` wins; then a loop that is failing now,
    or impaired (records it cannot read), makes the server ``degraded``."""
    if unavailable:
        return HealthReport("unavailable", tuple(loops))
    if any(loop.failing or loop.impaired for loop in loops):
        return HealthReport("degraded", tuple(loops))
    return HealthReport("ok", tuple(loops))
