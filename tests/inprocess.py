"""An elsewhere server built in this process, reached by boto3 clients without a socket.

``build_application`` wires the real store (SQLite in a temporary directory), services,
authorizer and gateway, as ``elsewhere server`` does. Each boto3 client is an ordinary client
(botocore serializes and signs every request) whose ``before-send`` hook hands the signed request
to the gateway as an ASGI call instead of sending it over HTTP. For tests that make hundreds of
calls through the whole stack, where starting a server process per case would dominate.
"""

from __future__ import annotations

import asyncio
import configparser
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from elsewhere.app import Application, ServerSettings, build_application
from elsewhere.storage import SqlStore, open_store

__all__ = ["InProcessServer"]

ENDPOINT = "http://elsewhere.test"


class _Raw:
    """The ``raw`` of an AWSResponse: the whole body, in one piece."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        """The body."""
        yield self._body


class InProcessServer:
    """One application over a SQLite file under ``data_dir``; close it when done."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        """Build the application (migrating a new store, making the root key)."""
        self.settings = ServerSettings(data_dir=data_dir, **settings)
        self.app: Application = build_application(self.settings)
        self._loop = asyncio.new_event_loop()
        parser = configparser.ConfigParser()
        parser.read(self.app.credentials_file)
        self.root_keys = (
            parser["default"]["aws_access_key_id"],
            parser["default"]["aws_secret_access_key"],
        )

    @property
    def region(self) -> str:
        """The region the server acts as."""
        return self.settings.region

    def store(self) -> SqlStore:
        """A second handle on the server's database (close it when done)."""
        return open_store(self.settings.effective_database_url)

    def client(self, service: str, keys: tuple[str, str] | None = None) -> Any:
        """A boto3 client of ``service`` signing with ``keys`` (the root key by default)."""
        key_id, secret = keys or self.root_keys
        session = boto3.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=self.region
        )
        client = session.client(
            service,
            endpoint_url=ENDPOINT,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        client.meta.events.register("before-send", self._send)
        return client

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        """Serve one signed request through the gateway (botocore's ``before-send`` hook)."""
        url = urlsplit(request.url)
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes | bytearray):
            body = body.read()
        headers = [
            (k.lower().encode(), v if isinstance(v, bytes) else str(v).encode())
            for k, v in request.headers.items()
        ]
        if not any(k == b"host" for k, _ in headers):
            headers.append((b"host", url.netloc.encode()))
        scope = {
            "type": "http",
            "method": request.method,
            "path": url.path,
            "raw_path": url.path.encode(),
            "query_string": url.query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 5555),
            "scheme": "http",
        }
        status, response_headers, payload = self._loop.run_until_complete(
            self._call(scope, bytes(body))
        )
        return AWSResponse(request.url, status, response_headers, _Raw(payload))

    async def _call(self, scope: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        sent: dict[str, Any] = {"status": 0, "headers": {}, "body": b""}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
            else:
                sent["body"] += message.get("body", b"")

        await self.app.asgi(scope, receive, send)
        return sent["status"], sent["headers"], sent["body"]

    def close(self) -> None:
        """Run the shutdown hooks (snapshot refresher, subject recorder) and close the store."""
        messages = iter([{"type": "lifespan.shutdown"}])

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(_: dict[str, Any]) -> None:
            return None

        self._loop.run_until_complete(self.app.asgi({"type": "lifespan"}, receive, send))
        self._loop.close()
        self.app.close()
