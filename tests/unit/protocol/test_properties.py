"""Hypothesis properties: botocore→ours round trips, and hostile input never escapes as a crash."""

from __future__ import annotations

import contextlib
import functools
import json
import urllib.parse
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from elsewhere.errors import ElsewhereError
from elsewhere.protocol import (
    QueryProtocol,
    RestJsonProtocol,
    load_service_model,
    parse_form,
)
from elsewhere.protocol._patterns import compile_java_pattern
from tests.unit.protocol._examples import example_string

RA = load_service_model("rolesanywhere")
IAM = load_service_model("iam")
STS = load_service_model("sts")
RA_PROTO = RestJsonProtocol(RA)
QUERY = {"iam": QueryProtocol(IAM), "sts": QueryProtocol(STS)}
# Valid input text: any UTF-8 character but NUL, which the validator refuses (the store cannot
# hold it).
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _length_ok(shape: Shape, value: str) -> bool:
    """Whether ``value`` meets the shape's length bounds."""
    meta = shape.metadata
    return bool(meta.get("min", 0) <= len(value) <= meta.get("max", 10**9))


@functools.cache
def _string(shape: Shape) -> st.SearchStrategy[str]:
    """Valid strings for ``shape``: enum values, or pattern/length-respecting text."""
    meta = shape.metadata
    if meta.get("enum"):
        return st.sampled_from(list(meta["enum"]))
    lo = int(meta.get("min", 0))
    hi = min(int(meta.get("max", 40)), 40)
    if meta.get("pattern"):
        regex = compile_java_pattern(meta["pattern"])
        if "\\p{" in meta["pattern"] or "\\u10000" in meta["pattern"]:
            # Classes spanning all of Unicode make from_regex slow; a small alphabet is enough.
            small = st.text("aZ9 _.:/=+-@é½\u3000", min_size=max(lo, 1), max_size=max(lo, hi))
            return st.one_of(
                st.just(example_string(shape)),
                small.filter(lambda v: regex.fullmatch(v) is not None and _length_ok(shape, v)),
            )
        generated = st.from_regex(regex, fullmatch=True, alphabet=CHARS).filter(
            lambda v: _length_ok(shape, v)
        )
        return st.one_of(st.just(example_string(shape)), generated)
    if lo > hi:
        return st.just(example_string(shape))
    return st.text(CHARS, min_size=lo, max_size=hi)


