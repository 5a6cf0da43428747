"""Condition operators, compiled per (operator, key, values) and evaluated against a context.

Sources (IAM User Guide): "IAM JSON policy elements: Condition operators" (every operator, the
``...IfExists`` suffix, missing-key rules: a positive operator on a missing key is false, a
negated one true); "Single-valued vs. multivalued context keys" (``ForAllValues`` is true and
``ForAnyValue`` false for a missing or empty key; values OR, negated operators NOR); "Multivalued
context key examples" (``ForAllValues:StringNotLike``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from . import _glob
from ._context import ContextValue
from ._values import (
    parse_address,
    parse_binary,
    parse_bool,
    parse_date,
    parse_network,
    parse_number,
)

# Set-operator prefixes.
NO_SET: Final = 0
FOR_ALL: Final = 1
FOR_ANY: Final = 2

_CMP: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "Equals": operator.eq,
    "NotEquals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}

# base operator -> (family, negated, comparison suffix)
BASE_OPERATORS: Final[dict[str, tuple[str, bool, str]]] = {
    "StringEquals": ("string", False, "Equals"),
    "StringNotEquals": ("string", True, "Equals"),
    "StringEqualsIgnoreCase": ("istring", False, "Equals"),
    "StringNotEqualsIgnoreCase": ("istring", True, "Equals"),
    "StringLike": ("like", False, "Like"),
    "StringNotLike": ("like", True, "Like"),
    **{f"Numeric{s}": ("numeric", s == "NotEquals", s) for s in _CMP},
    **{f"Date{s}": ("date", s == "NotEquals", s) for s in _CMP},
    "Bool": ("bool", False, "Equals"),
    "BinaryEquals": ("binary", False, "Equals"),
    "IpAddress": ("ip", False, "In"),
    "NotIpAddress": ("ip", True, "In"),
    "ArnEquals": ("arn", False, "Like"),
    "ArnLike": ("arn", False, "Like"),
    "ArnNotEquals": ("arn", True, "Like"),
    "ArnNotLike": ("arn", True, "Like"),
    "Null": ("null", False, "Null"),
}

# Families whose values may hold policy variables (VARS: String and ARN operators). Bool is
# decided as "no": the Variables page and Access Analyzer say so (reference §11.1).
VARIABLE_FAMILIES: Final = frozenset({"string", "istring", "like", "arn"})


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """A parsed operator name: ``[ForAllValues:|ForAnyValue:]Base[IfExists]``."""

    name: str
    base: str
    family: str
    negated: bool
    comparison: str
    set_op: int
    if_exists: bool


def parse_operator(name: str) -> OperatorSpec | None:
    """Split an operator name; None when it is not one AWS defines (names are case-sensitive)."""
    rest = name
    set_op = NO_SET
    if rest.startswith("ForAllValues:"):
        set_op, rest = FOR_ALL, rest[len("ForAllValues:") :]
    elif rest.startswith("ForAnyValue:"):
        set_op, rest = FOR_ANY, rest[len("ForAnyValue:") :]
    if_exists = False
    if rest.endswith("IfExists") and rest != "IfExists":
        if_exists, rest = True, rest[: -len("IfExists")]
    spec = BASE_OPERATORS.get(rest)
    if spec is None:
        return None
    family, negated, comparison = spec
    if family == "null" and (if_exists or set_op != NO_SET):
        return None  # Null has no IfExists form and takes no set prefix (OPERATORS)
    return OperatorSpec(name, rest, family, negated, comparison, set_op, if_exists)


def value_text(value: object) -> str:
    """The string form AWS compares a JSON condition value as (quotes are optional)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_Tester = Callable[[str, Mapping[str, ContextValue]], bool | None]


