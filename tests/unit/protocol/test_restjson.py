"""restJson1 (rolesanywhere): botocore's own serializer and parser on both ends of our protocol."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from elsewhere.errors import (
    AccessDenied,
    ElsewhereError,
    InternalError,
    ResourceNotFound,
    SerializationError,
    UnknownOperation,
    ValidationError,
)
from elsewhere.protocol import RestJsonProtocol, load_service_model, render_json_error
from tests.unit.protocol._examples import example_value

MODEL = load_service_model("rolesanywhere")
PROTO = RestJsonProtocol(MODEL)
UUID = "11111111-2222-3333-4444-555555555555"


def send(op_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Serialize ``params`` with botocore, then route and parse the request with our protocol."""
    op = MODEL.operation_model(op_name)
    req = create_serializer("rest-json").serialize_to_request(params, op)
    query = percent_encode_sequence(req["query_string"]) if req["query_string"] else ""
    matched, labels = PROTO.match(req["method"], req["url_path"], query)
    assert matched.name == op_name
    headers = {k.lower(): v for k, v in req["headers"].items()}
    return PROTO.parse(matched, labels, query, headers, req["body"])


def botocore_reads(op_name: str, response: Any) -> dict[str, Any]:
    """Parse one of our responses the way a boto3 client would."""
    op = MODEL.operation_model(op_name)
    http = {
        "status_code": response.status,
        "headers": {k.lower(): v for k, v in response.headers},
        "body": response.body,
    }
    return create_parser("rest-json").parse(http, op.output_shape)  # type: ignore[no-any-return]


@pytest.mark.parametrize("op_name", MODEL.operation_names)
def test_every_operation_round_trips_a_full_request(op_name: str) -> None:
    """ok/<op>: botocore's request for every member comes back as the same params."""
    op = MODEL.operation_model(op_name)
    params = example_value(op.input_shape)
    assert send(op_name, params) == params


@pytest.mark.parametrize("op_name", MODEL.operation_names)
def test_every_operation_serializes_a_full_response(op_name: str) -> None:
    """ok/<op>: botocore parses our response back to the output we gave, with status and id."""
    op = MODEL.operation_model(op_name)
    output = example_value(op.output_shape)
    resp = PROTO.serialize(op, output, "req-1")
    assert resp.status == op.http["responseCode"]
    parsed = botocore_reads(op_name, resp)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


def test_timestamps_are_iso8601_with_z_and_microseconds() -> None:
    """rolesanywhere's timestamps are ISO 8601 strings, microseconds only when present."""
    op = MODEL.operation_model("GetCrl")
    whole = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    frac = dt.datetime(2022, 7, 1, 18, 11, 27, 380711, tzinfo=dt.UTC)
    resp = PROTO.serialize(op, {"crl": {"createdAt": whole, "updatedAt": frac}}, "r")
    assert json.loads(resp.body) == {
        "crl": {"createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2022-07-01T18:11:27.380711Z"}
    }
    assert ("Content-Type", "application/json") in resp.headers
    assert ("x-amzn-RequestId", "r") in resp.headers


def test_none_members_are_omitted() -> None:
    """A None output member is left out of the body, not sent as null."""
    op = MODEL.operation_model("ListProfiles")
    resp = PROTO.serialize(op, {"profiles": [], "nextToken": None}, "r")
    assert json.loads(resp.body) == {"profiles": []}


ROUTES = [
    ("ok/literal", "GET", "/profiles", "ListProfiles", {}),
    ("ok/trailing-slash", "GET", "/profiles/", "ListProfiles", {}),
    ("ok/label", "GET", f"/profile/{UUID}", "GetProfile", {"profileId": UUID}),
    ("ok/label-trailing-slash", "GET", f"/profile/{UUID}/", "GetProfile", {"profileId": UUID}),
    ("ok/encoded-slash-in-label", "GET", "/profile/a%2Fb", "GetProfile", {"profileId": "a/b"}),
    (
        "ok/encoded-label",
        "PUT",
        "/profiles/a%20b%2Fc%25d~e%2Bf%3Ag%40h%21%C3%A9/mappings",
        "PutAttributeMapping",
        {"profileId": "a b/c%d~e+f:g@h!é"},
    ),
    ("ok/label-then-literal", "POST", f"/crl/{UUID}/enable", "EnableCrl", {"crlId": UUID}),
    ("ok/method-lowercase", "delete", f"/crl/{UUID}", "DeleteCrl", {"crlId": UUID}),
]


@pytest.mark.parametrize(("case", "method", "path", "op_name", "labels"), ROUTES)
def test_routes(case: str, method: str, path: str, op_name: str, labels: dict[str, str]) -> None:
    """Routing matches the raw path and decodes labels only after matching."""
    op, got = PROTO.match(method, path)
    assert (op.name, got) == (op_name, labels), case


