"""The authorizer as Envoy's ext_authz gRPC service, against the proto's documented semantics.

Envoy itself is not installed here: the tests send ``CheckRequest`` messages (xds-protos) filled
as envoy/service/auth/v3/attribute_context.proto says Envoy fills them, over real gRPC to a real
server, and read the ``CheckResponse`` as Envoy would (external_auth.proto).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from envoy.service.auth.v3 import attribute_context_pb2, external_auth_pb2, external_auth_pb2_grpc
from google.rpc import code_pb2

from tests.conftest import ServerProcess, free_port, start_server
from tests.integration._invoke import Session, new_session, sign

pytestmark = pytest.mark.integration

URL = "https://api.example.test:8443"
ROUTE = {"api": "orders", "stage": "prod"}


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    """A server with the gRPC service on a port of its own, and a client stub for it."""
    port = free_port()
    server = start_server(
        tmp_path_factory.mktemp("envoy") / "data",
        args=("--envoy-grpc-address", f"127.0.0.1:{port}"),
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=30)
    yield server, external_auth_pb2_grpc.AuthorizationStub(channel)
    channel.close()
    server.stop()


@pytest.fixture(scope="module")
def session(envoy: tuple[ServerProcess, Any]) -> Session:
    """A session of a role with the tests' policy."""
    return new_session(envoy[0])


def _check(
    request: AWSRequest,
    *,
    source: str = "203.0.113.7",
    scheme: str = "https",
    route: dict[str, str] | None = None,
    body: bytes | None = None,
    raw: bool = False,
    header_map: bool = False,
) -> Any:
    """The CheckRequest Envoy sends for ``request`` (lower-case headers with pseudo-headers)."""
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers.update({":authority": parts.netloc, ":method": request.method, ":path": target})
    headers.pop("host", None)
    http = attribute_context_pb2.AttributeContext.HttpRequest(
        id="1",
        method=request.method,
        path=target,
        host=parts.netloc,
        scheme=scheme,
        protocol="HTTP/1.1",
    )
    if header_map:
        for name, value in headers.items():
            http.header_map.headers.add(key=name, raw_value=value.encode())
    else:
        http.headers.update(headers)
    content = request.body if body is None else body
    if content:
        if raw:
            http.raw_body = content
        else:
            http.body = content.decode()
    check = external_auth_pb2.CheckRequest()
    check.attributes.request.http.CopyFrom(http)
    check.attributes.source.address.socket_address.address = source
    check.attributes.context_extensions.update(ROUTE if route is None else route)
    return check


def _headers(options: Any) -> dict[str, str]:
    return {o.header.key.lower(): o.header.value for o in options}


def test_allowed_check_sets_the_principal_headers(
    envoy: tuple[ServerProcess, Any], session: Session
) -> None:
    """OK, with the four X-Elsewhere headers to set on the upstream request."""
    answer = envoy[1].Check(_check(sign(session.credentials, "GET", URL + "/items/1?view=full")))
    assert answer.status.code == code_pb2.OK
    assert answer.HasField("ok_response")
    set_headers = _headers(answer.ok_response.headers)
    assert set_headers["x-elsewhere-principal-arn"].startswith(
        f"arn:aws:sts::123456789012:assumed-role/{session.role_name}/"
    )
    assert set_headers["x-elsewhere-source-identity"] == "CN=elsewhere-test-workload"
    assert all(o.append_action == o.OVERWRITE_IF_EXISTS_OR_ADD for o in answer.ok_response.headers)
    assert list(answer.ok_response.headers_to_remove) == []


def test_no_source_identity_removes_the_clients_header(envoy: tuple[ServerProcess, Any]) -> None:
    """A caller without a source identity (the root key): that header is removed upstream."""
    key, secret = envoy[0].admin_keys()
    answer = envoy[1].Check(_check(sign(Credentials(key, secret), "GET", URL + "/anything")))
    assert answer.status.code == code_pb2.OK
    assert list(answer.ok_response.headers_to_remove) == ["x-elsewhere-source-identity"]
    assert _headers(answer.ok_response.headers)["x-elsewhere-principal-arn"].endswith(":root")


