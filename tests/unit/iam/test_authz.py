"""Authorizer: actions, resource ARNs and condition keys per the Service Authorization Reference."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from elsewhere.domain import Profile, Tag, TrustAnchor, TrustAnchorSource
from elsewhere.errors import AccessDenied, ResourceNotFound
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


def _add_anchor(store: MemoryStore, anchor_id: str = TA, alias: str | None = None) -> str:
    """Store a trust anchor with ``anchor_id`` (and ``alias``); its ARN."""
    arn = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/{anchor_id}"
    source = TrustAnchorSource("CERTIFICATE_BUNDLE", "-", None)
    store.trust_anchors.add(
        TrustAnchor(anchor_id, arn, "ta", source, True, T0, T0, alias_name=alias)
    )
    return arn


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
    _add_anchor(store)
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


ALIAS_ARN = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:alias/trust-anchor/production"
OTHER = "99999999-2222-3333-4444-555555555555"


def _add_profile(store: MemoryStore, roles: tuple[str, ...], alias: str = "prof") -> Profile:
    """Store a profile holding ``roles`` under ``alias``."""
    profile_id = "22222222-2222-3333-4444-555555555555"
    profile = Profile(
        profile_id,
        f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:profile/{profile_id}",
        "p",
        False,
        ROOT.arn,
        roles,
        (),
        3600,
        False,
        False,
        (),
        T0,
        T0,
        alias_name=alias,
    )
    store.profiles.add(profile)
    return profile


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(TA, id="fail/id"),
        pytest.param(TA_ARN, id="fail/arn"),
        pytest.param(ALIAS_ARN, id="fail/alias-arn"),
    ],
)
def test_deny_on_canonical_arn_holds_in_every_form(
    iam: IamService, authz: Authorizer, store: MemoryStore, named: str
) -> None:
    """A Deny on the anchor's ARN refuses it by id, ARN and alias ARN; the refusal names it so."""
    _add_anchor(store, alias="production")
    hank = _user(
        iam,
        "hank",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "rolesanywhere:Update*", "Resource": TA_ARN},
    )
    params = {"trustAnchorId": named, "name": "x"}
    with pytest.raises(AccessDenied) as exc:
        authz.authorize_call("rolesanywhere", "UpdateTrustAnchor", params, hank, CALL)
    shown = named if named.startswith("arn:") else TA_ARN
    assert exc.value.message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/hank is not authorized to perform: "
        f"rolesanywhere:UpdateTrustAnchor on resource: {shown} with an explicit deny in an "
        "identity-based policy"
    )


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(TA, id="ok/id"),
        pytest.param(TA_ARN, id="ok/arn"),
        pytest.param(ALIAS_ARN, id="ok/alias-arn"),
    ],
)
def test_handler_gets_the_canonical_arn(
    iam: IamService, authz: Authorizer, store: MemoryStore, named: str
) -> None:
    """An allowed call hands the handler the canonical ARN of the resource it authorized."""
    _add_anchor(store, alias="production")
    ivy = _user(iam, "ivy", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    params = {"trustAnchorId": named, "name": "x"}
    out = authz.authorize_call("rolesanywhere", "UpdateTrustAnchor", params, ivy, CALL)
    assert out == {"trustAnchorId": TA_ARN, "name": "x"}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        pytest.param("GetTrustAnchor", {"trustAnchorId": TA}, id="fail/id"),
        pytest.param("GetTrustAnchor", {"trustAnchorId": TA_ARN}, id="fail/arn"),
        pytest.param("GetTrustAnchor", {"trustAnchorId": ALIAS_ARN}, id="fail/alias-arn"),
        pytest.param("ListTagsForResource", {"resourceArn": TA_ARN}, id="fail/resource-arn"),
    ],
)
def test_denied_caller_cannot_tell_whether_it_exists(
    iam: IamService,
    authz: Authorizer,
    store: MemoryStore,
    operation: str,
    params: dict[str, Any],
) -> None:
    """A caller allowed only on team=a resources gets one AccessDenied, resource or not."""
    jo = _user(
        iam,
        "jo",
        {
            "Effect": "Allow",
            "Action": "rolesanywhere:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}},
        },
    )
    with pytest.raises(AccessDenied) as missing:
        authz.authorize_call("rolesanywhere", operation, params, jo, CALL)
    _add_anchor(store, alias="production")
    store.tags.put(TA_ARN, [Tag("team", "b")])
    with pytest.raises(AccessDenied) as present:
        authz.authorize_call("rolesanywhere", operation, params, jo, CALL)
    assert present.value.message == missing.value.message


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(OTHER, id="fail/id"),
        pytest.param(TA_ARN.replace(TA, OTHER), id="fail/arn"),
        pytest.param(ALIAS_ARN.replace("production", "nothing"), id="fail/alias-arn"),
    ],
)
def test_allowed_caller_learns_it_does_not_exist(
    iam: IamService, authz: Authorizer, store: MemoryStore, named: str
) -> None:
    """Once allowed, a call naming no resource is ResourceNotFoundException."""
    _add_anchor(store, alias="production")
    kim = _user(iam, "kim", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    with pytest.raises(ResourceNotFound):
        authz.authorize_call("rolesanywhere", "GetTrustAnchor", {"trustAnchorId": named}, kim, CALL)


def test_unknown_alias_is_judged_as_every_resource_of_its_type(
    iam: IamService, authz: Authorizer
) -> None:
    """An alias no resource holds is authorized as <type>/*: a caller allowed on one is refused."""
    lee = _user(iam, "lee", {"Effect": "Allow", "Action": "rolesanywhere:*", "Resource": TA_ARN})
    with pytest.raises(AccessDenied) as exc:
        authz.authorize_call(
            "rolesanywhere", "GetTrustAnchor", {"trustAnchorId": ALIAS_ARN}, lee, CALL
        )
    assert f"on resource: {ALIAS_ARN} because" in exc.value.message


@pytest.mark.parametrize(
    "form",
    [
        pytest.param("id", id="fail/id"),
        pytest.param("arn", id="fail/arn"),
        pytest.param("alias", id="fail/alias-arn"),
    ],
)
def test_enable_profile_needs_pass_role_in_every_form(
    iam: IamService, authz: Authorizer, store: MemoryStore, form: str
) -> None:
    """EnableProfile checks iam:PassRole on the profile's roles however the profile is named."""
    admin_role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    profile = _add_profile(store, (admin_role,), alias="prof")
    named = {
        "id": profile.id,
        "arn": profile.arn,
        "alias": f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:alias/profile/prof",
    }[form]
    max_ = _user(iam, "max", {"Effect": "Allow", "Action": "rolesanywhere:*", "Resource": "*"})
    with pytest.raises(AccessDenied, match=f"iam:PassRole on resource: {admin_role}"):
        authz.authorize_call("rolesanywhere", "EnableProfile", {"profileId": named}, max_, CALL)


def test_import_crl_is_checked_on_its_trust_anchor(
    iam: IamService, authz: Authorizer, store: MemoryStore
) -> None:
    """ImportCrl needs the action on * and on the anchor: a Deny on the anchor's tags holds."""
    _add_anchor(store, alias="production")
    store.tags.put(TA_ARN, [Tag("stage", "production")])
    ned = _user(
        iam,
        "ned",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "rolesanywhere:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/stage": "production"}},
        },
    )
    params = {"name": "c", "crlData": b"-", "trustAnchorArn": TA_ARN}
    with pytest.raises(AccessDenied, match=f"ImportCrl on resource: {TA_ARN} with an explicit"):
        authz.authorize_call("rolesanywhere", "ImportCrl", params, ned, CALL)
    with pytest.raises(ResourceNotFound):  # alias ARNs are not accepted here (model docs)
        authz.authorize_call(
            "rolesanywhere", "ImportCrl", {**params, "trustAnchorArn": ALIAS_ARN}, ned, CALL
        )
