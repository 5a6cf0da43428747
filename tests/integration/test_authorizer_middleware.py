"""The Python middleware (ASGI and WSGI) in front of a service, asking a real elsewhere server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from botocore.awsrequest import AWSRequest

from elsewhere.middleware import ElsewhereASGI, ElsewhereWSGI, Principal
from tests.conftest import ServerProcess, free_port, start_server
from tests.integration._invoke import Session, new_session, sign

pytestmark = pytest.mark.integration

SERVICE = "http://service.test"


async def _asgi_service(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The service: answers with the principal the middleware put on the request, as JSON."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    principal: Principal = scope["elsewhere.principal"]
    assert scope["state"]["principal"] is principal
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    out = json.dumps(
        {
            "arn": principal.arn,
            "caller_id": principal.caller_id,
            "source_identity": principal.source_identity,
            "request_id": principal.request_id,
            "header_arn": headers.get("x-elsewhere-principal-arn"),
            "body": body.decode(),
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": out})


def _wsgi_service(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The same service in WSGI."""
    principal: Principal = environ["elsewhere.principal"]
    body = environ["wsgi.input"].read()
    out = json.dumps(
        {
            "arn": principal.arn,
            "caller_id": principal.caller_id,
            "source_identity": principal.source_identity,
            "request_id": principal.request_id,
            "header_arn": environ.get("HTTP_X_ELSEWHERE_PRINCIPAL_ARN"),
            "body": body.decode(),
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own."""
    server = start_server(tmp_path_factory.mktemp("middleware") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def session(elsewhere: ServerProcess) -> Session:
    """A session of a role with the tests' policy."""
    return new_session(elsewhere)


class _Client:
    """Sends signed requests to the service wrapped by one of the middlewares, in process."""

    def __init__(self, kind: str, endpoint: str) -> None:
        """The service behind the ``kind`` (asgi or wsgi) middleware asking ``endpoint``."""
        self.kind = kind
        self.endpoint = endpoint

    def send(self, request: AWSRequest, **changes: Any) -> httpx.Response:
        """Send ``request`` (changed after signing if asked) to the guarded service."""
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in changes.get("drop", ())
        }
        headers.update(changes.get("headers", {}))
        content = changes.get("body", request.body or b"")
        url = changes.get("url", request.url)
        if self.kind == "asgi":

            async def go() -> httpx.Response:
                # One middleware per event loop: its connections to elsewhere belong to it.
                app = ElsewhereASGI(
                    _asgi_service, endpoint=self.endpoint, api="orders", stage="prod",
                    max_body_bytes=64,
                )
                try:
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(transport=transport) as client:
                        return await client.request(
                            request.method, url, headers=headers, content=content
                        )
                finally:
                    await app.aclose()

            return asyncio.run(go())
        wsgi = ElsewhereWSGI(
            _wsgi_service, endpoint=self.endpoint, api="orders", stage="prod", max_body_bytes=64
        )
        try:
            with httpx.Client(transport=httpx.WSGITransport(app=wsgi)) as client:
                return client.request(request.method, url, headers=headers, content=content)
        finally:
            wsgi.close()


@pytest.fixture(params=["asgi", "wsgi"])
def client(request: pytest.FixtureRequest, elsewhere: ServerProcess) -> _Client:
    """The ASGI and the WSGI middleware in turn."""
    return _Client(request.param, elsewhere.endpoint)


def test_allowed_request_reaches_the_service_with_its_principal(
    client: _Client, session: Session
) -> None:
    """The service gets the body unchanged and the principal on the request."""
    answer = client.send(sign(session.credentials, "POST", SERVICE + "/items", b'{"n":1}'))
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["arn"].startswith(f"arn:aws:sts::123456789012:assumed-role/{session.role_name}/")
    assert seen["caller_id"].startswith("AROA")
    assert seen["source_identity"] == "CN=elsewhere-test-workload"
    assert len(seen["request_id"]) == 36
    assert seen["header_arn"] == seen["arn"]
    assert seen["body"] == '{"n":1}'


def test_a_client_cannot_name_itself(client: _Client, session: Session) -> None:
    """An X-Elsewhere header the client sends is replaced by the authorizer's."""
    forged = {"X-Elsewhere-Principal-Arn": "arn:aws:iam::123456789012:root"}
    request = sign(session.credentials, "GET", SERVICE + "/items/1")
    seen = client.send(request, headers=forged).json()
    assert seen["header_arn"].startswith("arn:aws:sts::")


@pytest.mark.parametrize(
    ("path", "change", "status", "error_type"),
    [
        pytest.param("/admin", {}, 403, "AccessDeniedException", id="fail/denied"),
        pytest.param(
            "/items/1",
            {"url": SERVICE + "/items/2"},
            401,
            "InvalidSignatureException",
            id="fail/tampered-path",
        ),
        pytest.param(
            "/items/1",
            {"drop": ("authorization",)},
            401,
            "MissingAuthenticationTokenException",
            id="fail/unsigned",
        ),
    ],
)
def test_refusals_are_elsewheres_answers(
    client: _Client,
    session: Session,
    path: str,
    change: dict[str, Any],
    status: int,
    error_type: str,
) -> None:
    """A refused request never reaches the service; the client gets elsewhere's answer."""
    answer = client.send(sign(session.credentials, "GET", SERVICE + path), **change)
    assert answer.status_code == status, answer.text
    assert answer.headers["x-amzn-ErrorType"] == error_type
    assert len(answer.headers["x-amzn-RequestId"]) == 36
    assert "arn" not in answer.json()


def test_tampered_body_is_refused(client: _Client, session: Session) -> None:
    """The body is part of the question: another body than the signed one is a 401."""
    request = sign(session.credentials, "POST", SERVICE + "/items", b'{"n":1}')
    assert client.send(request, body=b'{"n":2}').status_code == 401


def test_body_over_the_limit_is_refused(client: _Client, session: Session) -> None:
    """A body over the middleware's limit is 413 before elsewhere is asked."""
    body = b"x" * 100
    answer = client.send(sign(session.credentials, "POST", SERVICE + "/items", body))
    assert answer.status_code == 413


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_unreachable_elsewhere_fails_closed(kind: str, session: Session) -> None:
    """If elsewhere cannot be asked, the request is refused (503), never passed on."""
    client = _Client(kind, f"http://127.0.0.1:{free_port()}")
    answer = client.send(sign(session.credentials, "GET", SERVICE + "/items/1"))
    assert answer.status_code == 503
    assert answer.headers["x-amzn-ErrorType"] == "ServiceUnavailableException"


def test_websockets_are_refused() -> None:
    """A WebSocket cannot carry a signature per message: the ASGI middleware closes it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not see the connection")

    guard = ElsewhereASGI(never, endpoint="http://127.0.0.1:9", api="a", stage="s")
    asyncio.run(guard({"type": "websocket", "path": "/"}, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]
