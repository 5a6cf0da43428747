"""The package's public surface and its limits."""

from __future__ import annotations

import subprocess
import sys

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
    """Every name in __all__ is importable."""
    for name in protocol.__all__:
        assert hasattr(protocol, name), name


def test_no_web_framework_is_imported() -> None:
    """Importing the protocol layer pulls in neither starlette nor uvicorn (bytes in, bytes out)."""
    code = (
        "import sys, elsewhere.protocol; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


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
