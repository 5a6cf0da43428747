"""The authorizer's front doors on the wire: forward auth, Envoy's HTTP mode, the hot route."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from elsewhere.api import AuthorizeEndpoint, Gateway
from elsewhere.app._fastpath import FastAuthorizeProtocol
from elsewhere.app._http import AwsHttpProtocol
from elsewhere.audit import AuditWriteError
from elsewhere.service._authn import Authenticator
from elsewhere.sigv4 import HttpRequest, sign_hmac_request

from .conftest import NOW, REGION, World
from .test_invoke import POLICY, _decider, _setup

UPSTREAM_HOST = "api.example.test:8443"


class _Transport(asyncio.Transport):
    """A connection's transport that keeps what the server writes."""

    def __init__(self) -> None:
        """Nothing written yet."""
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.wrote = asyncio.Event()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Keep the bytes."""
        self.written += data
        self.wrote.set()

    def is_closing(self) -> bool:
        """Whether the server closed the connection."""
        return self.closed

    def close(self) -> None:
        """The server closes the connection."""
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """A loopback peer."""
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        """Flow control is not exercised here."""

    def resume_reading(self) -> None:
        """Flow control is not exercised here."""


class _Connection:
    """One client connection to a server protocol (with or without the hot route)."""

    def __init__(
        self,
        world: World,
        *,
        hot: bool = True,
        config: dict[str, Any] | None = None,
        endpoint: dict[str, Any] | None = None,
        **limits: Any,
    ) -> None:
        """A protocol instance wired as ``run_server`` wires it, over the world's authorizer."""
        self.endpoint = AuthorizeEndpoint(_decider(world), world.clock, **(endpoint or {}))
        gateway = Gateway(
            authenticator=Authenticator(lambda _: None, region=REGION),
            handlers={},
            clock=world.clock,
            authorize=self.endpoint,
        )
        bases: tuple[type, ...] = (
            (AwsHttpProtocol, FastAuthorizeProtocol) if hot else (AwsHttpProtocol,)
        )
        attributes = {"authorize": self.endpoint, "clock": world.clock, **limits}
        protocol_class = type("_Protocol", bases, attributes if hot else {})
        options = {"proxy_headers": False, **(config or {})}
        settings = uvicorn.Config(
            gateway, lifespan="off", log_config=None, access_log=False, **options
        )
        settings.http_protocol_class = protocol_class
        settings.load()
        self.loop = asyncio.new_event_loop()
        self.protocol = protocol_class(
            config=settings, server_state=ServerState(), app_state={}, _loop=self.loop
        )
        self.transport = _Transport()
        self.protocol.connection_made(self.transport)

    def send(self, data: bytes, *, answers: int = 1, timeout: float = 5.0) -> list[bytes]:
        """Send ``data`` and wait for ``answers`` complete responses (or the connection's end)."""

        async def wait() -> None:
            self.protocol.data_received(data)
            deadline = self.loop.time() + timeout
            written = self.transport.written
            while len(_split(bytes(written))) < answers and not self.transport.closed:
                self.transport.wrote.clear()
                remaining = deadline - self.loop.time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self.transport.wrote.wait(), remaining)
                except TimeoutError:
                    break

        self.loop.run_until_complete(wait())
        responses = _split(bytes(self.transport.written))
        self.transport.written.clear()
        return responses

    def close(self) -> None:
        """End the connection and the loop."""
        self.protocol.connection_lost(None)
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


def _split(data: bytes) -> list[bytes]:
    """The complete HTTP responses at the start of ``data`` (each with its body)."""
    out = []
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return out
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return out
        out.append(head + sep + rest[:length])
        data = rest[length:]


def _parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


def _signed(creds: dict[str, str], method: str, uri: str, body: bytes = b"", **kw: Any) -> Any:
    """A request to the upstream service signed with the session's credentials."""
    path, _, query = uri.partition("?")
    headers = (("Host", UPSTREAM_HOST), *kw.get("headers", ()))
    return sign_hmac_request(
        HttpRequest(method, path, query, headers, body),
        access_key_id=creds["accessKeyId"],
        secret_access_key=creds["secretAccessKey"],
        session_token=creds["sessionToken"],
        region=REGION,
        service="execute-api",
        now=kw.get("now", NOW),
    )


