"""``/ping``: unauthenticated health with states and counts only (elsewhere.service._health)."""

from __future__ import annotations

import json

import pytest

from elsewhere.api import Gateway
from elsewhere.clock import FixedClock
from elsewhere.service import HealthReport, LoopState, report_health
from elsewhere.service._authn import Authenticator
from elsewhere.sigv4 import HttpRequest
from tests.unit.api.test_gateway import NOW, _lookup, _run

PING = HttpRequest("GET", "/ping", "", (("Host", "localhost"),), b"")


def _gateway(report: HealthReport) -> Gateway:
    """A gateway whose health is ``report``."""
    return Gateway(
        authenticator=Authenticator(_lookup, region="us-east-1"),
        handlers={},
        clock=FixedClock(NOW),
        health=lambda: report,
    )


@pytest.mark.parametrize(
    ("case", "report", "status", "body"),
    [
        ("ok/healthy", report_health([], unavailable=False), 200, {"status": "ok"}),
        (
            "ok/degraded-still-serves",
            report_health([LoopState("subjectRecording", True, 4, 4, 2.0)], unavailable=False),
            200,
            {
                "status": "degraded",
                "loops": [
                    {
                        "name": "subjectRecording",
                        "failing": True,
                        "failures": 4,
                        "consecutiveFailures": 4,
                        "failingForSeconds": 2.0,
                    }
                ],
            },
        ),
        (
            "fail/stale-configuration",
            report_health([LoopState("configuration", True, 9, 9, 1.9)], unavailable=True),
            503,
            {
                "status": "unavailable",
                "loops": [
                    {
                        "name": "configuration",
                        "failing": True,
                        "failures": 9,
                        "consecutiveFailures": 9,
                        "failingForSeconds": 1.9,
                    }
                ],
            },
        ),
    ],
)
def test_ping_reports_the_loops(
    case: str, report: HealthReport, status: int, body: dict[str, object]
) -> None:
    """/ping answers the health report without authentication, 503 only when unavailable."""
    result = _run(_gateway(report), PING)
    assert result.status == status, case
    assert json.loads(result.body) == body, case
    assert result.headers[b"content-type"] == b"application/json"
