"""Aliases of trust anchors, profiles and CRLs: reserved names, previousAliasName, alias ARNs.

Rules from the ``aliasName``, ``previousAliasName`` and ``trustAnchorArn`` documentation of the
served rolesanywhere model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from elsewhere.errors import ResourceNotFound, ValidationError
from elsewhere.service import ControlPlane
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, ROLE

#: Per resource type: (create operation, update operation, id member, output member).
KINDS = {
    "trust-anchor": ("CreateTrustAnchor", "UpdateTrustAnchor", "trustAnchorId", "trustAnchor"),
    "profile": ("CreateProfile", "UpdateProfile", "profileId", "profile"),
    "crl": ("ImportCrl", "UpdateCrl", "crlId", "crl"),
}
GETS = {"trust-anchor": "GetTrustAnchor", "profile": "GetProfile", "crl": "GetCrl"}
LISTS = {
    "trust-anchor": ("ListTrustAnchors", "trustAnchors"),
    "profile": ("ListProfiles", "profiles"),
    "crl": ("ListCrls", "crls"),
}


@pytest.fixture
def make(cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes) -> Callable[..., dict[str, Any]]:
    """Create a resource of a kind with extra input; its detail."""

    def create(kind: str, **extra: Any) -> dict[str, Any]:
        operation, _, _, output = KINDS[kind]
        params: dict[str, Any] = {
            "trust-anchor": {"name": "a", "source": anchor["source"]},
            "profile": {"name": "p", "roleArns": [ROLE]},
            "crl": {"name": "c", "crlData": crl_der, "trustAnchorArn": anchor["trustAnchorArn"]},
        }[kind]
        detail: dict[str, Any] = cp.handle(operation, {**params, **extra}, CALLER)[output]
        return detail

    return create


def _update(cp: ControlPlane, kind: str, detail: dict[str, Any], **changes: Any) -> Any:
    _, operation, member, output = KINDS[kind]
    return cp.handle(operation, {member: detail[member], **changes}, CALLER)[output]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "alias",
    [
        pytest.param("aws/x", id="fail/aws"),
        pytest.param("AWS/x", id="fail/AWS"),
        pytest.param("aWs/deep/name", id="fail/mixed-case"),
    ],
)
def test_reserved_alias_is_refused(
    cp: ControlPlane, make: Callable[..., dict[str, Any]], kind: str, alias: str
) -> None:
    """Alias names that begin with aws/, in any case, are reserved (create and update)."""
    with pytest.raises(ValidationError, match="reserved"):
        make(kind, aliasName=alias)
    detail = make(kind)
    with pytest.raises(ValidationError, match="reserved"):
        _update(cp, kind, detail, aliasName=alias)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "alias", [pytest.param(a, id=f"ok/{a}") for a in ("aws", "awsx/y", "a/aws/b")]
)
def test_names_near_the_reserved_prefix_are_allowed(
    make: Callable[..., dict[str, Any]], kind: str, alias: str
) -> None:
    """Only the aws/ prefix is reserved."""
    assert make(kind, aliasName=alias)["aliasName"] == alias


@pytest.mark.parametrize("kind", list(KINDS))
def test_previous_alias_only_in_the_update_that_changed_it(
    cp: ControlPlane, make: Callable[..., dict[str, Any]], kind: str
) -> None:
    """previousAliasName answers the update that changed or removed the alias, and nothing else."""
    _, _, member, output = KINDS[kind]
    detail = make(kind, aliasName="one")
    assert "previousAliasName" not in detail
    renamed = _update(cp, kind, detail, aliasName="two")
    assert (renamed["aliasName"], renamed["previousAliasName"]) == ("two", "one")
    got = cp.handle(GETS[kind], {member: detail[member]}, CALLER)[output]
    assert got["aliasName"] == "two"
    assert "previousAliasName" not in got
    operation, items = LISTS[kind]
    listed = cp.handle(operation, {}, CALLER)[items]
    assert [item.get("aliasName") for item in listed if item[member] == detail[member]] == ["two"]
    assert all("previousAliasName" not in item for item in listed)
    assert "previousAliasName" not in _update(cp, kind, detail, name="renamed")
    assert "previousAliasName" not in _update(cp, kind, detail, aliasName="two")
    removed = _update(cp, kind, detail, aliasName="")
    assert "aliasName" not in removed
    assert "aliasArn" not in removed
    assert removed["previousAliasName"] == "two"
    assert "previousAliasName" not in _update(cp, kind, detail, aliasName="three")


@pytest.mark.parametrize("kind", list(KINDS))
def test_taken_alias_is_a_validation_error(
    cp: ControlPlane, make: Callable[..., dict[str, Any]], kind: str
) -> None:
    """An alias another resource of the type holds is refused; given up, it is free again."""
    first = make(kind, aliasName="shared")
    with pytest.raises(ValidationError, match="Alias name shared is already in use"):
        make(kind, aliasName="shared")
    second = make(kind)
    with pytest.raises(ValidationError, match="Alias name shared is already in use"):
        _update(cp, kind, second, aliasName="shared")
    _update(cp, kind, first, aliasName="")
    assert _update(cp, kind, second, aliasName="shared")["aliasName"] == "shared"


def test_import_crl_refuses_an_alias_arn(
    cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes
) -> None:
    """ImportCrl's trustAnchorArn does not take alias ARNs: ResourceNotFoundException."""
    cp.handle(
        "UpdateTrustAnchor", {"trustAnchorId": anchor["trustAnchorId"], "aliasName": "ta"}, CALLER
    )
    alias_arn = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/trust-anchor/ta"
    with pytest.raises(ResourceNotFound):
        cp.handle(
            "ImportCrl", {"name": "c", "crlData": crl_der, "trustAnchorArn": alias_arn}, CALLER
        )
    assert cp.handle("ListCrls", {}, CALLER)["crls"] == []
