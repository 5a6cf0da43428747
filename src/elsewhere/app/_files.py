"""The files a server keeps in its data directory: the master key and the admin credentials."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

__all__ = [
    "create_private_file",
    "load_or_create_master_key",
    "secure_data_dir",
    "write_admin_credentials",
    "write_private_file",
]

log = logging.getLogger("elsewhere.server")

#: The modes of the data directory, the directories in it, and every file in it.
DIR_MODE = 0o700
FILE_MODE = 0o600

MASTER_KEY_BYTES = 32


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_or_create_master_key(data_dir: Path) -> bytes:
    """The 32-byte master key from ``<data_dir>/master.key``, created (0600) on first start."""
    path = data_dir / "master.key"
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(
                f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}"
            )
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
        if len(key) != MASTER_KEY_BYTES:
            raise ValueError(f"{path} does not hold a {MASTER_KEY_BYTES}-byte key")
        return key
    key = os.urandom(MASTER_KEY_BYTES)
    write_private_file(path, base64.b64encode(key) + b"\n")
    return key


def write_admin_credentials(path: Path, access_key_id: str, secret_access_key: str) -> None:
    """Write the root key in AWS shared-credentials format, profile ``default``, mode 0600."""
    text = (
        "# elsewhere root access key. Keep this file private.\n"
        "[default]\n"
        f"aws_access_key_id = {access_key_id}\n"
        f"aws_secret_access_key = {secret_access_key}\n"
    )
    write_private_file(path, text.encode())


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then opens it as a new
    database, and makes its ``-wal`` and ``-shm`` files with the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def secure_data_dir(data_dir: Path) -> list[str]:
    """Make ``data_dir`` and the directories in it 0700 and every file in it 0600; say what changed.

    Run on every start: the store, its ``-wal``/``-shm`` files, the master key, the admin
    credentials and anything an operator copied in hold secrets or what they protect, and a
    umask or a copy may have left them readable by others. Symbolic links are not followed. A
    mode that cannot be changed (a read-only mount, another owner) is reported, not fatal:
    ``master.key`` has its own check that refuses to start when others can read it.
    """
    changed: list[str] = []
    for root, dirs, files in os.walk(data_dir):
        entries = [(root, DIR_MODE)] + [(os.path.join(root, f), FILE_MODE) for f in files]
        for name, wanted in entries:
            info = os.lstat(name)
            if stat.S_ISLNK(info.st_mode) or not (
                stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)
            ):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode == wanted:
                continue
            try:
                os.chmod(name, wanted)
            except OSError as exc:
                log.warning("cannot make %s mode %o (it is %o): %s", name, wanted, mode, exc)
                continue
            changed.append(f"{name} {mode:o} -> {wanted:o}")
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return changed
