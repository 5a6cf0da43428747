"""TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from elsewhere.errors import ResourceNotFound, TooManyTags, ValidationError
from elsewhere.service import ControlPlane
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION


def tags_of(cp: ControlPlane, arn: str) -> dict[str, str]:
    """The resource's tags as a dict."""
    out = cp.handle("ListTagsForResource", {"resourceArn": arn}, CALLER)
    return {t["key"]: t["value"] for t in out["tags"]}


def test_tag_untag_list(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """Tags are added, overwritten by key, listed by key, and removed."""
    arn = profile["profileArn"]
    assert cp.handle("ListTagsForResource", {"resourceArn": arn}, CALLER) == {"tags": []}
    tags = [{"key": "b", "value": "1"}, {"key": "a", "value": "2"}]
    assert cp.handle("TagResource", {"resourceArn": arn, "tags": tags}, CALLER) == {}
    out = cp.handle("ListTagsForResource", {"resourceArn": arn}, CALLER)
    assert out == {"tags": [{"key": "a", "value": "2"}, {"key": "b", "value": "1"}]}
    cp.handle("TagResource", {"resourceArn": arn, "tags": [{"key": "a", "value": ""}]}, CALLER)
    assert tags_of(cp, arn) == {"a": "", "b": "1"}
    out = cp.handle("UntagResource", {"resourceArn": arn, "tagKeys": ["a", "missing"]}, CALLER)
    assert out == {}
    assert tags_of(cp, arn) == {"b": "1"}


def test_every_resource_kind_is_taggable(
    cp: ControlPlane, anchor: dict[str, Any], profile: dict[str, Any], crl_der: bytes
) -> None:
    """Trust anchors, profiles and CRLs carry tags, each their own."""
    crl = cp.handle(
        "ImportCrl",
        {"name": "c", "crlData": crl_der, "trustAnchorArn": anchor["trustAnchorArn"]},
        CALLER,
    )["crl"]
    arns = [anchor["trustAnchorArn"], profile["profileArn"], crl["crlArn"]]
    for i, arn in enumerate(arns):
        cp.handle(
            "TagResource", {"resourceArn": arn, "tags": [{"key": "i", "value": str(i)}]}, CALLER
        )
    assert [tags_of(cp, arn) for arn in arns] == [{"i": "0"}, {"i": "1"}, {"i": "2"}]


def test_tags_through_alias_arn(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """An alias ARN tags the resource it names."""
    cp.handle("UpdateProfile", {"profileId": profile["profileId"], "aliasName": "al"}, CALLER)
    alias = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/profile/al"
    cp.handle("TagResource", {"resourceArn": alias, "tags": [{"key": "k", "value": "v"}]}, CALLER)
    assert tags_of(cp, profile["profileArn"]) == {"k": "v"}


def test_limit_counts_existing_tags(
    make_cp: Callable[..., ControlPlane], profile: dict[str, Any]
) -> None:
    """The limit applies to the resulting set; overwriting a key does not count twice."""
    cp = make_cp(max_tags_per_resource=3)
    arn = profile["profileArn"]
    two = [{"key": "a", "value": ""}, {"key": "b", "value": ""}]
    cp.handle("TagResource", {"resourceArn": arn, "tags": two}, CALLER)
    cp.handle(
        "TagResource", {"resourceArn": arn, "tags": [*two, {"key": "c", "value": ""}]}, CALLER
    )
    with pytest.raises(TooManyTags) as info:
        cp.handle("TagResource", {"resourceArn": arn, "tags": [{"key": "d", "value": ""}]}, CALLER)
    assert info.value.code == "TooManyTagsException"
    assert info.value.status == 400
    assert tags_of(cp, arn) == {"a": "", "b": "", "c": ""}


def test_reserved_prefix(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """Keys starting with aws: are reserved."""
    with pytest.raises(ValidationError):
        cp.handle(
            "TagResource",
            {"resourceArn": profile["profileArn"], "tags": [{"key": "AWS:x", "value": ""}]},
            CALLER,
        )


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(
            f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:profile/00000000-0000-4000-8000-000000000000",
            id="fail/missing-profile",
        ),
        pytest.param(
            f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:subject/00000000-0000-4000-8000-000000000000",
            id="fail/subject",
        ),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:role/r", id="fail/other-service"),
        pytest.param("nonsense", id="fail/not-an-arn"),
    ],
)
@pytest.mark.parametrize("operation", ["TagResource", "UntagResource", "ListTagsForResource"])
def test_unknown_resource_is_404(cp: ControlPlane, arn: str, operation: str) -> None:
    """Tag operations on anything but an existing resource answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle(
            operation,
            {"resourceArn": arn, "tags": [{"key": "k", "value": "v"}], "tagKeys": ["k"]},
            CALLER,
        )
