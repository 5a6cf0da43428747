"""STS through boto3 against a real server: GetCallerIdentity, and AssumeRole by an IAM user."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess
from tests.integration.test_createsession import _name, make_role

pytestmark = pytest.mark.integration


def _trusting_root(server: ServerProcess) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }


def _user_sts(server: ServerProcess, *, allow: bool = True) -> tuple[Any, str]:
    """An STS client for a new IAM user whose policy allows AssumeRole (or allows nothing)."""
    iam = server.client("iam")
    name = _name("caller")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if allow:
        iam.put_user_policy(
            UserName=name,
            PolicyName="assume",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = server.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    return client, arn


def test_get_caller_identity_root(server: ServerProcess) -> None:
    """The root key is arn:aws:iam::<account>:root with the account as UserId."""
    out = server.client("sts").get_caller_identity()
    assert out["Arn"] == f"arn:aws:iam::{server.account_id}:root"
    assert out["Account"] == server.account_id
    assert out["UserId"] == server.account_id


def test_get_caller_identity_presigned_root(server: ServerProcess) -> None:
    """A presigned GET URL made with the root key answers for root."""
    url = server.client("sts").generate_presigned_url(
        "get_caller_identity", ExpiresIn=60, HttpMethod="GET"
    )
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert f"<Arn>arn:aws:iam::{server.account_id}:root</Arn>" in answer.text


def test_root_may_not_assume_roles(server: ServerProcess) -> None:
    """The root key is refused with STS's text, whatever the trust policy says."""
    role = make_role(server, _trusting_root(server))
    with pytest.raises(ClientError) as err:
        server.client("sts").assume_role(RoleArn=role, RoleSessionName="root")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["Error"]["Message"] == "Roles may not be assumed by root accounts."


def test_account_trust_needs_the_callers_own_allow(server: ServerProcess) -> None:
    """A role trusting the account needs the user's own policy to allow sts:AssumeRole."""
    role = make_role(server, _trusting_root(server))
    allowed, _ = _user_sts(server)
    assert allowed.assume_role(RoleArn=role, RoleSessionName="yes")["Credentials"]
    refused, arn = _user_sts(server, allow=False)
    with pytest.raises(ClientError) as err:
        refused.assume_role(RoleArn=role, RoleSessionName="no")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["Error"]["Message"].startswith(f"User: {arn} is not authorized")


def test_assume_role_with_tags_and_source_identity(server: ServerProcess) -> None:
    """AssumeRole returns the STS shape; the credentials identify the session."""
    role = make_role(server, _trusting_root(server), max_session_duration=7200)
    sts, _ = _user_sts(server)
    out = sts.assume_role(
        RoleArn=role,
        RoleSessionName="ops",
        DurationSeconds=7200,
        Tags=[{"Key": "team", "Value": "blue"}],
        SourceIdentity="alice",
    )
    assert out["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{role.rsplit('/', 1)[1]}/ops"
    )
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":ops")
    assert out["SourceIdentity"] == "alice"
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert isinstance(out["PackedPolicySize"], int)
    creds = out["Credentials"]
    session = boto3.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )
    assert session.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]


def test_assume_role_refused_by_trust_policy(server: ServerProcess) -> None:
    """A role that trusts only rolesanywhere refuses a user: 403 AccessDenied with AWS's text."""
    role = make_role(server)
    sts, arn = _user_sts(server)
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role, RoleSessionName="nope")
    error = err.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
    )
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_assume_role_duration_above_maximum(server: ServerProcess) -> None:
    """DurationSeconds above MaxSessionDuration: 400 ValidationError with AWS's text."""
    role = make_role(server, _trusting_root(server))
    sts, _ = _user_sts(server)
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=role, RoleSessionName="long", DurationSeconds=7200)
    error = err.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )


def test_assume_role_malformed_session_policy(server: ServerProcess) -> None:
    """A session policy that does not parse: MalformedPolicyDocument."""
    role = make_role(server, _trusting_root(server))
    sts, _ = _user_sts(server)
    with pytest.raises(ClientError) as err:
        sts.assume_role(
            RoleArn=role, RoleSessionName=_name("s"), Policy=json.dumps({"Statement": "x"})
        )
    assert err.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def _ring_key_id(token: str) -> int:
    """The ring key id a session token was sealed with (version byte, then 4-byte key id)."""
    import base64

    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return int.from_bytes(raw[1:5], "big")


def test_key_rotation_keeps_live_sessions(fresh_server: ServerProcess) -> None:
    """`elsewhere keys rotate` on a live server: old tokens still work, new ones use the new key."""
    import subprocess
    import time

    from tests.conftest import ELSEWHERE

    server = fresh_server
    role = make_role(server, _trusting_root(server))
    sts, _ = _user_sts(server)
    before = sts.assume_role(RoleArn=role, RoleSessionName="before")["Credentials"]
    rotated = subprocess.run(
        [ELSEWHERE, "keys", "rotate", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ring = [line.split("\t") for line in rotated.stdout.splitlines()]
    assert [state for _, state, _ in ring] == ["retired", "active"]
    new_key = int(ring[-1][0])
    assert _ring_key_id(before["SessionToken"]) != new_key

    deadline = time.monotonic() + 5
    while True:
        after = sts.assume_role(RoleArn=role, RoleSessionName="after")["Credentials"]
        if _ring_key_id(after["SessionToken"]) == new_key or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert _ring_key_id(after["SessionToken"]) == new_key
    for creds in (before, after):
        identity = server.client(
            "sts",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        ).get_caller_identity()
        assert ":assumed-role/" in identity["Arn"]
