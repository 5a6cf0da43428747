"""On every start the data directory is made 0700 and every file in it 0600, the store included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import start_server

pytestmark = pytest.mark.integration


def _modes(root: Path) -> dict[str, int]:
    """The mode of ``root`` and of everything under it, by relative path."""
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


def _private(modes: dict[str, int], root: Path) -> dict[str, int]:
    """The entries whose mode is not 0700 (directories) or 0600 (files)."""
    return {
        name: mode
        for name, mode in modes.items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }


def test_first_start_keeps_everything_private(tmp_path: Path) -> None:
    """A fresh data directory: the store and its -wal/-shm files are 0600 while serving."""
    previous = os.umask(0o022)  # the usual umask, which would make files 0644
    try:
        srv = start_server(tmp_path / "data")
    finally:
        os.umask(previous)
    try:
        srv.client("rolesanywhere").list_profiles()  # the store is written and read
        modes = _modes(srv.data_dir)
        assert {"elsewhere.db", "elsewhere.db-wal", "master.key"} <= modes.keys(), modes
        assert _private(modes, srv.data_dir) == {}
    finally:
        srv.stop()


def test_every_start_makes_the_data_directory_private(tmp_path: Path) -> None:
    """Modes loosened between two starts (a copy, a restore, a umask) are tightened again."""
    data = tmp_path / "data"
    start_server(data).stop()
    (data / "notes").mkdir()
    (data / "notes" / "backup.sql").write_text("secrets")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    srv = start_server(data)
    try:
        srv.client("rolesanywhere").list_profiles()
        modes = _modes(data)
        assert modes["elsewhere.db"] == 0o600
        assert modes["master.key"] == 0o600
        assert modes["notes/backup.sql"] == 0o600
        assert _private(modes, data) == {}
        assert "made private" in srv.log()
    finally:
        srv.stop()
