"""Policy simulation: the engine's evaluation table through SimulateCustomPolicy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from elsewhere.errors import InvalidInput, NoSuchEntity
from elsewhere.service._iam import IamService

from ._table import SIMULATABLE, simulate_params
from .conftest import ALLOW_ALL, ROOT, TRUST


def test_most_of_the_table_is_simulatable() -> None:
    """At least 150 of the table's cases can be expressed as SimulateCustomPolicy calls."""
    assert len(SIMULATABLE) >= 150


@pytest.mark.parametrize("case", SIMULATABLE, ids=[c["name"] for c in SIMULATABLE])
def test_table_case_through_simulation(iam: IamService, case: dict[str, Any]) -> None:
    """SimulateCustomPolicy gives the table's documented decision."""
    out = iam.handle("SimulateCustomPolicy", simulate_params(case), ROOT)
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == case["expected"]


def test_matched_statements_and_missing_keys(iam: IamService) -> None:
    """The deciding statement is named with its position; unsupplied keys are reported."""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "a"}},
                },
                {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"},
            ],
        }
    )
    out = iam.handle(
        "SimulateCustomPolicy",
        {"PolicyInputList": [policy], "ActionNames": ["iam:GetRole", "s3:GetObject"]},
        ROOT,
    )
    get_role, get_object = out["EvaluationResults"]
    assert get_role["EvalDecision"] == "allowed"
    (stmt,) = get_role["MatchedStatements"]
    assert stmt["SourcePolicyId"] == "PolicyInputList.1"
    assert stmt["StartPosition"]["Line"] == 1
    assert get_object["EvalDecision"] == "implicitDeny"
    assert [k.lower() for k in get_object["MissingContextValues"]] == ["aws:principaltag/team"]


def test_principal_policy_uses_stored_policies(iam: IamService) -> None:
    """SimulatePrincipalPolicy evaluates a user's inline policy and its boundary."""
    user = iam.handle("CreateUser", {"UserName": "alice"}, ROOT)["User"]
    iam.handle(
        "PutUserPolicy",
        {"UserName": "alice", "PolicyName": "all", "PolicyDocument": ALLOW_ALL},
        ROOT,
    )
    boundary = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}],
        }
    )
    pb = iam.handle("CreatePolicy", {"PolicyName": "pb", "PolicyDocument": boundary}, ROOT)
    iam.handle(
        "PutUserPermissionsBoundary",
        {"UserName": "alice", "PermissionsBoundary": pb["Policy"]["Arn"]},
        ROOT,
    )
    out = iam.handle(
        "SimulatePrincipalPolicy",
        {"PolicySourceArn": user["Arn"], "ActionNames": ["iam:GetRole", "iam:DeleteRole"]},
        ROOT,
    )
    decisions = [r["EvalDecision"] for r in out["EvaluationResults"]]
    assert decisions == ["allowed", "implicitDeny"]
    assert out["EvaluationResults"][1]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False
    }
    assert out["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyType"] == "user"


def test_simulation_errors(iam: IamService) -> None:
    """Bad documents and unknown sources are InvalidInput and NoSuchEntity."""
    with pytest.raises(InvalidInput):
        iam.handle("SimulateCustomPolicy", {"PolicyInputList": ["{"], "ActionNames": ["a:b"]}, ROOT)
    with pytest.raises(NoSuchEntity):
        iam.handle(
            "SimulatePrincipalPolicy",
            {"PolicySourceArn": "arn:aws:iam::123456789012:role/none", "ActionNames": ["a:b"]},
            ROOT,
        )
    iam.handle("CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": TRUST}, ROOT)
    with pytest.raises(InvalidInput, match="Caller must be an IAM user"):
        iam.handle(
            "SimulateCustomPolicy",
            {
                "PolicyInputList": [ALLOW_ALL],
                "ActionNames": ["a:b"],
                "CallerArn": "arn:aws:iam::123456789012:role/r",
            },
            ROOT,
        )
