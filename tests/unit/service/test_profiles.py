"""Profile operations and attribute mappings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from elsewhere.clock import FixedClock
from elsewhere.domain import is_uuid
from elsewhere.errors import (
    ElsewhereError,
    MalformedPolicyDocument,
    ResourceNotFound,
    TooManyTags,
    ValidationError,
)
from elsewhere.service import ControlPlane
from elsewhere.service._iam import validate_session_policy
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, ROLE, T0

DEFAULT_MAPPINGS = [
    {"certificateField": "x509Issuer", "mappingRules": [{"specifier": "*"}]},
    {
        "certificateField": "x509SAN",
        "mappingRules": [{"specifier": "DNS"}, {"specifier": "URI"}, {"specifier": "Name/*"}],
    },
    {"certificateField": "x509Subject", "mappingRules": [{"specifier": "*"}]},
]


def create(cp: ControlPlane, **extra: Any) -> dict[str, Any]:
    """CreateProfile and return the detail."""
    out = cp.handle("CreateProfile", {"name": "p", "roleArns": [ROLE], **extra}, CALLER)
    detail: dict[str, Any] = out["profile"]
    return detail


def test_create_defaults(cp: ControlPlane) -> None:
    """A new profile has AWS's defaults and the caller as creator."""
    detail = create(cp)
    assert is_uuid(detail["profileId"])
    assert detail == {
        "profileId": detail["profileId"],
        "profileArn": f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:profile/{detail['profileId']}",
        "name": "p",
        "requireInstanceProperties": False,
        "enabled": False,
        "createdBy": CALLER,
        "roleArns": [ROLE],
        "managedPolicyArns": [],
        "createdAt": T0,
        "updatedAt": T0,
        "durationSeconds": 3600,
        "acceptRoleSessionName": False,
        "attributeMappings": DEFAULT_MAPPINGS,
    }


def test_create_with_everything(cp: ControlPlane) -> None:
    """Every optional member is stored and returned."""
    policy = '{"Version":"2012-10-17","Statement":[]}'
    detail = create(
        cp,
        enabled=True,
        durationSeconds=900,
        sessionPolicy=policy,
        managedPolicyArns=["arn:aws:iam::123456789012:policy/ReadOnly"],
        acceptRoleSessionName=True,
        requireInstanceProperties=True,
        aliasName="web",
        tipConfiguration={"status": "ENABLED", "subjectType": "workload"},
        tags=[{"key": "k", "value": "v"}],
    )
    assert detail["enabled"] is True
    assert detail["durationSeconds"] == 900
    assert detail["sessionPolicy"] == policy
    assert detail["managedPolicyArns"] == ["arn:aws:iam::123456789012:policy/ReadOnly"]
    assert detail["acceptRoleSessionName"] is True
    assert detail["requireInstanceProperties"] is True
    assert detail["aliasArn"] == f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/profile/web"
    assert detail["tipConfiguration"] == {"status": "ENABLED", "subjectType": "workload"}
    got = cp.handle("GetProfile", {"profileId": detail["profileId"]}, CALLER)
    assert got == {"profile": detail}


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        pytest.param({"sessionPolicy": "not json"}, ValidationError, id="fail/policy-not-json"),
        pytest.param({"sessionPolicy": "[1, 2]"}, ValidationError, id="fail/policy-not-object"),
        pytest.param({"durationSeconds": 899}, ValidationError, id="fail/duration-low"),
        pytest.param({"durationSeconds": 43201}, ValidationError, id="fail/duration-high"),
        pytest.param(
            {"tags": [{"key": f"k{i}", "value": ""} for i in range(51)]},
            TooManyTags,
            id="fail/too-many-tags",
        ),
        pytest.param(
            {"tags": [{"key": "aws:reserved", "value": ""}]}, ValidationError, id="fail/aws-tag"
        ),
    ],
)
def test_create_refuses(cp: ControlPlane, extra: dict[str, Any], error: type[Exception]) -> None:
    """Bad inputs are refused and nothing is created."""
    with pytest.raises(error):
        create(cp, **extra)
    assert cp.handle("ListProfiles", {}, CALLER) == {"profiles": []}