def _string_tester(family: str, raw: tuple[str, ...], variables: bool) -> _Tester:
    tokens = [_glob.tokenize(v, variables=variables) for v in raw]
    dynamic = any(_glob.has_variables(t) for t in tokens)
    if family == "string":
        if not dynamic:
            fixed = frozenset(raw if not variables else (_glob.literal_text(t) for t in tokens))
            return lambda v, _k: v in fixed

        def check_eq(v: str, keys: Mapping[str, ContextValue]) -> bool:
            for t in tokens:
                r = _glob.resolve(t, keys)
                if r is not None and _glob.literal_text(r) == v:
                    return True
            return False

        return check_eq
    if family == "istring":
        if not dynamic:
            folded = frozenset(_glob.literal_text(t).lower() for t in tokens)
            return lambda v, _k: v.lower() in folded

        def check_ieq(v: str, keys: Mapping[str, ContextValue]) -> bool:
            low = v.lower()
            for t in tokens:
                r = _glob.resolve(t, keys)
                if r is not None and _glob.literal_text(r).lower() == low:
                    return True
            return False

        return check_ieq
    # StringLike: one alternation regex when nothing depends on the request.
    if not dynamic:
        if all(_glob.is_plain(t) for t in tokens):
            plain = frozenset(_glob.literal_text(t) for t in tokens)
            return lambda v, _k: v in plain
        source = "|".join(f"(?:{_glob.string_glob_source(t)})" for t in tokens)
        rx = _glob.compile_source(source)
        return lambda v, _k: rx.fullmatch(v) is not None

    templates = [_glob.string_template(t) for t in tokens]

    def check_like(v: str, keys: Mapping[str, ContextValue]) -> bool:
        for t in templates:
            src = _glob.render(t, keys)
            if src is not None and _glob.compile_source(src).fullmatch(v):
                return True
        return False

    return check_like


def _arn_tester(raw: tuple[str, ...], variables: bool) -> _Tester:
    tokens = [_glob.tokenize(v, variables=variables) for v in raw]

    templates = [
        tpl
        for tpl in (_glob.arn_template(t, fold_prefix=False, pad=False) for t in tokens)
        if tpl is not None
    ]

    def sources(keys: Mapping[str, ContextValue]) -> list[str]:
        return [src for src in (_glob.render(t, keys) for t in templates) if src is not None]

    def valid(v: str) -> bool:
        # A request value with fewer than six components is not an ARN: ARN operators are then
        # false, negated or not [OBS, iam-simulate; PMapper].
        return v.count(":") >= 5

    if not any(_glob.has_variables(t) for t in tokens):
        srcs = sources({})
        rx = _glob.compile_source("|".join(f"(?:{s})" for s in srcs)) if srcs else None

        def check_static(v: str, _k: Mapping[str, ContextValue]) -> bool | None:
            if not valid(v):
                return None
            return rx is not None and rx.fullmatch(v) is not None

        return check_static

    def check_dynamic(v: str, keys: Mapping[str, ContextValue]) -> bool | None:
        if not valid(v):
            return None
        return any(_glob.compile_source(s).fullmatch(v) for s in sources(keys))

    return check_dynamic


def _ordered_tester(
    parse: Callable[[str], Decimal | None], comparison: str, raw: tuple[str, ...]
) -> _Tester:
    cmp = _CMP[comparison]
    parsed = tuple(p for p in (parse(v) for v in raw) if p is not None)
    if len(parsed) == 1:
        only = parsed[0]

        def check_one(v: str, _k: Mapping[str, ContextValue]) -> bool:
            x = parse(v)
            return x is not None and cmp(x, only)

        return check_one

    def check(v: str, _k: Mapping[str, ContextValue]) -> bool:
        x = parse(v)
        if x is None:
            return False
        return any(cmp(x, p) for p in parsed)

    return check


def _bool_tester(raw: tuple[str, ...]) -> _Tester:
    wanted = frozenset(b for b in (parse_bool(v) for v in raw) if b is not None)

    def check(v: str, _k: Mapping[str, ContextValue]) -> bool:
        b = parse_bool(v)
        return b is not None and b in wanted

    return check


def _binary_tester(raw: tuple[str, ...]) -> _Tester:
    wanted = frozenset(b for b in (parse_binary(v) for v in raw) if b is not None)

    def check(v: str, _k: Mapping[str, ContextValue]) -> bool:
        b = parse_binary(v)
        return b is not None and b in wanted

    return check


def _ip_tester(raw: tuple[str, ...]) -> _Tester:
    nets = tuple(n for n in (parse_network(v) for v in raw) if n is not None)

    def check(v: str, _k: Mapping[str, ContextValue]) -> bool:
        a = parse_address(v)
        if a is None:
            return False
        # An address of the other IP version is simply not in the block (IpAddress false,
        # NotIpAddress true) [OBS, iam-simulate].
        return any(a.version == n.version and a in n for n in nets)

    return check


