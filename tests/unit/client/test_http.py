"""The helper's HTTP over ``http.client``: proxies, CONNECT tunnels, limits and failures."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from elsewhere.client import HttpCall, HttpFailure
from elsewhere.client._http import MAX_ANSWER_BYTES, send
from tests.unit.client._fake import FakeCreateSession, FakeServer, private_ca_tls


class _Proxy:
    """A loopback proxy: notes each request head; answers plain ones 403, tunnels CONNECT."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _one(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.heads.append(head.split(b"\r\n\r\n", 1)[0])
            if not head.startswith(b"CONNECT "):
                body = b'{"message": "through the proxy"}'
                client.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n"
                    + body
                )
                return
            host, port = head.split(b" ", 2)[1].decode().rsplit(":", 1)
            with socket.create_connection((host, int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream)

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        other = threading.Thread(target=copy, args=(b, a), daemon=True)
        other.start()
        copy(a, b)
        other.join(timeout=5)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    """A running loopback proxy."""
    running = _Proxy()
    yield running
    running.close()


def _context() -> ssl.SSLContext:
    return ssl.create_default_context()


def test_plain_http_goes_to_the_proxy_with_the_absolute_url(proxy: _Proxy) -> None:
    """An http:// target through an http:// proxy: absolute-form request line, Basic auth."""
    call = HttpCall("POST", "http://target.test:8080/sessions?a=b", (("Host", "target.test:8080"),))
    environ = {"HTTP_PROXY": f"http://user:p%40ss@127.0.0.1:{proxy.port}"}
    answer = send(call, context=None, timeout=10, use_proxy=True, environ=environ)
    assert answer.status == 403
    assert answer.body == b'{"message": "through the proxy"}'
    (head,) = proxy.heads
    assert head.startswith(b"POST http://target.test:8080/sessions?a=b HTTP/1.1\r\n")
    token = base64.b64encode(b"user:p@ss").decode()
    assert f"Proxy-Authorization: Basic {token}".encode() in head


def test_https_is_tunnelled_and_verified_end_to_end(proxy: _Proxy, tmp_path: Path) -> None:
    """An https:// target through CONNECT: TLS is with the server, its name verified."""
    now = dt.datetime.now(dt.UTC)
    context, ca = private_ca_tls(tmp_path, now)
    with FakeServer(FakeCreateSession(), tls=context) as server:
        url = f"{server.url}/sessions"
        call = HttpCall("POST", url, (("Host", url.split("/")[2]),), b"{}")
        environ = {"HTTPS_PROXY": f"127.0.0.1:{proxy.port}"}
        trusted = ssl.create_default_context(cafile=str(ca))
        answer = send(call, context=trusted, timeout=10, use_proxy=True, environ=environ)
    assert answer.status == 403  # the fake refuses an unsigned request: it got there
    assert proxy.heads[0].startswith(
        f"CONNECT 127.0.0.1:{url.split(':')[2].split('/')[0]} ".encode()
    )


@pytest.mark.parametrize(
    ("case", "no_proxy"),
    [("ok/exact", "target.test"), ("ok/suffix", ".test"), ("ok/star", "*")],
)
def test_no_proxy_bypasses_the_proxy(case: str, no_proxy: str) -> None:
    """NO_PROXY names hosts reached directly (here: nothing listens, so the direct try fails)."""
    call = HttpCall("GET", "http://target.test:9/", (("Host", "target.test"),))
    environ = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": no_proxy}
    with pytest.raises(HttpFailure) as caught:
        send(call, context=None, timeout=2, use_proxy=True, environ=environ)
    assert "127.0.0.1" not in caught.value.message


def test_https_proxy_url_is_refused() -> None:
    """Only http:// proxies are supported, and an https:// one is named, not half-used."""
    call = HttpCall("GET", "http://target.test/", (("Host", "target.test"),))
    with pytest.raises(HttpFailure, match="only http:// proxies"):
        send(
            call,
            context=None,
            timeout=2,
            use_proxy=True,
            environ={"HTTP_PROXY": "https://proxy.test:3128"},
        )


def test_an_answer_larger_than_the_limit_is_refused() -> None:
    """An answer body over MAX_ANSWER_BYTES is a failure, not a memory sink."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        client, _ = listener.accept()
        with client:
            client.recv(65536)
            size = MAX_ANSWER_BYTES + 10
            client.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            client.sendall(b"x" * size)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    call = HttpCall("GET", f"http://127.0.0.1:{port}/", (("Host", f"127.0.0.1:{port}"),))
    try:
        with pytest.raises(HttpFailure, match="larger than"):
            send(call, context=_context(), timeout=10)
    finally:
        thread.join(timeout=10)
        listener.close()
