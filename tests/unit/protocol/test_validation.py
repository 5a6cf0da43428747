"""Coral-style validation messages (aws-protocols.md §3.3): exact texts, via the real parsers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from elsewhere.errors import ValidationError
from elsewhere.protocol import RestJsonProtocol, load_service_model

MODEL = load_service_model("rolesanywhere")
PROTO = RestJsonProtocol(MODEL)
UUID = "11111111-2222-3333-4444-555555555555"
ROLE = "arn:aws:iam::123456789012:role/r"
ROLE_ARN_CONSTRAINTS = (
    "[Member must have length less than or equal to 1011, "
    "Member must have length greater than or equal to 1, "
    "Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam(:.*){2}(:role.*), "
    "Member must not be null]"
)


def parse(op_name: str, body: dict[str, Any] | None = None, query: str = "", **labels: str) -> Any:
    """Parse a JSON request for ``op_name``."""
    op = MODEL.operation_model(op_name)
    raw = json.dumps(body).encode() if body is not None else b""
    return PROTO.parse(op, labels, query, {}, raw)


CASES: list[tuple[str, str, dict[str, Any] | None, str, dict[str, str], str]] = [
    (
        "fail/name-pattern",
        "CreateProfile",
        {"name": "my profile!", "roleArns": [ROLE]},
        "",
        {},
        "1 validation error detected: Value 'my profile!' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [ a-zA-Z0-9-_]*",
    ),
    (
        "fail/duration-max",
        "CreateProfile",
        {"name": "p", "roleArns": [ROLE], "durationSeconds": 43201},
        "",
        {},
        "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value less than or equal to 43200",
    ),
    (
        "fail/duration-min",
        "CreateProfile",
        {"name": "p", "roleArns": [ROLE], "durationSeconds": 20},
        "",
        {},
        "1 validation error detected: Value '20' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 900",
    ),
    (
        "fail/enum-in-query",
        "DeleteAttributeMapping",
        None,
        "certificateField=x509Foo",
        {"profileId": UUID},
        "1 validation error detected: Value 'x509Foo' at 'certificateField' failed to satisfy "
        "constraint: Member must satisfy enum value set: [x509Subject, x509Issuer, x509SAN]",
    ),
    (
        "fail/null-then-length",
        "CreateProfile",
        {"name": "n" * 256},
        "",
        {},
        "2 validation errors detected: Value null at 'roleArns' failed to satisfy constraint: "
        "Member must not be null; Value '" + "n" * 256 + "' at 'name' failed to satisfy "
        "constraint: Member must have length less than or equal to 255",
    ),
    (
        "fail/sensitive-tag-key-hides-value",
        "CreateProfile",
        {"name": "p", "roleArns": [ROLE], "tags": [{"key": "bad#", "value": "v"}]},
        "",
        {},
        "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [ a-zA-Z0-9_.:/=+@-]*",
    ),
    (
        "fail/nested-required-in-list",
        "CreateProfile",
        {"name": "p", "roleArns": [ROLE], "tags": [{"key": "k", "value": "v"}, {"key": "k2"}]},
        "",
        {},
        "1 validation error detected: Value null at 'tags.2.member.value' failed to satisfy "
        "constraint: Member must not be null",
    ),
    (
        "fail/scalar-list-element-reported-on-list",
        "CreateProfile",
        {"name": "p", "roleArns": [ROLE, "not-an-arn"]},
        "",
        {},
        f"1 validation error detected: Value '[{ROLE}, not-an-arn]' at 'roleArns' failed to "
        f"satisfy constraint: Member must satisfy constraint: {ROLE_ARN_CONSTRAINTS}",
    ),
    (
        "fail/null-list-element",
        "CreateProfile",
        {"name": "p", "roleArns": [None]},
        "",
        {},
        "1 validation error detected: Value '[null]' at 'roleArns' failed to satisfy constraint: "
        f"Member must satisfy constraint: {ROLE_ARN_CONSTRAINTS}",
    ),
    (
        "fail/label-pattern",
        "GetProfile",
        None,
        "",
        {"profileId": "abc"},
        "1 validation error detected: Value 'abc' at 'profileId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "([a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}|"
        "arn:aws(-[^:]+)?:rolesanywhere(:.*){2}:(profile|alias/profile)/.*)",
    ),
    (
        "fail/union-two-members",
        "CreateTrustAnchor",
        {
            "name": "t",
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": "pem", "acmPcaArn": "arn"},
            },
        },
        "",
        {},
        "1 validation error detected: Value '{x509CertificateData=pem, acmPcaArn=arn}' at "
        "'source.sourceData' failed to satisfy constraint: Member must have exactly one member set",
    ),
    (
        "fail/empty-blob",
        "ImportCrl",
        {"name": "c", "crlData": "", "trustAnchorArn": "arn:aws:rolesanywhere:x:1:trust-anchor/a"},
        "",
        {},
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at "
        "'crlData' failed to satisfy constraint: Member must have length greater than or equal "
        "to 1",
    ),
]


@pytest.mark.parametrize(
    ("case", "op_name", "body", "query", "labels", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_validation_messages(
    case: str,
    op_name: str,
    body: dict[str, Any] | None,
    query: str,
    labels: dict[str, str],
    message: str,
) -> None:
    """Each bad input yields AWS's exact Coral text as a 400 ValidationException."""
    with pytest.raises(ValidationError) as info:
        parse(op_name, body, query, **labels)
    assert info.value.message == message
    assert info.value.status_for("json") == 400
    assert info.value.code_for("json") == "ValidationException"


