"""Authorizer: actions, resource ARNs and condition keys per the Service Authorization Reference."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from elsewhere.domain import Tag
from elsewhere.errors import AccessDenied
from elsewhere.service._authn import Principal
from elsewhere.service._authz import SERVICE_AUTHORIZATION, Authorizer, CallInfo
from elsewhere.service._iam import IamService
from elsewhere.storage import MemoryStore

from .conftest import ACCOUNT, ROOT, T0, TRUST

TA = "11111111-2222-3333-4444-555555555555"
TA_ARN = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/{TA}"
CALL = CallInfo(now=T0, source_ip="192.0.2.10", secure=True, user_agent="Boto3/1.44 test")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def authz(store: MemoryStore) -> Authorizer:
    """The authorizer over the memory store."""
    return Authorizer(store, account_id=ACCOUNT, region="us-east-1")


def _user(iam: IamService, name: str, *statements: dict[str, Any], **kw: Any) -> Principal:
    out = iam.handle("CreateUser", {"UserName": name, **kw}, ROOT)["User"]
    iam.handle(
        "PutUserPolicy",
        {"UserName": name, "PolicyName": "p", "PolicyDocument": _doc(*statements)},
        ROOT,
    )
    return Principal(out["Arn"], ACCOUNT, "user", out["UserId"], name, "AKIAUSER")


def test_root_may_do_anything(authz: Authorizer) -> None:
    """The root principal is never refused."""
    authz.authorize_call("iam", "DeleteRole", {"RoleName": "x"}, ROOT, CALL)


def test_user_allowed_exactly_its_actions(iam: IamService, authz: Authorizer) -> None:
    """A narrow policy allows its action on its resource and refuses the rest with AWS's text."""
    alice = _user(
        iam,
        "alice",
        {
            "Effect": "Allow",
            "Action": "iam:GetRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/app-*",
        },
    )
    iam.handle("CreateRole", {"RoleName": "app-1", "AssumeRolePolicyDocument": TRUST}, ROOT)
    authz.authorize_call("iam", "GetRole", {"RoleName": "app-1"}, alice, CALL)
    with pytest.raises(AccessDenied) as exc:
        authz.authorize_call("iam", "DeleteRole", {"RoleName": "app-1"}, alice, CALL)
    assert exc.value.message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: iam:DeleteRole "
        f"on resource: arn:aws:iam::{ACCOUNT}:role/app-1 because no identity-based policy "
        "allows the iam:DeleteRole action"
    )
    with pytest.raises(AccessDenied):
        authz.authorize_call("iam", "ListRoles", {}, alice, CALL)


def test_explicit_deny_message(iam: IamService, authz: Authorizer) -> None:
    """An explicit Deny is named as such."""
    bob = _user(
        iam,
        "bob",
        {"Effect": "Allow", "Action": "rolesanywhere:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "rolesanywhere:Delete*", "Resource": "*"},
    )
    authz.authorize_call("rolesanywhere", "ListTrustAnchors", {}, bob, CALL)
    with pytest.raises(AccessDenied, match="with an explicit deny in an identity-based policy"):
        authz.authorize_call("rolesanywhere", "DeleteTrustAnchor", {"trustAnchorId": TA}, bob, CALL)


def test_global_keys(iam: IamService, authz: Authorizer) -> None:
    """SourceIp, SecureTransport, username and principal tags reach the conditions."""
    carol = _user(
        iam,
        "carol",
        {
            "Effect": "Allow",
            "Action": "iam:ListRoles",
            "Resource": "*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                "Bool": {"aws:SecureTransport": "true"},
                "StringEquals": {"aws:username": "carol", "aws:PrincipalTag/team": "ops"},
                "StringLike": {"aws:UserAgent": "Boto3/*"},
                "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            },
        },
        Tags=[{"Key": "team", "Value": "ops"}],
    )
    authz.authorize_call("iam", "ListRoles", {}, carol, CALL)
    with pytest.raises(AccessDenied):
        authz.authorize_call(
            "iam", "ListRoles", {}, carol, CallInfo(now=T0, source_ip="198.51.100.1", secure=True)
        )
    with pytest.raises(AccessDenied):
        authz.authorize_call(
            "iam", "ListRoles", {}, carol, CallInfo(now=T0, source_ip="192.0.2.1", secure=False)
        )


def test_resource_and_request_tags(iam: IamService, authz: Authorizer, store: MemoryStore) -> None:
    """ResourceTag comes from the stored tags; RequestTag/TagKeys from the request."""
    dave = _user(
        iam,
        "dave",
        {
            "Effect": "Allow",
            "Action": "rolesanywhere:GetTrustAnchor",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
        },
        {
            "Effect": "Allow",
            "Action": ["rolesanywhere:CreateTrustAnchor", "rolesanywhere:TagResource"],
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}},
        },
    )
    store.tags.put(TA_ARN, [Tag("env", "dev")])
    authz.authorize_call("rolesanywhere", "GetTrustAnchor", {"trustAnchorId": TA}, dave, CALL)
    store.tags.put(TA_ARN, [Tag("env", "prod")])
    with pytest.raises(AccessDenied, match=f"on resource: {TA_ARN}"):
        authz.authorize_call("rolesanywhere", "GetTrustAnchor", {"trustAnchorId": TA}, dave, CALL)
    ok = {"name": "x", "tags": [{"key": "env", "value": "dev"}]}
    authz.authorize_call("rolesanywhere", "CreateTrustAnchor", ok, dave, CALL)
    bad = {"name": "x", "tags": [{"key": "owner", "value": "me"}]}
    with pytest.raises(AccessDenied):
        authz.authorize_call("rolesanywhere", "CreateTrustAnchor", bad, dave, CALL)