def _forward(
    signed: HttpRequest,
    *,
    target: str = "/_authorize/forward?api=orders&stage=prod",
    method: str = "GET",
    body: bytes = b"",
    extra: tuple[tuple[str, str], ...] = (),
    forwarded: bool = True,
    version: str = "1.1",
) -> bytes:
    """The proxy's question about ``signed``, as Traefik asks it."""
    lines = [f"{method} {target} HTTP/{version}", "Host: elsewhere:8080"]
    for name, value in signed.headers:
        if name.lower() != "host":
            lines.append(f"{name}: {value}")
    if forwarded:
        uri = signed.raw_path + (f"?{signed.raw_query}" if signed.raw_query else "")
        lines += [
            f"X-Forwarded-Method: {signed.method}",
            f"X-Forwarded-Uri: {uri}",
            f"X-Forwarded-Host: {UPSTREAM_HOST}",
            "X-Forwarded-Proto: https",
        ]
    lines += [f"{n}: {v}" for n, v in extra]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _without_signature(signed: HttpRequest) -> HttpRequest:
    """``signed`` with the Signature part cut out of its Authorization header."""
    headers = tuple(
        (n, v.split(", Signature=")[0] if n.lower() == "authorization" else v)
        for n, v in signed.headers
    )
    return HttpRequest(signed.method, signed.raw_path, signed.raw_query, headers, signed.body)


