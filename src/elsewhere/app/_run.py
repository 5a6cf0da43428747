"""Run the gateway under uvicorn with graceful shutdown."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn

from elsewhere.app._build import build_application
from elsewhere.app._fastpath import FastAuthorizeProtocol
from elsewhere.app._http import http_protocol
from elsewhere.app._logging import AccessLog, LogStream, configure_logging
from elsewhere.app._settings import ServerSettings

__all__ = ["plain_http_warning", "run_server"]

log = logging.getLogger("elsewhere.server")


class _Server(uvicorn.Server):
    """uvicorn's server, but a handled SIGTERM/SIGINT ends in a normal exit, and SIGHUP reopens
    the audit log.

    uvicorn re-raises the signal after its graceful shutdown, which kills the process before
    the store is closed; elsewhere finishes its own shutdown and exits with status 0 instead.
    SIGHUP only raises a flag; the reopen itself runs on the event loop's next tick (within
    0.1 s), never inside a signal handler that may have interrupted a write.
    """

    def __init__(
        self, config: uvicorn.Config, reopen: Callable[[], None], flush: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._reopen = reopen
        self._flush = flush
        self._hangup = False

    def _on_hangup(self, signum: int, frame: object) -> None:
        self._hangup = True

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's tick (every 0.1 s): write out the buffered log lines, and reopen the audit
        log when SIGHUP asked for it."""
        self._flush()
        if self._hangup:
            self._hangup = False
            try:
                self._reopen()
            except Exception:
                log.exception("reopening log files after SIGHUP failed")
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Drop idle keep-alive connections at once, then shut down gracefully.

        An idle TLS connection's close waits for the client's close_notify, which a pooled
        client never sends; without this, stopping a TLS server takes the whole grace period.
        Connections with a request in flight still finish it.
        """
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            if (cycle is None or cycle.response_complete) and transport is not None:
                transport.abort()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hangup)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def usage_lines(settings: ServerSettings, credentials_file: str) -> list[str]:
    """The two lines that show a user how to call the server."""
    env = f"AWS_SHARED_CREDENTIALS_FILE={credentials_file} AWS_DEFAULT_REGION={settings.region}"
    return [
        f"AWS CLI: {env} aws rolesanywhere list-trust-anchors "
        f"--endpoint-url {settings.endpoint_url}",
        f"boto3:   {env} python -c \"import boto3; print(boto3.client('rolesanywhere', "
        f"endpoint_url='{settings.endpoint_url}').list_trust_anchors())\"",
    ]


def plain_http_warning(settings: ServerSettings) -> str | None:
    """What to warn about when the API is served without TLS beyond this machine, or None.

    Signatures and session tokens are replayable within their validity, and responses carry
    secret keys: on a network they need TLS (``--tls-certificate``) or a proxy that terminates
    it in front of a loopback listener.
    """
    if settings.tls_certificate is not None:
        return None
    host = settings.host.strip("[]")
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name other than localhost may resolve to anything
    return (
        f"serving plain HTTP on {settings.host}, which is not a loopback address: requests, "
        "session tokens and the secret keys in answers cross the network unencrypted. Serve "
        "HTTPS with --tls-certificate and --tls-key, or listen on 127.0.0.1 behind a proxy "
        "that terminates TLS."
    )


def run_server(settings: ServerSettings, *, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish and buffers flush before exit."""
    stream = configure_logging(settings.log_level, settings.log_format)
    try:
        _serve(settings, stream, announce)
    finally:
        stream.flush()


def _serve(settings: ServerSettings, stream: LogStream, announce: Callable[[str], None]) -> None:
    access = None
    if logging.getLogger("elsewhere.access").isEnabledFor(logging.INFO):
        access = AccessLog(stream, json_lines=settings.log_format == "json")
    application = build_application(settings, access_log=access, decision_log=access)
    warning = plain_http_warning(settings)
    if warning is not None:
        log.warning(warning)
    # Startup leaves ~100,000 long-lived objects (service models, compiled policies, ...). A
    # full collection walks them all, about 80 ms on a 2-core VM, and stalls every request in
    # flight; frozen, they are left out of every later collection (Python docs, gc.freeze).
    gc.collect()
    gc.freeze()
    state = "created" if application.created_root_key else "kept"
    announce(
        f"elsewhere {settings.endpoint_url} account {settings.account_id} region "
        f"{settings.region}; root key {state} in {application.credentials_file}"
    )
    for line in usage_lines(settings, str(application.credentials_file)):
        announce(line)
    listener = None
    if settings.metrics_address is not None and application.metrics is not None:
        from elsewhere.metrics import start_metrics_server

        host, port = settings.metrics_address
        try:
            listener = start_metrics_server(host, port, application.metrics.registry)
        except OSError:
            application.close()
            raise
        shown = f"[{host}]" if ":" in host else host
        announce(f"metrics: http://{shown}:{listener.port}/metrics")
    envoy = None
    if settings.envoy_grpc_address is not None:
        # gRPC and Envoy's messages load only when the service is asked for.
        from elsewhere.envoy import start_envoy_server

        host, port = settings.envoy_grpc_address
        try:
            envoy = start_envoy_server(application.authorize, application.clock, host, port)
        except (OSError, RuntimeError):
            if listener is not None:
                listener.close()
            application.close()
            raise
        shown = f"[{host}]" if ":" in host else host
        announce(f"Envoy ext_authz (gRPC): {shown}:{envoy.port}")
    config = uvicorn.Config(
        application.asgi,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        ssl_certfile=str(settings.tls_certificate) if settings.tls_certificate else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        timeout_graceful_shutdown=10,
        # X-Forwarded-* only from proxies the operator names: believed from anyone else, they
        # would let a caller choose its own aws:SourceIp.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # The HTTP parser is httptools (elsewhere.app._http, which bounds the request head);
        # this only matters if uvicorn ever falls back to h11.
        h11_max_incomplete_event_size=32 * 1024,
        # No WebSocket API: an Upgrade request is answered as plain HTTP (an AWS-format 4xx)
        # instead of uvicorn's bare 500 for an app that never completes the handshake.
        ws="none",
        # The authorizer's hot route is answered inside the protocol (app/_fastpath.py), after
        # the head limits, the header timer and the AWS-format refusals in the method order.
        http=type(
            "_ServerHttpProtocol",
            (
                http_protocol(
                    header_timeout=settings.request_timeout_seconds,
                    max_connections=settings.max_connections,
                ),
                FastAuthorizeProtocol,
            ),
            {
                "authorize": application.authorize,
                "clock": application.clock,
                "max_body_bytes": settings.max_body_bytes,
                "body_timeout": settings.request_timeout_seconds,
            },
        ),
    )
    try:
        _Server(config, application.reopen, stream.flush).run()
    finally:
        if envoy is not None:
            envoy.close()
        if listener is not None:
            listener.close()
        application.close()
