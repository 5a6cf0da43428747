"""Server settings: every ``elsewhere server`` flag, each also an ``ELSEWHERE_*`` variable."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerSettings"]


@dataclass(frozen=True)
class ServerSettings:
    """How one elsewhere server runs."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".elsewhere")
    database_url: str | None = None
    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    tls_certificate: Path | None = None
    tls_key: Path | None = None
    max_certificates_per_anchor: int = 2
    max_body_bytes: int = 1024 * 1024
    request_timeout_seconds: float = 30.0
    # Connections open at once (elsewhere.app._http); one more is answered 503 and closed.
    max_connections: int = 512
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips syntax: comma-separated IPs or networks, or "*"); None believes nobody,
    # so aws:SourceIp is the connection's peer.
    forwarded_allow_ips: str | None = None
    # The authorizer's replay guard: how many signatures it remembers (0: no guard).
    replay_guard_signatures: int = 0
    log_level: str = "info"
    # "text" (one line per record, as the logging module writes it) or "json" (JSON lines).
    log_format: str = "text"
    # The URL relying parties reach this server at: the OIDC issuer of outbound web identity
    # federation (``iss`` of every token). None derives it from the listening address.
    public_url: str | None = None
    # The audit log: a path, "-" for standard output, or None for none.
    audit_log: str | None = None
    # Where expiry notifications go: webhook URLs (POST JSON), and a JSON-lines file.
    notify_webhooks: tuple[str, ...] = ()
    notify_file: str | None = None
    # Where the Prometheus listener serves /metrics (host, port); None for no listener.
    metrics_address: tuple[str, int] | None = None
    # Where the authorizer's Envoy ext_authz gRPC service listens (None: not served).
    envoy_grpc_address: tuple[str, int] | None = None

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'elsewhere.db').resolve()}"

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured, else ``http``."""
        return "https" if self.tls_certificate else "http"

    @property
    def endpoint_url(self) -> str:
        """The URL clients use to reach this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def issuer_url(self) -> str:
        """The OIDC issuer: ``public_url``, else this server's own URL.

        A wildcard listening address (``0.0.0.0``, ``::``) names no host a relying party could
        reach, so the machine's fully qualified name stands in for it; behind a proxy or a load
        balancer set ``public_url`` (README, "The OIDC issuer").
        """
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.host in ("0.0.0.0", "::", ""):  # noqa: S104 - recognising, not binding
            host = socket.getfqdn()
            host = f"[{host}]" if ":" in host else host
            return f"{self.scheme}://{host}:{self.port}"
        return self.endpoint_url
