"""What the authorizer's integration tests share: a role, a real session, signed requests."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from unittest import mock

import botocore.auth
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from elsewhere.pki import quick_chain
from tests.conftest import ServerProcess
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    put_role_policy,
    send,
    signed_request,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"


def invoke_policy(api: str = "orders", stage: str = "prod") -> dict[str, Any]:
    """What the tests' role may invoke: reads of items, one write, a tag-conditioned path."""
    arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/GET/items/*"},
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/POST/items"},
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"{arn}/GET/team/*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "elsewhere-test-workload"}
                },
            },
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"{arn}/GET/other-team/*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/x509Subject/CN": "someone-else"}},
            },
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"{arn}/GET/office/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            },
            {
                "Effect": "Deny",
                "Action": "execute-api:Invoke",
                "Resource": f"{arn}/GET/items/secret",
            },
        ],
    }


@dataclass
class Session:
    """A role and a session of it, from a real CreateSession on the server."""

    role_name: str
    role_arn: str
    credentials: Credentials


def new_session(server: ServerProcess, policy: dict[str, Any] | None = None) -> Session:
    """A role carrying ``policy`` (default :func:`invoke_policy`) and a session of it."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    role_name = f"svc-{uuid.uuid4().hex[:10]}"
    role_arn = make_role(server, name=role_name)
    put_role_policy(server, role_name, "invoke", json.dumps(policy or invoke_policy()))
    anchor = make_anchor(server, chain.anchor_pem)
    profile = make_profile(server, [role_arn])
    request = signed_request(server, chain, anchor=anchor, profile=profile, role=role_arn)
    answer = send(server, request)
    assert answer.status_code == 201, answer.text
    # The session outlives them (its token is stateless): the shared server stays under the
    # trust-anchor quota however many tests make sessions.
    ra = server.client("rolesanywhere")
    ra.delete_profile(profileId=profile.rsplit("/", 1)[1])
    ra.delete_trust_anchor(trustAnchorId=anchor.rsplit("/", 1)[1])
    raw = answer.json()["credentialSet"][0]["credentials"]
    return Session(
        role_name,
        role_arn,
        Credentials(raw["accessKeyId"], raw["secretAccessKey"], raw["sessionToken"]),
    )


def sign(
    credentials: Credentials,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    at: dt.datetime | None = None,
) -> AWSRequest:
    """``method url`` signed by botocore's SigV4Auth for execute-api, as a client signs it.

    ``at`` signs as of another time (botocore reads the time through ``get_current_datetime``),
    as a request captured then and sent now would be.
    """
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer = SigV4Auth(credentials, "execute-api", REGION)
    if at is None:
        signer.add_auth(request)
        return request
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
        signer.add_auth(request)
    return request


def ask(
    server: ServerProcess,
    request: AWSRequest,
    *,
    api: str = "orders",
    stage: str = "prod",
    body: bytes | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """Ask the server's forward-auth endpoint about ``request``, as Traefik asks it."""
    from urllib.parse import urlsplit

    parts = urlsplit(request.url)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    headers.update(
        {
            "X-Forwarded-Method": request.method,
            "X-Forwarded-Uri": parts.path + (f"?{parts.query}" if parts.query else ""),
            "X-Forwarded-Host": parts.netloc,
            "X-Forwarded-Proto": parts.scheme,
        }
    )
    headers.update(extra or {})
    return httpx.request(
        "GET",
        f"{server.endpoint}/_authorize/forward",
        params={"api": api, "stage": stage},
        headers=headers,
        content=request.body if body is None else body,
        timeout=30,
    )
