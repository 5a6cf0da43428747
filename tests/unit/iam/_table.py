"""The policy engine's evaluation table, turned into SimulateCustomPolicy requests."""

from __future__ import annotations

from typing import Any

from tests.unit.policy.evaluation_table import CASES

__all__ = ["SIMULATABLE", "simulate_params"]


def _simulatable(case: dict[str, Any]) -> str | None:
    """None when SimulateCustomPolicy can express the case, else why not."""
    p, c = case["policies"], case["context"]
    if p["session"] is not None:
        return "session policies cannot be passed to the simulator (reference §8.3)"
    if p["resource"] is not None and p["resource_kind"] == "trust":
        return "the simulator evaluates resource policies, not role trust policies"
    principal = c["principal"]
    if principal is not None and (
        principal.get("type", "User") != "User" or set(principal) - {"arn", "account", "type"}
    ):
        return "the simulator's caller can only be an IAM user (CallerArn)"
    if p["resource"] is not None and principal is None:
        return "a resource policy needs a CallerArn"
    if not p["identity"]:
        return "PolicyInputList is required"
    if any(not 5 <= len(k["name"]) <= 256 for k in c["keys"]):
        return "the IAM model limits ContextKeyName to 5-256 characters"
    if not 3 <= len(c["action"]) <= 128:
        return "the IAM model limits ActionNames to 3-128 characters"
    return None


SIMULATABLE = [c for c in CASES if _simulatable(c) is None]


def simulate_params(case: dict[str, Any]) -> dict[str, Any]:
    """SimulateCustomPolicy parameters (IAM model member names) for a table case."""
    p, c = case["policies"], case["context"]
    params: dict[str, Any] = {
        "PolicyInputList": list(p["identity"]),
        "ActionNames": [c["action"]],
        "ResourceArns": [c["resource"]],
    }
    if p["boundary"] is not None:
        params["PermissionsBoundaryPolicyInputList"] = [p["boundary"]]
    if p["resource"] is not None:
        params["ResourcePolicy"] = p["resource"]
    if c["principal"] is not None:
        params["CallerArn"] = c["principal"]["arn"]
    if c["resource_account"]:
        params["ResourceOwner"] = f"arn:aws:iam::{c['resource_account']}:root"
    if c["keys"]:
        params["ContextEntries"] = [
            {
                "ContextKeyName": k["name"],
                "ContextKeyValues": k["values"],
                "ContextKeyType": k["type"],
            }
            for k in c["keys"]
        ]
    return params
