"""The service models elsewhere serves, compiled once into plain trees for parsing and validation.

The models are AWS's botocore ``service-2`` documents, kept in this package (``models/``, with
their provenance) rather than read from the installed botocore: what the server accepts changes
only with a commit that changes those files, never with a botocore release.
"""

from __future__ import annotations

import functools
import gzip
import json
import pathlib
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from elsewhere.protocol._patterns import compile_java_pattern

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MODELS_DIR",
    "Member",
    "Node",
    "Response",
    "ShapeCompiler",
    "load_service_model",
]

#: The largest request body the protocol layer accepts; the caller enforces it before reading.
#: 1 MiB is above every model limit (ImportCrl's 300000-byte CRL is ~400 KB in base64).
MAX_BODY_BYTES = 1024 * 1024

#: How deep a request value may nest (structures, lists, maps). The models nest at most ~6 levels.
MAX_DEPTH = 32

SERVICES = ("rolesanywhere", "iam", "sts")

#: Where the served models live (see ``models/PROVENANCE.md``).
MODELS_DIR = pathlib.Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Response:
    """A wire response: status, headers (in order) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@functools.cache
def load_service_model(name: str) -> ServiceModel:
    """The served model of ``name`` ('rolesanywhere', 'iam' or 'sts'), loaded once."""
    if name not in SERVICES:
        raise ValueError(f"unsupported service: {name!r}")
    document = json.loads(gzip.decompress((MODELS_DIR / f"{name}.json.gz").read_bytes()))
    return ServiceModel(document, service_name=name)


def _lower_first(name: str) -> str:
    """Coral's member-path spelling: the member name with its first letter lower-cased."""
    return name[:1].lower() + name[1:]


# Compiled shapes form a graph that may be cyclic, so nodes are filled after creation and are
# therefore not frozen; they are private and never mutated once ShapeCompiler.node returns.
@dataclass(eq=False)
class Node:
    """One model shape, with its constraints resolved for the hot path."""

    name: str
    type: str
    sensitive: bool = False
    min: float | None = None
    max: float | None = None
    pattern_text: str | None = None
    pattern: re.Pattern[str] | None = None
    enum: tuple[str, ...] = ()
    enum_set: frozenset[str] = frozenset()
    union: bool = False
    document: bool = False
    timestamp_format: str | None = None
    members: tuple[Member, ...] = ()
    member: Node | None = None
    member_wire: str = "member"
    flattened: bool = False
    key: Node | None = None
    value: Node | None = None
    key_wire: str = "key"
    value_wire: str = "value"
    element_constraints: tuple[str, ...] = ()


@dataclass(eq=False)
class Member:
    """A structure member: python name, wire name, path spelling, location and shape."""

    name: str
    wire: str
    path: str
    location: str | None
    required: bool
    node: Node
    timestamp_format: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _constraint_texts(node: Node) -> tuple[str, ...]:
    """All of a scalar shape's constraints, in the order Coral lists them for list elements."""
    texts: list[str] = []
    word = "value" if node.type in _NUMERIC else "length"
    if node.max is not None:
        texts.append(f"Member must have {word} less than or equal to {_num(node.max)}")
    if node.min is not None:
        texts.append(f"Member must have {word} greater than or equal to {_num(node.min)}")
    if node.pattern_text is not None:
        texts.append(f"Member must satisfy regular expression pattern: {node.pattern_text}")
    if node.enum:
        texts.append(f"Member must satisfy enum value set: [{', '.join(node.enum)}]")
    texts.append("Member must not be null")
    return tuple(texts)


_NUMERIC = frozenset({"integer", "long", "float", "double", "bigdecimal", "biginteger"})


def _num(value: float) -> str:
    """A bound as the model writes it (integers without a decimal point)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ShapeCompiler:
    """Builds and caches :class:`Node` trees for one service model."""

    @classmethod
    def for_model(cls, model: ServiceModel) -> ShapeCompiler:
        """The one compiler of ``model``, shared by every protocol object built on it."""
        compiler = _COMPILERS.get(model)
        if compiler is None:
            compiler = _COMPILERS[model] = cls(model)
        return compiler

    def __init__(self, model: ServiceModel) -> None:
        """Prepare an empty cache for ``model``."""
        self.model = model
        self._nodes: dict[str, Node] = {}
        self._ops: dict[str, OperationModel] = {}

    def operation(self, name: str) -> OperationModel:
        """The operation model named ``name`` (cached)."""
        op = self._ops.get(name)
        if op is None:
            op = self.model.operation_model(name)
            self._ops[name] = op
        return op

    def node(self, shape: Shape) -> Node:
        """The compiled node of ``shape``."""
        cached = self._nodes.get(shape.name)
        if cached is not None:
            return cached
        meta = shape.metadata
        node = Node(name=shape.name, type=shape.type_name)
        self._nodes[shape.name] = node
        node.sensitive = bool(meta.get("sensitive"))
        node.min = meta.get("min")
        node.max = meta.get("max")
        pattern = meta.get("pattern")
        if pattern is not None:
            node.pattern_text = pattern
            node.pattern = compile_java_pattern(pattern)
        node.enum = tuple(meta.get("enum", ()))
        node.enum_set = frozenset(node.enum)
        node.union = bool(meta.get("union"))
        node.document = bool(meta.get("document"))
        node.timestamp_format = shape.serialization.get("timestampFormat")
        if shape.type_name == "structure":
            required = set(meta.get("required", ()))
            members = []
            for name, mshape in shape.members.items():
                ser = mshape.serialization
                members.append(
                    Member(
                        name=name,
                        wire=ser.get("name", name),
                        path=_lower_first(name),
                        location=ser.get("location"),
                        required=name in required,
                        node=self.node(mshape),
                        timestamp_format=ser.get("timestampFormat"),
                    )
                )
            node.members = tuple(members)
        elif shape.type_name == "list":
            node.member = self.node(shape.member)
            node.member_wire = shape.member.serialization.get("name", "member")
            node.flattened = bool(shape.serialization.get("flattened"))
        elif shape.type_name == "map":
            node.key = self.node(shape.key)
            node.value = self.node(shape.value)
            node.key_wire = shape.key.serialization.get("name", "key")
            node.value_wire = shape.value.serialization.get("name", "value")
            node.flattened = bool(shape.serialization.get("flattened"))
        else:
            node.element_constraints = _constraint_texts(node)
        return node


# One compiler per model object: protocol objects built per request still share compiled shapes.
_COMPILERS: weakref.WeakKeyDictionary[ServiceModel, ShapeCompiler] = weakref.WeakKeyDictionary()
