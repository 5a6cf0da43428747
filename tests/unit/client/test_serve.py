"""serve: the IMDSv2 and ECS credential endpoints, against a fake CreateSession server."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import botocore.session
import httpx
import pytest

from elsewhere.client import (
    CredentialCache,
    FileCredentialSource,
    MetadataServer,
    SessionParameters,
    create_session,
)
from elsewhere.client._serve import _HopLimitedServer
from elsewhere.clock import FixedClock
from tests.unit.client._fake import FakeCreateSession
from tests.unit.client.conftest import ROLE, Files

TOKEN_PATH = "/latest/api/token"
CREDS_PATH = "/latest/meta-data/iam/security-credentials"
TTL = "X-aws-ec2-metadata-token-ttl-seconds"
CONTAINER_TOKEN = "container-secret"


@pytest.fixture
def clock(now: dt.datetime) -> FixedClock:
    """The clock of the endpoint and of the fake server."""
    return FixedClock(now)


@pytest.fixture
def imds(
    files: Files, fake: FakeCreateSession, params: SessionParameters, clock: FixedClock
) -> Iterator[MetadataServer]:
    """A running endpoint on 127.0.0.1 (random port) with the ECS path enabled."""
    fake.now = clock.now()
    source = FileCredentialSource(
        certificate_path=files.certificate, private_key_path=files.private_key
    )

    def fetch() -> Any:
        fake.now = clock.now()
        return create_session(source, params)

    cache = CredentialCache(fetch, clock=clock)
    cache.get()
    server = MetadataServer(
        cache, role_arn=ROLE, port=0, hop_limit=3, container_token=CONTAINER_TOKEN, clock=clock
    )
    server.start()
    yield server
    server.shutdown()


def _token(client: httpx.Client, ttl: str | None = None) -> str:
    headers = {TTL: ttl} if ttl is not None else {}
    response = client.put(TOKEN_PATH, headers=headers)
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture
def client(imds: MetadataServer) -> Iterator[httpx.Client]:
    """An HTTP client for the endpoint."""
    with httpx.Client(base_url=imds.url, trust_env=False) as http:
        yield http


def test_token_is_issued_with_its_ttl(client: httpx.Client) -> None:
    """PUT /latest/api/token: 100-character token, TTL echoed (default 21600), slash allowed."""
    response = client.put(TOKEN_PATH)
    assert response.status_code == 200
    assert len(response.text) == 100
    assert response.headers[TTL] == "21600"
    response = client.put(TOKEN_PATH + "/", headers={TTL: "60"})
    assert response.headers[TTL] == "60"


@pytest.mark.parametrize("ttl", ["0", "21601", "abc", "-5", ""])
def test_token_ttl_out_of_bounds_is_refused(client: httpx.Client, ttl: str) -> None:
    """A TTL outside 1..21600 or not an integer: 400 invalid token TTL."""
    response = client.put(TOKEN_PATH, headers={TTL: ttl})
    assert (response.status_code, response.text) == (400, "invalid token TTL")


def test_forwarded_requests_are_refused(client: httpx.Client) -> None:
    """X-Forwarded-For means a proxy relayed it: 400, no token."""
    response = client.put(TOKEN_PATH, headers={"X-Forwarded-For": "10.0.0.1"})
    assert response.status_code == 400
    assert "X-Forwarded-For" in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", TOKEN_PATH, id="fail/get-token"),
        pytest.param("POST", TOKEN_PATH, id="fail/post-token"),
        pytest.param("PUT", CREDS_PATH, id="fail/put-roles"),
        pytest.param("DELETE", CREDS_PATH + "/demo", id="fail/delete-credentials"),
    ],
)
def test_wrong_methods_get_405(client: httpx.Client, method: str, path: str) -> None:
    """Each path answers 405 to methods other than its own."""
    assert client.request(method, path).status_code == 405


def test_credentials_need_a_valid_token(client: httpx.Client, clock: FixedClock) -> None:
    """No token: 401 no token provided; unknown or expired: 401 invalid token provided."""
    response = client.get(CREDS_PATH)
    assert (response.status_code, response.text) == (401, "no token provided")
    response = client.get(CREDS_PATH, headers={"X-aws-ec2-metadata-token": "forged"})
    assert (response.status_code, response.text) == (401, "invalid token provided")
    token = _token(client, "2")
    assert client.get(CREDS_PATH, headers={"X-aws-ec2-metadata-token": token}).status_code == 200
    clock.advance(dt.timedelta(seconds=3))
    response = client.get(CREDS_PATH, headers={"X-aws-ec2-metadata-token": token})
    assert (response.status_code, response.text) == (401, "invalid token provided")


def test_role_name_and_credentials(client: httpx.Client, clock: FixedClock) -> None:
    """The role path lists the role's name; its child holds IMDS-shaped credentials."""
    headers = {"X-aws-ec2-metadata-token": _token(client, "100")}
    response = client.get(CREDS_PATH + "/", headers=headers)
    assert response.text == "demo"
    assert response.headers[TTL] == "100"
    response = client.get(CREDS_PATH + "/demo", headers=headers)
    body = response.json()
    assert body["Code"] == "Success"
    assert body["Type"] == "AWS-HMAC"
    assert body["AccessKeyId"] == "ASIAFAKE00000001"
    assert body["Token"] == "token-1"
    assert body["Expiration"].endswith("Z")
    assert client.get(CREDS_PATH + "/other", headers=headers).status_code == 404


