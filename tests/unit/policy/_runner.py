"""Turn a table case (plain JSON data) into engine inputs."""

from __future__ import annotations

from typing import Any

from elsewhere.policy import (
    ContextValue,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    parse_policy,
)


def build_policies(p: dict[str, Any]) -> PolicySet:
    """The PolicySet of a case, with simulator-style policy ids."""
    identity = tuple(
        parse_policy(
            text,
            kind=PolicyKind.IDENTITY,
            policy_id=f"PolicyInputList.{i + 1}",
            # Simulation evaluates, it does not store: 2008-10-17 documents are evaluated (with
            # variables as literal text) rather than refused as IAM's Put/Create APIs do.
            require_current_version=False,
        )
        for i, text in enumerate(p["identity"])
    )
    resource = None
    if p["resource"] is not None:
        kind = PolicyKind.TRUST if p["resource_kind"] == "trust" else PolicyKind.RESOURCE
        resource = parse_policy(p["resource"], kind=kind, policy_id="ResourcePolicy")
    boundary = None
    if p["boundary"] is not None:
        boundary = parse_policy(
            p["boundary"],
            kind=PolicyKind.BOUNDARY,
            policy_id="PermissionsBoundaryPolicyInputList.1",
        )
    session = None
    if p["session"] is not None:
        session = tuple(
            parse_policy(text, kind=PolicyKind.SESSION, policy_id=f"SessionPolicy.{i + 1}")
            for i, text in enumerate(p["session"])
        )
    return PolicySet(identity=identity, resource=resource, boundary=boundary, session=session)


def build_request(c: dict[str, Any]) -> RequestContext:
    """The RequestContext of a case."""
    principal = Principal(**c["principal"]) if c["principal"] is not None else None
    keys = {
        e["name"]: ContextValue(tuple(e["values"]), e["type"].endswith("List"), e["type"])
        for e in c["keys"]
    }
    return RequestContext(
        action=c["action"],
        resource=c["resource"],
        principal=principal,
        keys=keys,
        resource_account=c["resource_account"],
    )
