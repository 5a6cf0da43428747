"""The served models are the package's own reviewed copies, not the installed botocore's."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest

from elsewhere.protocol import load_service_model
from elsewhere.protocol._model import MODELS_DIR, SERVICES

_ROW = re.compile(r"^\| (\w+) \| ([\d-]+) \| (\d+) \| `([0-9a-f]{64})` \|$", re.MULTILINE)


def _provenance() -> dict[str, tuple[str, int, str]]:
    """The provenance table: service → (API version, operation count, SHA-256)."""
    text = (MODELS_DIR / "PROVENANCE.md").read_text()
    return {m[1]: (m[2], int(m[3]), m[4]) for m in _ROW.finditer(text)}


def test_provenance_lists_every_served_model() -> None:
    """ok/table: PROVENANCE.md has one row for each of the three served services."""
    assert sorted(_provenance()) == sorted(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_model_bytes_match_their_provenance(name: str) -> None:
    """ok/<service>: the file's digest, API version and operation count are the table's."""
    version, operations, digest = _provenance()[name]
    data = gzip.decompress((MODELS_DIR / f"{name}.json.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == digest
    model = load_service_model(name)
    assert model.api_version == version
    assert len(model.operation_names) == operations


def test_served_model_does_not_come_from_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """ok/independent: loading a served model never asks botocore's data loader."""
    import botocore.loaders

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the served model must not come from the installed botocore")

    monkeypatch.setattr(botocore.loaders.Loader, "load_service_model", refuse)
    uncached = load_service_model.__wrapped__
    assert "CreateProfile" in uncached("rolesanywhere").operation_names
