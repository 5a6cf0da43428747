"""``elsewhere server``: run the service."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import click

from elsewhere.app import ServerSettings, StartupError, run_server
from elsewhere.domain import is_region
from elsewhere.oidc import validate_issuer_url

__all__ = ["register"]


@click.command("server")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="ELSEWHERE_HOST",
    help="Address to listen on.",
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="ELSEWHERE_PORT",
    help="Port to listen on.",
)
@click.option(
    "--data-dir",
    default=".elsewhere",
    show_default=True,
    envvar="ELSEWHERE_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the SQLite store, the master key and admin.credentials live.",
)
@click.option(
    "--database-url",
    default=None,
    envvar="ELSEWHERE_DATABASE_URL",
    help="SQLAlchemy URL of the store (default: SQLite file in the data dir).",
)
@click.option(
    "--account-id",
    default="123456789012",
    show_default=True,
    envvar="ELSEWHERE_ACCOUNT_ID",
    help="The AWS account id this server acts as.",
)
@click.option(
    "--region",
    default="us-east-1",
    show_default=True,
    envvar="ELSEWHERE_REGION",
    help="The AWS region this server acts as.",
)
@click.option(
    "--tls-certificate",
    default=None,
    envvar="ELSEWHERE_TLS_CERTIFICATE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PEM certificate (chain) to serve HTTPS.",
)
@click.option(
    "--tls-key",
    default=None,
    envvar="ELSEWHERE_TLS_KEY",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PEM private key of --tls-certificate.",
)
@click.option(
    "--max-certificates-per-anchor",
    default=2,
    show_default=True,
    type=click.IntRange(1, 100),
    envvar="ELSEWHERE_MAX_CERTIFICATES_PER_ANCHOR",
    help="CA certificates allowed in one trust anchor's bundle.",
)
@click.option(
    "--request-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600),
    envvar="ELSEWHERE_REQUEST_TIMEOUT",
    help="Seconds a client may take to send a request's headers, and then its whole body.",
)
@click.option(
    "--max-connections",
    default=ServerSettings.max_connections,
    show_default=True,
    type=click.IntRange(1, 100_000),
    envvar="ELSEWHERE_MAX_CONNECTIONS",
    help="Connections open at once; one more is answered 503 and closed.",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    envvar="ELSEWHERE_FORWARDED_ALLOW_IPS",
    help="Proxies (comma-separated IPs or networks) whose X-Forwarded-For and "
    "X-Forwarded-Proto are believed for aws:SourceIp and aws:SecureTransport. Default: none.",
)
@click.option(
    "--public-url",
    default=None,
    envvar="ELSEWHERE_PUBLIC_URL",
    help="The URL relying parties reach this server at: the OIDC issuer of outbound web "
    "identity federation. Default: this server's own URL.",
)
@click.option(
    "--audit-log",
    default=None,
    envvar="ELSEWHERE_AUDIT_LOG",
    help="Write one CloudTrail-shaped JSON line per call to this file ('-': standard output). "
    "SIGHUP reopens it. Default: no audit log.",
)
@click.option(
    "--notify-webhook",
    multiple=True,
    envvar="ELSEWHERE_NOTIFY_WEBHOOK",
    metavar="URL",
    help="POST each certificate-expiry event (EventBridge-shaped JSON) to this http(s) URL; "
    "may be given more than once.",
)
@click.option(
    "--notify-file",
    default=None,
    envvar="ELSEWHERE_NOTIFY_FILE",
    help="Append each certificate-expiry event as one JSON line to this file ('-': standard "
    "output).",
)
@click.option(
    "--metrics-address",
    default=None,
    envvar="ELSEWHERE_METRICS_ADDRESS",
    metavar="HOST:PORT",
    help="Serve Prometheus metrics at http://HOST:PORT/metrics, a listener of its own "
    "(never the API's address). Default: off.",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    envvar="ELSEWHERE_LOG_FORMAT",
    type=click.Choice(["text", "json"]),
    help="Access and error logs as text lines or as JSON lines.",
)
@click.option(
    "--envoy-grpc-address",
    default=None,
    envvar="ELSEWHERE_ENVOY_GRPC_ADDRESS",
    metavar="HOST:PORT",
    help="Serve the authorizer as Envoy's ext_authz gRPC service "
    "(envoy.service.auth.v3.Authorization) on this address, plaintext. Default: off.",
)
@click.option(
    "--replay-guard",
    "replay_guard",
    default=0,
    show_default=True,
    type=click.IntRange(0, 10_000_000),
    envvar="ELSEWHERE_REPLAY_GUARD",
    help="The authorizer (/_authorize/...) refuses a signature it has seen before, remembering "
    "up to this many live signatures per replica (about 120 bytes each). 0: off.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    envvar="ELSEWHERE_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def server(
    host: str,
    port: int,
    data_dir: Path,
    database_url: str | None,
    account_id: str,
    region: str,
    tls_certificate: Path | None,
    tls_key: Path | None,
    max_certificates_per_anchor: int,
    request_timeout: float,
    max_connections: int,
    forwarded_allow_ips: str | None,
    public_url: str | None,
    audit_log: str | None,
    notify_webhook: tuple[str, ...],
    notify_file: str | None,
    metrics_address: str | None,
    log_format: str,
    envoy_grpc_address: str | None,
    replay_guard: int,
    log_level: str,
) -> None:
    """Run the elsewhere service (rolesanywhere, IAM, STS, CreateSession) on one address."""
    if (tls_certificate is None) != (tls_key is None):
        raise click.UsageError("--tls-certificate and --tls-key go together.")
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise click.UsageError("--account-id must be 12 digits.")
    if forwarded_allow_ips:
        _check_proxies(forwarded_allow_ips)
    if public_url:
        try:
            public_url = validate_issuer_url(public_url)
        except ValueError as exc:
            raise click.UsageError(f"--public-url: {exc}") from None
    if not is_region(region):
        # ARNs name the region; one AWS would not accept could not be parsed back.
        raise click.UsageError(f"--region {region!r} is not a region name like us-east-1.")
    settings = ServerSettings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        account_id=account_id,
        region=region,
        tls_certificate=tls_certificate,
        tls_key=tls_key,
        max_certificates_per_anchor=max_certificates_per_anchor,
        request_timeout_seconds=request_timeout,
        max_connections=max_connections,
        forwarded_allow_ips=forwarded_allow_ips or None,
        replay_guard_signatures=replay_guard,
        log_level=log_level,
        log_format=log_format,
        public_url=public_url or None,
        audit_log=audit_log or None,
        notify_webhooks=tuple(_webhook(url) for url in notify_webhook),
        notify_file=notify_file or None,
        metrics_address=(
            _listener_address("--metrics-address", metrics_address, port)
            if metrics_address
            else None
        ),
        envoy_grpc_address=(
            _listener_address("--envoy-grpc-address", envoy_grpc_address, port)
            if envoy_grpc_address
            else None
        ),
    )
    try:
        # Standard output belongs to the audit records when they go there.
        to_stderr = settings.audit_log == "-"
        run_server(settings, announce=lambda line: click.echo(line, err=to_stderr))
    except (StartupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


def _check_proxies(value: str) -> None:
    """Every entry of --forwarded-allow-ips is ``*`` or an IP address or network.

    uvicorn would take anything else for a host name that never matches, so a typo would
    silently believe no proxy.
    """
    for entry in value.split(","):
        entry = entry.strip()
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise click.UsageError(
                f"--forwarded-allow-ips: {entry!r} is not an IP address or network."
            ) from None


def _webhook(url: str) -> str:
    """A notification webhook must be an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.UsageError(f"--notify-webhook {url!r} must be an http:// or https:// URL.")
    return url


def _listener_address(flag: str, value: str, api_port: int) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) of a listener of its own, never the API's port."""
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.UsageError(f"{flag} {value!r} must be HOST:PORT, for example 127.0.0.1:9464.")
    port = int(port_text)
    if port == api_port:
        # Metrics and the gRPC service are never on the AWS endpoint: each needs its own address.
        raise click.UsageError(f"{flag} {value!r} uses the API's port {api_port}; choose another.")
    return host, port


def register(cli: click.Group) -> None:
    """Add ``server`` to the command tree."""
    cli.add_command(server)
