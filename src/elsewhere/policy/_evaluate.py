"""AWS's evaluation logic over identity, resource, boundary and session policies, with a trace.

Sources (IAM User Guide): "Policy evaluation logic" and "How AWS enforcement code logic evaluates
requests to allow or deny access" (explicit deny first; identity- or resource-based allow; limited
by permissions boundaries and session policies; same-account resource-policy nuances);
"Cross-account policy evaluation logic"; "Permissions boundaries for IAM entities" (a Deny with
NotPrincipal always denies principals that have a boundary); "Update a role trust policy" (the
caller's boundary must allow sts:AssumeRole); "Troubleshoot access denied error messages" (message
wording).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Final

from ._context import Principal, RequestContext
from ._policy import (
    ACTION_MISMATCH,
    PRINCIPAL_MISMATCH,
    Effect,
    Policy,
    PolicyKind,
    Position,
    PrincipalMatch,
    Statement,
)

__all__ = [
    "ALLOWED",
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "Decision",
    "MatchedStatement",
    "PolicySet",
    "StatementTrace",
    "evaluate",
    "format_access_denied",
]

# Decision values, spelt as IAM's policy simulator spells EvalDecision.
ALLOWED: Final = "allowed"
EXPLICIT_DENY: Final = "explicitDeny"
IMPLICIT_DENY: Final = "implicitDeny"


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The policies that bear on one request.

    ``resource`` is the resource-based policy (kind RESOURCE) or the role trust policy (kind
    TRUST; it must then allow, even in the same account). ``boundary`` is the principal's
    permissions boundary, if any. ``session`` holds the session policies (inline + managed
    ``PolicyArns``); None means none were passed (an empty tuple means passed-but-empty, which
    allows nothing).
    """

    identity: tuple[Policy, ...] = ()
    resource: Policy | None = None
    boundary: Policy | None = None
    session: tuple[Policy, ...] | None = None


@dataclass(frozen=True, slots=True)
class MatchedStatement:
    """A statement that determined the decision (simulation's ``MatchedStatements``)."""

    policy_id: str
    policy_kind: PolicyKind
    index: int
    sid: str
    effect: Effect
    start: Position | None
    end: Position | None


@dataclass(frozen=True, slots=True)
class StatementTrace:
    """Why one statement did or did not apply (``reason`` is ``applies`` when it did)."""

    policy_id: str
    policy_kind: PolicyKind
    index: int
    sid: str
    effect: Effect
    applies: bool
    reason: str


_Raw = tuple[PolicyKind, Policy, Statement, str | None]
_Hit = tuple[PolicyKind, Policy, Statement]


