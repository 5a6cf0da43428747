"""secure_data_dir: the data directory 0700, every file in it 0600, links left alone."""

from __future__ import annotations

import stat
from pathlib import Path

from elsewhere.app._files import create_private_file, secure_data_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_modes_are_tightened_and_reported(tmp_path: Path) -> None:
    """Directories become 0700 and files 0600; what changed is listed, what was right is not."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a").write_text("x")
    (data / "sub" / "b").write_text("y")
    (data / "ok").write_text("z")
    data.chmod(0o755)
    (data / "sub").chmod(0o775)
    (data / "a").chmod(0o644)
    (data / "sub" / "b").chmod(0o666)
    (data / "ok").chmod(0o600)
    changed = secure_data_dir(data)
    assert sorted(line.split(" ")[0] for line in changed) == sorted(
        str(p) for p in (data, data / "sub", data / "a", data / "sub" / "b")
    )
    assert [_mode(p) for p in (data, data / "sub", data / "a", data / "sub" / "b")] == [
        0o700,
        0o700,
        0o600,
        0o600,
    ]
    assert secure_data_dir(data) == []


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    """A link in the data directory does not carry the change to what it points at."""
    outside = tmp_path / "outside"
    outside.write_text("shared")
    outside.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir()
    (data / "link").symlink_to(outside)
    secure_data_dir(data)
    assert _mode(outside) == 0o644


def test_private_file_is_born_0600(tmp_path: Path) -> None:
    """create_private_file makes an empty 0600 file once and leaves an existing one alone."""
    path = tmp_path / "elsewhere.db"
    create_private_file(path)
    assert (_mode(path), path.read_bytes()) == (0o600, b"")
    path.write_bytes(b"kept")
    create_private_file(path)
    assert path.read_bytes() == b"kept"
