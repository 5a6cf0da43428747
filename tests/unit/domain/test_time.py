"""format_utc_seconds: the one spelling of instants in answers and context keys."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.domain import format_utc_seconds


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (dt.datetime(2026, 11, 29, 1, 2, 3, tzinfo=dt.UTC), "2026-11-29T01:02:03Z"),
        (dt.datetime(2026, 11, 29, 1, 2, 3, 999_999, tzinfo=dt.UTC), "2026-11-29T01:02:03Z"),
        (
            dt.datetime(2026, 11, 29, 3, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2026-11-29T01:02:03Z",
        ),
        (dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "0999-01-02T03:04:05Z"),
    ],
    ids=["ok/utc", "ok/microseconds-dropped", "ok/offset-converted", "ok/year-padded"],
)
def test_format(when: dt.datetime, text: str) -> None:
    """Whole seconds in UTC with a Z, four-digit year."""
    assert format_utc_seconds(when) == text


def test_naive_is_refused() -> None:
    """A naive datetime has no instant; it is refused rather than read as local time."""
    with pytest.raises(ValueError, match="timezone-aware"):
        format_utc_seconds(dt.datetime(2026, 1, 1))


@given(st.datetimes(timezones=st.just(dt.UTC), min_value=dt.datetime(1000, 1, 1)))
def test_agrees_with_strftime(when: dt.datetime) -> None:
    """From year 1000 on, the same text as strftime's RFC 3339 pattern, and it parses back."""
    text = format_utc_seconds(when)
    assert text == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert dt.datetime.fromisoformat(text) == when.replace(microsecond=0)
