"""Third parties that verify an identity through elsewhere's STS: JSON answers and Vault's replay.

aws-iam-authenticator (and its kin) send a presigned GetCallerIdentity with
``Accept: application/json`` and parse STS's JSON form. Vault's and OpenBao's AWS auth method
(``iam`` login) has the client sign a GetCallerIdentity POST for ``sts.amazonaws.com`` with an
``X-Vault-AWS-IAM-Server-ID`` header, and replays it from the Vault server to its configured
``sts_endpoint``: to the path ``//`` (Vault joins the endpoint and the request URI with ``/``),
with the client's ``Host`` header, which is not elsewhere's own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from elsewhere.pki import quick_chain
from tests.conftest import ServerProcess
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)

pytestmark = pytest.mark.integration

VAULT_HEADER = "X-Vault-AWS-IAM-Server-ID"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture(scope="module")
def session(server: ServerProcess) -> tuple[Credentials, str]:
    """A certificate's session credentials and its assumed-role ARN."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    profile = make_profile(server, [role])
    answer = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    creds = body["credentialSet"][0]["credentials"]
    return (
        Credentials(creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"]),
        body["credentialSet"][0]["assumedRoleUser"]["arn"],
    )


def _vault_login_request(creds: Credentials, server_id: str) -> AWSRequest:
    """What a Vault client signs: a POST to sts.amazonaws.com with the server-id header."""
    request = AWSRequest(
        method="POST",
        url="https://sts.amazonaws.com/",
        data=BODY,
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            VAULT_HEADER: server_id,
        },
    )
    SigV4Auth(creds, "sts", "us-east-1").add_auth(request)
    return request


def _replay(server: ServerProcess, request: AWSRequest, **changes: str) -> httpx.Response:
    """What the Vault server sends to its sts_endpoint: path //, the client's Host and headers."""
    headers = dict(request.headers.items())
    headers["Host"] = urlsplit(request.url).netloc
    headers.update(changes)
    return httpx.post(f"{server.endpoint}//", headers=headers, content=BODY, timeout=30)


def test_vault_iam_login_replay_is_answered(
    server: ServerProcess, session: tuple[Credentials, str]
) -> None:
    """The replayed login request verifies and answers the session's ARN, in XML."""
    creds, arn = session
    answer = _replay(server, _vault_login_request(creds, "vault.example.com"))
    assert answer.status_code == 200, answer.text
    assert f"<Arn>{arn}</Arn>" in answer.text
    signed = answer.request.headers
    assert signed["host"] == "sts.amazonaws.com"
    assert VAULT_HEADER.lower() in signed["authorization"].lower()


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("fail/server-id-changed", {VAULT_HEADER: "attacker.example.com"}),
        ("fail/host-changed", {"Host": "sts.eu-west-1.amazonaws.com"}),
    ],
)
def test_vault_replay_refuses_changes(
    server: ServerProcess, session: tuple[Credentials, str], case: str, changes: dict[str, str]
) -> None:
    """A replay whose signed server id or host was changed fails the signature (403)."""
    creds, _ = session
    answer = _replay(server, _vault_login_request(creds, "vault.example.com"), **changes)
    assert answer.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in answer.text


def _presigned(creds: Credentials, server: ServerProcess) -> str:
    """A presigned GetCallerIdentity GET URL with the header aws-iam-authenticator signs."""
    request = AWSRequest(
        method="GET",
        url=f"{server.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": "cluster-1"},
    )
    SigV4QueryAuth(creds, "sts", "us-east-1", expires=60).add_auth(request)
    return str(request.url)


def test_get_caller_identity_answers_json_when_asked(
    server: ServerProcess, session: tuple[Credentials, str]
) -> None:
    """Accept: application/json gets STS's JSON form, as aws-iam-authenticator parses it."""
    creds, arn = session
    answer = httpx.get(
        _presigned(creds, server),
        headers={"Accept": "application/json", "x-k8s-aws-id": "cluster-1"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    document: dict[str, Any] = answer.json()
    result = document["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    assert result["Arn"] == arn
    assert result["Account"] == server.account_id
    assert result["UserId"].startswith("AROA")
    assert (
        document["GetCallerIdentityResponse"]["ResponseMetadata"]["RequestId"]
        == (answer.headers["x-amzn-requestid"])
    )


def test_errors_answer_json_when_asked(
    server: ServerProcess, session: tuple[Credentials, str]
) -> None:
    """A refused JSON caller gets the error as JSON: Code, Message, Type, RequestId."""
    creds, _ = session
    url = _presigned(creds, server)
    answer = httpx.get(
        url, headers={"Accept": "application/json", "x-k8s-aws-id": "other-cluster"}, timeout=30
    )
    assert answer.status_code == 403
    error = answer.json()
    assert error["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error["Error"]["Type"] == "Sender"
    assert error["RequestId"] == answer.headers["x-amzn-requestid"]


def test_xml_stays_the_default(server: ServerProcess, session: tuple[Credentials, str]) -> None:
    """Without the Accept header the answer is XML, as botocore expects."""
    creds, _ = session
    answer = httpx.get(_presigned(creds, server), headers={"x-k8s-aws-id": "cluster-1"}, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/xml"
