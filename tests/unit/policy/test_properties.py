"""Hypothesis properties of the engine: order independence, deny monotonicity, narrowing.

From the IAM User Guide "Policy evaluation logic": an explicit deny overrides any allow; a
permissions boundary or session policy can only limit what identity policies allow.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.errors import LimitExceeded, MalformedPolicyDocument
from elsewhere.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
    parse_policy,
)

ACCT = "111122223333"
USER = Principal(arn=f"arn:aws:iam::{ACCT}:user/alice", account=ACCT)
SESSION = Principal(
    arn=f"arn:aws:sts::{ACCT}:assumed-role/app/s",
    account=ACCT,
    type="AssumedRole",
    role_arn=f"arn:aws:iam::{ACCT}:role/app",
)

ACTIONS = ["s3:GetObject", "s3:PutObject", "sqs:SendMessage", "iam:ListUsers", "sts:AssumeRole"]
ACTION_PATTERNS = [*ACTIONS, "*", "s3:*", "s3:Get*", "*:*Object", "iam:List?sers", "sqs:*"]
RESOURCES = ["*", "arn:aws:s3:::b/k", "arn:aws:s3:::b/alice/x", f"arn:aws:sqs:us-east-1:{ACCT}:q"]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:sqs:*:*:q",
    "arn:aws:s3",
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:username": "alice"}},
    {"StringNotEquals": {"aws:username": ["bob", "carol"]}},
    {"StringLike": {"aws:PrincipalTag/team": "bl*"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
    {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
    {"Null": {"aws:TokenIssueTime": "true"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAnyValue:StringNotLike": {"aws:TagKeys": "a*"}},
]
KEYS: dict[str, Any] = {
    "aws:username": "alice",
    "aws:PrincipalTag/team": "blue",
    "aws:SecureTransport": "true",
    "aws:MultiFactorAuthPresent": "false",
    "aws:SourceIp": "203.0.113.9",
    "s3:max-keys": "5",
    "aws:CurrentTime": "2026-06-01T00:00:00Z",
    "aws:TokenIssueTime": "2026-05-01T00:00:00Z",
    "aws:TagKeys": ["a", "c"],
}


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    """A random identity-policy statement."""
    s: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    acts = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3))
    s["NotAction" if draw(st.booleans()) and len(acts) == 1 else "Action"] = acts
    res = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2))
    s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = res
    conds = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2))
    if conds:
        merged: dict[str, Any] = {}
        for c in conds:
            for op, body in c.items():
                merged.setdefault(op, {}).update(body)
        s["Condition"] = merged
    return s


def _policy(stmts: list[dict[str, Any]], kind: PolicyKind = PolicyKind.IDENTITY) -> Any:
    return parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": stmts}), kind=kind, max_size=None
    )


@st.composite
def requests(draw: st.DrawFn) -> RequestContext:
    """A random request by a user or a role session with some context keys."""
    names = draw(st.sets(st.sampled_from(sorted(KEYS))))
    return RequestContext(
        action=draw(st.sampled_from(ACTIONS)),
        resource=draw(st.sampled_from(RESOURCES)),
        principal=draw(st.sampled_from([USER, SESSION])),
        keys={k: KEYS[k] for k in names},
    )


stmt_lists = st.lists(statements(), min_size=1, max_size=6)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(stmt_lists, requests(), st.randoms(use_true_random=False))
def test_statement_order_never_matters(
    stmts: list[dict[str, Any]], req: RequestContext, rnd: Any
) -> None:
    """Shuffling statements (and policies) never changes the decision."""
    shuffled = list(stmts)
    rnd.shuffle(shuffled)
    a = evaluate(req, PolicySet(identity=(_policy(stmts),)))
    b = evaluate(req, PolicySet(identity=(_policy(shuffled),)))
    assert (a.result, a.decided_by) == (b.result, b.decided_by)
    half = len(stmts) // 2
    if half:
        split = (_policy(stmts[:half]), _policy(stmts[half:]))
        c = evaluate(req, PolicySet(identity=split))
        d = evaluate(req, PolicySet(identity=split[::-1]))
        assert a.result == c.result == d.result


@SETTINGS
@given(stmt_lists, statements(effect="Deny"), requests())
def test_adding_deny_never_allows(
    stmts: list[dict[str, Any]], extra: dict[str, Any], req: RequestContext
) -> None:
    """Adding an explicit Deny never turns a deny into an allow (nor an allow into more)."""
    before = evaluate(req, PolicySet(identity=(_policy(stmts),)))
    after = evaluate(req, PolicySet(identity=(_policy([*stmts, extra]),)))
    if before.result != ALLOWED:
        assert after.result != ALLOWED
    if before.result == EXPLICIT_DENY:
        assert after.result == EXPLICIT_DENY


@SETTINGS
@given(stmt_lists, statements(effect="Allow"), requests())
def test_adding_allow_never_lifts_explicit_deny(
    stmts: list[dict[str, Any]], extra: dict[str, Any], req: RequestContext
) -> None:
    """Adding an Allow never turns an explicit deny into an allow."""
    before = evaluate(req, PolicySet(identity=(_policy(stmts),)))
    after = evaluate(req, PolicySet(identity=(_policy([*stmts, extra]),)))
    if before.result == EXPLICIT_DENY:
        assert after.result == EXPLICIT_DENY


@SETTINGS
@given(stmt_lists, stmt_lists, requests(), st.booleans())
def test_boundary_or_session_only_narrows(
    stmts: list[dict[str, Any]], limit: list[dict[str, Any]], req: RequestContext, as_pb: bool
) -> None:
    """Adding a permissions boundary or session policy never allows what was denied."""
    identity = (_policy(stmts),)
    base = evaluate(req, PolicySet(identity=identity))
    if as_pb:
        limited = PolicySet(identity=identity, boundary=_policy(limit, PolicyKind.BOUNDARY))
    else:
        limited = PolicySet(identity=identity, session=(_policy(limit, PolicyKind.SESSION),))
    narrowed = evaluate(req, limited)
    if narrowed.result == ALLOWED:
        assert base.result == ALLOWED
    if base.result == EXPLICIT_DENY:
        assert narrowed.result == EXPLICIT_DENY


@SETTINGS
@given(stmt_lists, requests())
def test_trace_covers_every_statement_and_matched_apply(
    stmts: list[dict[str, Any]], req: RequestContext
) -> None:
    """The trace has one entry per statement; matched statements are ones that applied."""
    d = evaluate(req, PolicySet(identity=(_policy(stmts),)))
    assert len(d.trace) == len(stmts)
    applied = {t.index for t in d.trace if t.applies}
    assert {m.index for m in d.matched} <= applied


@SETTINGS
@given(stmt_lists, requests(), requests())
def test_keys_outside_context_keys_never_change_the_decision(
    stmts: list[dict[str, Any]], req: RequestContext, other: RequestContext
) -> None:
    """A decision depends on the context only through ``Policy.context_keys`` (memoisable)."""
    policy = _policy(stmts)
    assert policy.context_keys <= {k.lower() for k in KEYS}
    # Same action, resource and principal; the referenced keys from ``req``, the rest from
    # ``other``: the decision, its reason and its missing keys must not move.
    kept = {k: v for k, v in req.keys.items() if k.lower() in policy.context_keys}
    foreign = {k: v for k, v in other.keys.items() if k.lower() not in policy.context_keys}
    mixed = RequestContext(req.action, req.resource, req.principal, {**kept, **foreign})
    a = evaluate(req, PolicySet(identity=(policy,)))
    b = evaluate(mixed, PolicySet(identity=(policy,)))
    assert (a.result, a.decided_by, a.reason, a.missing_context_keys) == (
        b.result,
        b.decided_by,
        b.reason,
        b.missing_context_keys,
    )
    assert [(t.index, t.applies) for t in a.trace] == [(t.index, t.applies) for t in b.trace]


def test_context_keys_name_conditions_and_variables() -> None:
    """Condition keys and variables in resources and condition values are all collected."""
    policy = _policy(
        [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/${aws:username}/*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/Team": "${aws:RequestTag/x}"}},
            }
        ]
    )
    assert policy.context_keys == {"aws:username", "aws:principaltag/team", "aws:requesttag/x"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["Version", "Statement", "Effect", "Action", "Resource", "Sid", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(json_values, st.sampled_from(list(PolicyKind)))
def test_parser_never_raises_anything_else(value: Any, kind: PolicyKind) -> None:
    """Any JSON value either parses or raises MalformedPolicyDocument / LimitExceeded."""
    with contextlib.suppress(MalformedPolicyDocument, LimitExceeded):
        parse_policy(json.dumps(value), kind=kind)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), st.sampled_from(list(PolicyKind)))
def test_parser_on_arbitrary_text(text: str, kind: PolicyKind) -> None:
    """Arbitrary text either parses or raises a policy error, never anything else."""
    with contextlib.suppress(MalformedPolicyDocument, LimitExceeded):
        parse_policy(text, kind=kind)


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=4))
def test_generated_documents_parse_and_round_trip(stmts: list[dict[str, Any]]) -> None:
    """Generated valid documents compile; re-serialising them compiles to the same statements."""
    text = json.dumps({"Version": "2012-10-17", "Statement": stmts})
    p1 = parse_policy(text, kind=PolicyKind.IDENTITY, max_size=None)
    p2 = parse_policy(
        json.dumps(json.loads(text), indent=2), kind=PolicyKind.IDENTITY, max_size=None
    )
    assert [(s.effect, s.actions, s.resources) for s in p1.statements] == [
        (s.effect, s.actions, s.resources) for s in p2.statements
    ]
