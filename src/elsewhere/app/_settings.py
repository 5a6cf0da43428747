"""Server settings: every ``elsewhere server`` flag, each also an ``ELSEWHERE_*`` variable."""

from __future__ import annotations

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
    log_level: str = "info"

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
