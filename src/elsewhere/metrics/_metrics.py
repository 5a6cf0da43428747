"""The server's Prometheus series (prometheus_client), all in one registry of their own.

Counted as requests happen: every request by service, operation and outcome with its latency
(:meth:`Metrics.observe_request`), and every CreateSession by outcome or refusal class
(:meth:`Metrics.observe_session`). Read when scraped (:class:`StateCollector`): the configuration
snapshot's version and age, the subject recorder's queue, cache sizes, the audit log's counters,
and the time left on every trust anchor's CA certificates.

No label holds a value a caller chooses freely or one per workload: services, operations and
error codes come from the served models and the error hierarchy, refusal classes from a fixed
list, and trust anchors from the operator's own configuration. Never a subject, a certificate
of a workload, an address or a principal.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "LATENCY_BUCKETS",
    "AnchorCertificate",
    "Metrics",
    "ServerState",
    "StateCollector",
]

#: Latency buckets in seconds: a warm CreateSession takes about a millisecond, a control-plane
#: write on PostgreSQL tens of milliseconds.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    return "client_error" if status < 500 else "server_error"


class Metrics:
    """The series counted on the request path, and the registry the listener serves."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Register the request series in ``registry`` (a fresh one by default)."""
        self.registry = registry if registry is not None else CollectorRegistry()
        self._requests = Histogram(
            "elsewhere_request_duration_seconds",
            "Requests by service, operation and outcome (success, client_error, server_error), "
            "with the time from the first byte read to the answer.",
            ("service", "operation", "outcome"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._errors = Counter(
            "elsewhere_request_errors",
            "Refused or failed requests by service, operation and AWS error code.",
            ("service", "operation", "code"),
            registry=self.registry,
        )
        self._sessions = Counter(
            "elsewhere_createsession",
            "CreateSession calls by outcome: success, or the class of the refusal.",
            ("outcome",),
            registry=self.registry,
        )
        # Resolved label children, so a request costs one dict lookup, not a labels() call.
        self._children: dict[tuple[str, str, str], Callable[[float], None]] = {}
        self._error_children: dict[tuple[str, str, str], Callable[[], None]] = {}
        self._session_children: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def observe_request(
        self, service: str, operation: str, status: int, code: str | None, seconds: float
    ) -> None:
        """Count one request and its latency; ``code`` is its AWS error code, if refused."""
        key = (service, operation, _outcome(status))
        observe = self._children.get(key)
        if observe is None:
            with self._lock:
                observe = self._children[key] = self._requests.labels(*key).observe
        observe(seconds)
        if code is not None:
            ekey = (service, operation, code)
            count = self._error_children.get(ekey)
            if count is None:
                with self._lock:
                    count = self._error_children[ekey] = self._errors.labels(*ekey).inc
            count()

    def observe_session(self, outcome: str) -> None:
        """Count one CreateSession: ``success`` or the refusal's class."""
        count = self._session_children.get(outcome)
        if count is None:
            with self._lock:
                count = self._session_children[outcome] = self._sessions.labels(outcome).inc
        count()


@dataclass(frozen=True, slots=True)
class AnchorCertificate:
    """One CA certificate of one trust anchor, as the expiry series names it."""

    trust_anchor_arn: str
    trust_anchor_name: str
    serial_number: str  # hexadecimal, as certificate tools print it
    subject: str
    not_after: dt.datetime


@dataclass(frozen=True, slots=True)
class ServerState:
    """Where the scrape-time series read from; each is a cheap call into the running server."""

    now: Callable[[], dt.datetime]
    snapshot_version: Callable[[], int]
    snapshot_age_seconds: Callable[[], float]
    snapshot_refresh_failures: Callable[[], int]
    recorder_queue: Callable[[], int]
    recorder_dropped: Callable[[], int]
    cache_sizes: Callable[[], Mapping[str, int]]
    anchor_certificates: Callable[[], Iterable[AnchorCertificate]]
    audit_records: Callable[[], int] | None = None
    audit_failures: Callable[[], int] | None = None


class StateCollector(Collector):
    """The series read from the server's state at each scrape."""

    def __init__(self, state: ServerState) -> None:
        """Read from ``state``."""
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One sample per series, as of now."""
        state = self._state
        yield GaugeMetricFamily(
            "elsewhere_config_snapshot_version",
            "The store's configuration version the serving snapshot was built from.",
            value=state.snapshot_version(),
        )
        yield GaugeMetricFamily(
            "elsewhere_config_snapshot_age_seconds",
            "Seconds since the serving snapshot was last confirmed current with the store.",
            value=state.snapshot_age_seconds(),
        )
        yield CounterMetricFamily(
            "elsewhere_config_snapshot_refresh_failures",
            "Times checking the store for a newer configuration, or rebuilding it, failed.",
            value=state.snapshot_refresh_failures(),
        )
        yield GaugeMetricFamily(
            "elsewhere_subject_recorder_queue_depth",
            "Authentications waiting to be written as subject records.",
            value=state.recorder_queue(),
        )
        yield CounterMetricFamily(
            "elsewhere_subject_recorder_dropped",
            "Authentications not recorded because the recorder's queue was full.",
            value=state.recorder_dropped(),
        )
        caches = GaugeMetricFamily(
            "elsewhere_cache_entries", "Entries held by each in-memory cache.", labels=("cache",)
        )
        for name, size in sorted(state.cache_sizes().items()):
            caches.add_metric((name,), size)
        yield caches
        if state.audit_records is not None and state.audit_failures is not None:
            yield CounterMetricFamily(
                "elsewhere_audit_records",
                "Audit records written to the audit log.",
                value=state.audit_records(),
            )
            yield CounterMetricFamily(
                "elsewhere_audit_write_failures",
                "Audit records that could not be written (each such call was refused).",
                value=state.audit_failures(),
            )
        now = state.now()
        # Time left in seconds, Prometheus's base unit (promtool refuses a "days" series);
        # divide by 86400 for days, as AWS's DaysToExpiry counts.
        expiry = GaugeMetricFamily(
            "elsewhere_trust_anchor_certificate_expiry_seconds",
            "Seconds until each CA certificate of each trust anchor expires (negative: expired).",
            labels=("trust_anchor_arn", "trust_anchor_name", "serial_number", "subject"),
        )
        for cert in state.anchor_certificates():
            expiry.add_metric(
                (cert.trust_anchor_arn, cert.trust_anchor_name, cert.serial_number, cert.subject),
                (cert.not_after - now).total_seconds(),
            )
        yield expiry
