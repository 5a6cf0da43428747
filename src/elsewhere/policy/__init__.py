"""IAM policy engine: grammar, matching, condition operators, evaluation and decision traces.

Pure core: no I/O, no clock, no globals. Parse a document once with :func:`parse_policy` into an
immutable compiled :class:`Policy`, then :func:`evaluate` requests against a :class:`PolicySet`.
"""

from ._conditions import BASE_OPERATORS
from ._context import (
    CONTEXT_TYPES,
    ContextValue,
    Principal,
    RequestContext,
    normalise_context_keys,
    parse_context_entry,
)
from ._evaluate import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Decision,
    MatchedStatement,
    PolicySet,
    StatementTrace,
    evaluate,
    format_access_denied,
)
from ._parse import DEFAULT_MAX_SIZE, parse_policy, policy_size
from ._policy import Effect, Policy, PolicyKind, Position, Statement
from ._principals import principal_values, rewrite_principals

__all__ = [
    "ALLOWED",
    "BASE_OPERATORS",
    "CONTEXT_TYPES",
    "DEFAULT_MAX_SIZE",
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "ContextValue",
    "Decision",
    "Effect",
    "MatchedStatement",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "Position",
    "Principal",
    "RequestContext",
    "Statement",
    "StatementTrace",
    "evaluate",
    "format_access_denied",
    "normalise_context_keys",
    "parse_context_entry",
    "parse_policy",
    "policy_size",
    "principal_values",
    "rewrite_principals",
]