@pytest.mark.parametrize(
    ("case", "method", "path"),
    [
        ("fail/unknown-path", "GET", "/nothing-here"),
        ("fail/wrong-method", "PUT", "/profiles"),
        ("fail/extra-segment", "GET", f"/profile/{UUID}/x/y"),
        ("fail/two-trailing-slashes", "GET", "/profiles//"),
        ("fail/empty-label", "GET", "/profile/"),
        ("fail/root", "POST", "/"),
    ],
)
def test_unknown_routes(case: str, method: str, path: str) -> None:
    """An unmatched route is UnknownOperation (404 UnknownOperationException)."""
    with pytest.raises(UnknownOperation) as info:
        PROTO.match(method, path)
    assert info.value.status_for("json") == 404, case
    assert info.value.code_for("json") == "UnknownOperationException"


def test_empty_body_is_an_empty_object() -> None:
    """An empty body on an operation with body members parses as {} (then validation runs)."""
    op = MODEL.operation_model("UpdateProfile")
    assert PROTO.parse(op, {"profileId": UUID}, "", {}, b"") == {"profileId": UUID}


def test_unknown_members_are_ignored() -> None:
    """Unknown JSON keys are ignored for forward compatibility."""
    op = MODEL.operation_model("UpdateProfile")
    body = b'{"futureField": [1, 2], "name": "n"}'
    assert PROTO.parse(op, {"profileId": UUID}, "", {}, body) == {"profileId": UUID, "name": "n"}


def test_query_members_decode_types() -> None:
    """pageSize decodes to int; nextToken keeps '+' and decodes %2F."""
    op = MODEL.operation_model("ListProfiles")
    got = PROTO.parse(op, {}, "pageSize=5&nextToken=a%20b%2Fc%2Bd", {}, b"")
    assert got == {"pageSize": 5, "nextToken": "a b/c+d"}


SERIALIZATION_FAILURES = [
    ("fail/not-json", "UpdateProfile", b"{nope"),
    ("fail/not-utf8", "UpdateProfile", b'{"name": "\xff"}'),
    ("fail/array-body", "UpdateProfile", b"[]"),
    ("fail/string-for-string-list", "UpdateProfile", b'{"roleArns": "x"}'),
    ("fail/number-for-string", "UpdateProfile", b'{"name": 5}'),
    ("fail/string-for-int", "UpdateProfile", b'{"durationSeconds": "5"}'),
    ("fail/float-for-int", "UpdateProfile", b'{"durationSeconds": 5.5}'),
    ("fail/bool-for-int", "UpdateProfile", b'{"durationSeconds": true}'),
    ("fail/int-for-bool", "CreateProfile", b'{"enabled": 1}'),
    ("fail/bad-base64", "UpdateCrl", b'{"crlData": "***"}'),
    ("fail/nan-literal", "UpdateProfile", b'{"durationSeconds": NaN}'),
    ("fail/object-for-list-element", "CreateProfile", b'{"tags": [1]}'),
    ("fail/deep-nesting", "UpdateProfile", b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
]


@pytest.mark.parametrize(("case", "op_name", "body"), SERIALIZATION_FAILURES)
def test_serialization_errors(case: str, op_name: str, body: bytes) -> None:
    """A body that is not JSON of the right types is 400 SerializationException."""
    op = MODEL.operation_model(op_name)
    labels = {"profileId": UUID, "crlId": UUID}
    with pytest.raises(SerializationError) as info:
        PROTO.parse(op, labels, "", {}, body)
    assert info.value.status_for("json") == 400, case
    assert info.value.code_for("json") == "SerializationException"


def test_bad_query_integer_is_a_serialization_error() -> None:
    """pageSize=abc cannot be decoded."""
    op = MODEL.operation_model("ListProfiles")
    with pytest.raises(SerializationError):
        PROTO.parse(op, {}, "pageSize=abc", {}, b"")


@pytest.mark.parametrize(
    "error",
    [
        ResourceNotFound("Resource not found"),
        AccessDenied("nope"),
        ValidationError("1 validation error detected: x"),
        InternalError(),
    ],
)
def test_errors_parse_in_botocore(error: ElsewhereError) -> None:
    """botocore reads the code, message, status and request id of every error."""
    resp = PROTO.serialize_error(error, "rid-9")
    assert resp == render_json_error(error, "rid-9")
    parsed = create_parser("rest-json").parse(
        {
            "status_code": resp.status,
            "headers": {k.lower(): v for k, v in resp.headers},
            "body": resp.body,
        },
        MODEL.operation_model("GetProfile").output_shape,
    )
    assert parsed["Error"]["Code"] == error.code_for("json")
    assert parsed["Error"]["Message"] == error.message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == error.status_for("json")


def test_error_body_hides_the_reason() -> None:
    """The private reason never reaches the wire."""
    resp = render_json_error(AccessDenied("Access denied", reason="secret detail"), "r")
    assert b"secret detail" not in resp.body
