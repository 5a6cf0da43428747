"""``elsewhere keys``: failures are one-line errors, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from elsewhere.app import _keys as app_keys
from elsewhere.app._keys import KeyRotationConflict
from elsewhere.cli import _keys as cli_keys


def test_rotate_that_keeps_losing_the_race_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation that loses every compare-and-set exits 1 with the conflict's message."""

    def always_conflicting(*args: object, **kwargs: object) -> list[app_keys.RingEntry]:
        raise KeyRotationConflict()

    monkeypatch.setattr(cli_keys, "rotate_session_keys", always_conflicting)
    result = CliRunner().invoke(cli_keys.keys, ["rotate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: The key ring changed under" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
