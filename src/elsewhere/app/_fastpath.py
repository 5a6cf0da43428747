"""The authorizer's hot route, answered inside the HTTP protocol instead of through ASGI.

A proxy asks ``/_authorize/...`` once for every request its service gets, so this route costs
what the proxy's own request costs. Measured on the benchmark (``bench/bench_authorizer.py``),
the ASGI machinery around a decision (a task, an event and the ASGI messages per request, the
scope, the response built as ASGI events and then as bytes) cost more than the decision itself.
This protocol answers a forward-auth request signed with session credentials directly from the
parser's callbacks, with the same decision code (``AuthorizeEndpoint.answer_inline``) and the
same answer bytes; everything else, and every case it does not handle, goes on to uvicorn's
protocol and the gateway unchanged.

What it keeps of the server's rules: the request line and headers go through the same parser and
header callbacks, and the limits on them (``AwsHttpProtocol``, before this class in the method
order); the body size limit and a timeout on the whole body; ``X-Forwarded-For``/``-Proto``
believed only from the proxies named by ``--forwarded-allow-ips`` (uvicorn's own
``ProxyHeadersMiddleware`` decides); HTTP/1.0 and ``Connection: close``; pipelined requests
answered in order (a request that arrives while an ASGI request is still being answered goes the
ASGI way, behind it).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
from typing import Any, Final, cast

import httptools
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from elsewhere.api import AuthorizeEndpoint, new_request_id
from elsewhere.clock import Clock, SystemClock
from elsewhere.errors import RequestEntityTooLarge, RequestTimeout
from elsewhere.protocol import Response, render_gateway_error

__all__ = ["FastAuthorizeProtocol"]

_PREFIX = b"/_authorize/"
_TOKEN_HEADER = b"x-amz-security-token"

# States of the request being parsed.
_ASGI: Final = 0  # uvicorn's protocol and the gateway answer it
_HERE: Final = 1  # answered here once complete
_FAILED: Final = 2  # answered here with an error; the connection is closing, the rest ignored


async def _keep_scope(scope: Any, receive: Any, send: Any) -> None:
    """The app behind the proxy-headers middleware here: it only needs the scope it leaves."""


class FastAuthorizeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with session-signed ``/_authorize/...`` answered in place.

    Combined into the server's protocol class after the class that answers parser errors in
    AWS's format, so that class's callbacks run first and call on into these.
    """

    #: Set per server (``type(...)`` in ``_run``): the endpoint, and the gateway's limits.
    authorize: AuthorizeEndpoint | None = None
    clock: Clock = SystemClock()
    max_body_bytes: int = 1024 * 1024
    body_timeout: float = 30.0

    _state = _ASGI
    _fast_body: bytearray | None = None
    _fast_timer: asyncio.TimerHandle | None = None
    _proxy: ProxyHeadersMiddleware | None = None
    _date_second = -1
    _date_value = b""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.config.proxy_headers:
            trusted = self.config.forwarded_allow_ips
            self._proxy = _proxy_middleware(
                trusted if isinstance(trusted, str) else ",".join(trusted)
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_fast_timer()
        if self._state == _HERE:
            self._state = _FAILED
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._state == _HERE and self._fast_timer is None and not self.transport.is_closing():
            # The headers are in, the body is not: bound the time the whole body may take.
            self._fast_timer = self.loop.call_later(self.body_timeout, self._fast_body_too_slow)

    def on_message_begin(self) -> None:
        if self._state == _FAILED:
            return
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._state == _FAILED:
            return
        if not self._takes(self.url):
            super().on_headers_complete()
            return
        self._state = _HERE
        self._fast_body = None

    def on_body(self, body: bytes) -> None:
        if self._state != _HERE:
            if self._state == _ASGI:
                super().on_body(body)
            return
        if self._fast_body is None:
            self._fast_body = bytearray()
        self._fast_body += body
        if len(self._fast_body) > self.max_body_bytes:
            self._fast_fail(
                RequestEntityTooLarge(
                    f"Request body is larger than the limit of {self.max_body_bytes} bytes."
                )
            )

    def on_message_complete(self) -> None:
        if self._state != _HERE:
            if self._state == _ASGI:
                super().on_message_complete()
            return
        self._state = _ASGI
        self._cancel_fast_timer()
        self._fast_answer()

    # -- the hot route -------------------------------------------------------------------

    def _takes(self, url: bytes) -> bool:
        """Whether this request is answered here (else uvicorn and the gateway answer it)."""
        endpoint = self.authorize
        if endpoint is None or not url.startswith(_PREFIX):
            return False
        if not endpoint.handles(url.partition(b"?")[0].decode("latin-1")):
            return False
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.pipeline:
            return False  # an ASGI request is still being answered on this connection
        if self.expect_100_continue or self.parser.should_upgrade():
            return False
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            return False  # uvicorn answers 503
        # Only session credentials are decided from memory; a long-term key reads the store.
        return any(name == _TOKEN_HEADER for name, _ in self.headers)

    def _fast_answer(self) -> None:
        endpoint = self.authorize
        assert endpoint is not None  # _takes checked it
        request_id = new_request_id()
        method = self.parser.get_method().decode("ascii")
        scope = self.scope
        if self._proxy is not None:
            _apply_proxy_headers(self._proxy, scope)
        client = scope["client"]
        # The target starts with "/_authorize/" (origin form): the path ends at "?" or "#".
        path, _, query = self.url.partition(b"?")
        if b"#" in path or b"#" in query:
            parsed = httptools.parse_url(self.url)
            path, query = parsed.path, parsed.query or b""
        question = endpoint.question(
            method,
            path,
            query,
            self.headers,
            bytes(self._fast_body) if self._fast_body else b"",
            client[0] if client else "",
            scope["scheme"] == "https",
        )
        response = endpoint.answer_inline(question, request_id)
        self._fast_body = None
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        self._write(response, keep_alive, head_only=method == "HEAD")
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _fast_fail(self, error: RequestEntityTooLarge | RequestTimeout) -> None:
        """Answer ``error`` and close: the rest of the request is not read."""
        self._state = _FAILED
        self._fast_body = None
        self._cancel_fast_timer()
        if not self.transport.is_closing():
            self._write(render_gateway_error(error, new_request_id()), False)
            self.transport.close()

    def _fast_body_too_slow(self) -> None:
        self._fast_timer = None
        if self._state == _HERE:
            self._fast_fail(
                RequestTimeout(
                    f"The request body was not received within {self.body_timeout:g} seconds."
                )
            )

    def _cancel_fast_timer(self) -> None:
        if self._fast_timer is not None:
            self._fast_timer.cancel()
            self._fast_timer = None

    def _write(self, response: Response, keep_alive: bool, *, head_only: bool = False) -> None:
        head = "".join([f"{name}: {value}\r\n" for name, value in response.headers])
        closing = "" if keep_alive else "connection: close\r\n"
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[response.status],
                    head.encode("latin-1"),
                    b"date: ",
                    self._date(),
                    f"\r\ncontent-length: {len(response.body)}\r\n{closing}\r\n".encode(),
                    # A HEAD answer says how long the body is and leaves it out.
                    b"" if head_only else response.body,
                )
            )
        )

    def _date(self) -> bytes:
        """The ``Date`` header value, formatted once per second."""
        now = self.clock.now()
        second = int(now.timestamp())
        if second != self._date_second:
            self._date_value = email.utils.format_datetime(now, usegmt=True).encode()
            self._date_second = second
        return self._date_value


@functools.lru_cache(maxsize=8)
def _proxy_middleware(trusted: str) -> ProxyHeadersMiddleware:
    """uvicorn's middleware for the server's ``--forwarded-allow-ips`` (one per server)."""
    return ProxyHeadersMiddleware(_keep_scope, trusted_hosts=trusted)


def _apply_proxy_headers(middleware: ProxyHeadersMiddleware, scope: Any) -> None:
    """Let uvicorn's middleware rewrite ``client`` and ``scheme`` of ``scope``, as it does for
    every ASGI request: its coroutine never suspends, so it runs to the end here."""
    coroutine = middleware(cast(Any, scope), cast(Any, None), cast(Any, None))
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the proxy-headers middleware suspended")
