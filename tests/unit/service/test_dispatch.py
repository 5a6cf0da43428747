"""The dispatcher, and the parts every listing shares (page size, tokens)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from elsewhere.errors import UnknownOperation, ValidationError
from elsewhere.service import OPERATIONS, ControlPlane
from tests.unit.service.conftest import CALLER, ROLE

LISTS = ["ListTrustAnchors", "ListProfiles", "ListCrls", "ListSubjects"]


def test_every_model_operation_is_served() -> None:
    """The dispatcher covers exactly the operations of botocore's rolesanywhere model."""
    model = botocore.session.get_session().get_service_model("rolesanywhere")
    assert frozenset(model.operation_names) == OPERATIONS


def test_unknown_operation(cp: ControlPlane) -> None:
    """An operation the model does not have is refused."""
    with pytest.raises(UnknownOperation):
        cp.handle("CreateWidget", {}, CALLER)


@pytest.mark.parametrize("operation", LISTS)
@pytest.mark.parametrize("page_size", [0, -1])
def test_page_size_below_one(cp: ControlPlane, operation: str, page_size: int) -> None:
    """pageSize below 1 is a ValidationException."""
    with pytest.raises(ValidationError, match="pageSize"):
        cp.handle(operation, {"pageSize": page_size}, CALLER)


def test_page_size_is_capped(make_cp: Any) -> None:
    """pageSize above the maximum returns a full page of the maximum size, and a token."""
    cp = make_cp(max_page_size=2)
    for _ in range(3):
        cp.handle("CreateProfile", {"name": "x", "roleArns": [ROLE]}, CALLER)
    out = cp.handle("ListProfiles", {"pageSize": 1000}, CALLER)
    assert len(out["profiles"]) == 2
    assert "nextToken" in out
    default = make_cp(default_page_size=1).handle("ListProfiles", {}, CALLER)
    assert len(default["profiles"]) == 1


@pytest.mark.parametrize("operation", LISTS)
@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="fail/garbage"),
        pytest.param("eyJzIjoicHJvZmlsZXMiLCJhIjoiIn0.AAAAAAAAAAAAAAAAAAAAAA", id="fail/forged"),
    ],
)
def test_bad_token(cp: ControlPlane, operation: str, token: str) -> None:
    """A token this server did not issue is a ValidationException."""
    with pytest.raises(ValidationError):
        cp.handle(operation, {"nextToken": token}, CALLER)


def test_token_of_another_listing(cp: ControlPlane, profile: dict[str, Any]) -> None:
    """A ListProfiles token does not work for ListCrls."""
    for _ in range(2):
        cp.handle("CreateProfile", {"name": "x", "roleArns": profile["roleArns"]}, CALLER)
    token = cp.handle("ListProfiles", {"pageSize": 1}, CALLER)["nextToken"]
    with pytest.raises(ValidationError):
        cp.handle("ListCrls", {"nextToken": token}, CALLER)


def test_tokens_survive_a_restart(cp: ControlPlane, profile: dict[str, Any], make_cp: Any) -> None:
    """The token key lives in the store, so another node (or a restart) accepts the token."""
    cp.handle("CreateProfile", {"name": "x", "roleArns": profile["roleArns"]}, CALLER)
    token = cp.handle("ListProfiles", {"pageSize": 1}, CALLER)["nextToken"]
    other = make_cp()
    assert len(other.handle("ListProfiles", {"nextToken": token}, CALLER)["profiles"]) == 1
