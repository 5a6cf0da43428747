"""What both middlewares share: the question they ask and what the answer means."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

__all__ = [
    "GRANT_HEADERS",
    "Principal",
    "Refusal",
    "forward_headers",
    "forward_url",
    "principal_of",
    "refusal_of",
    "too_large",
    "unavailable",
]

#: The authorizer's answer headers; a client's own copies never reach the service.
GRANT_HEADERS = (
    "x-elsewhere-principal-arn",
    "x-elsewhere-account",
    "x-elsewhere-caller-id",
    "x-elsewhere-source-identity",
)
# Hop-by-hop headers (RFC 9110 §7.6.1) and the length of a body that is sent again: not the
# client's request, so not passed on in the question.
_NOT_PASSED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        *GRANT_HEADERS,
    }
)
# The answer headers a refusal keeps (the client's view of API Gateway's error).
_REFUSAL_HEADERS = frozenset(
    {"content-type", "x-amzn-requestid", "x-amzn-errortype", "www-authenticate"}
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made an allowed request, as elsewhere's authorizer named them.

    ``caller_id`` is ``aws:userid`` (``AROA…:<session>`` for a session, ``AIDA…`` for a user);
    ``source_identity`` is empty when the session has none; ``request_id`` is the decision's,
    under which elsewhere logged it.
    """

    arn: str
    account: str
    caller_id: str
    source_identity: str
    request_id: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the authorizer refused: the answer to give the client, as elsewhere gave it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def forward_url(endpoint: str, api: str, stage: str) -> str:
    """The forward-auth URL of ``api`` and ``stage`` on the elsewhere at ``endpoint``."""
    return f"{endpoint.rstrip('/')}/_authorize/forward?{urlencode({'api': api, 'stage': stage})}"


def forward_headers(
    headers: Iterable[tuple[str, str]],
    *,
    method: str,
    target: str,
    host: str,
    scheme: str,
    client: str,
) -> list[tuple[str, str]]:
    """The question's headers: the client's (repeats kept) and the original request line."""
    out = [(name, value) for name, value in headers if name.lower() not in _NOT_PASSED]
    out += [
        ("X-Forwarded-Method", method),
        ("X-Forwarded-Uri", target),
        ("X-Forwarded-Host", host),
        ("X-Forwarded-Proto", scheme),
    ]
    if client:
        out.append(("X-Forwarded-For", client))
    return out


def principal_of(answer: httpx.Response) -> Principal:
    """The principal a 200 answer names."""
    headers = answer.headers
    return Principal(
        arn=headers.get("x-elsewhere-principal-arn", ""),
        account=headers.get("x-elsewhere-account", ""),
        caller_id=headers.get("x-elsewhere-caller-id", ""),
        source_identity=headers.get("x-elsewhere-source-identity", ""),
        request_id=headers.get("x-amzn-requestid", ""),
    )


def refusal_of(answer: httpx.Response) -> Refusal:
    """The client's answer for a refusal: elsewhere's status, error headers and body."""
    kept = tuple(
        (name, value) for name, value in answer.headers.items() if name in _REFUSAL_HEADERS
    )
    return Refusal(answer.status_code, kept, answer.content)


def unavailable() -> Refusal:
    """503 when elsewhere cannot be asked (the middleware logs why): the request fails closed."""
    return Refusal(
        503,
        (("content-type", "application/json"), ("x-amzn-errortype", "ServiceUnavailableException")),
        b'{"message": "The authorizer is unavailable."}',
    )


def too_large(limit: int) -> Refusal:
    """413 for a body over the limit the middleware reads (elsewhere's own, 1 MiB by default)."""
    body = f'{{"message": "Request body is larger than the limit of {limit} bytes."}}'.encode()
    return Refusal(
        413,
        (
            ("content-type", "application/json"),
            ("x-amzn-errortype", "RequestEntityTooLargeException"),
        ),
        body,
    )
