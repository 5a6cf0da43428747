"""Every call is authorized: IAM users get exactly what their policies allow, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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
from tests.unit.iam._table import SIMULATABLE, simulate_params

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response["Error"]
    return (
        err["Code"],
        err.get("Message", ""),
        exc.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _user_clients(
    server: ServerProcess, statements: list[dict[str, Any]], **kw: Any
) -> tuple[str, Any, Any]:
    """A new IAM user with one inline policy; its ARN and its iam/rolesanywhere clients."""
    admin = server.client("iam")
    name = _name("u")
    arn = admin.create_user(UserName=name, **kw)["User"]["Arn"]
    admin.put_user_policy(
        UserName=name,
        PolicyName="narrow",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = admin.create_access_key(UserName=name)["AccessKey"]
    creds = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    return arn, server.client("iam", **creds), server.client("rolesanywhere", **creds)


def test_narrow_iam_policy(server: ServerProcess) -> None:
    """GetRole on app-* roles only: allowed there, refused elsewhere with AWS's message."""
    admin = server.client("iam")
    allowed, other = _name("app"), _name("db")
    for role in (allowed, other):
        admin.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    arn, iam, _ = _user_clients(
        server,
        [
            {
                "Effect": "Allow",
                "Action": "iam:GetRole",
                "Resource": f"arn:aws:iam::{ACCOUNT}:role/app-*",
            }
        ],
    )
    assert iam.get_role(RoleName=allowed)["Role"]["RoleName"] == allowed
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=other)
    assert _error(exc) == (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: iam:GetRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/{other} because no identity-based policy allows the "
        "iam:GetRole action",
        403,
    )
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=allowed)
    assert _error(exc)[0::2] == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=_name("x"))
    assert _error(exc)[0::2] == ("AccessDenied", 403)


def test_narrow_rolesanywhere_policy(server: ServerProcess) -> None:
    """List allowed, everything else refused with 403 AccessDeniedException."""
    arn, _, ra = _user_clients(
        server,
        [
            {"Effect": "Allow", "Action": "rolesanywhere:List*", "Resource": "*"},
            {"Effect": "Deny", "Action": "rolesanywhere:ListCrls", "Resource": "*"},
        ],
    )
    assert "trustAnchors" in ra.list_trust_anchors()
    assert "profiles" in ra.list_profiles()
    with pytest.raises(ClientError) as exc:
        ra.list_crls()
    assert _error(exc) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: rolesanywhere:ListCrls with an explicit "
        "deny in an identity-based policy",
        403,
    )
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name=_name("p"), roleArns=[f"arn:aws:iam::{ACCOUNT}:role/x"])
    assert _error(exc)[0::2] == ("AccessDeniedException", 403)


def test_create_profile_with_pass_role(server: ServerProcess) -> None:
    """CreateProfile needs iam:PassRole on every role it names."""
    good = f"arn:aws:iam::{ACCOUNT}:role/{_name('workload')}"
    _, _, ra = _user_clients(
        server,
        [
            {"Effect": "Allow", "Action": "rolesanywhere:*Profile*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": good,
                "Condition": {
                    "StringEquals": {"iam:PassedToService": "rolesanywhere.amazonaws.com"}
                },
            },
        ],
    )
    profile = ra.create_profile(name=_name("p"), roleArns=[good])["profile"]
    assert profile["roleArns"] == [good]
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name=_name("p"), roleArns=[f"arn:aws:iam::{ACCOUNT}:role/admin"])
    code, message, status = _error(exc)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "iam:PassRole" in message


def test_resource_tag_condition(server: ServerProcess) -> None:
    """aws:ResourceTag on a tagged profile decides GetProfile."""
    ra_admin = server.client("rolesanywhere")
    dev = ra_admin.create_profile(
        name=_name("dev"), roleArns=[], tags=[{"key": "env", "value": "dev"}]
    )["profile"]["profileId"]
    prod = ra_admin.create_profile(
        name=_name("prod"), roleArns=[], tags=[{"key": "env", "value": "prod"}]
    )["profile"]["profileId"]
    _, _, ra = _user_clients(
        server,
        [
            {
                "Effect": "Allow",
                "Action": "rolesanywhere:GetProfile",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
            }
        ],
    )
    assert ra.get_profile(profileId=dev)["profile"]["profileId"] == dev
    with pytest.raises(ClientError) as exc:
        ra.get_profile(profileId=prod)
    assert _error(exc)[0::2] == ("AccessDeniedException", 403)


def test_principal_tags_and_username(server: ServerProcess) -> None:
    """aws:PrincipalTag and ${aws:username} reach the user's conditions and resources."""
    admin = server.client("iam")
    _, iam, _ = _user_clients(
        server,
        [
            {
                "Effect": "Allow",
                "Action": ["iam:GetUser", "iam:ListAccessKeys"],
                "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
            }
        ],
        Tags=[{"Key": "team", "Value": "ops"}],
    )
    me = iam.get_user()["User"]
    assert iam.list_access_keys()["AccessKeyMetadata"]
    admin.tag_user(UserName=me["UserName"], Tags=[{"Key": "team", "Value": "dev"}])
    with pytest.raises(ClientError) as exc:
        iam.get_user()
    assert _error(exc)[0::2] == ("AccessDenied", 403)


