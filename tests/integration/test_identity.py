"""Sessions and trust bound to unique ids, not names, against a real server through boto3.

A role or user deleted and created again under the same name is another principal (IAM User
Guide, "IAM identifiers": unique ids are never reused): the old role's sessions are refused as
invalid tokens on every API, and a trust policy that named the old principal does not trust the
new one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from elsewhere.pki import Chain, quick_chain
from tests.conftest import ServerProcess
from tests.integration.test_createsession import (
    TRUST,
    _name,
    make_anchor,
    make_profile,
    send,
    signed_request,
)

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def _client(server: ServerProcess, service: str, creds: dict[str, str]) -> Any:
    return boto3.client(
        service,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )


def _role_with_all(server: ServerProcess, name: str, trust: dict[str, Any]) -> dict[str, Any]:
    iam = server.client("iam")
    role: dict[str, Any] = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    return role


def _delete_role(server: ServerProcess, name: str) -> None:
    iam = server.client("iam")
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


def _session(server: ServerProcess, role_arn: str) -> dict[str, str]:
    """CreateSession credentials for ``role_arn`` (a new certificate, anchor and profile)."""
    chain: Chain = quick_chain(NOW - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    profile = make_profile(server, [role_arn])
    answer = send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=role_arn)
    )
    assert answer.status_code == 201, answer.text
    # The credentials outlive what issued them (tokens are stateless); removing the anchor and
    # profile keeps the shared server under its trust-anchor quota.
    ra = server.client("rolesanywhere")
    ra.delete_trust_anchor(trustAnchorId=anchor.rsplit("/", 1)[1])
    ra.delete_profile(profileId=profile.rsplit("/", 1)[1])
    creds = answer.json()["credentialSet"][0]["credentials"]
    return {
        "AccessKeyId": creds["accessKeyId"],
        "SecretAccessKey": creds["secretAccessKey"],
        "SessionToken": creds["sessionToken"],
    }


def _calls(server: ServerProcess, creds: dict[str, str]) -> dict[str, Callable[[], Any]]:
    """One call on each API that accepts session credentials."""
    return {
        "sts": _client(server, "sts", creds).get_caller_identity,
        "iam": _client(server, "iam", creds).list_roles,
        "rolesanywhere": _client(server, "rolesanywhere", creds).list_profiles,
    }


_INVALID = {
    "sts": "InvalidClientTokenId",
    "iam": "InvalidClientTokenId",
    "rolesanywhere": "UnrecognizedClientException",
}


def _assert_refused_everywhere(server: ServerProcess, creds: dict[str, str]) -> None:
    for service, call in _calls(server, creds).items():
        with pytest.raises(ClientError) as err:
            call()
        error = err.value.response["Error"]
        assert error["Code"] == _INVALID[service], (service, error)
        assert error["Message"] == "The security token included in the request is invalid."
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_session_of_recreated_role_is_refused_on_every_api(server: ServerProcess) -> None:
    """CreateSession credentials of a role deleted and created again under its name (with
    broader permissions) are an invalid token for STS, IAM and rolesanywhere; the new role's
    own sessions work."""
    name = _name("reborn")
    role = _role_with_all(server, name, TRUST)
    creds = _session(server, role["Arn"])
    for call in _calls(server, creds).values():
        call()  # the session works while its role exists
    _delete_role(server, name)
    _assert_refused_everywhere(server, creds)
    again = _role_with_all(server, name, TRUST)
    assert again["Arn"] == role["Arn"]
    assert again["RoleId"] != role["RoleId"]
    _assert_refused_everywhere(server, creds)
    fresh = _session(server, again["Arn"])
    identity = _client(server, "sts", fresh).get_caller_identity()
    assert identity["UserId"].startswith(again["RoleId"] + ":")


def test_assume_role_session_of_recreated_role_is_refused(server: ServerProcess) -> None:
    """An AssumeRole session is bound to its role's id the same way."""
    name = _name("assumed")
    root = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = _role_with_all(server, name, root)
    iam = server.client("iam")
    user = _name("assumer")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    creds = _client(server, "sts", key).assume_role(RoleArn=role["Arn"], RoleSessionName="chained")[
        "Credentials"
    ]
    _client(server, "iam", creds).list_roles()
    _delete_role(server, name)
    _role_with_all(server, name, root)
    _assert_refused_everywhere(server, creds)


def _user_with_key(server: ServerProcess, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    iam = server.client("iam")
    user: dict[str, Any] = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, key


def _delete_user(server: ServerProcess, name: str) -> None:
    iam = server.client("iam")
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="all")
    iam.delete_user(UserName=name)


def _trusting(principal: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
        ],
    }


def test_trust_naming_a_user_does_not_trust_the_user_created_again(server: ServerProcess) -> None:
    """A trust policy naming a user is bound to that user's id: after the user is deleted and
    created again, AssumeRole by the new user is refused, and GetRole shows the old id."""
    name = _name("alice")
    user, key = _user_with_key(server, name)
    iam = server.client("iam")
    role_name = _name("trusts-alice")
    role = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(_trusting(user["Arn"]))
    )["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] == user["Arn"]
    _client(server, "sts", key).assume_role(RoleArn=role["Arn"], RoleSessionName="before")
    _delete_user(server, name)
    shown = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == user["UserId"]
    again, new_key = _user_with_key(server, name)
    assert again["Arn"] == user["Arn"]
    with pytest.raises(ClientError) as err:
        _client(server, "sts", new_key).assume_role(RoleArn=role["Arn"], RoleSessionName="after")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    shown = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == user["UserId"]
    # Saving the policy again with the user's ARN trusts the new user.
    iam.update_assume_role_policy(
        RoleName=role_name, PolicyDocument=json.dumps(_trusting(again["Arn"]))
    )
    _client(server, "sts", new_key).assume_role(RoleArn=role["Arn"], RoleSessionName="rebound")


def test_trust_naming_a_principal_that_does_not_exist_is_refused(server: ServerProcess) -> None:
    """CreateRole and UpdateAssumeRolePolicy refuse a user or role that does not exist."""
    iam = server.client("iam")
    missing = f"arn:aws:iam::{server.account_id}:user/{_name('nobody')}"
    with pytest.raises(ClientError) as err:
        iam.create_role(
            RoleName=_name("r"), AssumeRolePolicyDocument=json.dumps(_trusting(missing))
        )
    error = err.value.response["Error"]
    assert error["Code"] == "MalformedPolicyDocument"
    assert error["Message"] == f'Invalid principal in policy: "AWS":"{missing}"'
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
