"""Metrics of a real ``elsewhere server``: a listener of their own, scraped after real calls."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from elsewhere.pki import quick_chain
from tests.conftest import ServerProcess, free_port, start_server
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)
from tests.promtool import promtool_check

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A server with its metrics listener on a port of its own."""
    port = free_port()
    handle = start_server(
        tmp_path_factory.mktemp("measured") / "data",
        args=("--metrics-address", f"127.0.0.1:{port}"),
    )
    yield handle, f"http://127.0.0.1:{port}/metrics"
    handle.stop()


def _scrape(url: str) -> tuple[bytes, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The exposition text and its samples by name and sorted labels."""
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return answer.content, samples


def test_scrape_after_sessions(measured: tuple[ServerProcess, str]) -> None:
    """After a granted and a refused CreateSession, the scrape counts them, shows the snapshot,
    caches and the anchor's CA expiry, and passes promtool."""
    server, url = measured
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    chain = quick_chain(now - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    other = make_role(server)
    profile = make_profile(server, [role])
    granted = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
    assert granted.status_code == 201
    refused = send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=other)
    )
    assert refused.status_code == 403

    text, samples = _scrape(url)
    assert promtool_check(text) == ""
    assert samples[("elsewhere_createsession_total", (("outcome", "success"),))] >= 1
    assert samples[("elsewhere_createsession_total", (("outcome", "profile"),))] >= 1
    count = "elsewhere_request_duration_seconds_count"
    for operation in ("CreateSession", "CreateTrustAnchor"):
        labels = (("operation", operation), ("outcome", "success"), ("service", "rolesanywhere"))
        assert samples[(count, labels)] >= 1
    assert samples[("elsewhere_config_snapshot_version", ())] > 0
    assert 0 <= samples[("elsewhere_config_snapshot_age_seconds", ())] < 5
    assert ("elsewhere_subject_recorder_queue_depth", ()) in samples
    assert samples[("elsewhere_subject_recorder_dropped_total", ())] == 0
    assert samples[("elsewhere_cache_entries", (("cache", "session_leaves"),))] >= 1
    assert ("elsewhere_cache_entries", (("cache", "signing_keys"),)) in samples
    left = next(
        value
        for (name, labels), value in samples.items()
        if name == "elsewhere_trust_anchor_certificate_expiry_seconds"
        and ("trust_anchor_arn", anchor) in labels
    )
    expected = (chain.root.not_valid_after_utc - dt.datetime.now(dt.UTC)).total_seconds()
    assert abs(left - expected) < 120


def test_metrics_are_never_on_the_aws_endpoint(measured: tuple[ServerProcess, str]) -> None:
    """/metrics on the API's address stays an unauthenticated refusal."""
    server, _ = measured
    answer = httpx.get(f"{server.endpoint}/metrics", timeout=10)
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"].startswith("MissingAuthenticationToken")


def test_listener_is_off_by_default(tmp_path: Path) -> None:
    """Without --metrics-address the server opens no other port."""
    server = start_server(tmp_path / "data")
    try:
        assert "metrics:" not in server.log()
        assert httpx.get(f"{server.endpoint}/metrics", timeout=10).status_code == 403
    finally:
        server.stop()


def test_scrapes_see_requests_as_they_happen(measured: tuple[ServerProcess, str]) -> None:
    """A call made between two scrapes is counted by the second."""
    server, url = measured
    key = (
        "elsewhere_request_duration_seconds_count",
        (("operation", "GetCallerIdentity"), ("outcome", "success"), ("service", "sts")),
    )
    before = _scrape(url)[1].get(key, 0)
    server.client("sts").get_caller_identity()
    deadline = time.monotonic() + 10
    while _scrape(url)[1].get(key, 0) < before + 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
