"""PostgreSQL for the test suite: a throwaway server per test session, nothing installed by hand.

The fixtures start the PostgreSQL binaries found on ``PATH`` or under ``/usr/lib/postgresql/*/bin``
(Debian/Ubuntu) or ``/usr/pgsql-*/bin`` (RHEL) in a temporary directory, listening on a free
loopback port with its unix socket in that directory, ``fsync=off`` for speed, and stop it when the
session ends. PostgreSQL refuses to run as root (CI runs as root on a fresh clone), so as root the
server runs as the ``postgres`` system user, or as a system user ``elsewhere-pg`` created with
``useradd`` when there is none. With ``ELSEWHERE_TEST_POSTGRES_URL`` set, that server is used
instead (its user needs the CREATEDB privilege). Without binaries the tests that need PostgreSQL
are skipped, with the reason in the ``-ra`` summary.

The session server runs in a non-UTC time zone (``Asia/Kathmandu``, UTC+05:45) so that code
which forgets to normalize ``timestamptz`` values to UTC fails here rather than in production.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ENV_URL = "ELSEWHERE_TEST_POSTGRES_URL"
SERVER_TIME_ZONE = "Asia/Kathmandu"
SUPERUSER = "elsewhere"
FALLBACK_SYSTEM_USER = "elsewhere-pg"
TEMPLATE = "elsewhere_template"
START_TIMEOUT = 60.0

__all__ = [
    "PostgresServer",
    "find_postgres_binaries",
    "postgres_database",
    "postgres_server",
    "postgres_url",
]


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_postgres_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``postgres`` (newest version first), or None."""
    candidates: list[str] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"):
        candidates.extend(sorted(glob.glob(pattern), key=_version_key, reverse=True))
    for directory in candidates:
        path = Path(directory)
        if all(os.access(path / name, os.X_OK) for name in ("initdb", "postgres")):
            return path
    return None


@dataclass(frozen=True)
class _RunAs:
    """Who runs PostgreSQL: ourselves, or (as root) an unprivileged system user."""

    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict[str, Any]:
        """Arguments that make subprocess drop root privileges (all groups included)."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        """Give ``path`` to the user PostgreSQL runs as."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _run_as() -> _RunAs:
    """An unprivileged identity for PostgreSQL; raises RuntimeError when none can be had."""
    if os.geteuid() != 0:
        return _RunAs()
    for name in ("postgres", FALLBACK_SYSTEM_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _RunAs(entry.pw_uid, entry.pw_gid)
    useradd = shutil.which("useradd")
    if useradd is None:
        raise RuntimeError("running as root with no 'postgres' user and no useradd to create one")
    # Not check=True: another xdist worker may create the user at the same moment.
    made = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_SYSTEM_USER,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    try:
        entry = pwd.getpwnam(FALLBACK_SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"useradd {FALLBACK_SYSTEM_USER} failed: {made.stderr.strip()}"
        ) from None
    return _RunAs(entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    host: str
    port: int
    user: str
    password: str | None
    admin_database: str
    process: subprocess.Popen[bytes] | None = None
    directory: Path | None = None
    startup_seconds: float = 0.0

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server (psycopg 3 driver)."""
        import sqlalchemy as sa

        made = sa.URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
        )
        return made.render_as_string(hide_password=False)

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.admin_database,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create an empty database (or a copy of ``template``) and return its URL."""
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self._admin() as conn:
            conn.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it (PostgreSQL 13+)."""
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def log(self) -> str:
        """What the server wrote so far (empty for an external server)."""
        if self.directory is None:
            return ""
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the temporary directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _wait_ready(server: PostgresServer) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.process.returncode}:\n{server.log()}")
        try:
            server._admin().close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"postgres did not accept connections:\n{server.log()}"
                ) from None
            time.sleep(0.05)


def start_postgres(bindir: Path) -> PostgresServer:
    """initdb and start a private server in a new temporary directory."""
    started = time.monotonic()
    run_as = _run_as()
    # mkdtemp is 0700: only its owner (the PostgreSQL user, after chown) can enter it.
    directory = Path(tempfile.mkdtemp(prefix="elsewhere-pg-"))
    run_as.chown(directory)
    data, sockets, log_path = directory / "data", directory / "socket", directory / "postgres.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": str(directory),
        "TZ": "UTC",
    }
    try:
        with log_path.open("wb") as log:
            run_as.chown(log_path)
            subprocess.run(
                [
                    str(bindir / "initdb"),
                    "--pgdata",
                    str(data),
                    "--username",
                    SUPERUSER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=directory,
                check=True,
                timeout=120,
                **run_as.popen_kwargs(),
            )
        sockets.mkdir(mode=0o700)
        run_as.chown(sockets)
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(sockets),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "max_connections": "200",
            "timezone": SERVER_TIME_ZONE,
            "log_min_messages": "warning",
        }
        for attempt in itertools.count():
            port = _free_port()
            args = [str(bindir / "postgres"), "-D", str(data), "-p", str(port)]
            for name, value in settings.items():
                args += ["-c", f"{name}={value}"]
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    args,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=directory,
                    **run_as.popen_kwargs(),
                )
            server = PostgresServer(
                "127.0.0.1", port, SUPERUSER, None, "postgres", process, directory
            )
            try:
                _wait_ready(server)
                break
            except RuntimeError:
                # Another process may have taken the port between our probe and the bind.
                if process.poll() is None or attempt >= 2:
                    server.stop()
                    raise
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def _external_server(url: str) -> PostgresServer:
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    return PostgresServer(
        host=parsed.host or "localhost",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        admin_database=parsed.database or "postgres",
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this session (per xdist worker), stopped at the end."""
    external = os.environ.get(ENV_URL)
    if external:
        yield _external_server(external)
        return
    bindir = find_postgres_binaries()
    if bindir is None:
        pytest.skip(
            "PostgreSQL binaries (initdb, postgres) not found on PATH or under "
            "/usr/lib/postgresql/*/bin; install postgresql or set " + ENV_URL
        )
    server = start_postgres(bindir)
    try:
        yield server
    finally:
        server.stop()


def unique_database_name(prefix: str) -> str:
    """A database name no other test (or xdist worker) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The ``postgresql+psycopg://`` URL of a fresh, empty (unmigrated) database for the session."""
    name = unique_database_name("elsewhere_session")
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    """A database migrated to the latest schema, copied by ``postgres_database``."""
    from elsewhere.storage import open_store

    name = unique_database_name(TEMPLATE)
    open_store(postgres_server.create_database(name)).close()
    yield name
    postgres_server.drop_database(name)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer, _postgres_template: str) -> Iterator[str]:
    """The URL of a new database of the test's own, already at the latest schema, dropped after."""
    name = unique_database_name("elsewhere_test")
    url = postgres_server.create_database(name, template=_postgres_template)
    yield url
    postgres_server.drop_database(name)
