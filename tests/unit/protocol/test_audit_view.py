"""Values as audit records show them: model members only, CloudTrail's spelling, secrets hidden."""

from __future__ import annotations

import datetime as dt

import pytest

from elsewhere.protocol import HIDDEN, audit_parameters, audit_response, load_service_model

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_assume_role_answer_hides_secret_and_token() -> None:
    """STS's credentials keep the key id and expiry; the secret and the token are hidden."""
    view = audit_response(
        load_service_model("sts"),
        "AssumeRole",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "SessionToken": "token-value",
                "Expiration": NOW,
            },
            "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn"},
            "PackedPolicySize": 6,
        },
    )
    assert view == {
        "credentials": {
            "accessKeyId": "ASIAEXAMPLE",
            "secretAccessKey": HIDDEN,
            "sessionToken": HIDDEN,
            "expiration": NOW,
        },
        "assumedRoleUser": {"assumedRoleId": "AROA:s", "arn": "arn"},
        "packedPolicySize": 6,
    }


def test_create_access_key_answer_hides_the_secret() -> None:
    """IAM's new access key: the secret is hidden, the rest kept."""
    view = audit_response(
        load_service_model("iam"),
        "CreateAccessKey",
        {
            "AccessKey": {
                "UserName": "alice",
                "AccessKeyId": "AKIAALICE",
                "Status": "Active",
                "SecretAccessKey": "secret",
                "CreateDate": NOW,
            }
        },
    )
    assert view is not None
    assert view["accessKey"]["secretAccessKey"] == HIDDEN
    assert view["accessKey"]["accessKeyId"] == "AKIAALICE"


def test_members_outside_the_model_are_dropped() -> None:
    """Only what the operation's shape names reaches the record."""
    view = audit_parameters(
        load_service_model("iam"),
        "GetRole",
        {"RoleName": "app", "X-Amz-Signature": "abcdef", "Password": "x"},
    )
    assert view == {"roleName": "app"}


def test_sensitive_rolesanywhere_tags_are_hidden() -> None:
    """rolesanywhere's model marks tag keys and values sensitive: CloudTrail hides them."""
    view = audit_parameters(
        load_service_model("rolesanywhere"),
        "CreateProfile",
        {"name": "p", "roleArns": ["arn:aws:iam::1:role/r"], "tags": [{"key": "k", "value": "v"}]},
    )
    assert view == {
        "name": "p",
        "roleArns": ["arn:aws:iam::1:role/r"],
        "tags": [{"key": HIDDEN, "value": HIDDEN}],
    }


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("ok/iam", "ListRoles"),
        ("ok/sts", "GetCallerIdentity"),
        ("ok/rolesanywhere", "ListProfiles"),
    ],
)
def test_empty_or_missing_values_are_none(service: str, operation: str) -> None:
    """No parameters is null, as CloudTrail writes it."""
    model = load_service_model(service.split("/")[1])
    assert audit_parameters(model, operation, {}) is None
    assert audit_parameters(model, operation, None) is None


def test_web_identity_token_is_hidden() -> None:
    """The JWT GetWebIdentityToken issues is a bearer credential: hidden, its expiry kept."""
    view = audit_response(
        load_service_model("sts"),
        "GetWebIdentityToken",
        {"WebIdentityToken": "eyJhbGciOiJSUzI1NiJ9.e30.sig", "Expiration": NOW},
    )
    assert view == {"webIdentityToken": HIDDEN, "expiration": NOW}
