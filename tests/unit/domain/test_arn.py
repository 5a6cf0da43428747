"""ARN parsing and formatting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.domain import (
    Arn,
    InvalidArnError,
    format_arn,
    format_rolesanywhere_arn,
    parse_arn,
    parse_rolesanywhere_arn,
)
from elsewhere.errors import ValidationError

ACCOUNT = "123456789012"
UUID = "0f3a8d1e-7b2c-4e5f-9a6b-1c2d3e4f5a6b"

partitions = st.sampled_from(["aws", "aws-cn", "aws-us-gov", "aws-iso-b"])
services = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
regions = st.sampled_from(["", "us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"])
accounts = st.one_of(st.just(""), st.just("aws"), st.from_regex(r"[0-9]{12}", fullmatch=True))
resources = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60
)


@settings(max_examples=200)
@given(partitions, services, regions, accounts, resources)
def test_format_then_parse_round_trips(
    partition: str, service: str, region: str, account: str, resource: str
) -> None:
    """Any well-formed ARN parses back to the fields it was formatted from."""
    arn = Arn(partition, service, region, account, resource)
    assert parse_arn(format_arn(arn)) == arn
    assert str(arn) == format_arn(arn)


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_parse_never_crashes(text: str) -> None:
    """Arbitrary text either parses or raises InvalidArnError, nothing else."""
    try:
        arn = parse_arn(text)
    except InvalidArnError:
        return
    assert format_arn(arn) == text


@pytest.mark.parametrize(
    ("text", "resource_type", "resource_id"),
    [
        pytest.param(
            f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/{UUID}",
            "trust-anchor",
            UUID,
            id="ok/trust-anchor",
        ),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/a/b/c", "role", "a/b/c", id="ok/role-with-path"),
        pytest.param("arn:aws:s3:::bucket/key:x", "bucket", "key:x", id="ok/colon-in-resource"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:root", "root", "", id="ok/no-resource-id"),
    ],
)
def test_resource_type_and_id(text: str, resource_type: str, resource_id: str) -> None:
    """The resource part splits at its first separator."""
    arn = parse_arn(text)
    assert (arn.resource_type, arn.resource_id) == (resource_type, resource_id)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="fail/empty"),
        pytest.param("arn:aws:iam::123456789012", id="fail/five-fields"),
        pytest.param("urn:aws:iam::123456789012:root", id="fail/not-arn-prefix"),
        pytest.param("arn:gcp:iam::123456789012:root", id="fail/bad-partition"),
        pytest.param("arn:aws:IAM::123456789012:root", id="fail/uppercase-service"),
        pytest.param("arn:aws:iam:moon:123456789012:root", id="fail/bad-region"),
        pytest.param("arn:aws:iam::12345:root", id="fail/short-account"),
        pytest.param("arn:aws:iam::123456789012:", id="fail/empty-resource"),
    ],
)
def test_parse_refuses(text: str) -> None:
    """Malformed ARNs raise InvalidArnError, a ValidationError."""
    with pytest.raises(InvalidArnError) as info:
        parse_arn(text)
    assert isinstance(info.value, ValidationError)


@pytest.mark.parametrize("kind", ["trust-anchor", "profile", "crl", "subject"])
def test_rolesanywhere_arn_round_trip(kind: str) -> None:
    """format_rolesanywhere_arn builds the documented shape and parses back to its kind."""
    text = format_rolesanywhere_arn("aws", "us-east-1", ACCOUNT, kind, UUID)
    assert text == f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:{kind}/{UUID}"
    arn = parse_rolesanywhere_arn(text, kind)
    assert (arn.resource_type, arn.resource_id) == (kind, UUID)


def test_rolesanywhere_alias_arn() -> None:
    """Alias ARNs are accepted for their resource kind."""
    text = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:alias/profile/my-alias"
    arn = parse_rolesanywhere_arn(text, "profile")
    assert arn.resource_type == "alias"
    assert arn.resource_id == "profile/my-alias"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/r", None, id="fail/other-service"),
        pytest.param(f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:widget/x", None, id="fail/kind"),
        pytest.param(f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:profile/", None, id="fail/no-id"),
        pytest.param(
            f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:crl/{UUID}", "profile", id="fail/wrong-kind"
        ),
        pytest.param(
            f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:alias/widget/x", None, id="fail/alias-kind"
        ),
        pytest.param(
            f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:alias/crl/x", "profile", id="fail/alias-of"
        ),
    ],
)
def test_rolesanywhere_arn_refuses(text: str, kind: str | None) -> None:
    """ARNs of other services, kinds or shapes are refused."""
    with pytest.raises(InvalidArnError):
        parse_rolesanywhere_arn(text, kind)


def test_format_rolesanywhere_arn_refuses_unknown_kind() -> None:
    """Formatting an unknown resource kind is a programming error."""
    with pytest.raises(ValueError, match="unknown"):
        format_rolesanywhere_arn("aws", "us-east-1", ACCOUNT, "widget", UUID)
