"""IamService: roles, policies, users and keys with AWS's identifiers and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from elsewhere.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidAction,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
)
from elsewhere.service._iam import IamService, validate_session_policy
from elsewhere.storage import MemoryStore

from .conftest import ACCOUNT, ALLOW_ALL, ROOT, TRUST


def _call(iam: IamService, op: str, **params: Any) -> dict[str, Any]:
    return iam.handle(op, params, ROOT)


def test_create_role_ids_arn_and_document(iam: IamService) -> None:
    """CreateRole gives an AROA id, an ARN with the path, and the URL-encoded trust policy."""
    role = _call(iam, "CreateRole", RoleName="App", Path="/team/", AssumeRolePolicyDocument=TRUST)[
        "Role"
    ]
    assert role["RoleId"].startswith("AROA")
    assert len(role["RoleId"]) == 21
    assert role["Arn"] == "arn:aws:iam::123456789012:role/team/App"
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["MaxSessionDuration"] == 3600
    got = _call(iam, "GetRole", RoleName="app")["Role"]
    assert got["RoleId"] == role["RoleId"]


def test_role_errors(iam: IamService) -> None:
    """Duplicate names (any case), unknown roles and bad trust policies fail as AWS says."""
    _call(iam, "CreateRole", RoleName="App", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(EntityAlreadyExists, match="Role with name APP already exists"):
        _call(iam, "CreateRole", RoleName="APP", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(NoSuchEntity, match="The role with name Nope cannot be found"):
        _call(iam, "GetRole", RoleName="Nope")
    with pytest.raises(MalformedPolicyDocument):
        _call(iam, "CreateRole", RoleName="Bad", AssumeRolePolicyDocument="{")
    with pytest.raises(MalformedPolicyDocument):
        _call(iam, "UpdateAssumeRolePolicy", RoleName="App", PolicyDocument=ALLOW_ALL)


def test_delete_role_conflicts(iam: IamService) -> None:
    """DeleteRole is refused while inline or attached policies remain."""
    _call(iam, "CreateRole", RoleName="App", AssumeRolePolicyDocument=TRUST)
    _call(iam, "PutRolePolicy", RoleName="App", PolicyName="p", PolicyDocument=ALLOW_ALL)
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        _call(iam, "DeleteRole", RoleName="App")
    _call(iam, "DeleteRolePolicy", RoleName="App", PolicyName="p")
    arn = _call(iam, "CreatePolicy", PolicyName="mp", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    _call(iam, "AttachRolePolicy", RoleName="App", PolicyArn=arn)
    with pytest.raises(DeleteConflict, match="must detach all policies first"):
        _call(iam, "DeleteRole", RoleName="App")
    with pytest.raises(DeleteConflict, match="attached to entities"):
        _call(iam, "DeletePolicy", PolicyArn=arn)
    _call(iam, "DetachRolePolicy", RoleName="App", PolicyArn=arn)
    _call(iam, "DeleteRole", RoleName="App")
    _call(iam, "DeletePolicy", PolicyArn=arn)


def test_tags(iam: IamService) -> None:
    """Tag keys are case-insensitive: a new value replaces the old one; untag removes."""
    _call(
        iam,
        "CreateRole",
        RoleName="App",
        AssumeRolePolicyDocument=TRUST,
        Tags=[{"Key": "Team", "Value": "a"}],
    )
    _call(
        iam,
        "TagRole",
        RoleName="App",
        Tags=[{"Key": "team", "Value": "b"}, {"Key": "x", "Value": ""}],
    )
    assert _call(iam, "ListRoleTags", RoleName="App")["Tags"] == [
        {"Key": "team", "Value": "b"},
        {"Key": "x", "Value": ""},
    ]
    _call(iam, "UntagRole", RoleName="App", TagKeys=["TEAM"])
    assert _call(iam, "ListRoleTags", RoleName="App")["Tags"] == [{"Key": "x", "Value": ""}]


def test_pagination(iam: IamService) -> None:
    """ListRoles pages with Marker/MaxItems/IsTruncated and visits every role once."""
    for i in range(7):
        _call(iam, "CreateRole", RoleName=f"r{i}", AssumeRolePolicyDocument=TRUST)
    seen: list[str] = []
    params: dict[str, Any] = {"MaxItems": 3}
    while True:
        page = _call(iam, "ListRoles", **params)
        seen += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        params["Marker"] = page["Marker"]
    assert seen == [f"r{i}" for i in range(7)]


def test_policy_versions(iam: IamService) -> None:
    """Versions count up and are never reused; a sixth is refused; the default stays."""
    arn = _call(iam, "CreatePolicy", PolicyName="mp", Path="/x/", PolicyDocument=ALLOW_ALL)[
        "Policy"
    ]["Arn"]
    assert arn == "arn:aws:iam::123456789012:policy/x/mp"
    for n in range(2, 6):
        v = _call(
            iam, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=ALLOW_ALL, SetAsDefault=n == 3
        )
        assert v["PolicyVersion"]["VersionId"] == f"v{n}"
    with pytest.raises(LimitExceeded, match="up to 5 versions"):
        _call(iam, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=ALLOW_ALL)
    assert _call(iam, "GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    with pytest.raises(DeleteConflict, match="default version"):
        _call(iam, "DeletePolicyVersion", PolicyArn=arn, VersionId="v3")
    _call(iam, "DeletePolicyVersion", PolicyArn=arn, VersionId="v5")
    _call(iam, "SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v4")
    ids = [v["VersionId"] for v in _call(iam, "ListPolicyVersions", PolicyArn=arn)["Versions"]]
    assert ids == ["v4", "v3", "v2", "v1"]
    again = _call(iam, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=ALLOW_ALL)
    assert again["PolicyVersion"]["VersionId"] == "v6"
    with pytest.raises(DeleteConflict, match="more than one version"):
        _call(iam, "DeletePolicy", PolicyArn=arn)
    with pytest.raises(NoSuchEntity):
        _call(iam, "GetPolicyVersion", PolicyArn=arn, VersionId="v9")


def test_users_and_keys(iam: IamService, store: MemoryStore) -> None:
    """Users get AIDA ids; keys are AKIA, sealed at rest, two at most, and authenticate."""
    user = _call(iam, "CreateUser", UserName="alice")["User"]
    assert user["UserId"].startswith("AIDA")
    key = _call(iam, "CreateAccessKey", UserName="alice")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    stored = store.access_keys.get(key["AccessKeyId"])
    assert stored is not None
    assert stored.secret_access_key != key["SecretAccessKey"]
    found = iam.lookup_access_key(key["AccessKeyId"])
    assert found is not None
    assert found.secret_access_key == key["SecretAccessKey"]
    assert found.principal.arn == user["Arn"]
    assert found.principal.kind == "user"
    _call(iam, "CreateAccessKey", UserName="alice")
    with pytest.raises(LimitExceeded, match="AccessKeysPerUser: 2"):
        _call(iam, "CreateAccessKey", UserName="alice")
    _call(
        iam, "UpdateAccessKey", UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Inactive"
    )
    found = iam.lookup_access_key(key["AccessKeyId"])
    assert found is not None
    assert not found.active
    with pytest.raises(DeleteConflict, match="access keys"):
        _call(iam, "DeleteUser", UserName="alice")
    for k in _call(iam, "ListAccessKeys", UserName="alice")["AccessKeyMetadata"]:
        _call(iam, "DeleteAccessKey", UserName="alice", AccessKeyId=k["AccessKeyId"])
    _call(iam, "DeleteUser", UserName="alice")
    with pytest.raises(NoSuchEntity, match="The user with name alice cannot be found"):
        _call(iam, "GetUser", UserName="alice")


def test_inline_policy_size_limit(iam: IamService) -> None:
    """A user's inline policies together may not exceed 2,048 characters."""
    _call(iam, "CreateUser", UserName="bob")
    big = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::' + "b" * 1900 + '"}]}'
    )
    _call(iam, "PutUserPolicy", UserName="bob", PolicyName="a", PolicyDocument=big)
    with pytest.raises(LimitExceeded, match="2048 bytes exceeded for user bob"):
        _call(iam, "PutUserPolicy", UserName="bob", PolicyName="b", PolicyDocument=big)


