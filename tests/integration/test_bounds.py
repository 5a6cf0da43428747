"""Work before authentication is bounded: a live ``elsewhere server`` under unauthenticated load.

Each test throws at a real server process what one unauthenticated client can send (a request head
that never ends, more connections than the server keeps, a body sent a byte at a time) and checks
that the server cuts it off early, answers in AWS's format and keeps its memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import build_intermediate_ca, issue_certificate, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_x509_request
from tests.conftest import ServerProcess, start_server
from tests.unit.x509.test_key_sizes import PublicOnly, rsa_public

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
MAX_CONNECTIONS = 8


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, with a small connection cap and a short body timeout."""
    handle = start_server(
        tmp_path_factory.mktemp("bounds") / "data",
        args=("--max-connections", str(MAX_CONNECTIONS), "--request-timeout", "2"),
    )
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _still_healthy(srv: ServerProcess) -> Iterator[None]:
    """After each test the process lives and answers /ping."""
    yield
    assert srv.process.poll() is None, "the server process died"
    deadline = time.monotonic() + 10
    while True:  # connections a test opened may take a moment to be closed by the server
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{srv.endpoint}/ping", timeout=5).status_code == 200:
                return
        assert time.monotonic() < deadline, "the server stopped answering /ping"
        time.sleep(0.05)


def _rss_mib(pid: int) -> float:
    """The resident memory of process ``pid`` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def _read_answer(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer until the server closes the connection."""
    sock.settimeout(timeout)
    chunks = []
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {data[:200]!r}"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _stream(sock: socket.socket, start: bytes, piece: bytes, *, limit: int) -> int:
    """Send ``start`` then ``piece`` over and over, up to ``limit`` bytes; how many were sent.

    Stops early when the server closes the connection (the send fails).
    """
    sent = 0
    try:
        sock.sendall(start)
        while sent < limit:
            sock.sendall(piece)
            sent += len(piece)
    except OSError:  # reset or broken pipe: the server cut the connection
        pass
    return sent


HEADS = {
    "small-headers": (b"GET /ping HTTP/1.1\r\nHost: x\r\n", b"X-A: b\r\n" * 1024),
    "one-long-value": (b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Long: ", b"v" * 65536),
    "long-url": (b"GET /", b"a" * 65536),
    "long-name": (b"GET /ping HTTP/1.1\r\nHost: x\r\n", b"N" * 65536),
}


class TestRequestHead:
    """The request head is bounded while it is read."""

    @pytest.mark.parametrize("shape", sorted(HEADS))
    def test_endless_head_is_cut_off(self, srv: ServerProcess, shape: str) -> None:
        """A head that never ends is answered 413 and closed long before 64 MiB are sent."""
        start, piece = HEADS[shape]
        before = _rss_mib(srv.process.pid)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sent = _stream(sock, start, piece, limit=64 * MIB)
            status, headers, body = _read_answer(sock)
        # Loopback socket buffers absorb a few MiB before a send fails.
        assert sent < 16 * MIB, f"the server read {sent} bytes of one request head"
        assert status == 413
        assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
        assert headers["x-amzn-requestid"]
        assert json.loads(body)["message"]
        assert _rss_mib(srv.process.pid) - before < 32

    def test_many_connections_streaming_heads(self, srv: ServerProcess) -> None:
        """As many connections as the cap allows, each streaming headers: memory stays put."""
        before = _rss_mib(srv.process.pid)
        start, piece = HEADS["small-headers"]
        socks = [
            socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            for _ in range(MAX_CONNECTIONS)
        ]
        try:
            for _ in range(4):
                for sock in socks:
                    _stream(sock, b"", piece, limit=len(piece))
            sent = [_stream(sock, start, piece, limit=8 * MIB) for sock in socks]
        finally:
            for sock in socks:
                sock.close()
        assert max(sent) < 8 * MIB
        assert _rss_mib(srv.process.pid) - before < 32

    def test_headers_over_limit_in_all(self, srv: ServerProcess) -> None:
        """Header names and values above 16 KiB in all are 413 as soon as the limit is passed."""
        headers = "".join(f"X-H{i}: {'v' * 1000}\r\n" for i in range(17))
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            # No blank line: the head is not complete, yet the answer comes (a header is
            # complete, and counted, once the next one begins).
            headers += "X-Next"
            sock.sendall(f"GET /ping HTTP/1.1\r\nHost: x\r\n{headers}".encode())
            status, answer_headers, body = _read_answer(sock)
        assert status == 413
        assert answer_headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
        assert "16384" in json.loads(body)["message"]

    def test_head_within_limits(self, srv: ServerProcess) -> None:
        """A head of 150 headers and 15 KiB in all is served."""
        headers = "".join(f"X-H{i}: {'v' * 90}\r\n" for i in range(150))
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(
                f"GET /ping HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode()
            )
            status, _, body = _read_answer(sock)
        assert status == 200, body


class TestConnections:
    """At most ``--max-connections`` connections are open at once."""

    def test_connection_over_the_cap(self, srv: ServerProcess) -> None:
        """Past the cap a connection gets 503 ServiceUnavailableException; freed slots serve."""
        held: list[socket.socket] = []
        try:
            while len(held) < MAX_CONNECTIONS:
                sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                held.append(sock)
                # A request on each held connection shows the server took it as one of its own.
                sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as extra:
                status, headers, body = _read_answer(extra)
            assert status == 503
            assert headers["x-amzn-errortype"] == "ServiceUnavailableException"
            assert str(MAX_CONNECTIONS) in json.loads(body)["message"]
        finally:
            for sock in held:
                sock.close()
        # The slots are free again once the server has seen the closes.
        deadline = time.monotonic() + 10
        while httpx.get(f"{srv.endpoint}/ping", timeout=5).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)


