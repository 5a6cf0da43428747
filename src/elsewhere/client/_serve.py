"""``serve``: a local endpoint that hands out the credentials like EC2's IMDSv2 (and ECS).

Behaviour follows AWS's helper (reference §7.4): ``PUT /latest/api/token`` with a TTL header in
1..21600 (default 21600), refusal of ``X-Forwarded-For``, 401/405 answers, the role-name and
credentials paths, IP TTL / IPv6 hop limit set on every accepted connection, refresh when fewer
than ten minutes are left. Better than the 1.8.0 helper: the server starts only once credentials
were obtained, keeps the last good credentials when a refresh fails and answers 500 when none are
valid, can bind any address (IPv6 included), and offers an ECS-style container-credentials path
(``AWS_CONTAINER_CREDENTIALS_FULL_URI``) guarded by an authorization token (helper issue #40).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import secrets
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from elsewhere.client._cache import CredentialCache, CredentialsUnavailableError
from elsewhere.client._defaults import CONTAINER_CREDENTIALS_PATH, DEFAULT_HOP_LIMIT, DEFAULT_PORT
from elsewhere.clock import Clock, SystemClock

__all__ = [
    "CONTAINER_CREDENTIALS_PATH",
    "DEFAULT_HOP_LIMIT",
    "DEFAULT_PORT",
    "MetadataServer",
    "TokenStore",
    "role_name_from_arn",
]

_log = logging.getLogger("elsewhere.client")

_TOKEN_PATH = "/latest/api/token"  # noqa: S105 (a URL path, not a secret)
_ROLES_PATH = "/latest/meta-data/iam/security-credentials"
_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
_TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 (a header name)
_MAX_TTL = 21600  # six hours, as EC2's IMDSv2
_MAX_TOKENS = 256


def role_name_from_arn(role_arn: str) -> str:
    """The role's name: the last ``/`` segment of the ARN's resource (paths dropped)."""
    return role_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


@dataclass
class TokenStore:
    """IMDSv2 session tokens with their expiry; at most 256, the earliest-expiring evicted."""

    clock: Clock

    def __post_init__(self) -> None:
        self._tokens: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def issue(self, ttl_seconds: int) -> str:
        """A new random token valid for ``ttl_seconds``."""
        # 100 characters of base64 alphabet, like the helper (there: base64 of 128 random bytes).
        token = secrets.token_urlsafe(75)[:100]
        now = self.clock.now()
        with self._lock:
            self._sweep(now)
            if len(self._tokens) >= _MAX_TOKENS:
                oldest = min(self._tokens, key=self._tokens.__getitem__)
                del self._tokens[oldest]
            self._tokens[token] = now + dt.timedelta(seconds=ttl_seconds)
        return token

    def remaining(self, token: str) -> int | None:
        """Seconds left on ``token``, or None if it is unknown or expired."""
        now = self.clock.now()
        with self._lock:
            self._sweep(now)
            for known, expiry in self._tokens.items():
                # Constant-time comparison: a token is a bearer secret.
                if hmac.compare_digest(known.encode(), token.encode()):
                    return max(1, int((expiry - now).total_seconds()))
        return None

    def _sweep(self, now: dt.datetime) -> None:
        for token in [t for t, expiry in self._tokens.items() if expiry <= now]:
            del self._tokens[token]


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(BaseHTTPRequestHandler):
    server: _HopLimitedServer
    protocol_version = "HTTP/1.1"
    server_version = "elsewhere-imds"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Access log at debug level only (the path never holds a token)."""
        _log.debug("%s %s", self.client_address[0], format % args)

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        content_type = "application/json" if body.startswith("{") else "text/plain"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self) -> None:
        app = self.server.app
        self._drain_body()
        path = self.path.split("?", 1)[0]
        if self.headers.get("X-Forwarded-For") is not None:
            # A request relayed by a proxy may come from off the host (reference §7.4).
            self._send(400, "unable to process requests with X-Forwarded-For header")
            return
        if path in (_TOKEN_PATH, _TOKEN_PATH + "/"):
            if self.command != "PUT":
                self._send(405, "method not allowed")
                return
            self._put_token(app)
            return
        if path.startswith(_ROLES_PATH):
            if self.command != "GET":
                self._send(405, "method not allowed")
                return
            self._get_credentials(app, path[len(_ROLES_PATH) :].strip("/"))
            return
        if app.container_token is not None and path == CONTAINER_CREDENTIALS_PATH:
            if self.command != "GET":
                self._send(405, "method not allowed")
                return
            self._get_container_credentials(app)
            return
        self._send(404, "not found")

    def _drain_body(self) -> None:
        # No endpoint takes a body; read and drop one so the keep-alive connection stays in sync.
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > 65536:
            self.close_connection = True
            return
        if length > 0:
            self.rfile.read(length)

    # http.server dispatches on do_<METHOD>; every method goes through one router so that the
    # answer to a wrong method is 405, as in AWS's helper, not http.server's 501.
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _dispatch  # noqa: N815

    def _put_token(self, app: MetadataServer) -> None:
        raw = self.headers.get(_TTL_HEADER)
        ttl = _MAX_TTL
        if raw is not None:
            try:
                ttl = int(raw.strip())
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= _MAX_TTL:
                self._send(400, "invalid token TTL")
                return
        token = app.tokens.issue(ttl)
        self._send(200, token, {_TTL_HEADER: str(ttl)})

    def _check_token(self, app: MetadataServer) -> int | None:
        token = self.headers.get(_TOKEN_HEADER)
        if not token:
            self._send(401, "no token provided")
            return None
        remaining = app.tokens.remaining(token)
        if remaining is None:
            self._send(401, "invalid token provided")
            return None
        return remaining

    def _get_credentials(self, app: MetadataServer, role: str) -> None:
        remaining = self._check_token(app)
        if remaining is None:
            return
        ttl = {_TTL_HEADER: str(remaining)}
        if not role:
            self._send(200, app.role_name, ttl)
            return
        if role != app.role_name:
            self._send(404, "not found", ttl)
            return
        try:
            credentials = app.cache.get()
        except CredentialsUnavailableError as exc:
            self._send(500, exc.message, ttl)
            return
        last = app.cache.last_updated or app.clock.now()
        body = {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "Token": credentials.session_token,
            "Code": "Success",
            "Type": "AWS-HMAC",
            "Expiration": _rfc3339(credentials.expiration),
            "LastUpdated": _rfc3339(last),
        }
        self._send(200, json.dumps(body), ttl)

    def _get_container_credentials(self, app: MetadataServer) -> None:
        given = self.headers.get("Authorization", "")
        expected = app.container_token or ""
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            self._send(401, json.dumps({"message": "invalid or missing authorization token"}))
            return
        try:
            credentials = app.cache.get()
        except CredentialsUnavailableError as exc:
            self._send(500, json.dumps({"message": exc.message}))
            return
        body = {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "Token": credentials.session_token,
            "Expiration": _rfc3339(credentials.expiration),
            "RoleArn": credentials.role_arn or app.role_arn,
        }
        self._send(200, json.dumps(body))