OK_CASES: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
    ("ok/minimal-profile", "CreateProfile", {"name": "p", "roleArns": []}, {}),
    ("ok/name-with-space", "CreateProfile", {"name": "my profile", "roleArns": [ROLE]}, {}),
    (
        "ok/duration-bounds",
        "CreateProfile",
        {"name": "p", "roleArns": [], "durationSeconds": 900},
        {},
    ),
    (
        "ok/profile-arn-as-id",
        "GetProfile",
        None,
        {"profileId": f"arn:aws:rolesanywhere:us-east-1:123456789012:profile/{UUID}"},
    ),
    (
        "ok/union-one-member",
        "CreateTrustAnchor",
        {"name": "t", "source": {"sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": "a"}}},
        {},
    ),
]


@pytest.mark.parametrize(
    ("case", "op_name", "body", "labels"), OK_CASES, ids=[c[0] for c in OK_CASES]
)
def test_valid_inputs_pass(
    case: str, op_name: str, body: dict[str, Any] | None, labels: dict[str, str]
) -> None:
    """Valid inputs come back unchanged."""
    assert parse(op_name, body, "", **labels) == {**(body or {}), **labels}, case


def test_items_are_capped_at_ten() -> None:
    """Only the first ten violations are reported, and the count says ten."""
    tags = [{"key": f"bad#{i}", "value": "v"} for i in range(15)]
    with pytest.raises(ValidationError) as info:
        parse("CreateProfile", {"name": "p", "roleArns": [], "tags": tags})
    assert info.value.message.startswith("10 validation errors detected: ")
    assert info.value.message.count("failed to satisfy constraint") == 10


def test_pattern_uses_full_match_and_java_classes() -> None:
    """A trailing newline fails a pattern (fullmatch, not match)."""
    with pytest.raises(ValidationError):
        parse("CreateProfile", {"name": "p\n", "roleArns": []})


def test_null_character_is_refused() -> None:
    """A NUL in any string member is a ValidationException (the store cannot hold it)."""
    arn = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/a\x00b"
    with pytest.raises(ValidationError) as info:
        parse("ListTagsForResource", None, "resourceArn=" + arn.replace("\x00", "%00"))
    assert info.value.message.startswith("1 validation error detected: ")
    assert "at 'resourceArn' failed to satisfy constraint: " in info.value.message
    assert "Member must not contain the null character" in info.value.message
