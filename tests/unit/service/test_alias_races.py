"""An alias stays with one resource when two replicas set it at the same moment.

Two control planes over two stores on one database (a SQLite file, PostgreSQL), or one memory
store, create or rename resources to one alias at once, on threads. Exactly one call wins; the
other gets the ValidationException a single replica gives for a taken alias (the model's
``aliasName``: "If another resource of the same type already has the alias, the request fails
with a ValidationException"), held by the stores' unique index on the alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elsewhere.clock import FixedClock
from elsewhere.errors import ElsewhereError, ValidationError
from elsewhere.service import ControlPlane
from tests.unit.storage._races import NODE_KINDS, race, two_nodes

from .conftest import ACCOUNT, CALLER, REGION, ROLE, T0

ROUNDS = 20


@pytest.fixture(params=NODE_KINDS)
def planes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any, Any]]:
    """Two control planes sharing one database, as two replicas, and the first node's store."""
    with two_nodes(request, tmp_path) as (one, two):
        yield (
            ControlPlane(one, FixedClock(T0), account_id=ACCOUNT, region=REGION),
            ControlPlane(two, FixedClock(T0), account_id=ACCOUNT, region=REGION),
            one,
        )


def _outcome(cp: ControlPlane, operation: str, params: dict[str, Any]) -> Any:
    """An action running ``operation``: its output, or the AWS error it raised."""

    def run() -> object:
        try:
            return cp.handle(operation, params, CALLER)
        except ElsewhereError as exc:
            return exc

    return run


def _one_won(results: list[Any], alias: str) -> None:
    """Exactly one call succeeded; the other was refused for the taken alias."""
    refused = [r for r in results if isinstance(r, ElsewhereError)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], ValidationError)
    assert refused[0].message == f"Alias name {alias} is already in use"


def test_two_creates_of_one_alias(planes: tuple[Any, Any, Any]) -> None:
    """CreateProfile with one alias on two replicas at once: one profile holds it."""
    one, two, store = planes
    for n in range(ROUNDS):
        alias = f"shared-{n}"
        params = {"name": "p", "roleArns": [ROLE], "aliasName": alias}
        _one_won(
            race(_outcome(one, "CreateProfile", params), _outcome(two, "CreateProfile", params)),
            alias,
        )
        assert [p.alias_name for p in store.profiles.list_all()].count(alias) == 1


def test_two_renames_to_one_alias(planes: tuple[Any, Any, Any]) -> None:
    """UpdateProfile of two profiles to one alias at once: one holds it, the other keeps its own."""
    one, two, store = planes
    first = one.handle("CreateProfile", {"name": "a", "roleArns": [ROLE]}, CALLER)["profile"]
    second = one.handle("CreateProfile", {"name": "b", "roleArns": [ROLE]}, CALLER)["profile"]
    for n in range(ROUNDS):
        alias = f"renamed-{n}"
        _one_won(
            race(
                _outcome(
                    one, "UpdateProfile", {"profileId": first["profileId"], "aliasName": alias}
                ),
                _outcome(
                    two, "UpdateProfile", {"profileId": second["profileId"], "aliasName": alias}
                ),
            ),
            alias,
        )
        assert [p.alias_name for p in store.profiles.list_all()].count(alias) == 1