def test_root_is_allowed_everything(server: ServerProcess) -> None:
    """The root key is never refused."""
    assert "Roles" in server.client("iam").list_roles()
    assert "crls" in server.client("rolesanywhere").list_crls()


def test_profile_session_policy_grammar(server: ServerProcess) -> None:
    """CreateProfile refuses a sessionPolicy the IAM grammar refuses."""
    ra = server.client("rolesanywhere")
    bad = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]})
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name=_name("p"), roleArns=[], sessionPolicy=bad)
    assert _error(exc)[2] == 400


@pytest.fixture(scope="module")
def iam_root(server: ServerProcess) -> Any:
    """An IAM client with the root key."""
    return server.client("iam")


@pytest.mark.parametrize("case", SIMULATABLE, ids=[c["name"] for c in SIMULATABLE])
def test_table_through_http_simulation(iam_root: Any, case: dict[str, Any]) -> None:
    """The engine's evaluation table gives the same decisions through SimulateCustomPolicy."""
    out = iam_root.simulate_custom_policy(**simulate_params(case))
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == case["expected"]


def test_role_session_gets_role_and_session_policy(server: ServerProcess) -> None:
    """A CreateSession session may do what its role allows, narrowed by the profile's policy."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    allow_list = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rolesanywhere:List*", "Resource": "*"}],
    }
    put_role_policy(server, role.rsplit("/", 1)[1], "list", json.dumps(allow_list))
    session_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["rolesanywhere:ListTrustAnchors", "iam:ListRoles"],
                "Resource": "*",
            }
        ],
    }
    profile = make_profile(server, [role], sessionPolicy=json.dumps(session_policy))
    answer = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
    assert answer.status_code == 201, answer.text
    creds = answer.json()["credentialSet"][0]["credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name=server.region,
    )
    ra = session.client("rolesanywhere", endpoint_url=server.endpoint)
    iam = session.client("iam", endpoint_url=server.endpoint)
    assert "trustAnchors" in ra.list_trust_anchors()
    with pytest.raises(ClientError) as exc:
        ra.list_profiles()
    code, message, status = _error(exc)
    assert (code, status) == ("AccessDeniedException", 403)
    assert message.endswith(
        "because no session policy allows the rolesanywhere:ListProfiles action"
    )
    assert ":assumed-role/" in message
    with pytest.raises(ClientError) as exc:
        iam.list_roles()
    assert _error(exc)[1].endswith(
        "because no identity-based policy allows the iam:ListRoles action"
    )


def _session_status(server: ServerProcess, chain: Any, anchor: str, profile: str, role: str) -> int:
    """The status of CreateSession for ``chain``'s certificate."""
    return send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
    ).status_code


def test_operator_denied_on_production_cannot_swap_its_ca(server: ServerProcess) -> None:
    """Denied every write to the production anchor, an operator cannot swap in their own CA by
    the anchor's id, ARN or alias ARN, and their certificate gets no production credentials."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    production, attacker = quick_chain(now, "p256"), quick_chain(now, "p256", key_slot="attacker")
    ra_root = server.client("rolesanywhere")
    alias = _name("production")
    anchor = ra_root.create_trust_anchor(
        name="production",
        enabled=True,
        aliasName=alias,
        tags=[{"key": "stage", "value": "production"}],
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": production.anchor_pem},
        },
    )["trustAnchor"]
    role = make_role(server)  # the production admin role
    profile = make_profile(server, [role])
    try:
        _try_to_swap(server, anchor, production, attacker, profile, role)
    finally:  # the session server is shared: leave its trust anchor quota (50) as it was
        ra_root.delete_profile(profileId=profile)
        ra_root.delete_trust_anchor(trustAnchorId=anchor["trustAnchorId"])


def _try_to_swap(
    server: ServerProcess,
    anchor: dict[str, Any],
    production: Any,
    attacker: Any,
    profile: str,
    role: str,
) -> None:
    """Two operators denied the production anchor (by ARN, by tag) try to swap its CA."""
    ra_root = server.client("rolesanywhere")
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    denials = [
        {"Effect": "Deny", "Action": "rolesanywhere:*", "Resource": anchor["trustAnchorArn"]},
        {
            "Effect": "Deny",
            "Action": "rolesanywhere:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/stage": "production"}},
        },
    ]
    swapped = {
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": attacker.anchor_pem},
    }
    for denial in denials:
        _, _, ra = _user_clients(server, [everything, denial])
        for named in (anchor["trustAnchorId"], anchor["trustAnchorArn"], anchor["aliasArn"]):
            with pytest.raises(ClientError) as exc:
                ra.update_trust_anchor(trustAnchorId=named, source=swapped)
            assert _error(exc)[0::2] == ("AccessDeniedException", 403), (denial, named)
    current = ra_root.get_trust_anchor(trustAnchorId=anchor["trustAnchorId"])["trustAnchor"]
    assert current["source"]["sourceData"]["x509CertificateData"] == production.anchor_pem
    deadline = time.monotonic() + 5
    while _session_status(server, production, anchor["trustAnchorArn"], profile, role) != 201:
        assert time.monotonic() < deadline, "the production certificate never got a session"
        time.sleep(0.05)
    answer = send(
        server,
        signed_request(
            server, attacker, anchor=anchor["trustAnchorArn"], profile=profile, role=role
        ),
    )
    assert (answer.status_code, answer.json()["message"]) == (
        403,
        "Untrusted signing certificate",
    )