def test_session_policy_hook(make_cp: Callable[..., ControlPlane]) -> None:
    """The policy engine's grammar check runs on create and on update."""
    seen: list[str] = []

    def validator(text: str) -> None:
        seen.append(text)
        if "Deny" not in text:
            raise MalformedPolicyDocument("Syntax errors in policy.")

    cp = make_cp(session_policy_validator=validator)
    with pytest.raises(
        ValidationError, match=r"^Invalid session policy: Syntax errors in policy\.$"
    ):
        create(cp, sessionPolicy="{}")
    detail = create(cp, sessionPolicy='{"Effect":"Deny"}')
    with pytest.raises(
        ValidationError, match=r"^Invalid session policy: Syntax errors in policy\.$"
    ):
        cp.handle(
            "UpdateProfile", {"profileId": detail["profileId"], "sessionPolicy": "{}"}, CALLER
        )
    assert seen == ["{}", '{"Effect":"Deny"}', "{}"]


def _statement_policy(resources: int) -> str:
    arns = [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(resources)]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": arns}],
        }
    )


@pytest.mark.parametrize(
    ("name", "policy", "message"),
    [
        ("fail/malformed", '{"Statement": 1}', "Invalid session policy: Syntax errors in policy."),
        (
            "fail/over-2048-characters",
            _statement_policy(100),
            "Invalid session policy: Cannot exceed quota for PolicySize: 2048",
        ),
    ],
)
def test_session_policy_errors_are_validation_exceptions(
    make_cp: Callable[..., ControlPlane], name: str, policy: str, message: str
) -> None:
    """IAM's MalformedPolicyDocument and LimitExceeded become rolesanywhere's
    ValidationException (400) on create and update; a policy within the limit is taken."""
    cp = make_cp(session_policy_validator=validate_session_policy)
    ok = create(cp, sessionPolicy=_statement_policy(40))["profileId"]
    attempts: list[Callable[[], object]] = [
        lambda: create(cp, sessionPolicy=policy),
        lambda: cp.handle("UpdateProfile", {"profileId": ok, "sessionPolicy": policy}, CALLER),
    ]
    for attempt in attempts:
        with pytest.raises(ElsewhereError) as err:
            attempt()
        assert type(err.value) is ValidationError
        assert (err.value.code, err.value.status, err.value.message) == (
            "ValidationException",
            400,
            message,
        )


AWS_MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"
AWS_MANAGED_CN = "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaRole"
CUSTOMER = f"arn:aws:iam::{ACCOUNT}:policy/team/read"


@pytest.mark.parametrize(
    ("name", "arns", "refused"),
    [
        ("ok/customer-managed", [CUSTOMER], []),
        ("fail/aws-managed", [CUSTOMER, AWS_MANAGED], [AWS_MANAGED]),
        (
            "fail/aws-managed-any-partition",
            [AWS_MANAGED_CN, AWS_MANAGED],
            [AWS_MANAGED_CN, AWS_MANAGED],
        ),
    ],
)
def test_aws_managed_policy_arns_are_refused(
    cp: ControlPlane, name: str, arns: list[str], refused: list[str]
) -> None:
    """CreateProfile and UpdateProfile refuse AWS managed policy ARNs with a ValidationException
    that names each of them; customer managed ARNs are kept."""
    if not refused:
        detail = create(cp, managedPolicyArns=arns)
        assert detail["managedPolicyArns"] == arns
        return
    message = (
        "AWS managed policies are not served by this endpoint; managedPolicyArns may name "
        "customer managed policies only: " + ", ".join(refused)
    )
    with pytest.raises(ValidationError) as err:
        create(cp, managedPolicyArns=arns)
    assert err.value.message == message
    detail = create(cp)
    with pytest.raises(ValidationError) as err:
        cp.handle(
            "UpdateProfile", {"profileId": detail["profileId"], "managedPolicyArns": arns}, CALLER
        )
    assert err.value.message == message
    got = cp.handle("GetProfile", {"profileId": detail["profileId"]}, CALLER)["profile"]
    assert got["managedPolicyArns"] == []