@dataclass(frozen=True)
class Decision:
    """The outcome of ``evaluate``.

    ``decided_by`` is the policy kind that explicitly denied, or whose missing Allow caused the
    implicit deny, or that granted the Allow (None for root's implicit allow).
    ``policy_id`` names the first explicitly denying policy. ``trace`` explains every statement.
    """

    result: str
    decided_by: PolicyKind | None
    reason: str
    missing_context_keys: tuple[str, ...]
    policy_id: str = ""
    raw_matched: tuple[_Hit, ...] = field(default=(), repr=False, compare=False)
    raw_trace: tuple[_Raw, ...] = field(default=(), repr=False, compare=False)

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed."""
        return self.result == ALLOWED

    @property
    def blocked_by(self) -> str | None:
        """For an implicit deny, the phrase AWS uses: "no <type> allows"; else None."""
        if self.result != IMPLICIT_DENY or self.decided_by is None:
            return None
        return f"no {self.decided_by.phrase} allows"

    @functools.cached_property
    def matched(self) -> tuple[MatchedStatement, ...]:
        """The statements that decided: the denies of an explicit deny, else the allows."""
        return tuple(
            MatchedStatement(pol.id, kind, st.index, st.sid, st.effect, st.start, st.end)
            for kind, pol, st in self.raw_matched
        )

    @functools.cached_property
    def trace(self) -> tuple[StatementTrace, ...]:
        """One entry per statement evaluated, in evaluation order."""
        return tuple(
            StatementTrace(
                policy_id=pol.id,
                policy_kind=kind,
                index=st.index,
                sid=st.sid,
                effect=st.effect,
                applies=reason is None,
                reason=reason or "applies",
            )
            for kind, pol, st, reason in self.raw_trace
        )


class _Scan:
    """Statement outcomes for one request, grouped by effect."""

    __slots__ = ("allows", "cross_account", "denies", "missing", "rbp_match", "trace")

    def __init__(self, cross_account: bool) -> None:
        self.cross_account = cross_account
        self.trace: list[_Raw] = []
        self.missing: set[str] = set()
        self.denies: list[_Hit] = []
        self.allows: list[_Hit] = []
        self.rbp_match: PrincipalMatch | None = None

    def run(
        self, kind: PolicyKind, policies: tuple[Policy, ...], req: RequestContext, has_pb: bool
    ) -> bool:
        """Evaluate every statement of ``policies``; return whether any Allow applied."""
        present = req.values.keys()
        trace = self.trace
        allowed = False
        action = req.action_lower
        for pol in policies:
            for st in pol.statements:
                # Most statements of a policy name other actions: settle the literal-only case
                # here, without a call (this loop runs for every statement of every request).
                if (
                    not st.action_any
                    and st.action_regex is None
                    and not st.not_action
                    and action not in st.action_literals
                ):
                    trace.append((kind, pol, st, ACTION_MISMATCH))
                    continue
                reason = st.check(req)
                if reason is ACTION_MISMATCH:
                    trace.append((kind, pol, st, reason))
                    continue
                refs = st.referenced_keys
                if refs and not present >= refs:
                    self.missing.update(refs - present)
                match: PrincipalMatch | None = None
                if reason is None and st.principal is not None:
                    match = _principal(st, req.principal, has_pb, self.cross_account)
                    if match is None:
                        reason = PRINCIPAL_MISMATCH
                trace.append((kind, pol, st, reason))
                if reason is not None:
                    continue
                if st.effect is Effect.DENY:
                    self.denies.append((kind, pol, st))
                else:
                    allowed = True
                    self.allows.append((kind, pol, st))
                    if match is not None and (self.rbp_match is None or match > self.rbp_match):
                        self.rbp_match = match
        return allowed


def _principal(
    st: Statement, p: Principal | None, has_pb: bool, cross_account: bool
) -> PrincipalMatch | None:
    spec = st.principal
    assert spec is not None
    if not spec.negated:
        return spec.match(p)
    # NotPrincipal: applies to everyone not listed. A Deny with NotPrincipal always denies a
    # principal that has a permissions boundary (Permissions boundaries page).
    if st.effect is Effect.DENY and has_pb:
        return PrincipalMatch.DIRECT
    if spec.excludes(p, cross_account):
        return None
    # Decision: an Allow through NotPrincipal grants like an account delegation (the caller's
    # own policies must allow too); AWS discourages Allow with NotPrincipal.
    return PrincipalMatch.ACCOUNT


def _decision(
    result: str,
    kind: PolicyKind | None,
    reason: str,
    scan: _Scan,
    hits: list[_Hit] | None = None,
    policy_id: str = "",
) -> Decision:
    return Decision(
        result=result,
        decided_by=kind,
        reason=reason,
        missing_context_keys=tuple(sorted(scan.missing)) if scan.missing else (),
        policy_id=policy_id,
        raw_matched=tuple(hits) if hits else (),
        raw_trace=tuple(scan.trace),
    )


def _allow(scan: _Scan, kind: PolicyKind | None, reason: str) -> Decision:
    return _decision(ALLOWED, kind, reason, scan, scan.allows)


def _deny(scan: _Scan, kind: PolicyKind) -> Decision:
    return _decision(IMPLICIT_DENY, kind, _NO_ALLOW[kind], scan)


_NO_ALLOW: Final = {k: f"no {k.phrase} allows" for k in PolicyKind}


def evaluate(request: RequestContext, policies: PolicySet) -> Decision:
    """Decide ``request`` against ``policies`` as AWS does (reference §6.2-§6.6).

    ``request.principal`` None stands for an unnamed principal of the resource's account (the
    simulator's case without a caller); use ``Principal(type="Anonymous")`` for anonymous callers.
    """
    p = request.principal
    cross_account = p is not None and p.account != "" and request.owner_account() != p.account
    scan = _Scan(cross_account)
    has_pb = policies.boundary is not None
    rbp = policies.resource
    rbp_kind = rbp.kind if rbp is not None else PolicyKind.RESOURCE
    rbp_ok = scan.run(rbp_kind, (rbp,), request, has_pb) if rbp is not None else False
    id_ok = scan.run(PolicyKind.IDENTITY, policies.identity, request, has_pb)
    pb_ok = True
    if policies.boundary is not None:
        pb_ok = scan.run(PolicyKind.BOUNDARY, (policies.boundary,), request, has_pb)
    ptype = p.type if p is not None else "User"
    if policies.session is not None:
        sp_ok = scan.run(PolicyKind.SESSION, policies.session, request, has_pb)
    else:
        # A GetFederationToken session without session policies has no permissions (STS API).
        sp_ok = ptype != "FederatedUser"

    # 1. An explicit deny in any policy wins; name the first kind in evaluation order.
    if scan.denies:
        kind, pol, _ = scan.denies[0]
        return _decision(
            EXPLICIT_DENY, kind, f"explicit deny in {kind.phrase}", scan, scan.denies, pol.id
        )

    match = scan.rbp_match if rbp_ok else None
    requires_rbp = rbp is not None and rbp.kind is PolicyKind.TRUST

    # Anonymous callers and AWS service principals are allowed only by resource-based policies.
    if ptype in ("Anonymous", "Service"):
        return (
            _allow(scan, rbp_kind, "resource-based policy allows")
            if match
            else _deny(scan, rbp_kind)
        )

    if not cross_account:
        if ptype == "Account":
            # Root: full access to its own account unless explicitly denied; trust policies
            # (and key policies) still have to allow (Policy evaluation logic page).
            if requires_rbp and match is None:
                return _deny(scan, rbp_kind)
            return _allow(scan, None, "root user")
        if match is PrincipalMatch.DIRECT:
            # "Update a role trust policy": the caller's boundary must allow sts:AssumeRole even
            # when the trust policy names the caller (reference §11.12).
            if request.action_lower.startswith("sts:assumerole") and not pb_ok:
                return _deny(scan, PolicyKind.BOUNDARY)
            return _allow(scan, rbp_kind, "resource-based policy allows")
        if match is PrincipalMatch.ROLE:
            # A grant to the role ARN (or to the user behind a federated session) is still
            # limited by the session's boundary and session policies.
            if not pb_ok:
                return _deny(scan, PolicyKind.BOUNDARY)
            if not sp_ok:
                return _deny(scan, PolicyKind.SESSION)
            return _allow(scan, rbp_kind, "resource-based policy allows")
        if requires_rbp and match is None:
            return _deny(scan, rbp_kind)
    elif match is None:
        return _deny(scan, rbp_kind)
    # Identity path: same-account account delegation / no RBP grant, or the cross-account case.
    # Another account's root user holds every permission of its own account (EVAL page).
    if not id_ok and ptype != "Account":
        return _deny(scan, PolicyKind.IDENTITY)
    if not pb_ok:
        return _deny(scan, PolicyKind.BOUNDARY)
    if not sp_ok:
        return _deny(scan, PolicyKind.SESSION)
    return _allow(scan, PolicyKind.IDENTITY, "identity-based policy allows")


_EXPLICIT: Final = {
    PolicyKind.IDENTITY: "an identity-based policy",
    PolicyKind.RESOURCE: "a resource-based policy",
    PolicyKind.TRUST: "the role trust policy",
    PolicyKind.BOUNDARY: "a permissions boundary",
    # The 2023 page prints "a sessions policy"; we take that for a typo (reference §9.1).
    PolicyKind.SESSION: "a session policy",
}


def format_access_denied(
    principal_arn: str,
    action: str,
    resource: str,
    decision: Decision,
    *,
    with_reason: bool = True,
    with_policy_arn: bool = False,
) -> str:
    """AWS's AccessDenied text for ``decision`` (Troubleshoot access denied error messages).

    ``on resource: ...`` is left out for resource ``*``. ``with_reason=False`` gives the bare
    form STS returns for AssumeRole; ``with_policy_arn`` appends the denying policy's id (the
    2025 form for explicit denies).
    """
    msg = f"User: {principal_arn} is not authorized to perform: {action}"
    if resource and resource != "*":
        msg += f" on resource: {resource}"
    if not with_reason or decision.result == ALLOWED:
        return msg
    kind = decision.decided_by or PolicyKind.IDENTITY
    if decision.result == EXPLICIT_DENY:
        msg += f" with an explicit deny in {_EXPLICIT[kind]}"
        if with_policy_arn and decision.policy_id:
            msg += f": {decision.policy_id}"
        return msg
    return msg + f" because no {kind.phrase} allows the {action} action"
