"""aws:PrincipalTag/* of role sessions against a real server: the role's own tags, read at request
time, with session tags overriding a role tag of the same key (IAM User Guide, "Pass session tags
in AWS STS")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess
from tests.integration.test_identity import _client, _name, _session

pytestmark = pytest.mark.integration


def _blue_only(server: ServerProcess, trust: dict[str, Any]) -> dict[str, Any]:
    """A role tagged team=blue that may list profiles only while its principal is team=blue."""
    iam = server.client("iam")
    name = _name("tagged")
    role: dict[str, Any] = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "team", "Value": "blue"}],
    )["Role"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "rolesanywhere:ListProfiles",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="blue", PolicyDocument=json.dumps(policy))
    return role


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return str(err.value.response["Error"]["Code"])


def test_role_tags_are_principal_tags_read_at_request_time(server: ServerProcess) -> None:
    """A CreateSession session carries its role's tags; retagging the role changes what the
    session's next call is allowed."""
    from tests.integration.test_createsession import TRUST

    role = _blue_only(server, TRUST)
    ra = _client(server, "rolesanywhere", _session(server, role["Arn"]))
    ra.list_profiles()
    iam = server.client("iam")
    iam.tag_role(RoleName=role["RoleName"], Tags=[{"Key": "team", "Value": "green"}])
    assert _denied(ra.list_profiles) == "AccessDeniedException"
    iam.tag_role(RoleName=role["RoleName"], Tags=[{"Key": "team", "Value": "blue"}])
    ra.list_profiles()


def test_session_tag_overrides_role_tag_of_same_key(server: ServerProcess) -> None:
    """An AssumeRole session tag Team=green replaces the role's team=blue for that session."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    role = _blue_only(server, trust)
    iam = server.client("iam")
    user = _name("tagger")
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    sts = _client(server, "sts", iam.create_access_key(UserName=user)["AccessKey"])
    plain = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="plain")["Credentials"]
    _client(server, "rolesanywhere", plain).list_profiles()
    tagged = sts.assume_role(
        RoleArn=role["Arn"], RoleSessionName="tagged", Tags=[{"Key": "Team", "Value": "green"}]
    )["Credentials"]
    assert _denied(_client(server, "rolesanywhere", tagged).list_profiles) == (
        "AccessDeniedException"
    )