def test_create_quota(make_cp: Callable[..., ControlPlane]) -> None:
    """The profile quota is enforced."""
    cp = make_cp(max_profiles=1)
    create(cp)
    with pytest.raises(ValidationError, match="maximum"):
        create(cp)


def test_update(cp: ControlPlane, profile: dict[str, Any], clock: FixedClock) -> None:
    """Update changes the given fields and updatedAt only."""
    clock.advance(dt.timedelta(hours=1))
    other_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    out = cp.handle(
        "UpdateProfile",
        {
            "profileId": profile["profileId"],
            "name": "renamed",
            "roleArns": [other_role],
            "managedPolicyArns": [],
            "durationSeconds": 7200,
            "acceptRoleSessionName": True,
            "sessionPolicy": "{}",
        },
        CALLER,
    )["profile"]
    expected = {
        **profile,
        "name": "renamed",
        "roleArns": [other_role],
        "durationSeconds": 7200,
        "acceptRoleSessionName": True,
        "sessionPolicy": "{}",
        "updatedAt": T0 + dt.timedelta(hours=1),
    }
    assert out == expected
    assert cp.handle("GetProfile", {"profileId": profile["profileArn"]}, CALLER) == {
        "profile": expected
    }


def test_update_refuses_bad_duration(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """A duration outside 900..43200 is refused on update."""
    with pytest.raises(ValidationError):
        cp.handle(
            "UpdateProfile", {"profileId": profile["profileId"], "durationSeconds": 60}, CALLER
        )


@pytest.mark.parametrize(
    "operation",
    ["GetProfile", "UpdateProfile", "DeleteProfile", "EnableProfile", "DisableProfile"],
)
def test_unknown_profile_is_404(cp: ControlPlane, operation: str) -> None:
    """Operations on a profile that does not exist answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle(operation, {"profileId": "00000000-0000-4000-8000-000000000000"}, CALLER)


def test_enable_disable(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """Disable then Enable flip ``enabled``."""
    ident = {"profileId": profile["profileId"]}
    assert cp.handle("DisableProfile", ident, CALLER)["profile"]["enabled"] is False
    assert cp.handle("GetProfile", ident, CALLER)["profile"]["enabled"] is False
    assert cp.handle("EnableProfile", ident, CALLER)["profile"]["enabled"] is True


def test_delete(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """Delete returns the profile; afterwards it is gone."""
    ident = {"profileId": profile["profileId"]}
    assert cp.handle("DeleteProfile", ident, CALLER) == {"profile": profile}
    with pytest.raises(ResourceNotFound):
        cp.handle("GetProfile", ident, CALLER)
    with pytest.raises(ResourceNotFound):
        cp.handle("DeleteProfile", ident, CALLER)


def test_list_pages(cp: ControlPlane) -> None:
    """ListProfiles returns every profile across pages."""
    made = {create(cp)["profileId"] for _ in range(3)}
    first = cp.handle("ListProfiles", {"pageSize": 2}, CALLER)
    assert len(first["profiles"]) == 2
    second = cp.handle("ListProfiles", {"pageSize": 2, "nextToken": first["nextToken"]}, CALLER)
    assert "nextToken" not in second
    assert {p["profileId"] for p in first["profiles"] + second["profiles"]} == made


# --- attribute mappings ---------------------------------------------------------------------


def mappings(out: dict[str, Any]) -> dict[str, list[str]]:
    """certificateField -> specifiers of a ProfileDetail response."""
    return {
        m["certificateField"]: [r["specifier"] for r in m["mappingRules"]]
        for m in out["profile"]["attributeMappings"]
    }


def test_put_attribute_mapping_replaces_the_field(
    cp: ControlPlane, profile: dict[str, Any]
) -> None:
    """Put replaces one field's rules (decision) and leaves the others."""
    out = cp.handle(
        "PutAttributeMapping",
        {
            "profileId": profile["profileId"],
            "certificateField": "x509Subject",
            "mappingRules": [{"specifier": "CN"}, {"specifier": "OU"}, {"specifier": "CN"}],
        },
        CALLER,
    )
    assert mappings(out) == {
        "x509Issuer": ["*"],
        "x509SAN": ["DNS", "URI", "Name/*"],
        "x509Subject": ["CN", "OU"],
    }
    assert cp.handle("GetProfile", {"profileId": profile["profileId"]}, CALLER) == out


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        pytest.param("Name", "Name/*", id="ok/name"),
        pytest.param("Name/", "Name/*", id="ok/name-slash"),
        pytest.param("Name/*", "Name/*", id="ok/name-star"),
        pytest.param("Name/CN", "Name/CN", id="ok/name-rdn"),
        pytest.param("DNS", "DNS", id="ok/dns"),
    ],
)
def test_san_specifiers_are_normalized(
    cp: ControlPlane, profile: dict[str, Any], given: str, shown: str
) -> None:
    """Name, Name/ and Name/* are the same SAN rule, shown as Name/* (reference §5.2)."""
    out = cp.handle(
        "PutAttributeMapping",
        {
            "profileId": profile["profileId"],
            "certificateField": "x509SAN",
            "mappingRules": [{"specifier": given}],
        },
        CALLER,
    )
    assert mappings(out)["x509SAN"] == [shown]


