"""Policy simulation: the engine's evaluation table through SimulateCustomPolicy."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from elsewhere.errors import InvalidInput, NoSuchEntity
from elsewhere.service import _simulate
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


def _many(actions: int, resources: int, **extra: Any) -> dict[str, Any]:
    """A SimulateCustomPolicy input of ``actions`` by ``resources`` pairs."""
    params: dict[str, Any] = {
        "PolicyInputList": [ALLOW_ALL],
        "ActionNames": [f"s3:Action{i}" for i in range(actions)],
        "ResourceArns": [f"arn:aws:s3:::bucket-{i}" for i in range(resources)],
    }
    params.update(extra)
    return params


@pytest.mark.parametrize(
    ("operation", "extra"),
    [
        ("SimulateCustomPolicy", {}),
        ("SimulatePrincipalPolicy", {"PolicySourceArn": "arn:aws:iam::123456789012:role/none"}),
    ],
    ids=["fail/custom", "fail/principal"],
)
def test_too_many_pairs_refused_before_evaluation(
    iam: IamService, operation: str, extra: dict[str, Any]
) -> None:
    """fail/ 1,000 actions on 1,000 resources is InvalidInput, and nothing is evaluated."""
    params = _many(1000, 1000, **extra)
    if operation == "SimulatePrincipalPolicy":
        del params["PolicyInputList"]
    with (
        mock.patch.object(_simulate, "evaluate", wraps=_simulate.evaluate) as evaluate,
        pytest.raises(InvalidInput) as caught,
    ):
        iam.handle(operation, params, ROOT)
    assert evaluate.call_count == 0
    assert "1000000 evaluations; at most 10000" in caught.value.message
    assert caught.value.code_for("query") == "InvalidInput"
    assert caught.value.status_for("query") == 400


def test_ok_at_the_bound_only_the_page_is_evaluated(iam: IamService) -> None:
    """ok/ 100 actions on 100 resources are taken; one call evaluates only the page it returns."""
    with mock.patch.object(_simulate, "evaluate", wraps=_simulate.evaluate) as evaluate:
        out = iam.handle("SimulateCustomPolicy", _many(100, 100), ROOT)
    assert len(out["EvaluationResults"]) == 100
    assert out["IsTruncated"] is True
    assert out["Marker"] == "100"
    assert evaluate.call_count == 100


def test_ok_pages_walk_every_pair_in_order(iam: IamService) -> None:
    """ok/ pages of 5 give every pair of an action and a resource once, action by action."""
    seen: list[tuple[str, str]] = []
    params = _many(7, 3, MaxItems=5)
    while True:
        out = iam.handle("SimulateCustomPolicy", params, ROOT)
        seen += [(r["EvalActionName"], r["EvalResourceName"]) for r in out["EvaluationResults"]]
        if not out["IsTruncated"]:
            break
        params = {**params, "Marker": out["Marker"]}
    expected = [
        (f"s3:Action{a}", f"arn:aws:s3:::bucket-{r}") for a in range(7) for r in range(3)
    ]
    assert seen == expected


def test_ok_marker_past_the_end(iam: IamService) -> None:
    """ok/ a marker beyond the last pair gives an empty, final page."""
    out = iam.handle("SimulateCustomPolicy", _many(2, 2, Marker="50"), ROOT)
    assert out["EvaluationResults"] == []
    assert out["IsTruncated"] is False
