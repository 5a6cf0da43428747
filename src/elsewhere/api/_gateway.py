"""The ASGI application: one endpoint, many services.

Every request goes through the same steps: read the body within limits, decide which service and
protocol it speaks (the SigV4 credential scope, else the shape of the request), authenticate it,
parse it against the service model, hand it to the service, and serialize the answer. Errors are
rendered in the protocol of the service the request was for (aws-protocols.md §5.2).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from elsewhere.api._authorize import AuthorizeEndpoint
from elsewhere.api._deadline import Deadline
from elsewhere.api._oidc import PublicRoute
from elsewhere.api._wire import new_request_id, read_headers
from elsewhere.audit import (
    AuditTrail,
    AuditWriteError,
    CallOrigin,
    api_call_event,
    create_session_event,
    user_identity,
)
from elsewhere.clock import Clock
from elsewhere.errors import (
    ElsewhereError,
    InternalError,
    InvalidSignature,
    RequestEntityTooLarge,
    RequestTimeout,
    UnknownOperation,
)
from elsewhere.protocol import (
    QueryProtocol,
    Response,
    RestJsonProtocol,
    audit_parameters,
    audit_response,
    guess_query_service,
    load_service_model,
    query_input,
    render_json_error,
)
from elsewhere.service import HealthReport, SessionTrail
from elsewhere.service._authn import Authenticator, Principal
from elsewhere.service._authz import Authorizer, CallInfo
from elsewhere.service._sessions import SessionAnswer
from elsewhere.sigv4 import HttpRequest, SignedRequest, parse_signed_request

__all__ = [
    "AccessLogSink",
    "Gateway",
    "GatewaySettings",
    "OperationHandler",
    "RequestObserver",
    "SessionHandler",
]

log = logging.getLogger("elsewhere.access")
errlog = logging.getLogger("elsewhere.errors")

# Reasons echo caller input (validation messages quote values): escape control characters so a
# value holding "\n" cannot forge a log line, and cut very long reasons.
_LOG_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_MAX_LOGGED_REASON = 4096


def _loggable(text: str) -> str:
    """``text`` fit for one log line."""
    if len(text) > _MAX_LOGGED_REASON:
        text = f"{text[:_MAX_LOGGED_REASON]}...({len(text)} characters)"
    return text.translate(_LOG_ESCAPES)


class OperationHandler(Protocol):
    """A service's entry point: run one operation for an authenticated caller."""

    def __call__(self, operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        """The operation's output, keyed by the output shape's member names."""
        ...


class RequestObserver(Protocol):
    """What counts requests for the metrics (``elsewhere.metrics.Metrics`` is one)."""

    def observe_request(
        self, service: str, operation: str, status: int, code: str | None, seconds: float
    ) -> None:
        """One request: its service, operation, status, AWS error code if any, and latency."""
        ...

    def observe_session(self, outcome: str) -> None:
        """One CreateSession: ``success`` or the class of its refusal."""
        ...


class AccessLogSink(Protocol):
    """Where the access line of each request goes (the server's buffered log stream)."""

    def access(
        self,
        client: str,
        method: str,
        path: str,
        status: int,
        milliseconds: float,
        operation: str,
        principal: str,
        request_id: str,
    ) -> None:
        """Write one request's line."""
        ...


class SessionHandler(Protocol):
    """The X.509 data plane: ``POST /sessions``."""

    def __call__(
        self,
        request: HttpRequest,
        signed: SignedRequest,
        source_ip: str,
        secure: bool,
        trail: SessionTrail | None = None,
    ) -> SessionAnswer:
        """The CreateSession answer; ``trail`` is filled with what it learned."""
        ...


@dataclass(frozen=True)
class GatewaySettings:
    """Limits and identity of the endpoint."""

    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024
    body_timeout_seconds: float = 30.0
    # What audit records name as the region and the account that answered.
    region: str = "us-east-1"
    account_id: str = "123456789012"


@dataclass(slots=True)
class _Context:
    request_id: str
    protocol: str = "json"  # "json" or "query"
    query: QueryProtocol | None = None
    rest: RestJsonProtocol | None = None
    operation: str = "-"
    principal: str = "-"
    # A query-protocol caller that asked for JSON (Accept: application/json), as
    # aws-iam-authenticator does for GetCallerIdentity: answers and errors in STS's JSON form.
    wants_json: bool = False
    # For the audit record (filled only as far as the request got).
    service: str | None = None
    caller: Principal | None = None
    access_key_id: str = ""
    params: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    trail: SessionTrail | None = None
    error: ElsewhereError | None = None


@functools.lru_cache(maxsize=256)
def _header_name(name: str) -> bytes:
    """A response header name as sent (lower-case bytes); the names come from our own protocol
    code, so the few there are stay cached."""
    return name.lower().encode("latin-1")


_PONG = Response(200, (("content-type", "application/json"),), b'{"status":"ok"}')


class Gateway:
    """The ASGI callable serving every elsewhere API on one address."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        handlers: Mapping[str, OperationHandler],
        clock: Clock,
        settings: GatewaySettings | None = None,
        sessions: SessionHandler | None = None,
        on_shutdown: list[Callable[[], Awaitable[None]]] | None = None,
        authorizer: Authorizer | None = None,
        public: Mapping[str, PublicRoute] | None = None,
        audit: AuditTrail | None = None,
        observer: RequestObserver | None = None,
        health: Callable[[], HealthReport] | None = None,
        access_log: AccessLogSink | None = None,
        authorize: AuthorizeEndpoint | None = None,
    ) -> None:
        self._auth = authenticator
        # The access line's writer; without one, the line goes through logging as
        # ``elsewhere.access`` at INFO (slower: a LogRecord and a formatter per request).
        self._access = access_log
        # The authorizer's front doors (/_authorize/...), which answer in their own format.
        self._authorize = authorize
        self._audit = audit
        self._observer = observer
        # Documents anyone may read (the OIDC issuer's), by exact path: GET and HEAD only.
        self._public = dict(public or {})
        self._authorizer = authorizer
        self._handlers = dict(handlers)
        self._clock = clock
        self._settings = settings or GatewaySettings()
        self._sessions = sessions
        # Services whose handlers only compute (STS answers from the in-memory snapshot).
        self._inline_services = frozenset({"sts"})
        self._on_shutdown = on_shutdown or []
        self._health = health
        self._rest = {"rolesanywhere": RestJsonProtocol(load_service_model("rolesanywhere"))}
        self._query = {name: QueryProtocol(load_service_model(name)) for name in ("iam", "sts")}
        self._date_second = -1
        self._date_value = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        ctx = _Context(request_id=new_request_id())
        when = self._clock.now() if self._audit is not None else None
        try:
            response = await self._handle(scope, receive, ctx)
        except ElsewhereError as exc:
            ctx.error = exc
            response = self._render_error(exc, ctx)
        except Exception:
            errlog.exception("unhandled error request_id=%s", ctx.request_id)
            ctx.error = InternalError()
            response = self._render_error(ctx.error, ctx)
        if when is not None:
            response = self._record(scope, ctx, when, response)
        await self._send(send, response, ctx)
        if ctx.operation == "Authorize":
            return  # the authorizer wrote the decision's own line, and counted it
        elapsed = time.perf_counter() - started
        if self._observer is not None:
            self._observe(ctx, response.status, elapsed)
        if self._access is not None:
            client = scope.get("client")
            self._access.access(
                client[0] if client else "-",
                scope["method"],
                scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0],
                response.status,
                elapsed * 1000,
                ctx.operation,
                ctx.principal,
                ctx.request_id,
            )
            return
        if not log.isEnabledFor(logging.INFO):
            return  # the line's arguments cost more than the check
        log.info(
            "%s %s %s %d %.1fms op=%s principal=%s request_id=%s",
            scope.get("client", ("-",))[0] if scope.get("client") else "-",
            scope["method"],
            scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0],
            response.status,
            elapsed * 1000,
            ctx.operation,
            ctx.principal,
            ctx.request_id,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self._on_shutdown:
                    try:
                        await hook()
                    except Exception:
                        errlog.exception("shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- request handling ------------------------------------------------------------------

    async def _read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        limit = self._settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise RequestEntityTooLarge(
                f"Request body of {int(declared)} bytes is larger than the limit of {limit} bytes."
            )
        chunks: list[bytes] = []
        size = 0
        # A client must not hold a request open: the whole body, however it is cut into chunks,
        # must arrive within the timeout (a timer per chunk would let one byte every few
        # seconds keep a request open forever).
        deadline = Deadline(self._settings.body_timeout_seconds)
        try:
            with deadline:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise RequestEntityTooLarge(
                            f"Request body is larger than the limit of {limit} bytes."
                        )
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise RequestTimeout(
                f"The request body was not received within {deadline.seconds:g} seconds."
            ) from None
        return b"".join(chunks)

    async def _handle(
        self, scope: Scope, receive: Receive, ctx: _Context
    ) -> Response | SessionAnswer:
        method: str = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers, header_pairs, header_bytes = read_headers(scope["headers"])
        ctx.wants_json = "application/json" in headers.get("accept", "")
        if header_bytes > self._settings.max_header_bytes:
            raise RequestEntityTooLarge(
                f"Request headers of {header_bytes} bytes exceed the limit of "
                f"{self._settings.max_header_bytes} bytes."
            )

        if method in ("GET", "HEAD"):
            if path == "/ping":
                ctx.operation = "Ping"
                return self._pong()
            route = self._public.get(path)
            if route is not None:
                ctx.operation = route.operation
                return route.respond(headers)

        if self._authorize is not None and self._authorize.handles(path):
            ctx.operation = "Authorize"
            client = scope.get("client")
            question = self._authorize.question(
                method,
                raw_path,
                scope.get("query_string", b""),
                scope["headers"],
                await self._read_body(receive, headers),
                client[0] if client else "",
                scope.get("scheme") == "https",
            )
            return await self._authorize.answer(question, ctx.request_id)

        body = await self._read_body(receive, headers)
        request = HttpRequest(
            method=method, raw_path=path, raw_query=raw_query, headers=header_pairs, body=body
        )
        form_error: ElsewhereError | None = None
        form: list[tuple[str, str]] = []
        if not self._is_x509_session(method, path, headers):
            # CreateSession is JSON whatever its query says: its form is not parsed at all.
            try:
                form = query_input(raw_query, body, headers.get("content-type", ""))
            except ElsewhereError as exc:
                # Raised once the signing scope says which protocol to answer in (XML for
                # iam/sts).
                form, form_error = [], exc
            guessed = guess_query_service(form)
            if guessed is not None:
                # The error format, before authentication says which service this is.
                ctx.protocol, ctx.query = "query", self._query[guessed]
                ctx.service = guessed

        signed = parse_signed_request(request)  # MissingAuthenticationToken / IncompleteSignature
        if signed.algorithm.startswith("AWS4-X509"):
            if method == "POST" and path.rstrip("/") == "/sessions" and self._sessions is not None:
                ctx.operation = "CreateSession"
                ctx.service = "rolesanywhere"
                client = scope.get("client")
                source_ip = client[0] if client else ""
                secure = scope.get("scheme") == "https"
                if self._audit is not None or self._observer is not None:
                    ctx.trail = SessionTrail()
                # CPU-bound and free of store reads (the snapshot is in memory): run inline; a
                # thread hop would only add latency under the GIL.
                return self._sessions(request, signed, source_ip, secure, ctx.trail)
            raise UnknownOperation(
                "X.509 signatures are accepted only on POST /sessions.",
            )
        service = signed.scope.service
        ctx.access_key_id = signed.credential
        if service in self._rest or service in self._query:
            ctx.service = service
        if service == "rolesanywhere":
            ctx.protocol, ctx.rest = "json", self._rest[service]
        elif service in self._query:
            ctx.protocol, ctx.query = "query", self._query[service]
        else:
            raise InvalidSignature(
                "Credential should be scoped to correct service: 'rolesanywhere'. ",
                reason=f"unknown signing service {service!r}",
            )
        # Inline: the root key is cached and an IAM user's key is one indexed read.
        now = self._clock.now()
        principal = self._auth.authenticate(request, signed, service=service, now=now)
        ctx.principal = principal.arn
        ctx.caller = principal
        client = scope.get("client")
        call = CallInfo(
            now=now,
            source_ip=client[0] if client else "",
            secure=scope.get("scheme") == "https",
            user_agent=headers.get("user-agent", ""),
        )

        if ctx.rest is not None:
            operation, labels = ctx.rest.match(method, path, raw_query)
            ctx.operation = operation.name
            params = ctx.params = ctx.rest.parse(operation, labels, raw_query, headers, body)
            output = ctx.output = await self._run(service, operation.name, params, principal, call)
            return ctx.rest.serialize(operation, output, ctx.request_id)
        assert ctx.query is not None
        if form_error is not None:
            raise form_error
        operation, params = ctx.query.parse(form)
        ctx.operation = operation.name
        ctx.params = params
        output = ctx.output = await self._run(service, operation.name, params, principal, call)
        if ctx.wants_json:
            return ctx.query.serialize_json(operation, output, ctx.request_id)
        return ctx.query.serialize(operation, output, ctx.request_id)

    async def _run(
        self,
        service: str,
        operation: str,
        params: dict[str, Any],
        principal: Principal,
        call: CallInfo,
    ) -> dict[str, Any]:
        handler = self._handlers.get(service)
        if handler is None:
            raise UnknownOperation(f"The {service} API is not served by this endpoint.")
        inline = service in self._inline_services
        if self._authorizer is not None:
            # Every call is authorized between authentication and the handler, which then runs
            # with the input the authorizer returns: the resource it names by its canonical ARN,
            # so the handler acts on exactly the resource that was authorized.
            if inline or principal.kind == "root":
                params = self._authorizer.authorize_call(
                    service, operation, params, principal, call
                )
            else:
                params = await run_in_threadpool(
                    self._authorizer.authorize_call, service, operation, params, principal, call
                )
        if inline:
            return handler(operation, params, principal)
        # Control-plane and IAM handlers read and write the store: keep them off the event loop.
        return await run_in_threadpool(handler, operation, params, principal)

    def _pong(self) -> Response:
        """``/ping``: 200 ``{"status":"ok"}`` when all is well; else the background loops' counts
        (``degraded``, still 200) or 503 ``unavailable`` when the configuration is past its bound.

        Unauthenticated, so it shows states and counts only: no error text, no configuration.
        """
        if self._health is None:
            return _PONG
        report = self._health()
        body = report.as_json()
        if body == {"status": "ok"}:
            return _PONG
        return Response(
            report.http_status,
            (("content-type", "application/json"),),
            json.dumps(body, separators=(",", ":")).encode(),
        )

    def _is_x509_session(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """Whether this looks like an X.509-signed ``POST /sessions`` (checked again later)."""
        return (
            self._sessions is not None
            and method == "POST"
            and path.rstrip("/") == "/sessions"
            and headers.get("authorization", "").lstrip().startswith("AWS4-X509")
        )

    # -- metrics and audit -----------------------------------------------------------------

    def _observe(self, ctx: _Context, status: int, elapsed: float) -> None:
        """Count the request (and a CreateSession's outcome) for the metrics."""
        assert self._observer is not None
        error = ctx.error
        operation = ctx.operation if ctx.operation != "-" else "Unknown"
        self._observer.observe_request(
            ctx.service or "none",
            operation,
            status,
            error.code_for(ctx.protocol) if error is not None else None,
            elapsed,
        )
        if ctx.trail is not None:
            refusal = ctx.trail.refusal
            if refusal is None and status >= 300:
                refusal = "unavailable"  # granted, but the answer could not be given
            self._observer.observe_session(refusal or "success")

    # -- audit -----------------------------------------------------------------------------

    def _record(
        self, scope: Scope, ctx: _Context, when: dt.datetime, response: Response | SessionAnswer
    ) -> Response | SessionAnswer:
        """Write the call's audit record before its answer leaves; the answer to send.

        A record that cannot be written fails the call closed: the caller gets 500 (with the
        request id) instead of the answer, so no credentials leave unrecorded; the record itself
        went to the error log (elsewhere.audit).
        """
        assert self._audit is not None
        event = self._event(scope, ctx, when)
        if event is None:
            return response
        try:
            self._audit.record(event)
        except AuditWriteError as exc:
            error = InternalError(reason=f"audit record not written: {exc}")
            return self._render_error(error, ctx)
        return response

    def audit_origin(self, scope: Scope, request_id: str, when: dt.datetime) -> CallOrigin:
        """The origin fields of an audit record for a request to this endpoint.

        For other request handlers of this endpoint that record their own decisions (the
        authorizer): build the event with ``elsewhere.audit`` and pass it to :attr:`audit`.
        """
        client = scope.get("client")
        agent = ""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"user-agent":
                agent = value.decode("latin-1")
                break
        return CallOrigin(
            request_id=request_id,
            event_id=new_request_id(),
            time=when,
            source_ip=client[0] if client else "",
            user_agent=agent,
            region=self._settings.region,
            account_id=self._settings.account_id,
        )

    @property
    def audit(self) -> AuditTrail | None:
        """Where audit records go (None when the audit log is off)."""
        return self._audit

    def _event(self, scope: Scope, ctx: _Context, when: dt.datetime) -> dict[str, Any] | None:
        """The CloudTrail-shaped record of this request; None for a request to no API."""
        service, operation = ctx.service, ctx.operation
        if service is None:
            # Refused before its signature named a service: a rolesanywhere path still names the
            # operation it was meant for.
            raw_path = scope.get("raw_path") or scope["path"].encode()
            try:
                match, _ = self._rest["rolesanywhere"].match(
                    scope["method"],
                    raw_path.decode("latin-1").split("?", 1)[0],
                    scope.get("query_string", b"").decode("latin-1"),
                )
            except ElsewhereError:
                return None
            service, operation = "rolesanywhere", match.name
        origin = self.audit_origin(scope, ctx.request_id, when)
        error = ctx.error
        code = message = reason = None
        if error is not None:
            code = error.code_for(ctx.protocol)
            message = error.message_for(ctx.protocol)
            reason = error.reason
        if ctx.trail is not None:
            return create_session_event(
                origin, ctx.trail, error_code=code, error_message=message, reason=reason
            )
        model = (self._rest.get(service) or self._query[service]).model
        known = operation != "-"
        return api_call_event(
            origin,
            service=service,
            operation=operation if known else "Unknown",
            identity=user_identity(ctx.caller, access_key_id=ctx.access_key_id),
            request_parameters=audit_parameters(model, operation, ctx.params) if known else None,
            response_elements=audit_response(model, operation, ctx.output) if known else None,
            error_code=code,
            error_message=message,
            reason=reason,
        )

    # -- output ----------------------------------------------------------------------------

    def _render_error(self, exc: ElsewhereError, ctx: _Context) -> Response:
        level = logging.ERROR if exc.status_for(ctx.protocol) >= 500 else logging.INFO
        if errlog.isEnabledFor(level):  # the escaped reason costs more than the check
            code, reason = exc.code_for(ctx.protocol), _loggable(exc.reason)
            errlog.log(
                level,
                "request_id=%s op=%s code=%s reason=%s",
                ctx.request_id,
                ctx.operation,
                code,
                reason,
                # Fields of their own in --log-format json.
                extra={
                    "request_id": ctx.request_id,
                    "operation": ctx.operation,
                    "code": code,
                    "reason": reason,
                },
            )
        if ctx.query is not None and ctx.protocol == "query":
            if ctx.wants_json:
                return ctx.query.serialize_error_json(exc, ctx.request_id)
            return ctx.query.serialize_error(exc, ctx.request_id)
        if ctx.rest is not None:
            return ctx.rest.serialize_error(exc, ctx.request_id)
        return render_json_error(exc, ctx.request_id)

    def _date_header(self) -> bytes:
        """The ``Date`` header value, formatted once per second."""
        now = self._clock.now()
        second = int(now.timestamp())
        if second != self._date_second:
            self._date_value = email.utils.format_datetime(now, usegmt=True).encode()
            self._date_second = second
        return self._date_value

    async def _send(self, send: Send, response: Response | SessionAnswer, ctx: _Context) -> None:
        headers: list[tuple[bytes, bytes]] = []
        has_request_id = False
        for name, value in response.headers:
            key = _header_name(name)
            has_request_id = has_request_id or key == b"x-amzn-requestid"
            headers.append((key, value.encode("latin-1")))
        if not has_request_id:
            headers.append((b"x-amzn-requestid", ctx.request_id.encode()))
        headers.append((b"date", self._date_header()))
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
