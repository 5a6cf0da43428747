"""Shared fixtures: a real ``elsewhere server`` process on a free port, and clients for it."""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings

# The machines are shared and noisy: a property test must not fail because one example ran slow.
settings.register_profile("elsewhere", deadline=None)
settings.load_profile("elsewhere")

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ELSEWHERE = str(BIN / "elsewhere")
AWS_CLI = shutil.which("aws", path=str(BIN)) or shutil.which("aws")

pytest_plugins = ["tests.postgres"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running ``elsewhere server`` and how to talk to it."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    region: str = "us-east-1"
    account_id: str = "123456789012"
    scheme: str = "http"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The base URL."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def credentials_file(self) -> Path:
        """The admin credentials written at first start."""
        return self.data_dir / "admin.credentials"

    def admin_keys(self) -> tuple[str, str]:
        """The root access key id and secret from admin.credentials."""
        parser = configparser.ConfigParser()
        parser.read(self.credentials_file)
        section = parser["default"]
        return section["aws_access_key_id"], section["aws_secret_access_key"]

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client signed with the root key (or the given keys)."""
        import boto3
        from botocore.config import Config

        key, secret = self.admin_keys()
        kwargs.setdefault("aws_access_key_id", key)
        kwargs.setdefault("aws_secret_access_key", secret)
        kwargs.setdefault("region_name", self.region)
        kwargs.setdefault("endpoint_url", self.endpoint)
        kwargs.setdefault("config", Config(retries={"max_attempts": 1}))
        return boto3.client(service, **kwargs)

    def cli_env(self) -> dict[str, str]:
        """Environment for the AWS CLI against this server with the admin key."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_CONFIG_FILE=str(self.data_dir / "no-such-config"),
            AWS_DEFAULT_REGION=self.region,
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
        )
        return env

    def aws(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the AWS CLI against this server."""
        assert AWS_CLI, "the AWS CLI is installed with the dev extras"
        return subprocess.run(
            [AWS_CLI, *args, "--endpoint-url", self.endpoint, "--output", "json"],
            env=self.cli_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def log(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Stop the server gracefully and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    data_dir: Path,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    scheme: str = "http",
    port: int | None = None,
) -> ServerProcess:
    """Start ``elsewhere server`` as a process and wait until it answers /ping."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ELSEWHERE_")}
    full_env.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [ELSEWHERE, "server", "--port", str(port), "--data-dir", str(data_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(data_dir.parent),
        )
    handle = ServerProcess(process, port, data_dir, log_path, scheme=scheme)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"elsewhere server exited early:\n{handle.log()}")
        try:
            answer = httpx.get(f"{handle.endpoint}/ping", timeout=1, verify=False)  # noqa: S501 - readiness probe only
            if answer.status_code == 200:
                return handle
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    handle.stop()
    raise RuntimeError(f"elsewhere server did not become ready:\n{handle.log()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by the tests of a module (state accumulates; use unique names).

    Per module, not per worker: state that piles up across many files (trust anchors against
    their quota of 50, say) would make a test's outcome depend on which tests ran before it.
    """
    handle = start_server(tmp_path_factory.mktemp("server") / "data")
    yield handle
    handle.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, with empty state."""
    handle = start_server(tmp_path / "data")
    yield handle
    handle.stop()
