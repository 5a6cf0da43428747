"""Prometheus metrics: the series, the scrape-time collector, and the listener of their own."""

from elsewhere.metrics._metrics import (
    LATENCY_BUCKETS,
    AnchorCertificate,
    Metrics,
    ServerState,
    StateCollector,
)
from elsewhere.metrics._server import MetricsServer, start_metrics_server

__all__ = [
    "LATENCY_BUCKETS",
    "AnchorCertificate",
    "Metrics",
    "MetricsServer",
    "ServerState",
    "StateCollector",
    "start_metrics_server",
]
