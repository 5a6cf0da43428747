"""Background loops are loud: counted, logged once per failure streak, and shown on /ping."""

from __future__ import annotations

import json
import logging

import pytest

from elsewhere.service import HealthReport, LoopHealth, LoopState, report_health
from elsewhere.service._health import REPEAT_LOG_SECONDS


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_streak_is_logged_once_then_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """The first failure logs a traceback; repeats log a count once a minute; recovery once."""
    ticks = Ticks()
    health = LoopHealth("snap", logging.getLogger("test.health"), "refreshing", monotonic=ticks)
    caplog.set_level(logging.INFO, logger="test.health")
    for _ in range(299):  # a failure every 0.2 s for just under a minute
        ticks.now += 0.2
        health.failed(OSError("down"))
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    ticks.now += REPEAT_LOG_SECONDS  # the 300th failure, a minute after the first
    health.failed(OSError("down"))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].exc_info is not None
    assert errors[1].exc_info is None
    assert "still failing: 300 failures in a row" in errors[1].getMessage()
    state = health.state()
    assert (state.failing, state.failures, state.consecutive_failures) == (True, 300, 300)
    assert state.failing_for_seconds == pytest.approx(59.6 + REPEAT_LOG_SECONDS)
    health.succeeded()
    health.succeeded()
    assert caplog.text.count("works again after 300 failures") == 1
    state = health.state()
    assert (state.failing, state.failures, state.consecutive_failures) == (False, 300, 0)


@pytest.mark.parametrize(
    ("case", "loops", "unavailable", "status", "http", "body"),
    [
        ("ok/quiet", [LoopState("a", False, 0, 0, None)], False, "ok", 200, {"status": "ok"}),
        (
            "ok/recovered-shows-its-history",
            [LoopState("a", False, 2, 0, None)],
            False,
            "ok",
            200,
            {
                "status": "ok",
                "loops": [
                    {"name": "a", "failing": False, "failures": 2, "consecutiveFailures": 0}
                ],
            },
        ),
        (
            "fail/failing-loop-degrades",
            [LoopState("a", True, 3, 3, 1.25), LoopState("b", False, 0, 0, None)],
            False,
            "degraded",
            200,
            {
                "status": "degraded",
                "loops": [
                    {
                        "name": "a",
                        "failing": True,
                        "failures": 3,
                        "consecutiveFailures": 3,
                        "failingForSeconds": 1.2,
                    },
                    {"name": "b", "failing": False, "failures": 0, "consecutiveFailures": 0},
                ],
            },
        ),
        (
            "fail/unreadable-records-degrade",
            [LoopState("c", False, 0, 0, None, True, {"unreadableRecords": 1}, 0.04)],
            False,
            "degraded",
            200,
            {
                "status": "degraded",
                "loops": [
                    {
                        "name": "c",
                        "failing": False,
                        "failures": 0,
                        "consecutiveFailures": 0,
                        "unreadableRecords": 1,
                        "ageSeconds": 0.0,
                    }
                ],
            },
        ),
        (
            "fail/stale-is-unavailable",
            [LoopState("c", True, 9, 9, 2.0, False, {}, 2.04)],
            True,
            "unavailable",
            503,
            {
                "status": "unavailable",
                "loops": [
                    {
                        "name": "c",
                        "failing": True,
                        "failures": 9,
                        "consecutiveFailures": 9,
                        "failingForSeconds": 2.0,
                        "ageSeconds": 2.0,
                    }
                ],
            },
        ),
    ],
)
def test_report(
    case: str,
    loops: list[LoopState],
    unavailable: bool,
    status: str,
    http: int,
    body: dict[str, object],
) -> None:
    """The status follows the worst loop; the body holds states and counts, never error text."""
    report = report_health(loops, unavailable=unavailable)
    assert (report.status, report.http_status) == (status, http), case
    assert report.as_json() == body, case
    json.dumps(report.as_json())


def test_report_is_a_value() -> None:
    """A report is frozen."""
    report = HealthReport("ok")
    with pytest.raises(AttributeError):
        report.status = "x"  # type: ignore[misc]