def test_unknown_operation(iam: IamService) -> None:
    """An IAM operation elsewhere does not serve is InvalidAction."""
    with pytest.raises(InvalidAction):
        _call(iam, "CreateGroup", GroupName="g")


@pytest.mark.parametrize(
    ("name", "text", "ok"),
    [
        ("ok/allow-all", ALLOW_ALL, True),
        ("fail/not-json", "{", False),
        (
            "fail/principal",
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Principal":"*","Action":"*","Resource":"*"}]}',
            False,
        ),
    ],
)
def test_validate_session_policy(name: str, text: str, ok: bool) -> None:
    """Session policies pass through the policy grammar."""
    if ok:
        validate_session_policy(text)
    else:
        with pytest.raises(MalformedPolicyDocument):
            validate_session_policy(text)


def _trusting(*principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": list(principals)},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        indent=1,
    )


def _aws_principals(document: str) -> list[str]:
    return list(json.loads(document)["Statement"][0]["Principal"]["AWS"])


def test_trust_policy_stores_unique_ids_and_shows_arns(iam: IamService, store: MemoryStore) -> None:
    """User and role ARNs of the account are stored as their unique ids; GetRole shows the
    document as written while they exist, and the raw id once one is deleted and re-created."""
    user = _call(iam, "CreateUser", UserName="alice")["User"]
    ops = _call(iam, "CreateRole", RoleName="ops", Path="/x/", AssumeRolePolicyDocument=TRUST)[
        "Role"
    ]
    root = f"arn:aws:iam::{ACCOUNT}:root"
    other = "arn:aws:iam::999999999999:user/bob"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/s1"
    document = _trusting(user["Arn"], ops["Arn"], root, other, session)
    created = _call(iam, "CreateRole", RoleName="target", AssumeRolePolicyDocument=document)
    assert created["Role"]["AssumeRolePolicyDocument"] == document
    stored = store.get_role("target")
    assert stored is not None
    assert _aws_principals(stored.assume_role_policy) == [
        user["UserId"],
        ops["RoleId"],
        root,
        other,
        session,
    ]
    assert _call(iam, "GetRole", RoleName="target")["Role"]["AssumeRolePolicyDocument"] == document
    _call(iam, "DeleteUser", UserName="alice")
    _call(iam, "CreateUser", UserName="alice")
    shown = _call(iam, "GetRole", RoleName="target")["Role"]["AssumeRolePolicyDocument"]
    assert _aws_principals(shown) == [user["UserId"], ops["Arn"], root, other, session]
    listed = _call(iam, "ListRoles")["Roles"]
    assert [r["AssumeRolePolicyDocument"] for r in listed if r["RoleName"] == "target"] == [shown]