@pytest.mark.parametrize(
    ("field", "specifier"),
    [
        pytest.param("x509SAN", "*", id="fail/san-star"),
        pytest.param("x509SAN", "IP", id="fail/san-ip"),
        pytest.param("x509Subject", "", id="fail/empty"),
        pytest.param("x509Issuer", "C N", id="fail/space"),
        pytest.param("x509Whatever", "CN", id="fail/field"),
    ],
)
def test_put_attribute_mapping_refuses(
    cp: ControlPlane, profile: dict[str, Any], field: str, specifier: str
) -> None:
    """Specifiers that can never match are refused."""
    with pytest.raises(ValidationError):
        cp.handle(
            "PutAttributeMapping",
            {
                "profileId": profile["profileId"],
                "certificateField": field,
                "mappingRules": [{"specifier": specifier}],
            },
            CALLER,
        )


def test_delete_attribute_mapping(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """Delete removes listed specifiers, a field without specifiers, and an emptied field."""
    ident = profile["profileId"]
    out = cp.handle(
        "DeleteAttributeMapping",
        {"profileId": ident, "certificateField": "x509SAN", "specifiers": ["URI", "Name"]},
        CALLER,
    )
    assert mappings(out)["x509SAN"] == ["DNS"]
    out = cp.handle(
        "DeleteAttributeMapping", {"profileId": ident, "certificateField": "x509Issuer"}, CALLER
    )
    assert "x509Issuer" not in mappings(out)
    out = cp.handle(
        "DeleteAttributeMapping",
        {"profileId": ident, "certificateField": "x509SAN", "specifiers": ["DNS"]},
        CALLER,
    )
    assert mappings(out) == {"x509Subject": ["*"]}
    assert cp.handle("GetProfile", {"profileId": ident}, CALLER) == out


@pytest.mark.parametrize("operation", ["PutAttributeMapping", "DeleteAttributeMapping"])
def test_mapping_of_unknown_profile_is_404(cp: ControlPlane, operation: str) -> None:
    """Mapping operations on a missing profile answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle(
            operation,
            {
                "profileId": "00000000-0000-4000-8000-000000000000",
                "certificateField": "x509Subject",
                "mappingRules": [{"specifier": "CN"}],
            },
            CALLER,
        )
