"""Compiled policies: immutable statements with precompiled action, resource and principal matchers.

Statement semantics: IAM User Guide "IAM JSON policy elements: Action / NotAction / Resource /
NotResource / Principal / NotPrincipal". A statement applies when its action, resource, principal
(resource-based and trust policies only) and every condition match.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from . import _glob
from ._conditions import Condition
from ._context import ContextValue, Principal, RequestContext

__all__ = [
    "Effect",
    "Policy",
    "PolicyKind",
    "Position",
    "PrincipalMatch",
    "Statement",
]


class PolicyKind(enum.Enum):
    """Which role a policy plays; decides grammar rules and the wording of denials."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"

    @property
    def phrase(self) -> str:
        """The noun AWS uses in AccessDenied messages (Troubleshoot access denied page)."""
        return _PHRASES[self]

    @property
    def has_principal(self) -> bool:
        """Whether statements of this kind name a Principal (RBPs and trust policies)."""
        return self in (PolicyKind.RESOURCE, PolicyKind.TRUST)


_PHRASES: Final = {
    PolicyKind.IDENTITY: "identity-based policy",
    PolicyKind.RESOURCE: "resource-based policy",
    PolicyKind.TRUST: "role trust policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
}


class Effect(enum.Enum):
    """Statement effect (case-sensitive in the document)."""

    ALLOW = "Allow"
    DENY = "Deny"


class PrincipalMatch(enum.IntEnum):
    """How a resource-based policy's Principal matched the caller (reference §6.3)."""

    ACCOUNT = 1  # account id / root ARN: delegates to the account's own policies
    ROLE = 2  # role ARN matched a session of that role, or the user behind a federated session
    DIRECT = 3  # the exact user/session ARN, "*", a service or an identity provider


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column of a statement's ``{`` or ``}`` in the source text."""

    line: int
    column: int


# Statement outcome reasons (None means "applies").
ACTION_MISMATCH: Final = "action does not match"
RESOURCE_MISMATCH: Final = "resource does not match"
PRINCIPAL_MISMATCH: Final = "principal does not match"


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A compiled Principal/NotPrincipal element."""

    star: bool
    aws: frozenset[str]
    accounts: frozenset[str]
    services: frozenset[str]
    federated: frozenset[str]
    canonical: frozenset[str]
    negated: bool

    def excludes(self, p: Principal | None, cross_account: bool) -> bool:
        """Whether a NotPrincipal element lists every identity of ``p``.

        NotPrincipal page: a role session is excluded only when both the role ARN and the
        session ARN are listed, and a cross-account principal only with its account too.
        """
        if self.star:
            return True
        if p is None:
            return False
        names = [p.arn]
        if p.type == "AssumedRole" and p.role_arn:
            names.append(p.role_arn)
        if not all(n in self.aws for n in names) and not (p.unique_id and p.unique_id in self.aws):
            return (p.service != "" and p.service in self.services) or (
                p.federated_provider != "" and p.federated_provider in self.federated
            )
        return not cross_account or p.account in self.accounts

    def match(self, p: Principal | None) -> PrincipalMatch | None:
        """How this element matches ``p`` (ignoring negation), or None."""
        if self.star:
            return PrincipalMatch.DIRECT
        if p is None:
            return None
        aws = self.aws
        if aws:
            if p.arn in aws:
                return PrincipalMatch.ACCOUNT if p.type == "Account" else PrincipalMatch.DIRECT
            if p.unique_id and p.unique_id in aws:
                return PrincipalMatch.ROLE if p.type == "AssumedRole" else PrincipalMatch.DIRECT
            if p.role_arn and p.role_arn in aws:
                return PrincipalMatch.ROLE
            if p.federating_user_arn and p.federating_user_arn in aws:
                return PrincipalMatch.ROLE
        if p.account and p.account in self.accounts:
            return PrincipalMatch.ACCOUNT
        if p.service and p.service in self.services:
            return PrincipalMatch.DIRECT
        if p.federated_provider and p.federated_provider in self.federated:
            return PrincipalMatch.DIRECT
        if p.canonical_user and p.canonical_user in self.canonical:
            return PrincipalMatch.DIRECT
        return None


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement; ``index`` is 0-based in the document."""

    index: int
    sid: str
    effect: Effect
    principal: PrincipalSpec | None
    not_action: bool
    action_any: bool
    action_literals: frozenset[str]
    action_regex: re.Pattern[str] | None
    actions: tuple[str, ...]
    not_resource: bool
    resources: tuple[str, ...] | None  # None: no Resource element (trust policies)
    resource_any: bool
    resource_regex: re.Pattern[str] | None
    resource_dynamic: tuple[_glob.Template, ...]
    conditions: tuple[Condition, ...]
    referenced_keys: frozenset[str]
    start: Position | None
    end: Position | None

    def resource_matches(self, resource: str, keys: Mapping[str, ContextValue]) -> bool:
        """Whether the Resource/NotResource element admits the resource ARN."""
        if self.resources is None:
            return True
        hit = self.resource_any or (
            self.resource_regex is not None and self.resource_regex.fullmatch(resource) is not None
        )
        if not hit and self.resource_dynamic and resource != "*":
            for template in self.resource_dynamic:
                src = _glob.render(template, keys)
                # An unresolvable variable makes this entry match nothing (VARS page).
                if src is not None and _glob.compile_source(src).fullmatch(resource):
                    hit = True
                    break
        return (not hit) if self.not_resource else hit

    def check(self, req: RequestContext) -> str | None:
        """None when the statement applies to ``req``, otherwise why it does not.

        Principal matching is left to the caller (it needs the match kind).
        """
        # Inlined action test: this runs for every statement of every request.
        a = req.action_lower
        hit = (
            self.action_any
            or a in self.action_literals
            or (self.action_regex is not None and self.action_regex.fullmatch(a) is not None)
        )
        if hit is self.not_action:
            return ACTION_MISMATCH
        keys = req.values
        # Resource "*" (the common case) needs no call; NotResource "*" still goes through.
        if not (self.resource_any and not self.not_resource) and not self.resource_matches(
            req.resource, keys
        ):
            return RESOURCE_MISMATCH
        for cond in self.conditions:
            if not cond.evaluate(keys):
                return cond.failure
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed, validated and compiled policy document."""

    id: str
    kind: PolicyKind
    version: str
    statements: tuple[Statement, ...]
    text: str
    policy_id_element: str = ""
    context_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Collect ``context_keys``: every (lower-case) context key any statement can read.

        Evaluation reads the request's context only through conditions and policy variables, so
        a decision against this policy is a function of the action, resource, principal and
        these keys' values (present or absent); callers may memoise decisions on exactly that.
        """
        keys: frozenset[str] = frozenset()
        for st in self.statements:
            keys |= st.referenced_keys
        object.__setattr__(self, "context_keys", keys)

    @property
    def variables(self) -> bool:
        """Whether policy variables are interpreted (only under Version 2012-10-17)."""
        return self.version == "2012-10-17"
