"""The one spelling of an instant that AWS uses in answers and context keys."""

from __future__ import annotations

import datetime as dt

__all__ = ["format_utc_seconds"]


def format_utc_seconds(when: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (RFC 3339, whole seconds), as CreateSession's
    ``expiration`` and the ``aws:CurrentTime``/``aws:TokenIssueTime`` keys are written.

    ``when`` must be timezone-aware. The year is always four digits (``strftime`` on some
    platforms drops the padding before year 1000).
    """
    if when.tzinfo is not dt.UTC:
        if when.tzinfo is None:
            raise ValueError("format_utc_seconds needs a timezone-aware datetime")
        when = when.astimezone(dt.UTC)
    # isoformat is the cheapest formatter; its first 19 characters are YYYY-MM-DDTHH:MM:SS.
    return when.isoformat(timespec="seconds")[:19] + "Z"
