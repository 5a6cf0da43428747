"""The only place in elsewhere that reads wall time.

Everything that judges validity takes ``now`` as a parameter; the outer layers get it from a
:class:`Clock`. Times are always timezone-aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "utc"]

utc = dt.UTC


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        return dt.datetime.now(utc)


class FixedClock:
    """A clock that says what it is told; for tests."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(utc)

    def now(self) -> dt.datetime:
        """The time this clock was set to."""
        return self._at

    def set(self, at: dt.datetime) -> None:
        """Move the clock to ``at``."""
        self._at = at.astimezone(utc)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._at = self._at + delta
