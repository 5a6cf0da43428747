"""The authorizer's HTTP front doors: forward auth and Envoy's ext_authz in HTTP mode.

``/_authorize/forward?api=A&stage=S`` serves Traefik's ForwardAuth and nginx's ``auth_request``:
the proxy sends the client's headers and names the original request in ``X-Forwarded-Method``,
``X-Forwarded-Uri`` (path and query) and ``X-Forwarded-Host`` (the ``Host`` the client signed).
Traefik sends the body too with ``forwardBody: true``; nginx never does, and says so with
``&body=withheld`` (the declared ``X-Amz-Content-SHA256`` then stands in for the body, see
``sigv4.BodyWithheldRequest``). Without that parameter the body received is the body checked,
so a proxy that drops bodies fails closed.

``/_authorize/envoy/A/S`` is Envoy's ``http_service`` with that ``path_prefix``: Envoy sends the
original method, ``Host`` and headers, with the original path (and query) after the prefix, and
the body when ``with_request_body`` is set (Envoy, ``ext_authz`` HTTP filter, "HttpService").

The client's address and scheme (``aws:SourceIp``, ``aws:SecureTransport``) are the ASGI scope's:
uvicorn takes them from ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only when the peer is one of
the proxies named by ``--forwarded-allow-ips``, and otherwise from the connection itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple, Protocol
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool

from elsewhere.api._wire import new_request_id
from elsewhere.audit import (
    AuditTrail,
    AuditWriteError,
    CallOrigin,
    authorization_event,
    user_identity,
)
from elsewhere.clock import Clock
from elsewhere.errors import AccessDenied, BadRequest, ElsewhereError, InternalError
from elsewhere.protocol import Response, render_gateway_error, render_grant
from elsewhere.service import (
    INVOKE_ACTION,
    Grant,
    Invocation,
    InvocationDenied,
    InvokeAuthorizer,
    Principal,
)
from elsewhere.sigv4 import BodyWithheldRequest, HttpRequest, SignedRequest

__all__ = [
    "ENVOY_PREFIX",
    "FORWARD_PATH",
    "AuthorizeEndpoint",
    "DecisionLog",
    "DecisionObserver",
    "Question",
]

log = logging.getLogger("elsewhere.authorizer")

FORWARD_PATH: Final = "/_authorize/forward"
ENVOY_PREFIX: Final = "/_authorize/envoy/"

# Reasons echo caller input: escape control characters so a value holding "\n" cannot forge a
# log line, and cut very long reasons.
_LOG_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_MAX_LOGGED = 2048


def _loggable(text: str) -> str:
    if len(text) > _MAX_LOGGED:
        text = f"{text[:_MAX_LOGGED]}...({len(text)} characters)"
    return text.translate(_LOG_ESCAPES)


class Question(NamedTuple):
    """One authorization request as it reached the front door (the proxy's own request)."""

    method: str
    path: str  # raw path, percent-encoding kept
    query: str  # raw query
    pairs: tuple[tuple[str, str], ...]  # every header as received (names lower-cased)
    by_name: dict[str, list[str]]  # each name's values in the order received
    header_bytes: int  # names and values, as the gateway counts them against its limit
    body: bytes
    source_ip: str
    secure: bool


@functools.lru_cache(maxsize=256)
def _forward_route(query: str) -> tuple[str, str, bool]:
    """(api, stage, body withheld) of a forward-auth URL's query: one per route a proxy names,
    so parsed once."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    api, stage = params.get("api", ""), params.get("stage", "")
    if not (api and stage):
        raise BadRequest(reason="the proxy's URL does not name api and stage")
    mode = params.get("body", "forwarded")
    if mode not in ("forwarded", "withheld"):
        raise BadRequest(reason=f"body={mode[:40]!r}: expected 'forwarded' or 'withheld'")
    return api, stage, mode == "withheld"


def _single(index: Mapping[str, list[str]], name: str) -> str:
    """The one value of a header the proxy sets; a repeated one is ambiguous."""
    values = index.get(name)
    if values is None:
        return ""
    if len(values) > 1:
        raise BadRequest(reason=f"{name} appears {len(values)} times")
    return values[0]


class DecisionLog(Protocol):
    """Where each decision's line goes (the server's buffered log stream); without one, the
    line goes through :mod:`logging` as ``elsewhere.authorizer``."""

    def decision(
        self,
        client: str,
        request_id: str,
        decision: str,
        status: int,
        milliseconds: float,
        api: str,
        stage: str,
        principal: str,
        resource: str,
        reason: str,
    ) -> None:
        """Write one decision's line."""
        ...


class DecisionObserver(Protocol):
    """What counts decisions for the metrics (``elsewhere.metrics.Metrics`` is one)."""

    def observe_request(
        self, service: str, operation: str, status: int, code: str | None, seconds: float
    ) -> None:
        """One request: its service, operation, status, AWS error code if any, and latency."""
        ...


