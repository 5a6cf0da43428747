"""The server's HTTP/1.1 connection: uvicorn's httptools protocol with elsewhere's limits.

Everything here runs before the gateway sees a request, so before any authentication: the
limits hold while the request head is read, not after. Each connection may hold at most
``max_head_bytes`` of request line and headers in the parser, ``max_header_bytes`` of header names
and values and ``max_headers`` headers (checked as each header arrives), and must send its head
within ``header_timeout`` seconds; the server keeps at most ``max_connections`` connections open.
A refusal is answered in AWS's JSON error format and the connection is closed, which frees what
it held.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "HEADER_TIMEOUT",
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_HEAD_BYTES",
    "AwsHttpProtocol",
    "http_protocol",
]

errlog = logging.getLogger("elsewhere.errors")


class _HeadRefused(Exception):
    """Raised inside a parser callback to stop parsing; the refusal is already chosen."""


#: Seconds a connection may take to send a request's head.
HEADER_TIMEOUT = 30.0
#: Bytes of header names and values in one request (the gateway's own check measures alike).
MAX_HEADER_BYTES = 16 * 1024
#: Headers in one request.
MAX_HEADERS = 200
#: Bytes of one request head as sent (request line with the URL, header lines, line ends): what
#: the parser may buffer before the head is complete.
MAX_HEAD_BYTES = 64 * 1024


class AwsHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with the limits above, refusals in AWS's format.

    A request its parser refuses (a control byte in the request line, an unknown method, a
    malformed Content-Length) never reaches the gateway either, so it gets its own JSON error with
    a request id.

    uvicorn and httptools keep a request's headers without any limit of their own (httptools even
    joins the pieces of one header value as they arrive), and uvicorn's ``h11_max_incomplete_event
    _size`` applies only to its h11 parser. So the bytes of the head are counted as they are fed
    to the parser (at most ``max_head_bytes``), and each header as it is parsed.
    """

    header_timeout: float = HEADER_TIMEOUT
    max_header_bytes: int = MAX_HEADER_BYTES
    max_headers: int = MAX_HEADERS
    max_head_bytes: int = MAX_HEAD_BYTES
    max_connections: int = 512

    _header_timer: asyncio.TimerHandle | None = None
    _refusal: tuple[int, str, str, str] | None = None
    # Whether the bytes that arrive belong to a request head (from a connection's start, or the
    # end of a request, until the head is complete), and how many of them were fed.
    _in_head: bool = True
    _head_fed: int = 0
    _header_bytes: int = 0
    _header_count: int = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            # Refused before anything is read: the connection never counts as open.
            self.connections.discard(self)
            self._send_error(
                503,
                "Service Unavailable",
                "ServiceUnavailableException",
                f"The server has {self.max_connections} connections open, its limit; "
                "try again later.",
            )
            return
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        # Feed the parser no more head bytes than the budget allows. Where a head ends inside
        # ``data`` is only known once the parser has read it, so the data goes in slices of at
        # most the budget that remains; bytes after a head's end are fed in the next round (a
        # pipelined next head then starts a new count, so no head gets more than twice the
        # budget into the parser).
        while data:
            if not self._in_head:
                super().data_received(data)
                return
            room = self.max_head_bytes - self._head_fed
            if room <= 0:
                self._refuse_now(
                    413,
                    "Payload Too Large",
                    "RequestEntityTooLargeException",
                    f"The request line and headers exceed the limit of {self.max_head_bytes} "
                    "bytes.",
                )
                return
            part, data = data[:room], data[room:]
            self._head_fed += len(part)
            super().data_received(part)
            if self.transport.is_closing():
                return

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._header_count = 0
        self._arm_header_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        self._header_count += 1
        if self._header_bytes > self.max_header_bytes:
            self._refusal = (
                413,
                "Payload Too Large",
                "RequestEntityTooLargeException",
                f"Request headers exceed the limit of {self.max_header_bytes} bytes.",
            )
            raise _HeadRefused
        if self._header_count > self.max_headers:
            self._refusal = (
                413,
                "Payload Too Large",
                "RequestEntityTooLargeException",
                f"The request has more than {self.max_headers} headers.",
            )
            raise _HeadRefused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_fed = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        # A client that trickles its headers (or sends none) must not hold a connection forever.
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self._send_error(
                408,
                "Request Timeout",
                "RequestTimeoutException",
                f"The request headers were not received within {self.header_timeout:g} seconds.",
            )

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this for every parser error, including the one a refusing callback
        # raises on purpose (httptools wraps it as HttpParserCallbackError).
        if self._refusal is not None:
            self._send_error(*self._refusal)
            return
        self._send_error(400, "Bad Request", "BadRequestException", msg)

    def _refuse_now(self, status: int, phrase: str, code: str, msg: str) -> None:
        self._refusal = (status, phrase, code, msg)
        self._send_error(status, phrase, code, msg)

    def _send_error(self, status: int, phrase: str, code: str, msg: str) -> None:
        if self.transport.is_closing():
            return
        self._cancel_header_timer()
        request_id = str(uuid.uuid4())
        # The gateway's refusal line, for a request the gateway never saw.
        errlog.info(
            "request_id=%s op=- code=%s reason=%s client=%s",
            request_id,
            code,
            msg,
            self.client[0] if self.client else "-",
        )
        body = json.dumps({"message": msg}).encode()
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n".encode()
            + b"content-type: application/json\r\n"
            + b"x-amzn-errortype: "
            + code.encode()
            + b"\r\n"
            + b"x-amzn-requestid: "
            + request_id.encode()
            + b"\r\n"
            + b"content-length: "
            + str(len(body)).encode()
            + b"\r\n"
            + b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def http_protocol(
    *,
    header_timeout: float,
    max_connections: int,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_headers: int = MAX_HEADERS,
    max_head_bytes: int = MAX_HEAD_BYTES,
) -> type[AwsHttpProtocol]:
    """A protocol class for uvicorn's ``http`` setting, with these limits."""
    return type(
        "_ServerHttpProtocol",
        (AwsHttpProtocol,),
        {
            "header_timeout": header_timeout,
            "max_connections": max_connections,
            "max_header_bytes": max_header_bytes,
            "max_headers": max_headers,
            "max_head_bytes": max_head_bytes,
        },
    )
