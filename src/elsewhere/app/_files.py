"""The files a server keeps in its data directory: the master key and the admin credentials."""

from __future__ import annotations

import base64
import os
from pathlib import Path

__all__ = ["load_or_create_master_key", "write_admin_credentials", "write_private_file"]

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
