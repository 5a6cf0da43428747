"""Valid example inputs built from a botocore shape: every member filled, every constraint met."""

from __future__ import annotations

import datetime as dt
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
    raise LookupError(f"no example for {shape.name} ({pattern!r}, {lo}..{hi})")


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
