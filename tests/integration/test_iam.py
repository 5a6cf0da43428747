"""The IAM API through boto3's ``iam`` client and the AWS CLI against a real server process."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }
    ],
}
ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response["Error"]
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return err["Code"], err.get("Message", ""), status


@pytest.fixture(scope="module")
def iam(server: ServerProcess) -> Any:
    """An IAM client with the root key."""
    return server.client("iam")


def test_role_lifecycle(iam: Any) -> None:
    """Create, read, update, tag, list and delete a role; documents come back as JSON."""
    name = _name("role")
    role = iam.create_role(
        RoleName=name,
        Path="/team/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="workloads",
        MaxSessionDuration=7200,
        Tags=[{"Key": "env", "Value": "dev"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/team/{name}"
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == TRUST
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("workloads", 7200)
    assert got["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=3600)
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "changed"
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(TRUST))
    iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "a"}])
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "a"}]
    names = [r["RoleName"] for r in iam.list_roles(PathPrefix="/team/")["Roles"]]
    assert name in names
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=name)
    assert _error(exc) == ("NoSuchEntity", f"The role with name {name} cannot be found.", 404)


def test_role_errors(iam: Any) -> None:
    """Duplicate, malformed and out-of-range inputs fail with IAM's codes and statuses."""
    name = _name("dup")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    assert _error(exc)[0::2] == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=_name("bad"), AssumeRolePolicyDocument="{not json")
    assert _error(exc)[0::2] == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as exc:
        iam.create_role(
            RoleName=_name("long"),
            AssumeRolePolicyDocument=json.dumps(TRUST),
            MaxSessionDuration=50000,
        )
    assert _error(exc)[0::2] == ("ValidationError", 400)
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(ALLOW_S3))
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert _error(exc)[0::2] == ("DeleteConflict", 409)


def test_inline_and_managed_policies(iam: Any) -> None:
    """Inline policies, managed policies with versions, attachment and boundaries."""
    role = _name("pol")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps(ALLOW_S3))
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["read"]
    got = iam.get_role_policy(RoleName=role, PolicyName="read")
    assert got["PolicyDocument"] == ALLOW_S3
    with pytest.raises(ClientError) as exc:
        iam.get_role_policy(RoleName=role, PolicyName="none")
    assert _error(exc)[0::2] == ("NoSuchEntity", 404)
    iam.delete_role_policy(RoleName=role, PolicyName="read")

    pname = _name("mp")
    policy = iam.create_policy(PolicyName=pname, Path="/x/", PolicyDocument=json.dumps(ALLOW_S3))[
        "Policy"
    ]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/x/{pname}"
    assert policy["DefaultVersionId"] == "v1"
    v2 = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3), SetAsDefault=True
    )
    assert v2["PolicyVersion"]["VersionId"] == "v2"
    assert (
        iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"]
        == ALLOW_S3
    )
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == [
        "v2",
        "v1",
    ]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": pname, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert any(p["Arn"] == arn for p in iam.list_policies(Scope="Local")["Policies"])
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc)[0::2] == ("DeleteConflict", 409)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": arn,
    }
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert _error(exc)[0::2] == ("NoSuchEntity", 404)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)


def test_policy_version_limit(iam: Any) -> None:
    """A sixth version is LimitExceeded (409)."""
    arn = iam.create_policy(PolicyName=_name("lim"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"][
        "Arn"
    ]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3))
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3))
    assert _error(exc)[0::2] == ("LimitExceeded", 409)


def test_users_keys_and_policies(server: ServerProcess, iam: Any) -> None:
    """Users, their access keys (which authenticate at once) and their policies."""
    name = _name("user")
    user = iam.create_user(UserName=name, Path="/admins/")["User"]
    assert user["UserId"].startswith("AIDA")
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admins/{name}"
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    assert any(u["UserName"] == name for u in iam.list_users()["Users"])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert len(key["SecretAccessKey"]) == 40
    iam.put_user_policy(
        UserName=name,
        PolicyName="self",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": user["Arn"]}
                ],
            }
        ),
    )
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["self"]
    assert iam.get_user_policy(UserName=name, PolicyName="self")["PolicyName"] == "self"
    me = server.client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    assert me.get_user()["User"]["Arn"] == user["Arn"]
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(key["AccessKeyId"], "Inactive")]
    with pytest.raises(ClientError) as exc:
        me.get_user()
    assert _error(exc)[0] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert _error(exc)[0::2] == ("DeleteConflict", 409)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="self")
    arn = iam.create_policy(PolicyName=_name("up"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"][
        "Arn"
    ]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"][0]["PolicyArn"] == arn
    iam.detach_user_policy(UserName=name, PolicyArn=arn)
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=name)
    assert _error(exc) == ("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def test_pagination(iam: Any) -> None:
    """boto3's paginator walks ListRoles with Marker/MaxItems/IsTruncated."""
    prefix = f"/{_name('page')}/"
    for i in range(5):
        iam.create_role(
            RoleName=_name(f"p{i}"), Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST)
        )
    first = iam.list_roles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True
    assert len(first["Roles"]) == 2
    pages = iam.get_paginator("list_roles").paginate(
        PathPrefix=prefix, PaginationConfig={"PageSize": 2}
    )
    assert sum(len(p["Roles"]) for p in pages) == 5


def test_account_authorization_details(iam: Any) -> None:
    """GetAccountAuthorizationDetails lists roles with their policies."""
    name = _name("gaad")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(ALLOW_S3))
    details = iam.get_account_authorization_details(Filter=["Role"])
    (role,) = [r for r in details["RoleDetailList"] if r["RoleName"] == name]
    assert role["RolePolicyList"] == [{"PolicyName": "p", "PolicyDocument": ALLOW_S3}]


def test_aws_cli(server: ServerProcess) -> None:
    """The AWS CLI creates, reads and deletes a role, and reports NoSuchEntity."""
    name = _name("cli")
    created = server.aws(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        json.dumps(TRUST),
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Role"]["RoleName"] == name
    got = server.aws("iam", "get-role", "--role-name", name)
    assert json.loads(got.stdout)["Role"]["AssumeRolePolicyDocument"] == TRUST
    assert server.aws("iam", "delete-role", "--role-name", name).returncode == 0
    missing = server.aws("iam", "get-role", "--role-name", name)
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr


def test_aws_cli_simulation(server: ServerProcess) -> None:
    """aws iam simulate-custom-policy answers with EvalDecision per action."""
    out = server.aws(
        "iam",
        "simulate-custom-policy",
        "--policy-input-list",
        json.dumps(ALLOW_S3),
        "--action-names",
        "s3:GetObject",
        "s3:PutObject",
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [
        ("s3:GetObject", "allowed"),
        ("s3:PutObject", "implicitDeny"),
    ]
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
