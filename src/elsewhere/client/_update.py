"""``update``: keep a profile of the shared credentials file filled with fresh credentials.

Like AWS's helper (reference §7.5) it replaces ``aws_access_key_id``, ``aws_secret_access_key`` and
``aws_session_token`` inside ``[<profile>]`` (appending those missing, or the whole section), and
refreshes five minutes before expiry. Unlike it, every write happens under a file lock and is
atomic (a temporary file in the same directory, then ``os.replace``), so a reader never sees a
half-written file and two writers never interleave.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from filelock import FileLock, Timeout

from elsewhere.client._errors import ClientError
from elsewhere.client._session import SessionCredentials
from elsewhere.clock import Clock, SystemClock

__all__ = [
    "CredentialsFileError",
    "default_credentials_file",
    "run_update",
    "update_credentials_text",
    "write_credentials_profile",
]

_log = logging.getLogger("elsewhere.client")

_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_REFRESH_BEFORE = dt.timedelta(minutes=5)
_RETRY_AFTER_FAILURE = dt.timedelta(seconds=30)


class CredentialsFileError(ClientError):
    """The shared credentials file could not be locked, read or written."""

    code = "CredentialsFileError"


def default_credentials_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``."""
    env = os.environ if environ is None else environ
    configured = env.get("AWS_SHARED_CREDENTIALS_FILE")
    if configured:
        return Path(configured).expanduser()
    return Path("~/.aws/credentials").expanduser()


def _values(credentials: SessionCredentials) -> dict[str, str]:
    return {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "aws_session_token": credentials.session_token,
    }


def update_credentials_text(text: str, profile: str, credentials: SessionCredentials) -> str:
    """The credentials file ``text`` with ``profile``'s three keys set; other lines untouched."""
    values = _values(credentials)
    lines = text.splitlines()
    header = f"[{profile}]"
    out: list[str] = []
    in_section = False
    found_section = False
    written: set[str] = set()

    def flush_missing() -> None:
        missing = [f"{k} = {values[k]}" for k in _KEYS if k not in written]
        # Keep blank lines that separate sections after the inserted keys.
        trailing: list[str] = []
        while out and not out[-1].strip():
            trailing.append(out.pop())
        out.extend(missing)
        out.extend(trailing)

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if in_section:
                flush_missing()
            in_section = stripped == header
            found_section = found_section or in_section
            out.append(line)
            continue
        if in_section:
            key = stripped.split("=", 1)[0].strip()
            if key in _KEYS and "=" in stripped:
                out.append(f"{key} = {values[key]}")
                written.add(key)
                continue
        out.append(line)
    if in_section:
        flush_missing()
    if not found_section:
        if out and out[-1].strip():
            out.append("")
        out.append(header)
        out.extend(f"{k} = {values[k]}" for k in _KEYS)
    return "\n".join(out) + "\n"


def write_credentials_profile(
    path: Path, profile: str, credentials: SessionCredentials, *, lock_timeout: float = 30.0
) -> None:
    """Set ``profile``'s credentials in the file at ``path``, atomically and under a lock."""
    try:
        # The helper creates the directory with mode 0600 (a quirk); 0700 is what is meant.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=lock_timeout):
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            updated = update_credentials_text(text, profile, credentials)
            fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(updated)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temporary, 0o600)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
    except Timeout:
        raise CredentialsFileError(f"cannot lock {path}.lock: another writer holds it") from None
    except OSError as exc:
        raise CredentialsFileError(f"cannot write {path}: {exc.strerror or exc}") from None


def run_update(
    fetch: Callable[[], SessionCredentials],
    *,
    path: Path,
    profile: str = "default",
    once: bool = False,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_rounds: int | None = None,
) -> None:
    """Write credentials, then rewrite them five minutes before each expiry (forever, or once).

    The first CreateSession failure is raised; later ones are logged and retried after 30 s while
    the credentials already written are still valid.
    """
    clock = clock or SystemClock()
    credentials = fetch()
    write_credentials_profile(path, profile, credentials)
    _log.info("wrote credentials for profile %r to %s", profile, path)
    rounds = 0
    while not once and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        wait = (credentials.expiration - _REFRESH_BEFORE - clock.now()).total_seconds()
        sleep(max(wait, 0.0))
        try:
            credentials = fetch()
        except ClientError as exc:
            if credentials.expiration <= clock.now():
                raise
            _log.warning("refreshing credentials failed, retrying: %s", exc.message)
            sleep(_RETRY_AFTER_FAILURE.total_seconds())
            continue
        write_credentials_profile(path, profile, credentials)
        _log.info("wrote credentials for profile %r to %s", profile, path)
