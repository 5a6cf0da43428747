"""The authorizer's forward-auth throughput against a real server process with one uvicorn worker.

Measured as ``bench_createsession`` measures CreateSession (same server flags, load process,
rounds and CPU accounting). The workload is what a proxy sends for each request of a service
behind it: ``GET /_authorize/forward?api=orders&stage=prod`` carrying the client's headers of a
GET signed (botocore ``SigV4Auth``, service ``execute-api``) with session credentials from a real
CreateSession, allowed by a 10-statement identity policy on the session's role. Requests are
signed in advance and replayed; every replay is verified in full (signature with the cached
signing key, token opened, role checked, policies evaluated).

- ``authorizer.forward.per_second``: closed-loop maximum.
- ``authorizer.forward.per_cpu_second``: requests per CPU-second of the server process.
- ``authorizer.forward.ratio_to_bare_uvicorn``: that, over the same figure of the trivial
  Starlette endpoint on uvicorn (``bench/_bare.py``) measured in the same run.
- ``authorizer.middleware.asgi_added_ms``: the median latency the ASGI middleware adds to one
  request of an app in this process (its question to the server over a kept-alive connection),
  requests one after another.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from bench.bench_createsession import _BareServer, _rate, _Server, _wire

__all__ = ["POLICY", "run"]

_SIGNED = 64
_HOST = "api.example.test:8443"

# Ten statements of the kinds a service's callers carry: paths with wildcards and variables,
# method lists, tag, IP, transport and time conditions, and denies that must be evaluated (and
# not match) on every request.
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadItems",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:orders/prod/GET/items/*",
            },
            {
                "Sid": "WriteOwnItems",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": [
                    "arn:aws:execute-api:us-east-1:123456789012:orders/prod/POST/items",
                    "arn:aws:execute-api:us-east-1:123456789012:orders/prod/PUT/items/*",
                ],
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "orders"}},
            },
            {
                "Sid": "Reports",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:123456789012:reports/*/GET/*",
                "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}},
            },
            {
                "Sid": "TeamPrefix",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:"
                "team/prod/*/${aws:PrincipalTag/team}/*",
            },
            {
                "Sid": "Health",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:*/*/GET/health",
            },
            {
                "Sid": "Admin",
                "Effect": "Allow",
                "Action": "execute-api:*",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:admin/*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            {
                "Sid": "OtherServices",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "sqs:SendMessage"],
                "Resource": "*",
            },
            {
                "Sid": "DenyDeletes",
                "Effect": "Deny",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:*:*/prod/DELETE/*",
            },
            {
                "Sid": "RevokeOld",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}},
            },
            {
                "Sid": "DenyOtherRegions",
                "Effect": "Deny",
                "NotAction": "iam:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            },
        ],
    }
)


def _session_credentials(server: _Server) -> dict[str, str]:
    """Credentials from a real CreateSession for a role that carries :data:`POLICY`."""
    from elsewhere.pki import quick_chain
    from elsewhere.sigv4 import HttpRequest, sign_x509_request

    role = server.role()
    server.client("iam").put_role_policy(
        RoleName=role.rsplit("/", 1)[1], PolicyName="invoke", PolicyDocument=POLICY
    )
    now = dt.datetime.now(dt.UTC)
    chain = quick_chain(now - dt.timedelta(hours=1), "p256", True)
    ra = server.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name="bench-authorizer",
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]["trustAnchorArn"]
    profile = ra.create_profile(name="bench-authorizer", roleArns=[role], enabled=True)[
        "profile"
    ]["profileArn"]
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
    )
    signed = sign_x509_request(
        HttpRequest(
            "POST",
            "/sessions",
            query,
            (("Host", f"127.0.0.1:{server.port}"), ("Content-Type", "application/json")),
            b'{"durationSeconds":3600}',
        ),
        certificate=chain.leaf,
        private_key=chain.leaf_key,
        region="us-east-1",
        now=now,
        intermediates=chain.intermediates,
    )
    answer = httpx.post(
        f"{server.endpoint}/sessions?{query}",
        headers=list(signed.headers),
        content=signed.body,
        timeout=30,
    )
    answer.raise_for_status()
    credentials: dict[str, str] = answer.json()["credentialSet"][0]["credentials"]
    return credentials


def forward_requests(port: int, credentials: dict[str, str], count: int) -> list[bytes]:
    """``count`` forward-auth requests for signed GETs of distinct items, as Traefik sends them."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = Credentials(
        credentials["accessKeyId"], credentials["secretAccessKey"], credentials["sessionToken"]
    )
    out = []
    for i in range(count):
        uri = f"/items/{i}?view=full"
        original = AWSRequest("GET", f"https://{_HOST}{uri}")
        SigV4Auth(creds, "execute-api", "us-east-1").add_auth(original)
        headers: list[tuple[str, Any]] = [
            (name, value) for name, value in original.headers.items() if name.lower() != "host"
        ]
        headers += [
            ("Host", f"127.0.0.1:{port}"),
            ("User-Agent", "bench-client/1.0"),
            ("X-Forwarded-For", "127.0.0.1"),
            ("X-Forwarded-Host", _HOST),
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Uri", uri),
        ]
        out.append(_wire("GET", "/_authorize/forward", "api=orders&stage=prod", headers, b""))
    return out