@pytest.mark.parametrize(
    ("build", "code", "status", "error_type"),
    [
        pytest.param(
            lambda s: _check(sign(s.credentials, "GET", URL + "/admin")),
            code_pb2.PERMISSION_DENIED,
            403,
            "AccessDeniedException",
            id="fail/denied",
        ),
        pytest.param(
            lambda s: _check(sign(s.credentials, "GET", URL + "/items/1"), route={}),
            code_pb2.INVALID_ARGUMENT,
            400,
            "BadRequestException",
            id="fail/route-names-no-api",
        ),
        pytest.param(
            lambda s: _tampered(sign(s.credentials, "GET", URL + "/items/1")),
            code_pb2.UNAUTHENTICATED,
            401,
            "InvalidSignatureException",
            id="fail/tampered-path",
        ),
        pytest.param(
            lambda s: _check(AWSRequest("GET", URL + "/items/1")),
            code_pb2.UNAUTHENTICATED,
            401,
            "MissingAuthenticationTokenException",
            id="fail/unsigned",
        ),
    ],
)
def test_denied_checks_carry_api_gateways_answer(
    envoy: tuple[ServerProcess, Any],
    session: Session,
    build: Any,
    code: int,
    status: int,
    error_type: str,
) -> None:
    """A refusal: a non-OK status and the HTTP answer Envoy is to give the client."""
    answer = envoy[1].Check(build(session))
    assert answer.status.code == code
    assert answer.HasField("denied_response")
    assert answer.denied_response.status.code == status
    headers = _headers(answer.denied_response.headers)
    assert headers["x-amzn-errortype"] == error_type
    assert len(headers["x-amzn-requestid"]) == 36
    assert answer.denied_response.body.startswith("{")


def _tampered(request: AWSRequest) -> Any:
    check = _check(request)
    check.attributes.request.http.path = "/items/2"
    return check


@pytest.mark.parametrize(
    ("raw", "header_map"),
    [
        pytest.param(False, False, id="ok/body-as-text"),
        pytest.param(True, False, id="ok/pack-as-bytes"),
        pytest.param(True, True, id="ok/raw-header-map"),
    ],
)
def test_body_is_checked(
    envoy: tuple[ServerProcess, Any], session: Session, raw: bool, header_map: bool
) -> None:
    """With with_request_body the signed body passes and another body does not."""
    body = b'{"item":"pen"}'
    request = sign(session.credentials, "POST", URL + "/items", body)
    stub = envoy[1]
    assert stub.Check(_check(request, raw=raw, header_map=header_map)).status.code == code_pb2.OK
    other = _check(request, raw=raw, header_map=header_map, body=b'{"item":"gun"}')
    assert stub.Check(other).status.code == code_pb2.UNAUTHENTICATED


def test_withheld_body_from_the_route(envoy: tuple[ServerProcess, Any], session: Session) -> None:
    """``body: withheld`` in context_extensions: the declared hash stands in for the body."""
    body = b'{"item":"pen"}'
    declared = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    request = sign(session.credentials, "POST", URL + "/items", body, declared)
    route = {**ROUTE, "body": "withheld"}
    answer = envoy[1].Check(_check(request, route=route, body=b""))
    assert answer.status.code == code_pb2.OK


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param("203.0.113.7", code_pb2.OK, id="ok/source-in-range"),
        pytest.param("198.51.100.1", code_pb2.PERMISSION_DENIED, id="fail/source-out-of-range"),
    ],
)
def test_source_address_is_envoys_downstream_address(
    envoy: tuple[ServerProcess, Any], session: Session, source: str, code: int
) -> None:
    """aws:SourceIp is attributes.source.address, as Envoy sees the client."""
    check = _check(sign(session.credentials, "GET", URL + "/office/1"), source=source)
    assert envoy[1].Check(check).status.code == code


def test_decisions_are_logged(envoy: tuple[ServerProcess, Any], session: Session) -> None:
    """The gRPC service's decisions go to the log like every front door's."""
    answer = envoy[1].Check(_check(sign(session.credentials, "GET", URL + "/admin")))
    request_id = _headers(answer.denied_response.headers)["x-amzn-requestid"]
    server = envoy[0]
    assert "Envoy ext_authz (gRPC): 127.0.0.1:" in server.log()
    deadline = time.monotonic() + 10
    while f"request_id={request_id} decision=deny" not in server.log():
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.05)