def value_of(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Valid values for ``shape`` (only what botocore would send and the model allows)."""
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        members = dict(shape.members)
        if depth > 4:
            return st.just({})
        if meta.get("union"):
            return st.one_of(
                [st.fixed_dictionaries({k: value_of(m, depth + 1)}) for k, m in members.items()]
            )
        required = set(meta.get("required", ()))
        return st.fixed_dictionaries(
            {k: value_of(m, depth + 1) for k, m in members.items() if k in required},
            optional={k: value_of(m, depth + 1) for k, m in members.items() if k not in required},
        )
    if t == "list":
        lo = int(meta.get("min", 0))
        return st.lists(value_of(shape.member, depth + 1), min_size=lo, max_size=max(lo, 3))
    if t == "map":
        return st.dictionaries(_string(shape.key), value_of(shape.value, depth + 1), max_size=3)
    if t == "string":
        return _string(shape)
    if t == "boolean":
        return st.booleans()
    if t in ("integer", "long"):
        return st.integers(int(meta.get("min", -(2**31))), int(meta.get("max", 2**31 - 1)))
    if t == "blob":
        return st.binary(min_size=int(meta.get("min", 0)), max_size=64)
    raise NotImplementedError(t)


def _op_and_params(model: Any) -> st.SearchStrategy[tuple[OperationModel, dict[str, Any]]]:
    """Any operation of ``model`` with valid params."""
    ops = [model.operation_model(n) for n in model.operation_names]
    ops = [op for op in ops if op.input_shape is not None]
    return st.sampled_from(ops).flatmap(lambda op: st.tuples(st.just(op), value_of(op.input_shape)))


@FUZZ
@given(_op_and_params(RA))
def test_restjson_parse_inverts_botocore(case: tuple[OperationModel, dict[str, Any]]) -> None:
    """parse(botocore.serialize(x)) == x for every valid rolesanywhere input."""
    op, params = case
    req = create_serializer("rest-json").serialize_to_request(params, op)
    query = percent_encode_sequence(req["query_string"]) if req["query_string"] else ""
    matched, labels = RA_PROTO.match(req["method"], req["url_path"], query)
    assert matched.name == op.name
    headers = {k.lower(): v for k, v in req["headers"].items()}
    # An empty list in the query string or a header is not sent at all (aws-protocols.md §1.3).
    members = op.input_shape.members
    expected = {
        k: v
        for k, v in params.items()
        if v != [] or members[k].serialization.get("location") not in ("querystring", "header")
    }
    assert RA_PROTO.parse(matched, labels, query, headers, req["body"]) == expected


@FUZZ
@given(
    st.sampled_from(["iam", "sts"]).flatmap(
        lambda s: st.tuples(st.just(s), _op_and_params(IAM if s == "iam" else STS))
    )
)
def test_query_parse_inverts_botocore(
    case: tuple[str, tuple[OperationModel, dict[str, Any]]],
) -> None:
    """parse(botocore.serialize(x)) == x for valid IAM and STS inputs."""
    service, (op, params) = case
    # The query wire cannot carry an empty structure or map: botocore sends no key at all.
    assume(not _has_empty_aggregate(params))
    req = create_serializer("query").serialize_to_request(params, op)
    pairs = parse_form(urllib.parse.urlencode(req["body"]).encode())
    assert QUERY[service].parse(pairs) == (op, params)


def _has_empty_aggregate(value: Any) -> bool:
    """Whether an empty dict hides anywhere inside ``value``."""
    if isinstance(value, dict):
        return not value or any(_has_empty_aggregate(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_empty_aggregate(v) for v in value)
    return False


RA_OPS = [RA.operation_model(n) for n in RA.operation_names]
_JSON_KEYS = sorted(
    {
        m.serialization.get("name", k)
        for s in RA.shape_names
        for k, m in getattr(RA.shape_for(s), "members", {}).items()
    }
)
_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(CHARS, max_size=8)
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(_JSON_KEYS), st.text(max_size=5)), inner, max_size=5
        ),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.sampled_from(RA_OPS), st.binary(max_size=300), st.text(CHARS, max_size=40))
def test_restjson_random_bytes_only_raise_elsewhere_errors(
    op: OperationModel, body: bytes, query: str
) -> None:
    """Arbitrary bodies and query strings give a value or an ElsewhereError, nothing else."""
    with contextlib.suppress(ElsewhereError):
        RA_PROTO.parse(op, {"profileId": "x", "crlId": "%", "trustAnchorId": ""}, query, {}, body)


@FUZZ
@given(st.sampled_from(RA_OPS), _json)
def test_restjson_random_json_only_raises_elsewhere_errors(op: OperationModel, doc: Any) -> None:
    """Model-keyed random JSON of any type gives a value or an ElsewhereError."""
    with contextlib.suppress(ElsewhereError):
        RA_PROTO.parse(op, {}, "", {}, json.dumps(doc).encode())


@FUZZ
@given(st.text(CHARS, max_size=60), st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
def test_match_only_raises_elsewhere_errors(path: str, method: str) -> None:
    """Any path either matches an operation or raises UnknownOperation."""
    with contextlib.suppress(ElsewhereError):
        RA_PROTO.match(method, "/" + path)


_QUERY_PARTS = st.sampled_from(
    [
        "member",
        "entry",
        "key",
        "value",
        "1",
        "2",
        "0",
        "01",
        "Tags",
        "Key",
        "Value",
        "RoleName",
        "PolicyArns",
        "arn",
        "DurationSeconds",
        "ContextEntries",
        "ContextKeyValues",
        "MaxItems",
        "PolicyInputList",
        "ResourceArns",
        "SetAsDefault",
        "x",
    ]
)
_query_key = st.lists(_QUERY_PARTS, min_size=1, max_size=6).map(".".join)
_query_pairs = st.lists(st.tuples(_query_key, st.text(CHARS, max_size=12)), max_size=12)
_ACTIONS = st.sampled_from(list(IAM.operation_names) + list(STS.operation_names) + ["", "X"])


@FUZZ
@given(st.sampled_from(["iam", "sts"]), _ACTIONS, _query_pairs)
def test_query_random_params_only_raise_elsewhere_errors(
    service: str, action: str, pairs: list[tuple[str, str]]
) -> None:
    """Random keys in the query grammar give a value or an ElsewhereError."""
    with contextlib.suppress(ElsewhereError):
        QUERY[service].parse([("Action", action), *pairs])


@FUZZ
@given(st.binary(max_size=200))
def test_parse_form_random_bytes(body: bytes) -> None:
    """Any bytes decode to pairs or raise an ElsewhereError."""
    with contextlib.suppress(ElsewhereError):
        parse_form(body)