def test_refresh_when_less_than_ten_minutes_left(
    client: httpx.Client, clock: FixedClock, fake: FakeCreateSession
) -> None:
    """Credentials with <10 min left are replaced on the next request."""
    headers = {"X-aws-ec2-metadata-token": _token(client)}
    assert client.get(CREDS_PATH + "/demo", headers=headers).json()["Token"] == "token-1"
    clock.advance(dt.timedelta(minutes=45))
    assert client.get(CREDS_PATH + "/demo", headers=headers).json()["Token"] == "token-1"
    clock.advance(dt.timedelta(minutes=6))
    assert client.get(CREDS_PATH + "/demo", headers=headers).json()["Token"] == "token-2"


def test_failed_refresh_keeps_good_credentials_then_500(
    client: httpx.Client, clock: FixedClock, fake: FakeCreateSession
) -> None:
    """A refused refresh keeps serving the valid credentials; once expired the answer is 500."""
    headers = {"X-aws-ec2-metadata-token": _token(client)}
    fake.refuse = (403, "AccessDeniedException", "Untrusted signing certificate")
    clock.advance(dt.timedelta(minutes=55))
    response = client.get(CREDS_PATH + "/demo", headers=headers)
    assert response.json()["Token"] == "token-1"
    clock.advance(dt.timedelta(minutes=6))
    response = client.get(CREDS_PATH + "/demo", headers=headers)
    assert response.status_code == 500
    assert "Untrusted signing certificate" in response.text
    fake.refuse = None
    clock.advance(dt.timedelta(seconds=10))  # past the retry throttle
    assert client.get(CREDS_PATH + "/demo", headers=headers).json()["Token"] == "token-2"


def test_at_most_256_tokens(imds: MetadataServer) -> None:
    """The 257th token evicts the earliest-expiring one."""
    first = imds.tokens.issue(10)
    for _ in range(256):
        imds.tokens.issue(100)
    assert imds.tokens.remaining(first) is None


def test_container_endpoint_needs_the_authorization_token(client: httpx.Client) -> None:
    """GET /v1/credentials with the right Authorization returns ECS-shaped credentials."""
    assert client.get("/v1/credentials").status_code == 401
    assert client.get("/v1/credentials", headers={"Authorization": "nope"}).status_code == 401
    response = client.get("/v1/credentials", headers={"Authorization": CONTAINER_TOKEN})
    body = response.json()
    assert body["AccessKeyId"] == "ASIAFAKE00000001"
    assert body["RoleArn"] == "arn:aws:iam::123456789012:role/demo"


def test_accepted_connections_get_the_hop_limit(
    imds: MetadataServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every accepted connection carries IP TTL = --hop-limit (3 here)."""
    seen: list[int] = []
    original = _HopLimitedServer.get_request

    def spy(self: _HopLimitedServer) -> Any:
        connection, address = original(self)
        seen.append(connection.getsockopt(socket.IPPROTO_IP, socket.IP_TTL))
        return connection, address

    monkeypatch.setattr(_HopLimitedServer, "get_request", spy)
    with httpx.Client(base_url=imds.url, trust_env=False) as fresh:
        fresh.put(TOKEN_PATH)
    assert seen == [3]


def _isolate_botocore(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


def test_botocore_reads_credentials_through_imds(
    imds: MetadataServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """botocore's IMDSv2 provider, pointed at serve, gets the credentials."""
    _isolate_botocore(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    credentials = botocore.session.Session().get_credentials()
    assert credentials is not None
    assert credentials.method == "iam-role"
    assert credentials.get_frozen_credentials().access_key == "ASIAFAKE00000001"


def test_botocore_reads_credentials_through_the_container_endpoint(
    imds: MetadataServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """botocore's container provider (FULL_URI + token) gets the credentials."""
    _isolate_botocore(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", imds.url + "/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN)
    credentials = botocore.session.Session().get_credentials()
    assert credentials is not None
    assert credentials.method == "container-role"
    assert credentials.get_frozen_credentials().token == "token-1"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this host")
def test_ipv6_address(files: Files, params: SessionParameters) -> None:
    """--address ::1 listens on IPv6; the URL brackets the address."""
    source = FileCredentialSource(
        certificate_path=files.certificate, private_key_path=files.private_key
    )
    cache = CredentialCache(lambda: create_session(source, params))
    server = MetadataServer(cache, role_arn=ROLE, address="::1", port=0)
    server.start()
    try:
        assert server.url.startswith("http://[::1]:")
        with httpx.Client(base_url=server.url, trust_env=False) as http:
            assert http.put(TOKEN_PATH).status_code == 200
    finally:
        server.shutdown()


def test_request_bodies_are_drained_on_keep_alive(client: httpx.Client) -> None:
    """A body sent along (ignored) does not desynchronise the next request on the connection."""
    token = client.put(TOKEN_PATH, content=b"ignored body").text
    response = client.get(CREDS_PATH, headers={"X-aws-ec2-metadata-token": token})
    assert (response.status_code, response.text) == (200, "demo")
    assert client.post(CREDS_PATH, content=b"x" * 100).status_code == 405
    assert client.put(TOKEN_PATH).status_code == 200
