"""Text no store can hold (NUL, lone surrogates) is refused in every string member (domain._text).

A property over every operation of the three served models: take a valid input, put a NUL or a
lone surrogate into one string (a member, a list element, a map key or value, at any depth and in
any location), send it as botocore would, and the parser must refuse it with a
ValidationException. A lone surrogate can travel only inside a JSON string (a ``\\ud800``
escape); the percent-encoded wires (path, query string, form body) carry UTF-8, where it is a
decoding error.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from elsewhere.domain import NUL_CONSTRAINT, SURROGATE_CONSTRAINT
from elsewhere.errors import SerializationError, ValidationError
from elsewhere.protocol import parse_form
from tests.unit.protocol.test_properties import IAM, QUERY, RA, RA_PROTO, STS, value_of

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
Path = tuple[object, ...]


def _string_leaves(shape: Shape, value: Any, path: Path = ()) -> Iterator[tuple[Path, Shape]]:
    """Every string inside ``value`` (map keys included), with its path and shape."""
    t = shape.type_name
    if t == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from _string_leaves(member, value[name], (*path, name))
    elif t == "list":
        for i, item in enumerate(value):
            yield from _string_leaves(shape.member, item, (*path, i))
    elif t == "map":
        for key, item in value.items():
            yield (*path, ("key", key)), shape.key
            yield from _string_leaves(shape.value, item, (*path, key))
    elif t == "string":
        yield path, shape


def _replace(value: Any, path: Path, make: Any) -> Any:
    """``value`` with the string at ``path`` replaced by ``make(old)``."""
    if not path:
        return make(value)
    head, rest = path[0], path[1:]
    if isinstance(head, tuple):  # a map key
        old = head[1]
        return {(make(k) if k == old else k): v for k, v in value.items()}
    if isinstance(value, list):
        out = list(value)
        out[head] = _replace(out[head], rest, make)
        return out
    return {**value, head: _replace(value[head], rest, make)}  # type: ignore[index]


def _poison(
    data: st.DataObject, op: OperationModel, params: dict[str, Any], surrogate: bool
) -> tuple[Path, dict[str, Any]]:
    """``params`` with one string holding a NUL (or a lone surrogate) at a drawn position."""
    leaves = list(_string_leaves(op.input_shape, params))
    assume(leaves)
    path, _ = data.draw(st.sampled_from(leaves), label="leaf")
    bad = data.draw(SURROGATES if surrogate else st.just("\x00"), label="character")

    def make(old: str) -> str:
        at = data.draw(st.integers(0, len(old)), label="position")
        return old[:at] + bad + old[at:]

    return path, _replace(params, path, make)


def _operations(model: Any) -> list[OperationModel]:
    """The operations of ``model`` that take input."""
    ops = [model.operation_model(name) for name in model.operation_names]
    return [op for op in ops if op.input_shape is not None and op.input_shape.members]


def _body_member(op: OperationModel, path: Path) -> bool:
    """Whether the top-level member at ``path`` travels in the JSON body."""
    member = op.input_shape.members[str(path[0])]
    return member.serialization.get("location") is None


@PROPERTY
@given(st.sampled_from(_operations(RA)), st.booleans(), st.data())
def test_restjson_refuses_unstorable_text_anywhere(
    op: OperationModel, surrogate: bool, data: st.DataObject
) -> None:
    """A NUL or lone surrogate in any rolesanywhere string member is a ValidationException."""
    params = data.draw(value_of(op.input_shape), label="params")
    path, poisoned = _poison(data, op, params, surrogate)
    # A surrogate can be written only as a JSON escape: the path and query string are UTF-8.
    assume(not surrogate or _body_member(op, path))
    request = create_serializer("rest-json").serialize_to_request(poisoned, op)
    query = percent_encode_sequence(request["query_string"]) if request["query_string"] else ""
    matched, labels = RA_PROTO.match(request["method"], request["url_path"], query)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    with pytest.raises(ValidationError) as refused:
        RA_PROTO.parse(matched, labels, query, headers, request["body"])
    assert refused.value.status == 400
    # The refused value is echoed (Coral's "Value '...'") with no surrogate left in it.
    refused.value.message.encode("utf-8")


@PROPERTY
@given(
    st.sampled_from(["iam", "sts"]).flatmap(
        lambda s: st.tuples(st.just(s), st.sampled_from(_operations(IAM if s == "iam" else STS)))
    ),
    st.data(),
)
def test_query_refuses_nul_anywhere(
    case: tuple[str, OperationModel], data: st.DataObject
) -> None:
    """A NUL in any IAM or STS string member, percent-encoded in the form, is a ValidationError."""
    service, op = case
    params = data.draw(value_of(op.input_shape), label="params")
    _, poisoned = _poison(data, op, params, surrogate=False)
    request = create_serializer("query").serialize_to_request(poisoned, op)
    pairs = parse_form(urllib.parse.urlencode(request["body"]).encode())
    with pytest.raises(ValidationError):
        QUERY[service].parse(pairs)


@given(st.text(max_size=10), SURROGATES, st.text(max_size=10))
def test_form_refuses_an_encoded_surrogate(left: str, bad: str, right: str) -> None:
    """A surrogate's UTF-8-style bytes (%ED%A0%80) in a form value are a SerializationError."""
    raw = (left + bad + right).encode("utf-8", "surrogatepass")
    body = b"Action=GetRole&RoleName=" + urllib.parse.quote_from_bytes(raw).encode()
    with pytest.raises(SerializationError):
        parse_form(body)


@pytest.mark.parametrize(
    ("case", "doc"),
    [
        ("fail/role-arn-lone-surrogate", '["arn:aws:iam::123456789012:role/\\ud800"]'),
        ("fail/role-arn-nul", '["arn:aws:iam::123456789012:role/a\\u0000"]'),
    ],
)
def test_create_profile_role_arns(case: str, doc: str) -> None:
    """CreateProfile with a poisoned role ARN (the value that froze revocation) is refused."""
    op = RA_PROTO.match("POST", "/profiles")[0]
    body = f'{{"name": "p", "roleArns": {doc}}}'.encode()
    with pytest.raises(ValidationError) as refused:
        RA_PROTO.parse(op, {}, "", {}, body)
    assert "at 'roleArns' failed to satisfy constraint: Member must satisfy constraint" in (
        refused.value.message
    ), case


@pytest.mark.parametrize(
    ("case", "name", "constraint"),
    [
        ("fail/surrogate", "p\ud800", SURROGATE_CONSTRAINT),
        ("fail/nul", "p\x00", NUL_CONSTRAINT),
        ("fail/both", "\x00\udc00", f"{NUL_CONSTRAINT}; "),
    ],
)
def test_scalar_member_names_the_constraint(case: str, name: str, constraint: str) -> None:
    """A scalar member names why its text is refused, and echoes it without the surrogate."""
    op = RA_PROTO.match("POST", "/profiles")[0]
    body = json.dumps({"name": name, "roleArns": []}).encode()
    with pytest.raises(ValidationError) as refused:
        RA_PROTO.parse(op, {}, "", {}, body)
    message = refused.value.message
    assert constraint in message, case
    message.encode("utf-8")  # echoed with U+FFFD in place of the surrogate
