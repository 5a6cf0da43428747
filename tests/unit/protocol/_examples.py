"""Valid example inputs built from a botocore shape: every member filled, every constraint met."""

from __future__ import annotations

import datetime as dt
import re._constants as sre_c
import re._parser as sre_parse
from typing import Any

from botocore.model import Shape

from elsewhere.protocol._patterns import compile_java_pattern

_CANDIDATES = (
    "11111111-2222-3333-4444-555555555555",
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/11111111-2222-3333-4444-555555555555",
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/11111111-2222-3333-4444-555555555555",
    "arn:aws:rolesanywhere:us-east-1:123456789012:crl/11111111-2222-3333-4444-555555555555",
    "arn:aws:rolesanywhere:us-east-1:123456789012:alias/trust-anchor/a",
    "arn:aws:rolesanywhere:us-east-1:123456789012:alias/profile/a",
    "arn:aws:rolesanywhere:us-east-1:123456789012:alias/crl/a",
    "o-abcdefghij/r-abcd",
    "arn:aws:iam::123456789012:role/my-role",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "/",
    "/path/a b/",
    "my name",
    "Example+Name=1,a.b@c-d",
    "v1",
    "123456789012",
    "AKIAIOSFODNN7EXAMPLE",
    "https://example.com/x",
    '{"Version":"2012-10-17","Statement":[]}',
    "0123456789ABCDEF",
    "o-abcdefghij",
    "p-abcdefgh",
)


def example_string(shape: Shape) -> str:
    """A string satisfying ``shape``'s enum, pattern and length constraints."""
    meta = shape.metadata
    if meta.get("enum"):
        return str(meta["enum"][0])
    lo = int(meta.get("min", 0))
    hi = int(meta.get("max", 10**6))
    pattern = meta.get("pattern")
    regex = compile_java_pattern(pattern) if pattern else None
    extra = ("a" * max(lo, 1), "A" * max(lo, 1), "1" * max(lo, 1), "x" * max(lo, 3))
    for cand in (*_CANDIDATES, *extra):
        if lo <= len(cand) <= hi and (regex is None or regex.fullmatch(cand)):
            return cand
    for cand in _derived(regex.pattern, lo) if regex is not None else ():
        if lo <= len(cand) <= hi and regex.fullmatch(cand):
            return cand
    raise LookupError(f"no example for {shape.name} ({pattern!r}, {lo}..{hi})")


def _derived(pattern: str, lo: int) -> tuple[str, ...]:
    """Strings built from the pattern's own syntax tree, for shapes no hand-picked value fits.

    Each repeat takes its least count, then the last open-ended repeat grows until the string
    is at least ``lo`` long; so any pattern in a pinned model yields an example, not only those
    the list above foresaw.
    """
    tree = sre_parse.parse(pattern)
    shortest = _build(tree, extra=0)
    grown = _build(tree, extra=max(lo - len(shortest), 0))
    return (shortest, grown)


def _build(tree: Any, extra: int) -> str:
    """One string matching ``tree``; ``extra`` more repetitions go to the last open repeat."""
    out: list[str] = []
    repeats = [i for i, (op, av) in enumerate(tree) if op in _REPEATS and av[1] > av[0]]
    grow_at = repeats[-1] if repeats else None
    for i, (op, av) in enumerate(tree):
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.ANY:
            out.append("a")
        elif op is sre_c.NOT_LITERAL:
            out.append("a" if chr(av) != "a" else "b")
        elif op is sre_c.IN:
            out.append(_member(av))
        elif op is sre_c.SUBPATTERN:
            out.append(_build(av[-1], extra if i == grow_at else 0))
        elif op is sre_c.BRANCH:
            out.append(_build(av[1][0], 0))
        elif op in _REPEATS:
            low, _high, sub = av
            count = low + (extra if i == grow_at else 0)
            out.append(_build(sub, 0) * count)
        elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue
        else:
            raise LookupError(f"pattern node {op} not understood")
    return "".join(out)


_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None))


def _member(items: Any) -> str:
    """A character inside a ``[...]`` set: a letter or digit when the set allows one."""
    if items and items[0][0] is sre_c.NEGATE:
        banned = {chr(av) for op, av in items[1:] if op is sre_c.LITERAL}
        return next(c for c in "aA0_" if c not in banned)
    for op, av in items:
        if op is sre_c.LITERAL:
            return chr(av)
        if op is sre_c.RANGE:
            return chr(av[0])
        if op is sre_c.CATEGORY:
            return "0" if av is sre_c.CATEGORY_DIGIT else "a"
    raise LookupError(f"character set {items!r} not understood")


def example_value(shape: Shape, depth: int = 0) -> Any:
    """A valid value for ``shape`` (structures: every member; unions: the first member)."""
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if depth > 6:
            return {}
        members = list(shape.members.items())
        if meta.get("union"):
            members = members[:1]
        return {name: example_value(m, depth + 1) for name, m in members}
    if t == "list":
        n = max(int(meta.get("min", 1)), 1)
        return [example_value(shape.member, depth + 1) for _ in range(min(n, 2))]
    if t == "map":
        return {example_string(shape.key): example_value(shape.value, depth + 1)}
    if t == "string":
        return example_string(shape)
    if t == "boolean":
        return True
    if t in ("integer", "long"):
        lo = int(meta.get("min", 1))
        return max(lo, min(int(meta.get("max", 3600)), 3600))
    if t in ("float", "double"):
        return 1.5
    if t == "blob":
        return b"\x00binary\xff" * max(1, int(meta.get("min", 1)))
    if t == "timestamp":
        return dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    raise LookupError(t)
