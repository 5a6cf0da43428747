"""Model-driven input validation with AWS's Coral message grammar (aws-protocols.md §3.3/§3.4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from elsewhere.domain import printable_text, unstorable_constraints
from elsewhere.errors import ValidationError
from elsewhere.protocol._model import Node

__all__ = ["MAX_ITEMS", "format_validation_message", "validate_input"]

#: AWS stops collecting validation items at 10 (architect/dynalite validations/index.js).
MAX_ITEMS = 10

# A pattern is tried only on values no longer than the shape's max length (or 1100 characters,
# or 8192 when the shape has no max), so a hostile value cannot make a backtracking pattern such
# as ``(:.*){2}(:role.*)`` run long (~0.1 s at 1000 characters, quadratic beyond). A longer value
# already fails its length constraint, which is then the only item reported for it.
_PATTERN_FLOOR = 1100
_PATTERN_LIMIT = 8192


class _ItemCapError(Exception):
    """Raised internally when the item cap is reached; never escapes this module."""


def render_value(value: Any) -> str:
    """Java ``toString``-style rendering used inside ``Value '...'`` (lists ``[a, b]``, maps)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # A refused value is echoed; a lone surrogate in it could be neither logged nor encoded.
        return printable_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, bytes | bytearray):
        # Coral renders a blob through java.nio.ByteBuffer#toString [INFERRED].
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    return str(value)


