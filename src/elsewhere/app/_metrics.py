"""Wiring of the metrics: which parts of the running server each scrape-time series reads."""

from __future__ import annotations

from collections.abc import Iterator

from elsewhere.audit import AuditLog
from elsewhere.clock import Clock
from elsewhere.metrics import AnchorCertificate, Metrics, ServerState, StateCollector
from elsewhere.service import SubjectRecorder
from elsewhere.service._authn import SigningKeyCache
from elsewhere.service._sessions import CreateSessionHandler
from elsewhere.service._snapshot import SnapshotProvider
from elsewhere.x509 import format_subject_dn

__all__ = ["build_metrics"]


def build_metrics(
    *,
    clock: Clock,
    snapshots: SnapshotProvider,
    recorder: SubjectRecorder,
    sessions: CreateSessionHandler,
    signing_keys: SigningKeyCache,
    audit: AuditLog | None,
) -> Metrics:
    """The server's metrics: request series, and a collector reading the server's state."""
    metrics = Metrics()

    def anchor_certificates() -> Iterator[AnchorCertificate]:
        for entry in snapshots.current().anchors.values():
            for certificate in entry.certificates:
                yield AnchorCertificate(
                    trust_anchor_arn=entry.record.arn,
                    trust_anchor_name=entry.record.name,
                    serial_number=format(certificate.serial_number, "X"),
                    subject=format_subject_dn(certificate.subject),
                    not_after=certificate.not_valid_after_utc,
                )

    def cache_sizes() -> dict[str, int]:
        sizes = {**sessions.cache_sizes(), **snapshots.cache_sizes()}
        sizes["signing_keys"] = len(signing_keys)
        return sizes

    metrics.registry.register(
        StateCollector(
            ServerState(
                now=clock.now,
                snapshot_version=lambda: snapshots.version,
                snapshot_age_seconds=snapshots.age_seconds,
                snapshot_refresh_failures=lambda: snapshots.refresh_failures,
                recorder_queue=recorder.pending,
                recorder_dropped=lambda: recorder.dropped,
                cache_sizes=cache_sizes,
                anchor_certificates=anchor_certificates,
                audit_records=(lambda: audit.records) if audit is not None else None,
                audit_failures=(lambda: audit.failures) if audit is not None else None,
            )
        )
    )
    return metrics
