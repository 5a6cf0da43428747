"""The metrics: series counted per request, series read at scrape time, and their listener."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from elsewhere.metrics import (
    AnchorCertificate,
    Metrics,
    ServerState,
    StateCollector,
    start_metrics_server,
)
from tests.promtool import promtool_check

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
ANCHOR = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/a"
#: Every label any series may carry: none names a subject, a workload or a caller.
ALLOWED_LABELS = {
    "service",
    "operation",
    "outcome",
    "code",
    "cache",
    "trust_anchor_arn",
    "trust_anchor_name",
    "serial_number",
    "subject",
    "le",
}


def _state(**overrides: object) -> ServerState:
    """A server state with fixed values."""
    values: dict[str, object] = {
        "now": lambda: NOW,
        "snapshot_version": lambda: 42,
        "snapshot_age_seconds": lambda: 0.15,
        "snapshot_refresh_failures": lambda: 2,
        "recorder_queue": lambda: 7,
        "recorder_dropped": lambda: 3,
        "cache_sizes": lambda: {"session_leaves": 5, "validated_paths": 4},
        "anchor_certificates": lambda: [
            AnchorCertificate(
                ANCHOR, "prod", "00936EACBE07F201DF", "CN=Root", NOW + dt.timedelta(days=30.5)
            ),
            AnchorCertificate(ANCHOR, "prod", "01", "CN=Old Root", NOW - dt.timedelta(days=2)),
        ],
        "audit_records": lambda: 10,
        "audit_failures": lambda: 1,
    }
    values.update(overrides)
    return ServerState(**values)  # type: ignore[arg-type]


def _metrics() -> Metrics:
    """Metrics with a few requests counted and the state collector registered."""
    metrics = Metrics()
    metrics.registry.register(StateCollector(_state()))
    metrics.observe_request("rolesanywhere", "CreateSession", 201, None, 0.0012)
    metrics.observe_request("rolesanywhere", "CreateSession", 403, "AccessDeniedException", 0.0009)
    metrics.observe_request("iam", "CreateRole", 200, None, 0.02)
    metrics.observe_request("none", "Ping", 200, None, 0.0001)
    metrics.observe_request("sts", "AssumeRole", 500, "ServiceFailure", 0.003)
    metrics.observe_session("success")
    metrics.observe_session("trust_policy")
    metrics.observe_session("trust_policy")
    return metrics


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_request_series_by_operation_and_outcome() -> None:
    """Requests are counted per service, operation and outcome, with latency histograms."""
    samples = _samples(generate_latest(_metrics().registry))
    count = "elsewhere_request_duration_seconds_count"
    key = (("operation", "CreateSession"), ("outcome", "success"), ("service", "rolesanywhere"))
    assert samples[(count, key)] == 1
    refused = (
        ("operation", "CreateSession"),
        ("outcome", "client_error"),
        ("service", "rolesanywhere"),
    )
    assert samples[(count, refused)] == 1
    failed = (("operation", "AssumeRole"), ("outcome", "server_error"), ("service", "sts"))
    assert samples[(count, failed)] == 1
    bucket = "elsewhere_request_duration_seconds_bucket"
    assert samples[(bucket, (("le", "0.001"), *key[:1], *key[1:]))] == 0
    assert samples[(bucket, (("le", "0.0025"), *key))] == 1
    code = (("code", "AccessDeniedException"), ("operation", "CreateSession"))
    assert samples[("elsewhere_request_errors_total", (*code, ("service", "rolesanywhere")))] == 1


def test_createsession_by_outcome_and_refusal_class() -> None:
    """CreateSession is counted by success and by refusal class."""
    samples = _samples(generate_latest(_metrics().registry))
    assert samples[("elsewhere_createsession_total", (("outcome", "success"),))] == 1
    assert samples[("elsewhere_createsession_total", (("outcome", "trust_policy"),))] == 2


def test_state_series_as_of_the_scrape() -> None:
    """Snapshot, recorder, caches, audit and anchor expiry are read when scraped."""
    samples = _samples(generate_latest(_metrics().registry))
    assert samples[("elsewhere_config_snapshot_version", ())] == 42
    assert samples[("elsewhere_config_snapshot_age_seconds", ())] == 0.15
    assert samples[("elsewhere_config_snapshot_refresh_failures_total", ())] == 2
    assert samples[("elsewhere_subject_recorder_queue_depth", ())] == 7
    assert samples[("elsewhere_subject_recorder_dropped_total", ())] == 3
    assert samples[("elsewhere_cache_entries", (("cache", "session_leaves"),))] == 5
    assert samples[("elsewhere_cache_entries", (("cache", "validated_paths"),))] == 4
    assert samples[("elsewhere_audit_records_total", ())] == 10
    assert samples[("elsewhere_audit_write_failures_total", ())] == 1
    expiry = "elsewhere_trust_anchor_certificate_expiry_seconds"
    labels = (
        ("serial_number", "00936EACBE07F201DF"),
        ("subject", "CN=Root"),
        ("trust_anchor_arn", ANCHOR),
        ("trust_anchor_name", "prod"),
    )
    assert samples[(expiry, labels)] == 30.5 * 86400
    expired = (
        ("serial_number", "01"),
        ("subject", "CN=Old Root"),
        ("trust_anchor_arn", ANCHOR),
        ("trust_anchor_name", "prod"),
    )
    assert samples[(expiry, expired)] == -2 * 86400


def test_no_audit_series_without_an_audit_log() -> None:
    """Without an audit log there are no audit series (rather than zeros that look healthy)."""
    metrics = Metrics()
    metrics.registry.register(StateCollector(_state(audit_records=None, audit_failures=None)))
    assert b"elsewhere_audit" not in generate_latest(metrics.registry)


def test_no_label_names_a_subject_or_caller() -> None:
    """Every label is one of a fixed, configuration-bounded set."""
    for family in text_string_to_metric_families(generate_latest(_metrics().registry).decode()):
        for sample in family.samples:
            assert set(sample.labels) <= ALLOWED_LABELS, sample


def test_promtool_accepts_the_output() -> None:
    """``promtool check metrics`` finds nothing to complain about."""
    assert promtool_check(generate_latest(_metrics().registry)) == ""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_listener_serves_metrics_only(host: str) -> None:
    """The listener answers /metrics with the text format, and 404 anywhere else."""
    try:
        server = start_metrics_server(host, 0, _metrics().registry)
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")
    try:
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{server.port}"
        answer = httpx.get(f"{base}/metrics", timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert b"elsewhere_createsession_total" in answer.content
        assert httpx.get(f"{base}/", timeout=10).status_code == 404
        assert httpx.get(f"{base}/metricsx", timeout=10).status_code == 404
    finally:
        server.close()
