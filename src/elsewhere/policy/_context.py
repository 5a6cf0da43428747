"""The request context a policy is evaluated against: principal, action, resource and keys.

Key names are case insensitive (IAM User Guide, "IAM JSON policy elements: Condition": "Condition
key names are not case-sensitive"), so keys are stored lower-cased. Values are kept as the strings
the caller gives; each operator interprets them (numeric, date, IP, ...) as AWS does.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from elsewhere.errors import InvalidInput

from ._values import parse_date, parse_number

__all__ = [
    "CONTEXT_TYPES",
    "ContextValue",
    "Principal",
    "RequestContext",
    "normalise_context_keys",
    "parse_context_entry",
]

# ``ContextKeyType`` of IAM's SimulateCustomPolicy (API_ContextEntry.html).
CONTEXT_TYPES: Final = frozenset(
    {
        "string",
        "stringList",
        "numeric",
        "numericList",
        "boolean",
        "booleanList",
        "ip",
        "ipList",
        "binary",
        "binaryList",
        "date",
        "dateList",
    }
)


@dataclass(frozen=True, slots=True)
class ContextValue:
    """The value(s) of one context key; ``is_list`` marks a multivalued key (``...List`` types)."""

    values: tuple[str, ...]
    is_list: bool = False
    type: str = "string"

    @classmethod
    def of(cls, value: object) -> ContextValue:
        """Wrap a plain value: str, bool, int/float, bytes (as base64), or a list of those."""
        if isinstance(value, ContextValue):
            return value
        if isinstance(value, (list, tuple)):
            items = tuple(_scalar(v) for v in value)
            kind = _scalar_type(value[0]) if value else "string"
            return cls(tuple(text for text, _ in items), True, f"{kind}List")
        text, kind = _scalar(value)
        return cls((text,), False, kind)


def _scalar_type(value: object) -> str:
    return _scalar(value)[1]


def _scalar(value: object) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("true" if value else "false", "boolean")
    if isinstance(value, (int, float)):
        return (str(value), "numeric")
    if isinstance(value, bytes):
        return (base64.b64encode(value).decode("ascii"), "binary")
    if isinstance(value, str):
        return (value, "string")
    raise TypeError(f"unsupported context value type {type(value).__name__}")


def parse_context_entry(name: str, values: Sequence[str], type_: str) -> tuple[str, ContextValue]:
    """Validate one SimulateCustomPolicy ``ContextEntry``; return (lower-cased key, value).

    Raises ``InvalidInput`` for an unknown type, several values for a scalar type, or a value
    that does not parse as its type.
    """
    if type_ not in CONTEXT_TYPES:
        raise InvalidInput(f"Invalid context key type: {type_}")
    is_list = type_.endswith("List")
    base = type_.removesuffix("List")
    if not is_list and len(values) != 1:
        raise InvalidInput(f"Context key {name} of type {type_} requires exactly one value.")
    for v in values:
        if not _valid(base, v):
            raise InvalidInput(f"Invalid value {v!r} for context key {name} of type {type_}.")
    return name.lower(), ContextValue(tuple(values), is_list, type_)


def _valid(base: str, v: str) -> bool:
    if base == "numeric":
        return parse_number(v) is not None
    if base == "boolean":
        return v.lower() in ("true", "false")
    if base == "date":
        return parse_date(v) is not None
    if base == "ip":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return False
        return True
    if base == "binary":
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes the request, with what resource-based and trust policies match on.

    ``type`` is the ``aws:PrincipalType`` value (``Account`` for root, ``User``, ``AssumedRole``,
    ``FederatedUser``, ``Anonymous``) or ``Service`` for an AWS service principal. ``arn`` is the
    caller ARN (the session ARN for role sessions). ``role_arn`` is the role of an assumed-role
    session (with its path, which the session ARN omits); ``federating_user_arn`` the IAM user
    behind a GetFederationToken session; ``unique_id`` the user's ``AIDA...`` or the session
    role's ``AROA...`` id, which trust policies store instead of ARNs. ``service``,
    ``federated_provider`` and ``canonical_user`` match the ``Service``, ``Federated`` and
    ``CanonicalUser`` (S3) principal forms.
    """

    arn: str
    account: str
    type: str = "User"
    role_arn: str = ""
    federating_user_arn: str = ""
    unique_id: str = ""
    service: str = ""
    federated_provider: str = ""
    canonical_user: str = ""


def normalise_context_keys(keys: Mapping[str, object]) -> dict[str, ContextValue]:
    """``keys`` as the engine reads them: lower-cased names, each value a ``ContextValue``.

    A caller that evaluates many requests with the same keys (one session's principal keys)
    normalises them once and passes the result to :meth:`RequestContext.prepared`.
    """
    return {k.lower(): ContextValue.of(v) for k, v in keys.items()}


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One request: action, resource ARN (``*`` for none), principal and context keys.

    ``keys`` may hold plain values (str, bool, number, list) or ``ContextValue``; lookups are
    case-insensitive. ``resource_account`` is the account owning the resource when the ARN does
    not say (S3); empty means the ARN's account, or the principal's account if the ARN has none.
    """

    action: str
    resource: str = "*"
    principal: Principal | None = None
    keys: Mapping[str, object] = field(default_factory=dict)
    resource_account: str = ""
    action_lower: str = field(init=False, repr=False, compare=False)
    values: Mapping[str, ContextValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lower-case once per request so every statement compares without re-folding.
        object.__setattr__(self, "action_lower", self.action.lower())
        object.__setattr__(self, "values", normalise_context_keys(self.keys))

    @classmethod
    def prepared(
        cls,
        action: str,
        resource: str,
        principal: Principal | None,
        values: Mapping[str, ContextValue],
    ) -> RequestContext:
        """A request whose keys are already normalised (:func:`normalise_context_keys`).

        ``values`` must hold lower-cased names and ``ContextValue`` values; it is used as is,
        not copied, so the caller must not change it afterwards.
        """
        request = object.__new__(cls)
        object.__setattr__(request, "action", action)
        object.__setattr__(request, "resource", resource)
        object.__setattr__(request, "principal", principal)
        object.__setattr__(request, "keys", values)
        object.__setattr__(request, "resource_account", "")
        object.__setattr__(request, "action_lower", action.lower())
        object.__setattr__(request, "values", values)
        return request

    def for_action(self, action: str) -> RequestContext:
        """This request for another action; the normalised keys are shared, not rebuilt.

        A caller that evaluates several actions for one request (``sts:AssumeRole`` then
        ``sts:TagSession``) pays for key normalisation once.
        """
        other = object.__new__(RequestContext)
        for name in ("resource", "principal", "keys", "resource_account", "values"):
            object.__setattr__(other, name, getattr(self, name))
        object.__setattr__(other, "action", action)
        object.__setattr__(other, "action_lower", action.lower())
        return other

    def owner_account(self) -> str:
        """The account that owns the resource (for same- vs cross-account evaluation)."""
        if self.resource_account:
            return self.resource_account
        parts = self.resource.split(":", 5)
        if len(parts) == 6 and parts[4]:
            return parts[4]
        return self.principal.account if self.principal is not None else ""
