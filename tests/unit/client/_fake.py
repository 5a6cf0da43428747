"""A tiny CreateSession server for the client tests: verifies signatures, answers like AWS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from elsewhere.errors import ElsewhereError
from elsewhere.pki import issue_certificate, quick_chain
from elsewhere.sigv4 import HttpRequest, parse_signed_request, verify_x509_signature

#: The request id every refusal of the fake carries.
FAKE_REQUEST_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


@dataclass
class Received:
    """One request the fake server saw, and whether its signature verified."""

    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    chain_length: int


@dataclass
class FakeCreateSession:
    """State of the fake: what to answer, and the requests received."""

    trusted_leaves: list[x509.Certificate] = field(default_factory=list)
    refuse: tuple[int, str, str] | None = None  # (status, code, message)
    fail_next: int = 0  # answer 503 this many times first
    lifetime: dt.timedelta = dt.timedelta(hours=1)
    requests: list[Received] = field(default_factory=list)
    counter: int = 0
    now: dt.datetime | None = None

    def answer(self, request: HttpRequest) -> tuple[int, dict[str, str], bytes]:
        """The status, headers and body for ``request``."""
        verified = False
        leaf = None
        try:
            signed = parse_signed_request(request)
            der = base64.b64decode(request.header("x-amz-x509") or "")
            leaf = x509.load_der_x509_certificate(der)
            verify_x509_signature(request, signed, leaf)
            verified = True
        except (ElsewhereError, ValueError):
            verified = False
        chain = request.header("x-amz-x509-chain")
        self.requests.append(
            Received(
                path=request.raw_path,
                query=request.raw_query,
                headers={k.lower(): v for k, v in request.headers},
                body=request.body,
                verified=verified,
                chain_length=len(chain.split(",")) if chain else 0,
            )
        )
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(503, "ServiceUnavailableException", "try again")
        if not verified:
            return _error(403, "AccessDeniedException", "Invalid signature")
        if self.trusted_leaves and leaf not in self.trusted_leaves:
            return _error(403, "AccessDeniedException", "Untrusted signing certificate")
        if self.refuse is not None:
            return _error(*self.refuse)
        self.counter += 1
        expiry = (self.now or dt.datetime.now(dt.UTC)) + self.lifetime
        body = {
            "credentialSet": [
                {
                    "assumedRoleUser": {
                        "arn": "arn:aws:sts::123456789012:assumed-role/demo/session",
                        "assumedRoleId": "AROAEXAMPLE:session",
                    },
                    "credentials": {
                        "accessKeyId": f"ASIAFAKE{self.counter:08d}",
                        "expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "secretAccessKey": f"secret-{self.counter}",
                        "sessionToken": f"token-{self.counter}",
                    },
                    "packedPolicySize": 0,
                    "roleArn": "arn:aws:iam::123456789012:role/demo",
                    "sourceIdentity": "CN=test",
                }
            ],
            "subjectArn": "arn:aws:rolesanywhere:us-east-1:123456789012:subject/x",
        }
        return 201, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": code,
        "x-amzn-RequestId": FAKE_REQUEST_ID,
    }
    return status, headers, json.dumps({"message": message}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the access log."""

    def do_POST(self) -> None:
        """Answer CreateSession."""
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        path, _, query = self.path.partition("?")
        request = HttpRequest("POST", path, query, tuple(self.headers.items()), body)
        status, headers, payload = self.server.fake.answer(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeServer:
    """The fake CreateSession server running in a thread on 127.0.0.1."""

    def __init__(self, fake: FakeCreateSession, tls: ssl.SSLContext | None = None) -> None:
        self.fake = fake
        self._scheme = "https" if tls else "http"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._server.fake = fake  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def __enter__(self) -> FakeServer:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def private_ca_tls(tmp_path: Path, now: dt.datetime) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 from a private CA, and that CA's PEM file."""
    root = quick_chain(now, "p256")
    issued = issue_certificate(
        root.root_ca,
        now=now,
        subject="CN=127.0.0.1",
        sans=["ip:127.0.0.1"],
        extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
    )
    cert, key, ca = tmp_path / "tls.pem", tmp_path / "tls.key", tmp_path / "ca.pem"
    cert.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca.write_text(root.anchor_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, ca
