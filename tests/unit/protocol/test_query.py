"""awsQuery + XML (IAM, STS): botocore's own serializer and parser on both ends of our protocol."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from elsewhere.errors import (
    AccessDenied,
    ElsewhereError,
    InternalError,
    InvalidAction,
    MissingAction,
    NoSuchEntity,
    SerializationError,
    ValidationError,
)
from elsewhere.protocol import QueryProtocol, load_service_model, parse_form
from tests.unit.protocol._examples import example_value

IAM = load_service_model("iam")
STS = load_service_model("sts")
PROTOCOLS = {"iam": QueryProtocol(IAM), "sts": QueryProtocol(STS)}
MODELS = {"iam": IAM, "sts": STS}
OPS = [("iam", n) for n in IAM.operation_names] + [("sts", n) for n in STS.operation_names]


def send(service: str, op_name: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Serialize with botocore, form-encode like botocore's transport, parse with ours."""
    op = MODELS[service].operation_model(op_name)
    req = create_serializer("query").serialize_to_request(params, op)
    body = urllib.parse.urlencode(req["body"]).encode()  # botocore awsrequest.py does the same
    parsed_op, got = PROTOCOLS[service].parse(parse_form(body))
    return parsed_op.name, got


def botocore_reads(service: str, op_name: str, resp: Any) -> dict[str, Any]:
    """Parse one of our XML responses the way a boto3 client would."""
    op = MODELS[service].operation_model(op_name)
    http = {
        "status_code": resp.status,
        "headers": {k.lower(): v for k, v in resp.headers},
        "body": resp.body,
    }
    return create_parser("query").parse(http, op.output_shape)  # type: ignore[no-any-return]