def run() -> Iterator[tuple[str, float, str]]:
    """Start a server, measure forward auth, then the yardstick; yield (name, value, unit)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    server = _Server()
    try:
        credentials = _session_credentials(server)
        requests = forward_requests(server.port, credentials, _SIGNED)
        rate, per_cpu, load = _rate(server, requests)
        middleware_ms = _middleware_added_ms(server.endpoint, credentials, server.port)
    finally:
        server.close()
    yield "authorizer.forward.per_second", rate, "req/s"
    if per_cpu is not None:
        yield "authorizer.forward.per_cpu_second", per_cpu, "req/cpu-s"
    yield "authorizer.forward.load_cpu_share", load, "ratio"
    yield "authorizer.middleware.asgi_added_ms", middleware_ms, "ms"
    bare = _BareServer()
    try:
        _, bare_cpu, _ = _rate(bare, bare.requests())
    finally:
        bare.close()
    if bare_cpu is not None and per_cpu is not None:
        yield "authorizer.forward.ratio_to_bare_uvicorn", per_cpu / bare_cpu, "ratio"


def _middleware_added_ms(endpoint: str, credentials: dict[str, str], port: int) -> float:
    """Median latency the ASGI middleware adds to a request: one question to elsewhere over a
    kept-alive connection, against the same app called without it (both in this process)."""
    import asyncio
    import statistics
    import time

    from elsewhere.middleware import ElsewhereASGI

    async def service(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    raw = forward_requests(port, credentials, _SIGNED)

    async def measure() -> float:
        guarded = ElsewhereASGI(service, endpoint=endpoint, api="orders", stage="prod")
        samples: list[float] = []
        try:
            for i in range(400):
                scope, receive = _scope(raw[i % len(raw)])
                sent: list[Any] = []

                async def send(message: Any, sent: list[Any] = sent) -> None:
                    sent.append(message)

                started = time.perf_counter()
                await service(scope, receive, send)
                bare = time.perf_counter() - started
                scope, receive = _scope(raw[i % len(raw)])
                started = time.perf_counter()
                await guarded(scope, receive, send)
                took = time.perf_counter() - started
                if i >= 50:  # after the connection and the caches are warm
                    samples.append((took - bare) * 1000)
                assert sent[-2]["status"] == 200, sent
        finally:
            await guarded.aclose()
        return statistics.median(samples)

    return asyncio.run(measure())


def _scope(wire: bytes) -> tuple[dict[str, Any], Any]:
    """The ASGI scope of the original request a forward-auth question in ``wire`` describes."""
    head = wire.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    fields = [line.split(": ", 1) for line in head]
    original = {name.lower(): value for name, value in fields}
    path, _, query = original["x-forwarded-uri"].partition("?")
    headers = [
        (name.lower().encode(), value.encode())
        for name, value in fields
        if not name.lower().startswith("x-forwarded-") and name.lower() != "host"
    ] + [(b"host", original["x-forwarded-host"].encode())]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "scheme": "https",
        "client": ("127.0.0.1", 50000),
    }
    return scope, receive
