"""The metrics listener: Prometheus text at ``GET /metrics`` on an address of its own.

It is a small threaded WSGI server (the standard library's, as prometheus_client's own
``start_wsgi_server`` uses) in a thread beside the API's event loop, so a scrape never waits
behind API requests and never shares their port: the AWS endpoint keeps refusing ``/metrics``.
Every other path is 404.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

__all__ = ["MetricsServer", "start_metrics_server"]

_Start = Callable[[str, list[tuple[str, str]]], Any]


class _Quiet(WSGIRequestHandler):
    """No line on standard error per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


class _Server(ThreadingMixIn, WSGIServer):
    # Each scrape in a thread of its own that never outlives the process.
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _only_metrics(app: Callable[[dict[str, Any], _Start], Iterable[bytes]]) -> Any:
    def serve(environ: dict[str, Any], start_response: _Start) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found: the metrics are at /metrics\n"]
        return app(environ, start_response)

    return serve


class MetricsServer:
    """A running metrics listener."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        """Wrap a started server and its thread."""
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self._server.server_address[1])

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> MetricsServer:
    """Listen on ``host:port`` and serve ``registry`` at ``/metrics`` from a background thread.

    Raises ``OSError`` when the address cannot be bound.
    """
    server_class = _Server6 if ":" in host else _Server
    server = make_server(
        host,
        port,
        _only_metrics(make_wsgi_app(registry)),
        server_class=server_class,
        handler_class=_Quiet,
    )
    thread = threading.Thread(
        target=server.serve_forever, name="elsewhere-metrics", kwargs={"poll_interval": 0.5}
    )
    thread.daemon = True
    thread.start()
    return MetricsServer(server, thread)