class _HopLimitedServer(ThreadingHTTPServer):
    daemon_threads = True
    app: MetadataServer
    hop_limit: int = DEFAULT_HOP_LIMIT

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection and set its IP TTL / IPv6 hop limit (the helper's TTL listener)."""
        connection, address = super().get_request()
        try:
            if self.address_family == socket.AF_INET6:
                connection.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, self.hop_limit)
            else:
                connection.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.hop_limit)
        except OSError:
            connection.close()
            raise
        return connection, address


class MetadataServer:
    """The IMDSv2 (and optional ECS) credentials endpoint over a :class:`CredentialCache`."""

    def __init__(
        self,
        cache: CredentialCache,
        *,
        role_arn: str,
        address: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        hop_limit: int = DEFAULT_HOP_LIMIT,
        container_token: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not 1 <= hop_limit <= 255:
            raise ValueError("hop limit must be between 1 and 255")
        self.cache = cache
        self.role_arn = role_arn
        self.role_name = role_name_from_arn(role_arn)
        self.container_token = container_token
        self.clock = clock or SystemClock()
        self.tokens = TokenStore(self.clock)
        server_class = type(
            "_BoundServer",
            (_HopLimitedServer,),
            {"address_family": socket.AF_INET6 if ":" in address else socket.AF_INET},
        )
        self._server: _HopLimitedServer = server_class((address, port), _Handler)
        self._server.app = self
        self._server.hop_limit = hop_limit
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the port is the real one when 0 was asked)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Base URL of the endpoint, without a trailing slash (some SDKs need that, per AWS)."""
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called."""
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
