"""The ASGI middleware (Starlette, FastAPI, any ASGI app)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

import httpx

from elsewhere.middleware._common import (
    GRANT_HEADERS,
    Principal,
    Refusal,
    forward_headers,
    forward_url,
    principal_of,
    refusal_of,
    too_large,
    unavailable,
)

__all__ = ["ElsewhereASGI"]

log = logging.getLogger("elsewhere.middleware")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class ElsewhereASGI:
    """Ask elsewhere about each HTTP request; pass the allowed ones on with their principal.

    The principal is ``scope["elsewhere.principal"]`` (a :class:`Principal`), also
    ``request.state.principal`` in Starlette and FastAPI, and the ``X-Elsewhere-*`` headers are
    set on the request as a proxy would set them (any the client sent are dropped). A refusal
    is answered with elsewhere's own status, error headers and body; if elsewhere cannot be
    reached the answer is 503: nothing passes unasked. WebSocket connections are refused (a
    signature cannot cover them); lifespan events pass through.

    The whole body is read before the question is asked (it is part of the signature) and given
    to the app unchanged; bodies over ``max_body_bytes`` are answered 413.
    """

    def __init__(
        self,
        app: App,
        *,
        endpoint: str,
        api: str,
        stage: str,
        max_body_bytes: int = 1024 * 1024,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        """Guard ``app`` with the elsewhere at ``endpoint`` for API ``api``, stage ``stage``.

        One ``httpx.AsyncClient`` (given, or made here) keeps its connections to elsewhere
        open between requests.
        """
        self.app = app
        self._url = forward_url(endpoint, api, stage)
        self._limit = max_body_bytes
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive, self._limit)
        if more:
            await _answer(send, too_large(self._limit))
            return
        outcome = await self._ask(scope, body)
        if isinstance(outcome, Refusal):
            await _answer(send, outcome)
            return
        scope["elsewhere.principal"] = outcome
        scope.setdefault("state", {})["principal"] = outcome
        scope["headers"] = [
            (name, value) for name, value in scope["headers"] if name.decode("latin-1").lower()
            not in GRANT_HEADERS
        ] + [
            (b"x-elsewhere-principal-arn", outcome.arn.encode()),
            (b"x-elsewhere-account", outcome.account.encode()),
            (b"x-elsewhere-caller-id", outcome.caller_id.encode()),
            (b"x-elsewhere-source-identity", outcome.source_identity.encode()),
        ]
        await self.app(scope, _replay(body, receive), send)

    async def _ask(self, scope: Scope, body: bytes) -> Principal | Refusal:
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]]
        host = next((v for n, v in headers if n.lower() == "host"), "")
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        query = scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        client = scope.get("client")
        question = forward_headers(
            headers,
            method=scope["method"],
            target=target,
            host=host,
            scheme=scope.get("scheme", "http"),
            client=client[0] if client else "",
        )
        try:
            answer = await self._client.request("GET", self._url, headers=question, content=body)
        except httpx.HTTPError as exc:
            log.error("cannot ask elsewhere's authorizer at %s: %s", self._url, exc)
            return unavailable()
        if answer.status_code == 200:
            return principal_of(answer)
        return refusal_of(answer)

    async def aclose(self) -> None:
        """Close the connections to elsewhere."""
        await self._client.aclose()


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request's body, and whether it went past ``limit`` (then it is not read further)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then the client's later events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, refusal: Refusal) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in refusal.headers]
    headers.append((b"content-length", str(len(refusal.body)).encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": refusal.body})