def _policies_encoded(shape: Any, value: Any) -> Any:
    """``value`` with every policyDocumentType string percent-encoded, as IAM sends it."""
    if value is None:
        return None
    if shape.type_name == "structure":
        return {k: _policies_encoded(shape.members[k], v) for k, v in value.items()}
    if shape.type_name == "list":
        return [_policies_encoded(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: _policies_encoded(shape.value, v) for k, v in value.items()}
    if shape.name == "policyDocumentType":
        return urllib.parse.quote(value, safe="")
    return value


@pytest.mark.parametrize(("service", "op_name"), OPS)
def test_every_operation_round_trips_a_full_request(service: str, op_name: str) -> None:
    """ok/<op>: botocore's form request for every member comes back as the same params."""
    op = MODELS[service].operation_model(op_name)
    params = example_value(op.input_shape) if op.input_shape is not None else {}
    assert send(service, op_name, params) == (op_name, params)


@pytest.mark.parametrize(("service", "op_name"), OPS)
def test_every_operation_serializes_a_full_response(service: str, op_name: str) -> None:
    """ok/<op>: botocore parses our XML back to the output we gave, with the request id."""
    op = MODELS[service].operation_model(op_name)
    output = example_value(op.output_shape) if op.output_shape is not None else {}
    resp = PROTOCOLS[service].serialize(op, output, "req-7")
    assert resp.status == 200
    assert ("Content-Type", "text/xml") in resp.headers
    assert ("x-amzn-RequestId", "req-7") in resp.headers
    parsed = botocore_reads(service, op_name, resp)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-7"
    expected = _policies_encoded(op.output_shape, output) if op.output_shape else {}
    assert parsed == expected


def test_empty_list_travels_as_empty_value() -> None:
    """TagRole(Tags=[]) is sent as ``Tags=`` and reads back as an empty list."""
    assert send("iam", "TagRole", {"RoleName": "r", "Tags": []}) == (
        "TagRole",
        {"RoleName": "r", "Tags": []},
    )


def test_plus_is_a_space_and_slashes_decode() -> None:
    """Form rules: ``+`` is a space, ``%2F`` a slash."""
    pairs = parse_form(b"Action=ListRoles&Marker=%2Fa+b%2F&Version=2010-05-08")
    assert PROTOCOLS["iam"].parse(pairs)[1] == {"Marker": "/a b/"}


def test_policy_documents_are_url_encoded_and_botocore_decodes_them() -> None:
    """GetRolePolicy's document is percent-encoded; botocore's IAM handler restores the dict."""
    from botocore.handlers import json_decode_policies

    op = IAM.operation_model("GetRolePolicy")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    out = {"RoleName": "r", "PolicyName": "p", "PolicyDocument": json.dumps(doc)}
    resp = PROTOCOLS["iam"].serialize(op, out, "r")
    assert b"%7B%22Version%22%3A" in resp.body
    parsed = botocore_reads("iam", "GetRolePolicy", resp)
    json_decode_policies(parsed, op)
    assert parsed["PolicyDocument"] == doc


def test_timestamps_and_booleans() -> None:
    """Timestamps are ISO 8601 with Z; booleans are lower-case true/false."""
    op = IAM.operation_model("ListRoles")
    role = {
        "Path": "/",
        "RoleName": "r",
        "RoleId": "AROAEXAMPLE0000000000",
        "Arn": "arn:aws:iam::123456789012:role/r",
        "CreateDate": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    }
    resp = PROTOCOLS["iam"].serialize(op, {"Roles": [role], "IsTruncated": False}, "r")
    assert b"<CreateDate>2024-01-02T03:04:05Z</CreateDate>" in resp.body
    assert b"<IsTruncated>false</IsTruncated>" in resp.body
    assert b"<ListRolesResult>" in resp.body


def test_operation_without_output_has_metadata_only() -> None:
    """DeleteRole: root element and ResponseMetadata, which botocore accepts."""
    op = IAM.operation_model("DeleteRole")
    resp = PROTOCOLS["iam"].serialize(op, None, "rid")
    assert b'<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in resp.body
    assert botocore_reads("iam", "DeleteRole", resp)["ResponseMetadata"]["RequestId"] == "rid"


@pytest.mark.parametrize(
    ("case", "pairs", "error", "message"),
    [
        ("fail/no-action", [("RoleName", "r")], MissingAction, "Missing Action"),
        ("fail/empty-action", [("Action", "")], MissingAction, "Missing Action"),
        (
            "fail/unknown-action",
            [("Action", "Frobnicate"), ("Version", "2010-05-08")],
            InvalidAction,
            "Could not find operation Frobnicate for version 2010-05-08",
        ),
        (
            "fail/sts-action-on-iam",
            [("Action", "AssumeRole")],
            InvalidAction,
            "Could not find operation AssumeRole for version 2010-05-08",
        ),
    ],
)
def test_action_errors(
    case: str, pairs: list[tuple[str, str]], error: type[ElsewhereError], message: str
) -> None:
    """Missing or unknown Action is a 400 with the query code."""
    with pytest.raises(error) as info:
        PROTOCOLS["iam"].parse(pairs)
    assert info.value.message == message, case
    assert info.value.status_for("query") == 400


LONG_ROLE = "changeAgent" + "x" * 60 + "production"
VALIDATION = [
    (
        "fail/iam-role-name-length",
        "iam",
        [("Action", "GetRole"), ("RoleName", LONG_ROLE)],
        f"1 validation error detected: Value '{LONG_ROLE}' at 'roleName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64",
    ),
    (
        "fail/iam-role-name-missing",
        "iam",
        [("Action", "GetRole")],
        "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "fail/sts-duration-min",
        "sts",
        [
            ("Action", "AssumeRole"),
            ("RoleArn", "arn:aws:iam::123456789012:role/r"),
            ("RoleSessionName", "session"),
            ("DurationSeconds", "20"),
        ],
        "1 validation error detected: Value '20' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 900",
    ),
    (
        "fail/sts-session-name-pattern",
        "sts",
        [
            ("Action", "AssumeRole"),
            ("RoleArn", "arn:aws:iam::123456789012:role/r"),
            ("RoleSessionName", "Session Names cannot Hava Spaces!"),
        ],
        "1 validation error detected: Value 'Session Names cannot Hava Spaces!' at "
        "'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: [\\w+=,.@-]*",
    ),
    (
        "fail/sts-unicode-word-is-not-java-word",
        "sts",
        [
            ("Action", "AssumeRole"),
            ("RoleArn", "arn:aws:iam::123456789012:role/r"),
            ("RoleSessionName", "rolé"),
        ],
        "1 validation error detected: Value 'rolé' at 'roleSessionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    ),
    (
        "fail/sts-nested-tag-path",
        "sts",
        [
            ("Action", "AssumeRole"),
            ("RoleArn", "arn:aws:iam::123456789012:role/r"),
            ("RoleSessionName", "session"),
            ("Tags.member.1.Key", "k"),
        ],
        "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy "
        "constraint: Member must not be null",
    ),
    (
        "fail/iam-bad-integer",
        "iam",
        [("Action", "ListRoles"), ("MaxItems", "abc")],
        "1 validation error detected: Value 'abc' at 'maxItems' failed to satisfy constraint: "
        "Member must be an integer",
    ),
    (
        "fail/iam-bad-boolean",
        "iam",
        [
            ("Action", "CreatePolicyVersion"),
            ("PolicyArn", "arn:aws:iam::1:policy/p"),
            ("PolicyDocument", "{}"),
            ("SetAsDefault", "TRUE"),
        ],
        "1 validation error detected: Value 'TRUE' at 'setAsDefault' failed to satisfy "
        "constraint: Member must be a boolean (true or false)",
    ),
]


@pytest.mark.parametrize(("case", "service", "pairs", "message"), VALIDATION)
def test_validation_messages(
    case: str, service: str, pairs: list[tuple[str, str]], message: str
) -> None:
    """Query validation uses the same Coral text and renders as code ValidationError (400)."""
    with pytest.raises(ValidationError) as info:
        PROTOCOLS[service].parse(pairs)
    assert info.value.message == message, case
    resp = PROTOCOLS[service].serialize_error(info.value, "rid")
    parsed = botocore_reads(service, "GetCallerIdentity" if service == "sts" else "GetUser", resp)
    assert parsed["Error"] == {"Type": "Sender", "Code": "ValidationError", "Message": message}
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (NoSuchEntity("The role with name r cannot be found."), "Sender"),
        (AccessDenied("User: x is not authorized <&>"), "Sender"),
        (InternalError(), "Receiver"),
    ],
)
def test_errors_parse_in_botocore(error: ElsewhereError, kind: str) -> None:
    """botocore reads Type, Code, Message, status and request id from our ErrorResponse."""
    resp = PROTOCOLS["iam"].serialize_error(error, "rid-3")
    assert resp.status == error.status_for("query")
    parsed = botocore_reads("iam", "GetRole", resp)
    assert parsed["Error"] == {
        "Type": kind,
        "Code": error.code_for("query"),
        "Message": error.message,
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-3"


@pytest.mark.parametrize(
    ("case", "body"),
    [("fail/not-utf8", b"Action=GetUser&UserName=%ff"), ("fail/raw-not-utf8", b"\xff=1")],
)
def test_form_decoding_errors(case: str, body: bytes) -> None:
    """A form body that is not UTF-8 is a SerializationError."""
    with pytest.raises(SerializationError):
        parse_form(body)