def _item(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    """One ``Value ... at '...' failed to satisfy constraint: ...`` item."""
    if value is None:
        head = "Value null"
    elif sensitive:
        # Sensitive members hide their value entirely ("Value at 'password' ...") [OBS Cognito].
        head = "Value"
    else:
        head = f"Value '{render_value(value)}'"
    return f"{head} at '{path}' failed to satisfy constraint: {constraint}"


def format_validation_message(items: list[str]) -> str:
    """The envelope: ``{n} validation error{s} detected: item; item``."""
    n = len(items)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(items)


def _scalar_failures(node: Node, value: Any) -> list[str]:
    """The constraint texts ``value`` breaks, in Coral's order: pattern, min, max, enum."""
    out: list[str] = []
    t = node.type
    if t == "string":
        length = len(value)
        if (
            node.pattern is not None
            and length <= (max(int(node.max), _PATTERN_FLOOR) if node.max else _PATTERN_LIMIT)
            and node.pattern.fullmatch(value) is None
        ):
            out.append(f"Member must satisfy regular expression pattern: {node.pattern_text}")
        out.extend(_length_failures(node, length))
        # Every string member, wherever it travels: text no store can hold is refused here
        # rather than failing later in the store (domain._text).
        out.extend(unstorable_constraints(value))
        if node.enum and value not in node.enum_set:
            out.append(f"Member must satisfy enum value set: [{', '.join(node.enum)}]")
    elif t == "blob":
        out.extend(_length_failures(node, len(value)))
    elif t in ("integer", "long", "float", "double"):
        if node.min is not None and value < node.min:
            out.append(f"Member must have value greater than or equal to {_bound(node.min)}")
        if node.max is not None and value > node.max:
            out.append(f"Member must have value less than or equal to {_bound(node.max)}")
    return out


def _bound(value: float) -> str:
    """A bound as the model writes it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _length_failures(node: Node, length: int) -> list[str]:
    """Length constraints broken by ``length``."""
    out = []
    if node.min is not None and length < node.min:
        out.append(f"Member must have length greater than or equal to {_bound(node.min)}")
    if node.max is not None and length > node.max:
        out.append(f"Member must have length less than or equal to {_bound(node.max)}")
    return out


def _listed(node: Node, values: Iterable[Any]) -> str:
    """The constraints a list element (or map key or value) must meet, as Coral lists them.

    Text no store can hold is not a model constraint, so it is named only when a value breaks
    it: otherwise the list says nothing of why such a value is refused.
    """
    extra: dict[str, None] = {}
    if node.type == "string":
        for v in values:
            if isinstance(v, str):
                extra.update(dict.fromkeys(unstorable_constraints(v)))
    return ", ".join((*node.element_constraints, *extra))


def _is_aggregate(node: Node) -> bool:
    """Whether ``node`` is checked member by member (as opposed to as one scalar)."""
    return node.type in ("structure", "list", "map")


class _Collector:
    """Walks a value tree against its node and collects Coral items."""

    def __init__(self) -> None:
        """Start with no items."""
        self.nulls: list[str] = []
        self.others: list[str] = []

    def add(self, value: Any, path: str, constraint: str, sensitive: bool) -> None:
        """Record an item; "must not be null" items are kept apart because they come first."""
        if value is None:
            self.nulls.append(_item(value, path, constraint, sensitive))
            if len(self.nulls) >= MAX_ITEMS:
                raise _ItemCapError
        elif len(self.others) < MAX_ITEMS:
            self.others.append(_item(value, path, constraint, sensitive))

    @property
    def items(self) -> list[str]:
        """Every "must not be null" item, then the others, at most :data:`MAX_ITEMS`."""
        return (self.nulls + self.others)[:MAX_ITEMS]

    def check(self, node: Node, value: Any, path: str) -> None:
        """Check ``value`` (present, not None) against ``node``."""
        t = node.type
        if t == "structure":
            self.structure(node, value, path)
        elif t == "list":
            for c in _length_failures(node, len(value)):
                self.add(value, path, c, node.sensitive)
            self.elements(
                node.member,
                list(value),
                path,
                [f"{path}.{i}.member" for i in range(1, len(value) + 1)],
            )
        elif t == "map":
            for c in _length_failures(node, len(value)):
                self.add(value, path, c, node.sensitive)
            assert node.key is not None
            assert node.value is not None
            keys = list(value.keys())
            if any(_scalar_failures(node.key, k) for k in keys):
                self.add(
                    value,
                    path,
                    f"Map keys must satisfy constraint: [{_listed(node.key, keys)}]",
                    node.sensitive or node.key.sensitive,
                )
            vnode = node.value
            if _is_aggregate(vnode):
                for k, v in value.items():
                    if v is None:
                        self.add(None, f"{path}.{k}", "Member must not be null", False)
                    else:
                        self.check(vnode, v, f"{path}.{k}")
            elif any(v is None or _scalar_failures(vnode, v) for v in value.values()):
                self.add(
                    value,
                    path,
                    f"Map value must satisfy constraint: [{_listed(vnode, value.values())}]",
                    node.sensitive or vnode.sensitive,
                )
        else:
            for c in _scalar_failures(node, value):
                self.add(value, path, c, node.sensitive)

    def elements(self, member: Node | None, values: list[Any], path: str, paths: list[str]) -> None:
        """List elements: aggregates one by one, scalars reported once on the list."""
        assert member is not None
        if _is_aggregate(member):
            for v, p in zip(values, paths, strict=True):
                if v is None:
                    self.add(None, p, "Member must not be null", False)
                else:
                    self.check(member, v, p)
        elif any(v is None or _scalar_failures(member, v) for v in values):
            self.add(
                values,
                path,
                f"Member must satisfy constraint: [{_listed(member, values)}]",
                member.sensitive,
            )

    def structure(self, node: Node, value: Mapping[str, Any], path: str) -> None:
        """Members in declaration order; then the union rule."""
        set_count = 0
        for m in node.members:
            v = value.get(m.name)
            p = f"{path}.{m.path}" if path else m.path
            if v is None:
                if m.required:
                    self.add(None, p, "Member must not be null", False)
                continue
            set_count += 1
            self.check(m.node, v, p)
        if node.union and set_count != 1:
            # The exact AWS text for a union violation is unknown (aws-protocols.md §6 q1).
            self.add(
                value, path or node.name, "Member must have exactly one member set", node.sensitive
            )


def validate_input(node: Node, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` as a dict if they satisfy ``node``; else raise :class:`ValidationError`."""
    collector = _Collector()
    # Every "must not be null" item comes first, then the other constraints. Both AWS texts we
    # have put a missing member before an earlier-declared bad one (aws-protocols.md §3.3:
    # "Value null at 'roleArns' ...; Value '...' at 'name' ..."; moto's SWF capture, §3.6).
    with contextlib.suppress(_ItemCapError):
        collector.structure(node, params, "")
    items = collector.items
    if items:
        raise ValidationError(format_validation_message(items))
    return dict(params)
