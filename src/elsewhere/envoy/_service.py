"""``envoy.service.auth.v3.Authorization/Check`` over the authorizer's decision.

Envoy's ``ext_authz`` filter in gRPC mode sends a ``CheckRequest`` for each request it guards
and acts on the ``CheckResponse`` (envoy/service/auth/v3/external_auth.proto):

- ``status`` OK with ``ok_response``: the request goes on upstream, with ``ok_response.headers``
  set on it (elsewhere's four ``X-Elsewhere-*`` headers) and ``headers_to_remove`` removed (an
  empty one, so a client cannot pass its own);
- any other ``status`` with ``denied_response``: Envoy answers the client with that HTTP status,
  headers and body (elsewhere's API Gateway-style refusal). elsewhere says UNAUTHENTICATED for
  a 401, PERMISSION_DENIED for a 403, INVALID_ARGUMENT for a 400, RESOURCE_EXHAUSTED for a 429,
  INTERNAL otherwise (google/rpc/code.proto).

What the request was comes from ``attributes.request.http`` (attribute_context.proto): method,
``path`` (the request target with its query), ``host`` (the ``:authority``), ``scheme``,
``headers`` (lower-case names, repeated headers joined with ``,``; or ``header_map`` when Envoy
sends raw headers) and, with ``with_request_body``, ``body`` or ``raw_body`` (``pack_as_bytes``).
The client's address is ``attributes.source.address``. The route names the API in its
``check_settings.context_extensions``: ``api``, ``stage`` and optionally ``body: withheld``
(without ``with_request_body``; see the README on what that protects).
"""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from elsewhere.api import AuthorizeEndpoint, new_request_id
from elsewhere.errors import BadRequest
from elsewhere.protocol import GRANT_HEADERS, Response
from elsewhere.service import Invocation
from elsewhere.sigv4 import BodyWithheldRequest, HttpRequest

__all__ = ["EnvoyAuthorization", "EnvoyServer", "start_envoy_server"]

log = logging.getLogger("elsewhere.authorizer")

_CODES: dict[int, int] = {401: code_pb2.UNAUTHENTICATED, 403: code_pb2.PERMISSION_DENIED}
_GRANT = {name.lower() for name in GRANT_HEADERS}
_OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD


def _grpc_code(status: int) -> int:
    if status in _CODES:
        return _CODES[status]
    if status == 400:
        return int(code_pb2.INVALID_ARGUMENT)
    if status == 429:
        return int(code_pb2.RESOURCE_EXHAUSTED)
    return int(code_pb2.INTERNAL)


def _headers(http: Any) -> list[tuple[str, str]]:
    """The request's headers, without pseudo-headers: the ``headers`` map, or ``header_map``."""
    if http.headers:
        return [(k.lower(), v) for k, v in http.headers.items() if not k.startswith(":")]
    pairs = []
    for entry in http.header_map.headers:
        if entry.key.startswith(":"):
            continue
        value = entry.raw_value.decode("utf-8", "replace") if entry.raw_value else entry.value
        pairs.append((entry.key.lower(), value))
    return pairs


def invocation_of(check: Any, now: Any) -> Invocation:
    """The invocation a ``CheckRequest`` describes; ``BadRequest`` when the route names no API."""
    attributes = check.attributes
    extensions = attributes.context_extensions
    api, stage = extensions.get("api", ""), extensions.get("stage", "")
    mode = extensions.get("body", "forwarded")
    if not (api and stage):
        raise BadRequest(reason="the route's context_extensions name no api and stage")
    if mode not in ("forwarded", "withheld"):
        raise BadRequest(reason=f"context_extensions body={mode[:40]!r}")
    http = attributes.request.http
    target = http.path
    if not target.startswith("/"):
        raise BadRequest(reason=f"request path {target[:200]!r} is not a path")
    path, _, query = target.partition("?")
    host = http.host
    # The client signed the :authority Envoy names as host.
    pairs = (*((k, v) for k, v in _headers(http) if k != "host"), ("host", host))
    index: dict[str, list[str]] = {}
    for name, value in pairs:
        index.setdefault(name, []).append(value)
    method = http.method.upper()
    request: HttpRequest
    if mode == "withheld":
        request = BodyWithheldRequest.indexed(method, path, query, pairs, b"", index)
    else:
        body = http.raw_body or http.body.encode("utf-8")
        request = HttpRequest.indexed(method, path, query, pairs, body, index)
    source = attributes.source.address.socket_address.address
    return Invocation(
        request=request,
        api=api,
        stage=stage,
        source_ip=source,
        secure=http.scheme == "https",
        now=now,
    )


def check_response(response: Response) -> Any:
    """The authorizer's HTTP answer as Envoy's ``CheckResponse``."""
    if response.status == 200:
        ok = external_auth_pb2.OkHttpResponse()
        for name, value in response.headers:
            if name.lower() not in _GRANT:
                continue
            if value:
                ok.headers.append(
                    base_pb2.HeaderValueOption(
                        header=base_pb2.HeaderValue(key=name, value=value), append_action=_OVERWRITE
                    )
                )
            else:
                ok.headers_to_remove.append(name.lower())
        return external_auth_pb2.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK), ok_response=ok
        )
    denied = external_auth_pb2.DeniedHttpResponse(
        status=http_status_pb2.HttpStatus(code=response.status),
        body=response.body.decode("utf-8", "replace"),
    )
    for name, value in response.headers:
        denied.headers.append(
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=name, value=value), append_action=_OVERWRITE
            )
        )
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=_grpc_code(response.status)), denied_response=denied
    )


class EnvoyAuthorization(external_auth_pb2_grpc.AuthorizationServicer):  # type: ignore[misc]
    """The ``Authorization`` service: one decision per ``Check``."""

    def __init__(self, endpoint: AuthorizeEndpoint, clock: Any) -> None:
        """Decide with ``endpoint`` (logged, counted and audited as every front door)."""
        self._endpoint = endpoint
        self._clock = clock

    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - the proto's method name
        """The ``CheckResponse`` for one ``CheckRequest``."""
        source = request.attributes.source.address.socket_address.address
        response = self._endpoint.decide(
            lambda: invocation_of(request, self._clock.now()), source, new_request_id()
        )
        return check_response(response)


@dataclass
class EnvoyServer:
    """A running gRPC server of the ``Authorization`` service."""

    server: Any
    port: int

    def close(self, grace: float = 5.0) -> None:
        """Stop taking calls; let those in flight finish for up to ``grace`` seconds."""
        self.server.stop(grace).wait()


def start_envoy_server(
    endpoint: AuthorizeEndpoint, clock: Any, host: str, port: int, *, workers: int = 8
) -> EnvoyServer:
    """Serve ``Authorization/Check`` on ``host:port`` (plaintext gRPC) on worker threads."""
    pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="envoy")
    server = grpc.server(pool)
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
        EnvoyAuthorization(endpoint, clock), server
    )
    shown = f"[{host}]" if ":" in host else host
    bound = server.add_insecure_port(f"{shown}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for Envoy's ext_authz on {shown}:{port}")
    server.start()
    log.info("Envoy ext_authz gRPC service on %s:%d", shown, bound)
    return EnvoyServer(server, bound)
