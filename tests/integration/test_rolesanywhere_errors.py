"""rolesanywhere answers inside its own error model: profile inputs that IAM would refuse with
MalformedPolicyDocument or LimitExceeded are ValidationException, through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess
from tests.integration.test_createsession import _name, make_role

pytestmark = pytest.mark.integration


def _policy(resources: int) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(resources)],
                }
            ],
        }
    )


CASES = [
    (
        "fail/session-policy-malformed",
        {"sessionPolicy": '{"Statement": 1}'},
        "Invalid session policy: Syntax errors in policy.",
    ),
    (
        "fail/session-policy-over-2048",
        {"sessionPolicy": _policy(100)},
        "Invalid session policy: Cannot exceed quota for PolicySize: 2048",
    ),
    (
        "fail/aws-managed-policy",
        {"managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        "AWS managed policies are not served by this endpoint; managedPolicyArns may name "
        "customer managed policies only: arn:aws:iam::aws:policy/ReadOnlyAccess",
    ),
]


def _refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize(("name", "members", "message"), CASES, ids=[c[0] for c in CASES])
def test_profile_input_refused_as_validation_exception(
    server: ServerProcess, name: str, members: dict[str, Any], message: str
) -> None:
    """CreateProfile and UpdateProfile answer 400 ValidationException with the reason."""
    ra = server.client("rolesanywhere")
    role = make_role(server)
    expected = (400, "ValidationException", message)
    assert _refusal(lambda: ra.create_profile(name=_name("p"), roleArns=[role], **members)) == (
        expected
    )
    profile = ra.create_profile(name=_name("p"), roleArns=[role], sessionPolicy=_policy(40))
    profile_id = profile["profile"]["profileId"]
    assert _refusal(lambda: ra.update_profile(profileId=profile_id, **members)) == expected