def test_update_assume_role_policy_binds_too(iam: IamService, store: MemoryStore) -> None:
    """UpdateAssumeRolePolicy binds like CreateRole; an id of a principal that exists is kept."""
    _call(iam, "CreateRole", RoleName="target", AssumeRolePolicyDocument=TRUST)
    user = _call(iam, "CreateUser", UserName="alice")["User"]
    _call(iam, "UpdateAssumeRolePolicy", RoleName="target", PolicyDocument=_trusting(user["Arn"]))
    stored = store.get_role("target")
    assert stored is not None
    assert _aws_principals(stored.assume_role_policy) == [user["UserId"]]
    by_id = _trusting(user["UserId"])
    _call(iam, "UpdateAssumeRolePolicy", RoleName="target", PolicyDocument=by_id)
    shown = _call(iam, "GetRole", RoleName="target")["Role"]["AssumeRolePolicyDocument"]
    assert shown == _trusting(user["Arn"])


@pytest.mark.parametrize(
    ("name", "principal"),
    [
        ("fail/unknown-user", f"arn:aws:iam::{ACCOUNT}:user/nobody"),
        ("fail/unknown-role", f"arn:aws:iam::{ACCOUNT}:role/nobody"),
        ("fail/role-naming-itself-at-creation", f"arn:aws:iam::{ACCOUNT}:role/target"),
        ("fail/path-missing-from-arn", f"arn:aws:iam::{ACCOUNT}:role/ops"),
        ("fail/id-of-nobody", "AIDAEXAMPLENOBODY0001"),
    ],
)
def test_trust_policy_naming_missing_principal_is_refused(
    iam: IamService, name: str, principal: str
) -> None:
    """A principal that does not exist is refused as IAM refuses it, on create and update."""
    _call(iam, "CreateRole", RoleName="ops", Path="/x/", AssumeRolePolicyDocument=TRUST)
    message = f'Invalid principal in policy: "AWS":"{principal}"'
    with pytest.raises(MalformedPolicyDocument) as err:
        _call(iam, "CreateRole", RoleName="target", AssumeRolePolicyDocument=_trusting(principal))
    assert err.value.message == message
    if name == "fail/role-naming-itself-at-creation":
        return  # once created, the role exists and may be named
    _call(iam, "CreateRole", RoleName="target", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(MalformedPolicyDocument) as err:
        _call(iam, "UpdateAssumeRolePolicy", RoleName="ops", PolicyDocument=_trusting(principal))
    assert err.value.message == message


def test_id_of_deleted_principal_is_refused_on_save(iam: IamService) -> None:
    """A document read back with a deleted principal's id cannot be saved again as it is."""
    user = _call(iam, "CreateUser", UserName="alice")["User"]
    _call(iam, "CreateRole", RoleName="target", AssumeRolePolicyDocument=_trusting(user["Arn"]))
    _call(iam, "DeleteUser", UserName="alice")
    shown = _call(iam, "GetRole", RoleName="target")["Role"]["AssumeRolePolicyDocument"]
    with pytest.raises(MalformedPolicyDocument, match=user["UserId"]):
        _call(iam, "UpdateAssumeRolePolicy", RoleName="target", PolicyDocument=shown)
