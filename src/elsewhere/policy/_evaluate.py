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
    matched: tuple[MatchedStatement, ...]
    missing_context_keys: tuple[str, ...]
    policy_id: str = ""
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


def _matched(hits: list[tuple[PolicyKind, Policy, Statement]]) -> tuple[MatchedStatement, ...]:
    return tuple(
        MatchedStatement(pol.id, kind, st.index, st.sid, st.effect, st.start, st.end)
        for kind, pol, st in hits
    )


class _Scan:
    """Statement outcomes for one request, grouped by policy kind and effect."""

    __slots__ = ("allows", "denies", "missing", "rbp_match", "trace")

    def __init__(self) -> None:
        self.trace: list[_Raw] = []
        self.missing: set[str] = set()
        self.denies: list[tuple[PolicyKind, Policy, Statement]] = []
        self.allows: dict[PolicyKind, list[tuple[PolicyKind, Policy, Statement]]] = {}
        self.rbp_match: PrincipalMatch | None = None

    def run(
        self, kind: PolicyKind, policies: tuple[Policy, ...], req: RequestContext, has_pb: bool
    ) -> bool:
        """Evaluate every statement of ``policies``; return whether any Allow applied."""
        keys = req.values
        trace = self.trace
        allowed = False
        for pol in policies:
            for st in pol.statements:
                reason = st.check(req)
                if reason is not ACTION_MISMATCH and st.referenced_keys:
                    for k in st.referenced_keys:
                        if k not in keys:
                            self.missing.add(k)
                match: PrincipalMatch | None = None
                if reason is None and st.principal is not None:
                    match = _principal(st, req.principal, has_pb)
                    if match is None:
                        reason = PRINCIPAL_MISMATCH
                trace.append((kind, pol, st, reason))
                if reason is not None:
                    continue
                if st.effect is Effect.DENY:
                    self.denies.append((kind, pol, st))
                else:
                    allowed = True
                    self.allows.setdefault(kind, []).append((kind, pol, st))
                    if match is not None and (self.rbp_match is None or match > self.rbp_match):
                        self.rbp_match = match
        return allowed


def _principal(st: Statement, p: Principal | None, has_pb: bool) -> PrincipalMatch | None:
    spec = st.principal
    assert spec is not None
    if not spec.negated:
        return spec.match(p)
    # NotPrincipal: applies to everyone not listed. A Deny with NotPrincipal always denies a
    # principal that has a permissions boundary (Permissions boundaries page).
    if st.effect is Effect.DENY and has_pb:
        return PrincipalMatch.DIRECT
    if spec.match(p) is not None:
        return None
    # Decision: an Allow through NotPrincipal grants like an account delegation (the caller's
    # own policies must allow too); AWS discourages Allow with NotPrincipal.
    return PrincipalMatch.ACCOUNT


def _decision(
    result: str,
    kind: PolicyKind | None,
    reason: str,
    scan: _Scan,
    matched: tuple[MatchedStatement, ...] = (),
    policy_id: str = "",
) -> Decision:
    return Decision(
        result=result,
        decided_by=kind,
        reason=reason,
        matched=matched,
        missing_context_keys=tuple(sorted(scan.missing)),
        policy_id=policy_id,
        raw_trace=tuple(scan.trace),
    )


def evaluate(request: RequestContext, policies: PolicySet) -> Decision:
    """Decide ``request`` against ``policies`` as AWS does (reference §6.2-§6.6).

    ``request.principal`` None stands for an unnamed principal of the resource's account (the
    simulator's case without a caller); use ``Principal(type="Anonymous")`` for anonymous callers.
    """
    scan = _Scan()
    has_pb = policies.boundary is not None
    rbp = policies.resource
    rbp_kind = rbp.kind if rbp is not None else PolicyKind.RESOURCE
    rbp_ok = scan.run(rbp_kind, (rbp,), request, has_pb) if rbp is not None else False
    id_ok = scan.run(PolicyKind.IDENTITY, policies.identity, request, has_pb)
    pb_ok = True
    if policies.boundary is not None:
        pb_ok = scan.run(PolicyKind.BOUNDARY, (policies.boundary,), request, has_pb)
    p = request.principal
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
            EXPLICIT_DENY,
            kind,
            f"explicit deny in {kind.phrase}",
            scan,
            _matched(scan.denies),
            pol.id,
        )

    def allow(kind: PolicyKind | None, reason: str) -> Decision:
        hits = [h for k in PolicyKind for h in scan.allows.get(k, [])]
        return _decision(ALLOWED, kind, reason, scan, _matched(hits))

    def deny(kind: PolicyKind) -> Decision:
        return _decision(IMPLICIT_DENY, kind, f"no {kind.phrase} allows", scan)

    match = scan.rbp_match if rbp_ok else None
    requires_rbp = rbp is not None and rbp.kind is PolicyKind.TRUST

    # Anonymous callers and AWS service principals are allowed only by resource-based policies.
    if ptype in ("Anonymous", "Service"):
        return allow(rbp_kind, "resource-based policy allows") if match else deny(rbp_kind)

    cross_account = p is not None and request.owner_account() != p.account
    if not cross_account:
        if ptype == "Account":
            # Root: full access to its own account unless explicitly denied; trust policies
            # (and key policies) still have to allow (Policy evaluation logic page).
            if requires_rbp and match is None:
                return deny(rbp_kind)
            return allow(None, "root user")
        if match is PrincipalMatch.DIRECT:
            # "Update a role trust policy": the caller's boundary must allow sts:AssumeRole even
            # when the trust policy names the caller (reference §11.12).
            if request.action_lower.startswith("sts:assumerole") and not pb_ok:
                return deny(PolicyKind.BOUNDARY)
            return allow(rbp_kind, "resource-based policy allows")
        if match is PrincipalMatch.ROLE:
            # A grant to the role ARN (or to the user behind a federated session) is still
            # limited by the session's boundary and session policies.
            if not pb_ok:
                return deny(PolicyKind.BOUNDARY)
            if not sp_ok:
                return deny(PolicyKind.SESSION)
            return allow(rbp_kind, "resource-based policy allows")
        if requires_rbp and match is None:
            return deny(rbp_kind)
    elif match is None:
        return deny(rbp_kind)
    # Identity path: same-account account delegation / no RBP grant, or the cross-account case.
    if not id_ok:
        return deny(PolicyKind.IDENTITY)
    if not pb_ok:
        return deny(PolicyKind.BOUNDARY)
    if not sp_ok:
        return deny(PolicyKind.SESSION)
    return allow(PolicyKind.IDENTITY, "identity-based policy allows")


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
