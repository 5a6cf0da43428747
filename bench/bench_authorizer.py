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
        requests = forward_requests(server.port, _session_credentials(server), _SIGNED)
        rate, per_cpu, load = _rate(server, requests)
    finally:
        server.close()
    yield "authorizer.forward.per_second", rate, "req/s"
    if per_cpu is not None:
        yield "authorizer.forward.per_cpu_second", per_cpu, "req/cpu-s"
    yield "authorizer.forward.load_cpu_share", load, "ratio"
    bare = _BareServer()
    try:
        _, bare_cpu, _ = _rate(bare, bare.requests())
    finally:
        bare.close()
    if bare_cpu is not None and per_cpu is not None:
        yield "authorizer.forward.ratio_to_bare_uvicorn", per_cpu / bare_cpu, "ratio"