def build_tester(spec: OperatorSpec, raw: tuple[str, ...], variables: bool) -> _Tester:
    """The positive single-value test of ``spec`` over the policy values ``raw``."""
    fam = spec.family
    if fam in ("string", "istring", "like"):
        return _string_tester(fam, raw, variables)
    if fam == "arn":
        return _arn_tester(raw, variables)
    if fam == "numeric":
        return _ordered_tester(parse_number, spec.comparison, raw)
    if fam == "date":
        return _ordered_tester(parse_date, spec.comparison, raw)
    if fam == "bool":
        return _bool_tester(raw)
    if fam == "binary":
        return _binary_tester(raw)
    if fam == "ip":
        return _ip_tester(raw)
    raise ValueError(f"no tester for {fam}")  # pragma: no cover - Null is handled apart


def _never(_v: str, _k: Mapping[str, ContextValue]) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled ``operator: {key: values}`` triple."""

    operator: str
    key: str
    key_lower: str
    values: tuple[str, ...]
    spec: OperatorSpec
    test: _Tester
    referenced_keys: frozenset[str]
    label: str
    failure: str

    def evaluate(self, keys: Mapping[str, ContextValue]) -> bool:
        """Whether the condition holds for the context ``keys`` (lower-cased names)."""
        spec = self.spec
        cv = keys.get(self.key_lower)
        if spec.family == "null":
            return _null(cv, self.values)
        # An absent key, an empty list, and (for set operators) an empty string are "no values"
        # (MULTI page table: "empty set / null"; reference §3.5 and decision §11.7).
        if (
            cv is None
            or not cv.values
            or (spec.set_op != NO_SET and not cv.is_list and cv.values[0] == "")
        ):
            if spec.set_op == FOR_ALL:
                return True
            if spec.set_op == FOR_ANY:
                return False
            return spec.if_exists or spec.negated
        if spec.set_op == NO_SET:
            if cv.is_list:
                # A non-set operator against a multivalued key is false, positive or negated
                # [OBS, iam-simulate citing AWS re:Inforce 2025 IAM431]; reference §3.7.
                return False
            hit = self.test(cv.values[0], keys)  # inlined _one: this is the hot path
            if hit is None:
                return False
            return (not hit) if spec.negated else hit
        if spec.set_op == FOR_ALL:
            return all(self._one(v, keys) for v in cv.values)
        return any(self._one(v, keys) for v in cv.values)

    def _one(self, v: str, keys: Mapping[str, ContextValue]) -> bool:
        hit = self.test(v, keys)
        if hit is None:
            return False
        return (not hit) if self.spec.negated else hit


def _null(cv: ContextValue | None, values: tuple[str, ...]) -> bool:
    # An empty string or empty list counts as null (CONDITION: an empty value "produces a null
    # value"; reference §3.6 and decision §11.7).
    absent = cv is None or not cv.values or (not cv.is_list and cv.values[0] == "")
    for v in values:
        b = parse_bool(v)
        if b is True and absent:
            return True
        if b is False and not absent:
            return True
    return False


def compile_condition(
    spec: OperatorSpec, key: str, values: tuple[str, ...], *, variables: bool
) -> Condition:
    """Compile one triple; ``variables`` is False under Version 2008-10-17."""
    use_vars = variables and spec.family in VARIABLE_FAMILIES
    if spec.family == "null":
        test: _Tester = _never
        var_keys: frozenset[str] = frozenset()
    else:
        test = build_tester(spec, values, use_vars)
        var_keys = frozenset().union(
            *(_glob.variable_keys(_glob.tokenize(v, variables=use_vars)) for v in values)
        )
    return Condition(
        operator=spec.name,
        key=key,
        key_lower=key.lower(),
        values=values,
        spec=spec,
        test=test,
        referenced_keys=var_keys | {key.lower()},
        label=f"{spec.name} {key}",
        failure=f"condition not met: {spec.name} {key}",
    )


def date_value_ok(text: str) -> bool:
    """Whether a policy Date-operator value parses (else "The policy failed legacy parsing")."""
    return parse_date(text) is not None


__all__ = [
    "BASE_OPERATORS",
    "Condition",
    "OperatorSpec",
    "compile_condition",
    "date_value_ok",
    "parse_operator",
    "value_text",
]