def test_create_profile_needs_pass_role(iam: IamService, authz: Authorizer) -> None:
    """CreateProfile also checks iam:PassRole on each role, passed to rolesanywhere."""
    role = f"arn:aws:iam::{ACCOUNT}:role/workload"
    erin = _user(
        iam,
        "erin",
        {"Effect": "Allow", "Action": "rolesanywhere:CreateProfile", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": role,
            "Condition": {"StringEquals": {"iam:PassedToService": "rolesanywhere.amazonaws.com"}},
        },
    )
    authz.authorize_call(
        "rolesanywhere", "CreateProfile", {"name": "p", "roleArns": [role]}, erin, CALL
    )
    other = f"arn:aws:iam::{ACCOUNT}:role/admin"
    with pytest.raises(AccessDenied, match="iam:PassRole"):
        authz.authorize_call(
            "rolesanywhere", "CreateProfile", {"name": "p", "roleArns": [other]}, erin, CALL
        )


def test_decision_is_returned(iam: IamService, authz: Authorizer) -> None:
    """authorize returns the engine's decision with its trace."""
    frank = _user(iam, "frank", {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"})
    decision = authz.authorize(
        frank, "iam:GetUser", "*", {"aws:CurrentTime": "2026-01-01T00:00:00Z"}
    )
    assert decision.allowed
    assert decision.matched[0].policy_id == "p"


def test_every_served_operation_has_a_reference_entry() -> None:
    """Each rolesanywhere operation of botocore's model and IAM's listed ones have SAR facts."""
    ops = SERVICE_AUTHORIZATION["operations"]
    model = botocore.session.get_session().get_service_model("rolesanywhere")
    assert set(model.operation_names) <= set(ops["rolesanywhere"])
    for name, spec in ops["iam"].items():
        assert spec["action"] == f"iam:{name}"


def test_boundary_limits_user(iam: IamService, authz: Authorizer, store: MemoryStore) -> None:
    """A permissions boundary narrows what the user's policy allows."""
    gina = _user(iam, "gina", {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    pb = iam.handle(
        "CreatePolicy",
        {
            "PolicyName": "pb",
            "PolicyDocument": _doc({"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}),
        },
        ROOT,
    )["Policy"]["Arn"]
    iam.handle("PutUserPermissionsBoundary", {"UserName": "gina", "PermissionsBoundary": pb}, ROOT)
    authz.authorize_call("iam", "ListRoles", {}, gina, CALL)
    with pytest.raises(AccessDenied, match="no permissions boundary allows"):
        authz.authorize_call("iam", "GetRole", {"RoleName": "x"}, gina, CALL)
