"""Trusted identity propagation on a live server: the certificate's identity in the session.

A profile with ``tipConfiguration`` enabled gives its sessions ``aws:OriginIdentity/*`` keys
that trust and identity policies test, that role chaining keeps, and that
``GetWebIdentityToken(SubjectMode=OriginIdentity)`` puts in ``sub``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from elsewhere.pki import Chain, quick_chain
from tests.conftest import ServerProcess
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    put_role_policy,
    send,
    signed_request,
    sts_for,
)

pytestmark = pytest.mark.integration

TOKENS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:GetWebIdentityToken", "sts:SetWebIdentityTokenScope"],
                "Resource": "*",
                # Only sessions that carry an origin identity of type workload.
                "Condition": {"StringEquals": {"aws:OriginIdentity/SubjectType": "workload"}},
            }
        ],
    }
)


def _trust(subject: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    }
    if subject is not None:
        statement["Condition"] = {"StringEquals": {"aws:OriginIdentity/Subject": subject}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _chain(cn: str, sans: tuple[str, ...] = ()) -> Chain:
    return quick_chain(
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), subject=f"CN={cn},O=elsewhere", sans=sans
    )


def _session(
    server: ServerProcess, chain: Chain, anchor: str, profile: str, role: str
) -> tuple[int, dict[str, Any]]:
    answer = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
    return answer.status_code, answer.json()


def _setup(
    server: ServerProcess,
    chain: Chain,
    tip: dict[str, str] | None,
    trust_subject: str | None = None,
) -> tuple[str, str, str]:
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server, _trust(trust_subject))
    put_role_policy(server, role.rsplit("/", 1)[1], "tokens", TOKENS)
    extra: dict[str, Any] = {} if tip is None else {"tipConfiguration": tip}
    profile = make_profile(server, [role], **extra)
    return anchor, profile, role


@pytest.fixture(scope="module", autouse=True)
def _federation(server: ServerProcess) -> None:
    try:
        server.client("iam").enable_outbound_web_identity_federation()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "FeatureEnabled":
            raise


def _token(sts: Any, **kwargs: Any) -> dict[str, Any]:
    token = sts.get_web_identity_token(Audience=["openbao"], SigningAlgorithm="ES384", **kwargs)[
        "WebIdentityToken"
    ]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_certificate_cn_becomes_the_token_subject(server: ServerProcess) -> None:
    """TIP on with the default source: sub is the certificate's CN; subject_mode says so."""
    cn = f"web-{uuid.uuid4().hex[:6]}"
    chain = _chain(cn)
    anchor, profile, role = _setup(
        server, chain, {"status": "ENABLED", "subjectType": "workload"}, trust_subject=cn
    )
    status, body = _session(server, chain, anchor, profile, role)
    assert status == 201, body
    sts = sts_for(server, body["credentialSet"][0]["credentials"])
    claims = _token(sts, SubjectMode="OriginIdentity", Scope="secrets:read")
    assert claims["sub"] == cn
    assert claims["subject_mode"] == "OriginIdentity"
    assert claims["scope"] == "secrets:read"
    assert claims["https://sts.amazonaws.com/"]["principal_id"] == role
    assert _token(sts)["sub"] == role  # AWSIdentity still names the role


def test_trust_policy_binds_the_origin_subject(server: ServerProcess) -> None:
    """A trust policy on aws:OriginIdentity/Subject admits that certificate and no other."""
    cn = f"db-{uuid.uuid4().hex[:6]}"
    chain = _chain(cn)
    anchor, profile, role = _setup(
        server, chain, {"status": "ENABLED", "subjectType": "workload"}, trust_subject=cn
    )
    # Another CA's certificate, trusted by its own anchor and admitted by the profile: only the
    # trust policy's aws:OriginIdentity/Subject condition tells the two apart.
    other = quick_chain(
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), subject="CN=intruder,O=elsewhere"
    )
    other_anchor = make_anchor(server, other.anchor_pem)
    status, body = _session(server, other, other_anchor, profile, role)
    assert status == 403
    assert body["message"] == f"Unable to assume role for {role}."
    status, _ = _session(server, chain, anchor, profile, role)
    assert status == 201


def test_uri_subject_source(server: ServerProcess) -> None:
    """subjectSource x509SAN/URI: the first URI SAN is the subject."""
    uri = f"spiffe://example.org/ns/prod/{uuid.uuid4().hex[:6]}"
    chain = _chain("ignored", sans=(f"uri:{uri}",))
    anchor, profile, role = _setup(
        server,
        chain,
        {"status": "ENABLED", "subjectType": "workload", "subjectSource": "x509SAN/URI"},
    )
    status, body = _session(server, chain, anchor, profile, role)
    assert status == 201, body
    claims = _token(
        sts_for(server, body["credentialSet"][0]["credentials"]), SubjectMode="OriginIdentity"
    )
    assert claims["sub"] == uri


def test_certificate_without_the_field_is_refused(server: ServerProcess) -> None:
    """subjectSource x509SAN/URI and a certificate with no URI: CreateSession denies it."""
    chain = _chain("no-uri")
    anchor, profile, role = _setup(
        server, chain, {"status": "ENABLED", "subjectType": "user", "subjectSource": "x509SAN/URI"}
    )
    status, body = _session(server, chain, anchor, profile, role)
    assert status == 403
    assert body["message"] == f"Unable to assume role for {role}."
    assert "trusted identity propagation" in server.log()


def test_without_tip_there_is_no_origin_identity(server: ServerProcess) -> None:
    """A profile without TIP: no aws:OriginIdentity keys (the policy's condition fails), and
    OriginIdentity tokens are a validation error."""
    chain = _chain(f"plain-{uuid.uuid4().hex[:6]}")
    anchor, profile, role = _setup(server, chain, None)
    status, body = _session(server, chain, anchor, profile, role)
    assert status == 201, body
    sts = sts_for(server, body["credentialSet"][0]["credentials"])
    with pytest.raises(ClientError) as denied:
        sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_role_chaining_keeps_the_origin_identity(server: ServerProcess) -> None:
    """A session that assumes another role passes its origin identity on, unchanged."""
    cn = f"chain-{uuid.uuid4().hex[:6]}"
    chain = _chain(cn)
    anchor, profile, role = _setup(server, chain, {"status": "ENABLED", "subjectType": "workload"})
    target = make_role(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                    "Condition": {"StringEquals": {"aws:OriginIdentity/Subject": cn}},
                }
            ],
        },
    )
    put_role_policy(server, target.rsplit("/", 1)[1], "tokens", TOKENS)
    put_role_policy(
        server,
        role.rsplit("/", 1)[1],
        "assume",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        "Resource": target,
                    }
                ],
            }
        ),
    )
    status, body = _session(server, chain, anchor, profile, role)
    assert status == 201, body
    first = sts_for(server, body["credentialSet"][0]["credentials"])
    chained = first.assume_role(RoleArn=target, RoleSessionName="next")["Credentials"]
    second = boto3.client(
        "sts",
        aws_access_key_id=chained["AccessKeyId"],
        aws_secret_access_key=chained["SecretAccessKey"],
        aws_session_token=chained["SessionToken"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )
    claims = _token(second, SubjectMode="OriginIdentity")
    assert claims["sub"] == cn
    assert claims["https://sts.amazonaws.com/"]["principal_id"] == target