class AuthorizeEndpoint:
    """Turns a proxy's question into an :class:`Invocation` and the decision into an answer."""

    def __init__(
        self,
        decider: InvokeAuthorizer,
        clock: Clock,
        *,
        decisions: DecisionLog | None = None,
        observer: DecisionObserver | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._decider = decider
        self._clock = clock
        self._decisions = decisions
        self._observer = observer
        self._audit = audit

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is one of the authorizer's front doors."""
        return path == FORWARD_PATH or path.startswith(ENVOY_PREFIX)

    def invocation(self, question: Question) -> Invocation:
        """The invocation a front door asks about; ``BadRequest`` for a misconfigured proxy."""
        now = self._clock.now()
        if question.path == FORWARD_PATH:
            return self._forwarded(question, now)
        if question.path.startswith(ENVOY_PREFIX):
            return self._envoy(question, now)
        raise BadRequest(reason=f"{question.path[:200]!r} is not an authorizer path")

    def _forwarded(self, question: Question, now: dt.datetime) -> Invocation:
        api, stage, withheld = _forward_route(question.query)
        index = question.by_name
        method = _single(index, "x-forwarded-method")
        uri = _single(index, "x-forwarded-uri")
        host = _single(index, "x-forwarded-host")
        if not (method and uri and host):
            missing = [
                name
                for name, value in (
                    ("X-Forwarded-Method", method),
                    ("X-Forwarded-Uri", uri),
                    ("X-Forwarded-Host", host),
                )
                if not value
            ]
            raise BadRequest(reason=f"the proxy did not send {', '.join(missing)}")
        if not uri.startswith("/"):
            raise BadRequest(reason=f"X-Forwarded-Uri {uri[:200]!r} is not a path")
        path, _, query = uri.partition("?")
        # The client signed its own Host; the proxy's request to us carries ours instead.
        pairs = question.pairs
        if "host" in index:
            pairs = tuple(pair for pair in pairs if pair[0] != "host")
        index = {**index, "host": [host]}
        pairs = (*pairs, ("host", host))
        request: HttpRequest
        if withheld:
            request = BodyWithheldRequest.indexed(method.upper(), path, query, pairs, b"", index)
        else:
            request = HttpRequest.indexed(
                method.upper(), path, query, pairs, question.body, index
            )
        return Invocation(
            request=request,
            api=api,
            stage=stage,
            source_ip=question.source_ip,
            secure=question.secure,
            now=now,
        )

    def _envoy(self, question: Question, now: dt.datetime) -> Invocation:
        api, _, rest = question.path[len(ENVOY_PREFIX) :].partition("/")
        stage, _, original = rest.partition("/")
        request = HttpRequest.indexed(
            question.method,
            "/" + original,
            question.query,
            question.pairs,
            question.body,
            question.by_name,
        )
        return Invocation(
            request=request,
            api=api,
            stage=stage,
            source_ip=question.source_ip,
            secure=question.secure,
            now=now,
        )

    @staticmethod
    def question(
        method: str,
        raw_path: bytes,
        raw_query: bytes,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes,
        source_ip: str,
        secure: bool,
    ) -> Question:
        """A question from the wire: the proxy's request line, headers and body.

        Header names arrive lower-cased (uvicorn's parser folds them); values are decoded as
        UTF-8, which is how botocore signs them.
        """
        pairs: list[tuple[str, str]] = []
        index: dict[str, list[str]] = {}
        size = 0
        for raw_name, raw_value in raw_headers:
            size += len(raw_name) + len(raw_value)
            name = raw_name.decode("latin-1")
            value = (
                raw_value.decode("ascii")
                if raw_value.isascii()
                else raw_value.decode("utf-8", "replace")
            )
            pairs.append((name, value))
            known = index.get(name)
            if known is None:
                index[name] = [value]
            else:
                known.append(value)
        return Question(
            method=method,
            path=raw_path.decode("latin-1"),
            query=raw_query.decode("latin-1"),
            pairs=tuple(pairs),
            by_name=index,
            header_bytes=size,
            body=body,
            source_ip=source_ip,
            secure=secure,
        )

    def answer_inline(self, question: Question, request_id: str) -> Response:
        """The answer, decided on the calling thread, logged, counted and audited.

        For a request signed with session credentials (``X-Amz-Security-Token``): those are
        decided from memory. A long-term key would be looked up in the store here.
        """
        return self.decide(lambda: self.invocation(question), question.source_ip, request_id)

    def decide(
        self, build: Callable[[], Invocation], source_ip: str, request_id: str
    ) -> Response:
        """The answer for the invocation ``build`` makes (it raises ``BadRequest`` for a front
        door's malformed question), decided on the calling thread, logged, counted, audited.

        The front doors other than HTTP (Envoy's gRPC service) describe their request here.
        """
        started = time.perf_counter()
        invocation: Invocation | None = None
        signed: SignedRequest | None = None
        try:
            invocation = build()
            signed = self._decider.signature(invocation.request)
            grant = self._decider.decide(invocation, signed)
        except Exception as exc:
            return self._refused(exc, source_ip, request_id, invocation, signed, started)
        return self._allowed(grant, source_ip, request_id, invocation, started)

    async def answer(self, question: Question, request_id: str) -> Response:
        """The answer, logged, counted and audited; a store read goes to a worker thread."""
        started = time.perf_counter()
        invocation: Invocation | None = None
        signed: SignedRequest | None = None
        try:
            invocation = self.invocation(question)
            signed = self._decider.signature(invocation.request)
            if signed.security_token is None:
                # A long-term key is looked up in the store, and a user's policies read from it.
                grant = await run_in_threadpool(self._decider.decide, invocation, signed)
            else:
                # A session is decided from memory: no thread hop.
                grant = self._decider.decide(invocation, signed)
        except Exception as exc:
            return self._refused(exc, question.source_ip, request_id, invocation, signed, started)
        return self._allowed(grant, question.source_ip, request_id, invocation, started)

    def _allowed(
        self,
        grant: Grant,
        source_ip: str,
        request_id: str,
        invocation: Invocation,
        started: float,
    ) -> Response:
        """The 200 answer for ``grant``."""
        response = render_grant(
            grant.principal_arn, grant.account, grant.caller_id, grant.source_identity, request_id
        )
        if self._audit is not None:
            response = self._record(
                source_ip, request_id, invocation, grant.principal, "", grant.resource, None
            ) or response
        self._account(
            response.status, None, "allow", source_ip, request_id, invocation, grant.principal_arn,
            grant.resource, "", started,
        )
        return response

    def _refused(
        self,
        exc: Exception,
        source_ip: str,
        request_id: str,
        invocation: Invocation | None,
        signed: SignedRequest | None,
        started: float,
    ) -> Response:
        """API Gateway's answer for ``exc``; the precise reason goes to the log only."""
        if not isinstance(exc, ElsewhereError):
            log.error("authorizer failed request_id=%s", request_id, exc_info=exc)
            exc = InternalError()
        principal = exc.principal if isinstance(exc, InvocationDenied) else None
        resource = exc.resource if isinstance(exc, InvocationDenied) else ""
        response = render_gateway_error(exc, request_id)
        if self._audit is not None and invocation is not None:
            key = signed.credential if signed is not None else ""
            response = self._record(
                source_ip, request_id, invocation, principal, key, resource, exc
            ) or response
        self._account(
            response.status,
            exc.code_for("json"),
            "deny" if isinstance(exc, AccessDenied) else "refuse",
            source_ip,
            request_id,
            invocation,
            principal.arn if principal is not None else "-",
            resource,
            exc.reason,
            started,
        )
        return response

    def _account(
        self,
        status: int,
        code: str | None,
        decision: str,
        source_ip: str,
        request_id: str,
        invocation: Invocation | None,
        principal: str,
        resource: str,
        reason: str,
        started: float,
    ) -> None:
        """The decision's log line and its count in the metrics."""
        seconds = time.perf_counter() - started
        if self._observer is not None:
            self._observer.observe_request("execute-api", "Invoke", status, code, seconds)
        api = invocation.api if invocation is not None else "-"
        stage = invocation.stage if invocation is not None else "-"
        if self._decisions is not None:
            self._decisions.decision(
                source_ip or "-",
                request_id,
                decision,
                status,
                seconds * 1000,
                _loggable(api),
                _loggable(stage),
                principal,
                _loggable(resource),
                _loggable(reason),
            )
            return
        level = logging.ERROR if status >= 500 else logging.INFO
        if log.isEnabledFor(level):
            log.log(
                level,
                "request_id=%s decision=%s status=%d %.1fms client=%s api=%s stage=%s "
                "principal=%s resource=%s reason=%s",
                request_id,
                decision,
                status,
                seconds * 1000,
                source_ip or "-",
                _loggable(api),
                _loggable(stage),
                principal,
                _loggable(resource) or "-",
                _loggable(reason) or "-",
            )

    def _record(
        self,
        source_ip: str,
        request_id: str,
        invocation: Invocation,
        principal: Principal | None,
        access_key_id: str,
        resource: str,
        error: ElsewhereError | None,
    ) -> Response | None:
        """Write the decision's audit record; an answer of 500 if it could not be written.

        As for every call the gateway records, a decision that cannot be recorded is not handed
        out: the proxy gets 500, which it turns into a refusal.
        """
        assert self._audit is not None
        request = invocation.request
        origin = CallOrigin(
            request_id=request_id,
            event_id=new_request_id(),
            time=invocation.now,
            source_ip=source_ip,
            user_agent=request.header("user-agent") or "",
            region=self._decider.deployment.region,
            account_id=self._decider.deployment.account_id,
        )
        event = authorization_event(
            origin,
            identity=user_identity(principal, access_key_id=access_key_id),
            action=INVOKE_ACTION,
            resource=resource,
            allowed=error is None,
            reason=error.reason if error is not None else "allowed by the caller's policies",
            method=request.method,
            path=request.raw_path,
            error_code=error.code_for("json") if error is not None else None,
        )
        try:
            self._audit.record(event)
        except AuditWriteError as exc:
            failure = InternalError(reason=f"audit record not written: {exc}")
            log.error("request_id=%s %s", request_id, failure.reason)
            return render_gateway_error(failure, request_id)
        return None
