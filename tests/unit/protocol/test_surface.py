"""The package's public surface and its limits."""

from __future__ import annotations

import pytest

import elsewhere.protocol as protocol
from elsewhere.errors import RequestEntityTooLarge, ValidationError
from elsewhere.protocol import (
    MAX_BODY_BYTES,
    QueryProtocol,
    RestJsonProtocol,
    load_service_model,
    parse_form,
)


def test_all_names_exist() -> None:
    """Every name in __all__ is importable, and nothing framework-specific is imported."""
    for name in protocol.__all__:
        assert hasattr(protocol, name), name
    import sys

    assert "starlette" not in {m.split(".")[0] for m in vars(protocol)}
    assert all(not m.startswith("elsewhere.api") for m in sys.modules if "protocol" in m)


def test_models_are_cached() -> None:
    """load_service_model returns the same object each time."""
    assert load_service_model("iam") is load_service_model("iam")
    with pytest.raises(ValueError, match="unsupported service"):
        load_service_model("s3")


def test_oversized_bodies_are_refused() -> None:
    """A body above MAX_BODY_BYTES is RequestEntityTooLarge (413) in both protocols."""
    big = b" " * (MAX_BODY_BYTES + 1)
    ra = RestJsonProtocol(load_service_model("rolesanywhere"))
    with pytest.raises(RequestEntityTooLarge):
        ra.parse(ra.model.operation_model("ListProfiles"), {}, "", {}, big)
    with pytest.raises(RequestEntityTooLarge):
        parse_form(big)


def test_long_hostile_value_is_checked_quickly() -> None:
    """A 100 kB ARN of colons fails on length without running the backtracking pattern."""
    sts = QueryProtocol(load_service_model("sts"))
    arn = "arn:aws:iam" + ":" * 100_000
    with pytest.raises(ValidationError) as info:
        sts.parse([("Action", "AssumeRole"), ("RoleArn", arn), ("RoleSessionName", "s1")])
    assert "Member must have length less than or equal to 2048" in info.value.message
    assert "regular expression" not in info.value.message