class TestBody:
    """The body timeout covers the whole body."""

    def test_trickled_body_times_out(self, srv: ServerProcess) -> None:
        """A body sent one byte at a time, each pause far under the timeout, is 408 at 2 s."""
        head = (
            b"POST /profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(head)
            started = time.monotonic()
            sock.setblocking(False)
            answer = b""
            # Sending the body is the behaviour under test: one byte every 0.1 s, for at most
            # 12 s (the server's timeout is 2 s), reading whatever the server answers.
            while time.monotonic() - started < 12:
                with contextlib.suppress(BlockingIOError):
                    answer += sock.recv(65536)
                if answer.endswith(b"}"):
                    break
                with contextlib.suppress(BlockingIOError, OSError):
                    sock.send(b" ")
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b"RequestTimeoutException" in answer
        assert elapsed < 6


def _tampered_session_requests(srv: ServerProcess, count: int) -> list[HttpRequest]:
    """``count`` CreateSession requests, each with its own certificate and a broken signature."""
    now = dt.datetime.now(dt.UTC)
    chain = quick_chain(now, "p256")
    anchor = f"arn:aws:rolesanywhere:{srv.region}:{srv.account_id}:trust-anchor/x"
    profile = f"arn:aws:rolesanywhere:{srv.region}:{srv.account_id}:profile/x"
    role = f"arn:aws:iam::{srv.account_id}:role/x"
    query = f"profileArn={profile}&roleArn={role}&trustAnchorArn={anchor}"
    out = []
    for i in range(count):
        leaf = issue_certificate(
            chain.issuing_ca,
            now=now,
            # A long subject, so each certificate weighs what an enterprise one does.
            subject=f"CN=workload-{i},OU={'unit-' * 40},O=elsewhere",
            key=chain.leaf_key,
        )
        request = sign_x509_request(
            HttpRequest(
                "POST",
                "/sessions",
                query,
                (("Host", f"127.0.0.1:{srv.port}"), ("Content-Type", "application/json")),
                b"{}",
            ),
            certificate=leaf.certificate,
            private_key=chain.leaf_key,  # type: ignore[arg-type]
            region=srv.region,
            now=now,
        )
        headers = tuple(
            (name, value[:-8] + "00000000") if name == "Authorization" else (name, value)
            for name, value in request.headers
        )
        out.append(HttpRequest("POST", "/sessions", query, headers, b"{}"))
    return out


class TestCreateSessionBeforeAuthentication:
    """CreateSession keeps nothing for a request whose signature does not verify."""

    def test_bad_signatures_take_no_memory(self, srv: ServerProcess) -> None:
        """1,500 requests with broken signatures, each with its own certificate: RSS stays put."""
        requests = _tampered_session_requests(srv, 1500)
        with httpx.Client(base_url=srv.endpoint, timeout=20) as http:
            # Warm up: the first requests load code and grow pools that are not caches.
            for request in requests[:200]:
                answer = http.post(
                    f"/sessions?{request.raw_query}",
                    headers=list(request.headers),
                    content=request.body,
                )
                assert answer.status_code == 403
            before = _rss_mib(srv.process.pid)
            for request in requests[200:]:
                answer = http.post(
                    f"/sessions?{request.raw_query}",
                    headers=list(request.headers),
                    content=request.body,
                )
                assert answer.status_code == 403
                assert answer.json()["message"] == "Invalid signature"
        # A parsed certificate costs about 12 KB when it is kept: 1,300 kept would be 15 MB.
        assert _rss_mib(srv.process.pid) - before < 6


class TestKeySizes:
    """Keys outside RSA 2048..4096 and P-256/P-384/P-521 are refused before any signature work."""

    def test_oversized_leaf_key(self, srv: ServerProcess) -> None:
        """A leaf with an RSA-16384 key is Untrusted at once (its signature is never checked)."""
        now = dt.datetime.now(dt.UTC)
        chain = quick_chain(now, "p256")
        big = issue_certificate(
            chain.issuing_ca,
            now=now,
            subject="CN=big,O=elsewhere",
            key=PublicOnly(rsa_public(16384)),  # type: ignore[arg-type]
        ).certificate
        query = (
            f"profileArn=arn:aws:rolesanywhere:{srv.region}:{srv.account_id}:profile/x"
            f"&roleArn=arn:aws:iam::{srv.account_id}:role/x"
            f"&trustAnchorArn=arn:aws:rolesanywhere:{srv.region}:{srv.account_id}:trust-anchor/x"
        )
        request = sign_x509_request(
            HttpRequest(
                "POST",
                "/sessions",
                query,
                (("Host", f"127.0.0.1:{srv.port}"), ("Content-Type", "application/json")),
                b"{}",
            ),
            certificate=big,
            private_key=chain.leaf_key,  # type: ignore[arg-type]
            region=srv.region,
            now=now,
        )
        answer = httpx.post(
            f"{srv.endpoint}/sessions?{query}",
            headers=list(request.headers),
            content=b"{}",
            timeout=20,
        )
        assert answer.status_code == 403
        assert answer.headers["x-amzn-errortype"] == "AccessDeniedException"
        assert answer.json()["message"] == "Untrusted signing certificate"

    def test_oversized_anchor_key(self, srv: ServerProcess) -> None:
        """CreateTrustAnchor refuses a CA with an RSA-8192 key (ValidationException)."""
        now = dt.datetime.now(dt.UTC)
        big = build_intermediate_ca(
            quick_chain(now).root_ca,
            now=now,
            subject="CN=big CA",
            key=PublicOnly(rsa_public(8192)),  # type: ignore[arg-type]
        ).certificate
        pem = big.public_bytes(serialization.Encoding.PEM).decode()
        ra = srv.client("rolesanywhere")
        with pytest.raises(ClientError) as caught:
            ra.create_trust_anchor(
                name="big",
                source={
                    "sourceType": "CERTIFICATE_BUNDLE",
                    "sourceData": {"x509CertificateData": pem},
                },
            )
        error = caught.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert "above the maximum of 4096" in error["Message"]


class TestPolicySimulation:
    """Policy simulation bounds the pairs of actions and resources before it evaluates."""

    def test_too_many_pairs(self, srv: ServerProcess) -> None:
        """1,000 actions on 1,000 resources is InvalidInput, answered before any evaluation."""
        iam = srv.client("iam")
        policy = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        )
        before = _rss_mib(srv.process.pid)
        with pytest.raises(ClientError) as caught:
            iam.simulate_custom_policy(
                PolicyInputList=[policy],
                ActionNames=[f"s3:Action{i}" for i in range(1000)],
                ResourceArns=[f"arn:aws:s3:::bucket-{i}" for i in range(1000)],
            )
        error = caught.value.response["Error"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Code"] == "InvalidInput"
        assert "at most 10000" in error["Message"]
        assert _rss_mib(srv.process.pid) - before < 32
        pages = iam.get_paginator("simulate_custom_policy").paginate(
            PolicyInputList=[policy],
            ActionNames=[f"s3:Action{i}" for i in range(50)],
            ResourceArns=[f"arn:aws:s3:::bucket-{i}" for i in range(40)],
            PaginationConfig={"PageSize": 500},
        )
        assert sum(len(page["EvaluationResults"]) for page in pages) == 2000
