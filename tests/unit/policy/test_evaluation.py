"""The evaluation table (AWS IAM User Guide cases and the reference's test vectors) and traces."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from elsewhere.policy import (
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
    format_access_denied,
    parse_policy,
)

from ._runner import build_policies, build_request
from .evaluation_table import CASES, VECTOR_SKIPS


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_table_case(case: dict[str, Any]) -> None:
    """Each documented case evaluates to the decision AWS documents."""
    decision = evaluate(build_request(case["context"]), build_policies(case["policies"]))
    assert decision.result == case["expected"], list(decision.trace)
    if "decided_by" in case:
        assert decision.decided_by is not None
        assert decision.decided_by.value == case["decided_by"]


def test_table_is_large_and_well_formed() -> None:
    """The table has 200+ uniquely named JSON-able cases, named ok/ or fail/ by outcome."""
    assert len(CASES) >= 200
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)
    assert json.loads(json.dumps(CASES)) == CASES
    for c in CASES:
        assert c["name"].startswith("ok/" if c["expected"] == "allowed" else "fail/")
        assert c["doc"]


def test_every_reference_vector_is_covered_or_skipped_with_reason() -> None:
    """Vectors 1-38 of the reference are each a table case or listed with a reason."""
    covered = {
        int(m.group(1)) for c in CASES if (m := re.search(r"vector-(\d\d)", c["name"])) is not None
    }
    for n in range(1, 39):
        assert n in covered or VECTOR_SKIPS.get(n), n


USER = Principal(arn="arn:aws:iam::111122223333:user/alice", account="111122223333")


def _identity(text: str, pid: str = "p") -> PolicySet:
    return PolicySet(identity=(parse_policy(text, kind=PolicyKind.IDENTITY, policy_id=pid),))


def test_get_caller_identity_deny_is_reported() -> None:
    """Vector 38: the engine reports the deny; STS answers GetCallerIdentity without asking it."""
    ps = _identity(
        '{"Version":"2012-10-17","Statement":'
        '{"Effect":"Deny","Action":"sts:GetCallerIdentity","Resource":"*"}}'
    )
    assert evaluate(RequestContext("sts:GetCallerIdentity", principal=USER), ps).result == (
        EXPLICIT_DENY
    )


def test_trace_names_policy_statement_and_failed_condition() -> None:
    """The trace explains every statement: policy id, index, Sid and why it did not apply."""
    ps = _identity(
        '{"Version":"2012-10-17","Statement":['
        '{"Sid":"One","Effect":"Allow","Action":"s3:GetObject","Resource":"*",'
        '"Condition":{"StringEquals":{"aws:username":"bob"}}},'
        '{"Sid":"Two","Effect":"Allow","Action":"sqs:*","Resource":"*"},'
        '{"Sid":"Three","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::other/*"}]}',
        "MyPolicy",
    )
    req = RequestContext(
        "s3:GetObject", "arn:aws:s3:::b/k", principal=USER, keys={"aws:username": "alice"}
    )
    d = evaluate(req, ps)
    assert d.result == IMPLICIT_DENY
    assert d.blocked_by == "no identity-based policy allows"
    reasons = [(t.policy_id, t.index, t.sid, t.reason) for t in d.trace]
    assert reasons == [
        ("MyPolicy", 0, "One", "condition not met: StringEquals aws:username"),
        ("MyPolicy", 1, "Two", "action does not match"),
        ("MyPolicy", 2, "Three", "resource does not match"),
    ]


def test_matched_statements_and_positions() -> None:
    """Allowed decisions list the allowing statements with 1-based brace positions."""
    text = (
        '{"Version":"2012-10-17","Statement":[\n'
        '  {"Effect":"Allow","Action":"s3:*","Resource":"*"}\n]}'
    )
    d = evaluate(RequestContext("s3:GetObject", principal=USER), _identity(text, "P"))
    assert d.allowed
    (m,) = d.matched
    assert (m.policy_id, m.index) == ("P", 0)
    assert m.start is not None
    assert m.end is not None
    assert (m.start.line, m.start.column) == (2, 3)
    line2 = text.splitlines()[1]
    assert (m.end.line, m.end.column) == (2, line2.rindex("}") + 1)


def test_explicit_deny_matched_lists_only_denies() -> None:
    """For an explicit deny the matched statements are the denying ones (IAM API docs)."""
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},'
        '{"Sid":"D","Effect":"Deny","Action":"s3:*","Resource":"*"}]}'
    )
    d = evaluate(RequestContext("s3:GetObject", principal=USER), _identity(text, "P"))
    assert d.result == EXPLICIT_DENY
    assert [(m.sid, m.effect.value) for m in d.matched] == [("D", "Deny")]
    assert d.policy_id == "P"


def test_missing_context_values_include_variables_and_condition_keys() -> None:
    """Keys referenced by conditions or ${} variables but absent are reported, lower-cased."""
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",'
        '"Resource":"arn:aws:s3:::b/${aws:username}/*",'
        '"Condition":{"StringEquals":{"aws:PrincipalTag/Team":"x"}}},'
        '{"Effect":"Allow","Action":"sqs:*","Resource":"*",'
        '"Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}'
    )
    d = evaluate(
        RequestContext("s3:GetObject", "arn:aws:s3:::b/x/y", principal=USER), _identity(text)
    )
    # Only statements whose action matched contribute (sqs statement does not).
    assert d.missing_context_keys == ("aws:principaltag/team", "aws:username")


@pytest.mark.parametrize(
    ("kind", "result", "expected"),
    [
        (
            PolicyKind.IDENTITY,
            IMPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ because no "
            "identity-based policy allows the iam:ListUsers action",
        ),
        (
            PolicyKind.IDENTITY,
            EXPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ with an explicit deny "
            "in an identity-based policy",
        ),
        (
            PolicyKind.BOUNDARY,
            IMPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ because no "
            "permissions boundary allows the iam:ListUsers action",
        ),
        (
            PolicyKind.SESSION,
            IMPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ because no "
            "session policy allows the iam:ListUsers action",
        ),
        (
            PolicyKind.TRUST,
            EXPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ with an explicit deny "
            "in the role trust policy",
        ),
        (
            PolicyKind.RESOURCE,
            IMPLICIT_DENY,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "iam:ListUsers on resource: arn:aws:iam::111122223333:user/ because no "
            "resource-based policy allows the iam:ListUsers action",
        ),
    ],
)
def test_format_access_denied(kind: PolicyKind, result: str, expected: str) -> None:
    """AccessDenied texts follow the documented grammar (Troubleshoot access denied page)."""
    from elsewhere.policy import Decision

    d = Decision(result=result, decided_by=kind, reason="", missing_context_keys=())
    msg = format_access_denied(USER.arn, "iam:ListUsers", "arn:aws:iam::111122223333:user/", d)
    assert msg == expected


def test_format_access_denied_variants() -> None:
    """Resource * omits 'on resource'; the bare STS form and the policy-ARN suffix."""
    from elsewhere.policy import Decision

    d = Decision(EXPLICIT_DENY, PolicyKind.IDENTITY, "", (), policy_id="arn:aws:iam::1:policy/D")
    assert format_access_denied("A", "s3:ListAllMyBuckets", "*", d) == (
        "User: A is not authorized to perform: s3:ListAllMyBuckets with an explicit deny in an "
        "identity-based policy"
    )
    assert format_access_denied("A", "sts:AssumeRole", "R", d, with_reason=False) == (
        "User: A is not authorized to perform: sts:AssumeRole on resource: R"
    )
    assert format_access_denied("A", "s3:X", "*", d, with_policy_arn=True).endswith(
        "identity-based policy: arn:aws:iam::1:policy/D"
    )
