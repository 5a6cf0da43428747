"""The WSGI middleware (Flask, Django, any WSGI app)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
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

__all__ = ["ElsewhereWSGI"]

log = logging.getLogger("elsewhere.middleware")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    400: "Bad Request",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ElsewhereWSGI:
    """Ask elsewhere about each request; pass the allowed ones on with their principal.

    The principal is ``environ["elsewhere.principal"]`` (a :class:`Principal`: Flask's
    ``request.environ``, Django's ``request.META``), and ``HTTP_X_ELSEWHERE_*`` are set as a
    proxy would set them (any the client sent are dropped). A refusal is answered with
    elsewhere's own status, error headers and body; if elsewhere cannot be reached the answer is
    503: nothing passes unasked.

    WSGI hands over headers with ``_`` for ``-``, and ``PATH_INFO`` decoded. The question is
    rebuilt from them: header names with ``-`` (a client header spelt with ``_`` does not
    survive WSGI anyway), and the path as the server received it when it says so (``RAW_URI``
    from gunicorn, ``REQUEST_URI`` from uWSGI and mod_wsgi), else ``PATH_INFO`` encoded again.
    The body is read whole (it is part of the signature) and given to the app unchanged.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        endpoint: str,
        api: str,
        stage: str,
        max_body_bytes: int = 1024 * 1024,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        """Guard ``app`` with the elsewhere at ``endpoint`` for API ``api``, stage ``stage``.

        One ``httpx.Client`` (given, or made here) keeps its connections to elsewhere open
        between requests; it is safe to share between a server's threads.
        """
        self.app = app
        self._url = forward_url(endpoint, api, stage)
        self._limit = max_body_bytes
        self._client = client or httpx.Client(timeout=timeout)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """WSGI entry point."""
        length_text = environ.get("CONTENT_LENGTH") or "0"
        length = int(length_text) if length_text.isdigit() else 0
        if length > self._limit:
            return _answer(start_response, too_large(self._limit))
        body = environ["wsgi.input"].read(length) if length else b""
        outcome = self._ask(environ, body)
        if isinstance(outcome, Refusal):
            return _answer(start_response, outcome)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["elsewhere.principal"] = outcome
        environ["HTTP_X_ELSEWHERE_PRINCIPAL_ARN"] = outcome.arn
        environ["HTTP_X_ELSEWHERE_ACCOUNT"] = outcome.account
        environ["HTTP_X_ELSEWHERE_CALLER_ID"] = outcome.caller_id
        environ["HTTP_X_ELSEWHERE_SOURCE_IDENTITY"] = outcome.source_identity
        return self.app(environ, start_response)

    def _ask(self, environ: dict[str, Any], body: bytes) -> Principal | Refusal:
        headers: list[tuple[str, str]] = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").lower()
                if name not in GRANT_HEADERS:
                    headers.append((name, _text(value)))
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", _text(environ["CONTENT_TYPE"])))
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not target:
            path = quote(_text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")))
            query = environ.get("QUERY_STRING", "")
            target = path + (f"?{query}" if query else "")
        question = forward_headers(
            headers,
            method=environ["REQUEST_METHOD"],
            target=target,
            host=_text(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")),
            scheme=environ.get("wsgi.url_scheme", "http"),
            client=environ.get("REMOTE_ADDR", ""),
        )
        try:
            answer = self._client.request("GET", self._url, headers=question, content=body)
        except httpx.HTTPError as exc:
            log.error("cannot ask elsewhere's authorizer at %s: %s", self._url, exc)
            return unavailable()
        if answer.status_code == 200:
            return principal_of(answer)
        return refusal_of(answer)

    def close(self) -> None:
        """Close the connections to elsewhere."""
        self._client.close()


def _text(value: str) -> str:
    """A WSGI "bytes as latin-1" string as the UTF-8 text the client sent (PEP 3333)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _answer(start_response: StartResponse, refusal: Refusal) -> Iterable[bytes]:
    reason = _REASONS.get(refusal.status, "Error")
    headers = [*refusal.headers, ("Content-Length", str(len(refusal.body)))]
    start_response(f"{refusal.status} {reason}", headers)
    return [refusal.body]
