"""Requests built from keys normalised once decide exactly as requests built from plain keys."""

from __future__ import annotations

import pytest

from elsewhere.policy import (
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
    normalise_context_keys,
    parse_policy,
)

TLS_FROM_OFFICE = {"aws:SecureTransport": True, "aws:SourceIp": "203.0.113.5"}
POLICY = parse_policy(
    """{"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "execute-api:Invoke",
       "Resource":
         "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/${aws:PrincipalTag/team}/*",
       "Condition": {"Bool": {"aws:SecureTransport": "true"},
                     "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}""",
    kind=PolicyKind.IDENTITY,
    policy_id="p",
)
PRINCIPAL = Principal(arn="arn:aws:iam::123456789012:user/a", account="123456789012")


@pytest.mark.parametrize(
    ("keys", "resource"),
    [
        pytest.param(
            {"aws:PrincipalTag/team": "blue", **TLS_FROM_OFFICE},
            "blue/x",
            id="ok/allowed",
        ),
        pytest.param(
            {"aws:PrincipalTag/team": "red", **TLS_FROM_OFFICE},
            "blue/x",
            id="fail/variable",
        ),
        pytest.param(
            {"AWS:principaltag/TEAM": "blue", **TLS_FROM_OFFICE, "aws:SecureTransport": False},
            "blue/x",
            id="fail/condition",
        ),
    ],
)
def test_prepared_context_decides_as_the_plain_one(keys: dict[str, object], resource: str) -> None:
    """Same decision, reason and trace from RequestContext(keys) and .prepared(normalised)."""
    arn = f"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/{resource}"
    plain = RequestContext("execute-api:Invoke", arn, PRINCIPAL, keys)
    prepared = RequestContext.prepared(
        "execute-api:Invoke", arn, PRINCIPAL, normalise_context_keys(keys)
    )
    policies = PolicySet(identity=(POLICY,))
    a, b = evaluate(plain, policies), evaluate(prepared, policies)
    assert (a.result, a.reason, a.trace) == (b.result, b.reason, b.trace)
    assert prepared.values == plain.values