def _envoy(signed: HttpRequest, prefix: str = "/_authorize/envoy/orders/prod") -> bytes:
    """Envoy's HTTP-mode question: original method, Host and headers; path after the prefix."""
    target = prefix + signed.raw_path + (f"?{signed.raw_query}" if signed.raw_query else "")
    lines = [f"{signed.method} {target} HTTP/1.1"]
    lines += [f"{n}: {v}" for n, v in signed.headers]
    lines.append(f"Content-Length: {len(signed.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + signed.body


@pytest.fixture
def creds(world: World) -> dict[str, str]:
    """Session credentials for a role carrying the test policy."""
    return _setup(world, POLICY)[1]


@pytest.fixture(params=[True, False], ids=["hot-route", "asgi"])
def connection(request: pytest.FixtureRequest, world: World) -> Iterator[_Connection]:
    """A connection to the server protocol, with and without the hot route."""
    conn = _Connection(world, hot=request.param)
    yield conn
    conn.close()


def test_allowed_answer_carries_the_principal(
    connection: _Connection, creds: dict[str, str]
) -> None:
    """200 with the four X-Elsewhere headers and a request id, no body."""
    [answer] = connection.send(_forward(_signed(creds, "GET", "/items/1?view=full")))
    status, headers, body = _parse(answer)
    assert status == 200, answer
    assert headers["x-elsewhere-principal-arn"].startswith("arn:aws:sts::123456789012:assumed-")
    assert headers["x-elsewhere-account"] == "123456789012"
    assert headers["x-elsewhere-caller-id"].startswith("AROA")
    assert headers["x-elsewhere-source-identity"] == "CN=elsewhere-test-workload"
    assert len(headers["x-amzn-requestid"]) == 36
    assert body == b""


@pytest.mark.parametrize(
    ("build", "status", "error_type", "key"),
    [
        pytest.param(
            lambda c: _forward(_signed(c, "GET", "/admin")),
            403,
            "AccessDeniedException",
            "Message",
            id="fail/denied",
        ),
        pytest.param(
            lambda c: _forward(_signed(c, "GET", "/items/1"), extra=(("X-Amz-Date", "x"),)),
            401,
            "InvalidSignatureException",
            "message",
            id="fail/added-date",
        ),
        pytest.param(
            lambda c: _forward(_without_signature(_signed(c, "GET", "/items/1"))),
            401,
            "IncompleteSignatureException",
            "message",
            id="fail/malformed-authorization",
        ),
        pytest.param(
            lambda c: _forward(HttpRequest("GET", "/items/1", "", (("Host", "h"),), b"")),
            401,
            "MissingAuthenticationTokenException",
            "message",
            id="fail/unsigned",
        ),
        pytest.param(
            lambda c: _forward(_signed(c, "GET", "/items/1"), forwarded=False),
            400,
            "BadRequestException",
            "message",
            id="fail/proxy-sent-no-x-forwarded",
        ),
        pytest.param(
            lambda c: _forward(
                _signed(c, "GET", "/items/1"), target="/_authorize/forward?api=orders"
            ),
            400,
            "BadRequestException",
            "message",
            id="fail/no-stage",
        ),
        pytest.param(
            lambda c: _forward(
                _signed(c, "GET", "/items/1"), extra=(("X-Forwarded-Uri", "/admin"),)
            ),
            400,
            "BadRequestException",
            "message",
            id="fail/two-uris",
        ),
        pytest.param(
            lambda c: _forward(_signed(c, "GET", "/items/../admin")),
            400,
            "BadRequestException",
            "message",
            id="fail/dot-segment",
        ),
        pytest.param(
            lambda c: _forward(_signed(c, "POST", "/items", b"{}"), body=b'{"x":1}'),
            401,
            "InvalidSignatureException",
            "message",
            id="fail/other-body",
        ),
    ],
)
def test_refusals_in_api_gateways_format(
    connection: _Connection,
    creds: dict[str, str],
    build: Any,
    status: int,
    error_type: str,
    key: str,
) -> None:
    """401 for authentication, 403 for a denial, 400 for a misconfigured proxy; JSON body."""
    [answer] = connection.send(build(creds))
    got, headers, body = _parse(answer)
    assert got == status, answer
    assert headers["x-amzn-errortype"] == error_type
    assert headers["content-type"] == "application/json"
    assert len(headers["x-amzn-requestid"]) == 36
    assert list(json.loads(body)) == [key]
    assert ("www-authenticate" in headers) == (status == 401)
    assert "x-elsewhere-principal-arn" not in headers


def test_forwarded_body_is_checked(connection: _Connection, creds: dict[str, str]) -> None:
    """With the body forwarded (Traefik forwardBody), the signed body passes."""
    body = b'{"n":1}'
    [answer] = connection.send(_forward(_signed(creds, "POST", "/items", body), body=body))
    assert _parse(answer)[0] == 200, answer


def test_withheld_body_uses_the_declared_hash(
    connection: _Connection, creds: dict[str, str]
) -> None:
    """``body=withheld`` (nginx): a signed X-Amz-Content-SHA256 stands in for the body."""
    body = b'{"n":1}'
    declared = (("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()),)
    signed = _signed(creds, "POST", "/items", body, headers=declared)
    withheld = "/_authorize/forward?api=orders&stage=prod&body=withheld"
    [answer] = connection.send(_forward(signed, target=withheld))
    assert _parse(answer)[0] == 200, answer
    [default] = connection.send(_forward(signed))  # the body was expected and is missing
    assert _parse(default)[0] == 401, default


def test_envoy_http_mode(connection: _Connection, creds: dict[str, str]) -> None:
    """Envoy's path_prefix form: original method, host and path; 200 or API Gateway's 403."""
    [allowed] = connection.send(_envoy(_signed(creds, "GET", "/items/1?view=full")))
    assert _parse(allowed)[0] == 200, allowed
    [denied] = connection.send(_envoy(_signed(creds, "GET", "/admin")))
    assert _parse(denied)[0] == 403, denied
    body = b'{"n":1}'
    [posted] = connection.send(_envoy(_signed(creds, "POST", "/items", body)))
    assert _parse(posted)[0] == 200, posted


def test_hot_route_and_asgi_give_the_same_answers(world: World, creds: dict[str, str]) -> None:
    """The protocol's hot route answers byte for byte as the gateway does (ids and dates apart)."""
    questions = [
        _forward(_signed(creds, "GET", "/items/1")),
        _forward(_signed(creds, "GET", "/admin")),
        _forward(_signed(creds, "GET", "/items/1"), forwarded=False),
        _forward(_signed(creds, "GET", "/items/1", now=NOW - dt.timedelta(minutes=9))),
    ]
    answers = {}
    for hot in (True, False):
        conn = _Connection(world, hot=hot)
        try:
            answers[hot] = [_normalised(conn.send(q)[0]) for q in questions]
        finally:
            conn.close()
    assert answers[True] == answers[False]


def _normalised(response: bytes) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = _parse(response)
    headers.pop("x-amzn-requestid")
    headers.pop("date")
    return status, headers, body


def test_keep_alive_and_http_1_0(world: World, creds: dict[str, str]) -> None:
    """Answers keep the connection open; an HTTP/1.0 question is answered and closed."""
    conn = _Connection(world)
    try:
        for path in ("/items/1", "/items/2"):
            [answer] = conn.send(_forward(_signed(creds, "GET", path)))
            assert _parse(answer)[0] == 200
            assert not conn.transport.closed
        [last] = conn.send(_forward(_signed(creds, "GET", "/items/3"), version="1.0"))
        assert _parse(last)[1]["connection"] == "close"
        assert conn.transport.closed
    finally:
        conn.close()


def test_head_answer_has_no_body(world: World, creds: dict[str, str]) -> None:
    """A HEAD question (Envoy passes the client's method) gets the headers only."""
    conn = _Connection(world)
    try:
        conn.protocol.data_received(_envoy(_signed(creds, "HEAD", "/admin")))
        raw = bytes(conn.transport.written)
        head, _, rest = raw.partition(b"\r\n\r\n")
        status, headers, _ = _parse(head + b"\r\n\r\n")
        assert status == 403
        assert int(headers["content-length"]) > 100  # the JSON body it would have had
        assert rest == b""
    finally:
        conn.close()


def test_pipelined_questions_are_answered_in_order(world: World, creds: dict[str, str]) -> None:
    """A question behind a request the gateway is still answering waits its turn."""
    conn = _Connection(world)
    try:
        ping = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
        answers = conn.send(ping + _forward(_signed(creds, "GET", "/items/1")), answers=2)
        assert [_parse(a)[0] for a in answers] == [200, 200]
        assert b'{"status":"ok"}' in answers[0]
        assert b"x-elsewhere-principal-arn" in answers[1].lower()
    finally:
        conn.close()


def test_body_limit_and_body_timeout(world: World, creds: dict[str, str]) -> None:
    """The hot route keeps the gateway's body limit, and a timeout on the whole body."""
    conn = _Connection(world, max_body_bytes=16)
    try:
        body = b"x" * 64
        [answer] = conn.send(_forward(_signed(creds, "POST", "/items", body), body=body))
        assert _parse(answer)[0] == 413
        assert conn.transport.closed
    finally:
        conn.close()
    slow = _Connection(world, body_timeout=0.05)
    try:
        question = _forward(_signed(creds, "POST", "/items", b"{}"), body=b"{}")
        [answer] = slow.send(question[:-1], timeout=2)
        assert _parse(answer)[0] == 408
        assert slow.transport.closed
    finally:
        slow.close()


def test_header_limit(world: World, creds: dict[str, str]) -> None:
    """The hot route keeps the gateway's limit on header bytes."""
    conn = _Connection(world, max_header_bytes=512)
    try:
        [answer] = conn.send(_forward(_signed(creds, "GET", "/items/1")))
        assert _parse(answer)[0] == 413
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("config", "status"),
    [
        pytest.param({}, 403, id="fail/not-believed-by-default"),
        pytest.param(
            {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"},
            200,
            id="ok/believed-from-named-proxy",
        ),
        pytest.param(
            {"proxy_headers": True, "forwarded_allow_ips": "192.0.2.1"},
            403,
            id="fail/other-proxy-named",
        ),
    ],
)
@pytest.mark.parametrize("hot", [True, False], ids=["hot-route", "asgi"])
def test_source_ip_and_transport_only_from_trusted_proxies(
    world: World, creds: dict[str, str], config: dict[str, Any], status: int, hot: bool
) -> None:
    """aws:SourceIp and aws:SecureTransport come from X-Forwarded-* only from named proxies."""
    conn = _Connection(world, hot=hot, config=config)
    try:
        signed = _signed(creds, "GET", "/office/x", headers=(("User-Agent", "orders-client/1"),))
        [answer] = conn.send(_forward(signed, extra=(("X-Forwarded-For", "203.0.113.9"),)))
        assert _parse(answer)[0] == status, answer
    finally:
        conn.close()


class _Recorder:
    """Keeps what the endpoint logs, counts and audits."""

    def __init__(self, *, fail: bool = False) -> None:
        """Nothing kept yet; ``fail`` makes every audit write fail."""
        self.lines: list[tuple[Any, ...]] = []
        self.counts: list[tuple[Any, ...]] = []
        self.records: list[dict[str, Any]] = []
        self.fail = fail

    def decision(self, *fields: Any) -> None:
        """A decision's line."""
        self.lines.append(fields)

    def observe_request(self, *fields: Any) -> None:
        """A decision's count."""
        self.counts.append(fields)

    def record(self, event: dict[str, Any]) -> None:
        """A decision's audit record."""
        if self.fail:
            raise AuditWriteError("disk full")
        self.records.append(event)


@pytest.mark.parametrize("hot", [True, False], ids=["hot-route", "asgi"])
def test_every_decision_is_logged_counted_and_audited(
    world: World, creds: dict[str, str], hot: bool
) -> None:
    """One line, one count and one audit record per decision, each with its request id."""
    recorder = _Recorder()
    conn = _Connection(
        world,
        hot=hot,
        endpoint={"decisions": recorder, "observer": recorder, "audit": recorder},
    )
    try:
        answers = [
            conn.send(_forward(_signed(creds, "GET", path)))[0]
            for path in ("/items/1", "/admin")
        ] + [conn.send(_forward(HttpRequest("GET", "/x", "", (("Host", "h"),), b"")))[0]]
    finally:
        conn.close()
    ids = [_parse(a)[1]["x-amzn-requestid"] for a in answers]
    assert [(line[1], line[2], line[3]) for line in recorder.lines] == [
        (ids[0], "allow", 200),
        (ids[1], "deny", 403),
        (ids[2], "refuse", 401),
    ]
    assert recorder.lines[0][8].endswith(":orders/prod/GET/items/1")  # the resource
    assert "implicitDeny" in recorder.lines[1][9]  # the reason the caller was not told
    assert [(c[0], c[1], c[2], c[3]) for c in recorder.counts] == [
        ("execute-api", "Invoke", 200, None),
        ("execute-api", "Invoke", 403, "AccessDeniedException"),
        ("execute-api", "Invoke", 401, "MissingAuthenticationTokenException"),
    ]
    allowed, denied, unsigned = recorder.records
    assert [r["requestID"] for r in recorder.records] == ids
    assert allowed["eventName"] == "Invoke"
    assert allowed["userIdentity"]["type"] == "AssumedRole"
    assert allowed["additionalEventData"]["decision"] == "Allow"
    assert allowed["requestParameters"]["resource"].endswith("/GET/items/1")
    assert denied["errorCode"] == "AccessDeniedException"
    assert denied["userIdentity"]["type"] == "AssumedRole"
    assert unsigned["userIdentity"]["type"] == "Unknown"
    assert "sessionToken" not in json.dumps(recorder.records)
    assert creds["sessionToken"] not in json.dumps(recorder.records)


def test_a_decision_that_cannot_be_audited_is_not_handed_out(
    world: World, creds: dict[str, str]
) -> None:
    """If the audit record cannot be written, the proxy gets 500 instead of the grant."""
    conn = _Connection(world, endpoint={"audit": _Recorder(fail=True)})
    try:
        [answer] = conn.send(_forward(_signed(creds, "GET", "/items/1")))
    finally:
        conn.close()
    status, headers, _ = _parse(answer)
    assert status == 500
    assert "x-elsewhere-principal-arn" not in headers
