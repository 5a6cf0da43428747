"""``elsewhere quickstart`` against a real server process, in both modes.

The printed ``credential_process`` line is put into an AWS config file and boto3 reads it
(``AWS_CONFIG_FILE``, a profile): GetCallerIdentity must answer the quickstart role.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from click.testing import CliRunner

from elsewhere.cli._quickstart import quickstart
from tests.conftest import ELSEWHERE, ServerProcess, free_port, start_server

pytestmark = pytest.mark.integration

_LINE = re.compile(r"^credential_process = (.+)$", re.MULTILINE)
_ARN = re.compile(r"^  (arn:aws:sts::\d{12}:assumed-role/\S+)$", re.MULTILINE)


def _config_from_output(output: str, profile: str, region: str, path: Path) -> Path:
    """Write the printed credential_process line into an AWS config file, as a user would."""
    match = _LINE.search(output)
    assert match, output
    path.write_text(
        f"[profile {profile}]\ncredential_process = {match.group(1)}\nregion = {region}\n"
    )
    return path


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS_* variables from outside; the config path boto3 will read is returned."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return config


def _caller_through_config(profile: str, endpoint: str) -> str:
    """GetCallerIdentity through boto3 with the profile's credential_process."""
    sts = boto3.Session(profile_name=profile).client(
        "sts", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1})
    )
    try:
        return str(sts.get_caller_identity()["Arn"])
    finally:
        sts.close()


def test_existing_server_twice(server: ServerProcess, tmp_path: Path, aws_env: Path) -> None:
    """Against a running server: the printed line works in an AWS config; a rerun reuses all."""
    name = f"qs-{uuid.uuid4().hex[:8]}"
    args = [
        "--endpoint",
        server.endpoint,
        "--credentials-file",
        str(server.credentials_file),
        "--dir",
        str(tmp_path / "qs"),
        "--name",
        name,
        "--workload-cn",
        f"{name}-workload",
    ]
    first = CliRunner().invoke(quickstart, args)
    assert first.exit_code == 0, first.output
    for what in ("CA", "trust anchor", "role", "profile"):
        assert re.search(rf"^  {what} +created ", first.stdout, re.MULTILINE), first.stdout
    assert re.search(r"^  workload certificate +issued ", first.stdout, re.MULTILINE)
    proof = _ARN.search(first.stdout)
    assert proof
    assert f":assumed-role/{name}/" in proof.group(1)

    _config_from_output(first.stdout, name, server.region, aws_env)
    assert f":assumed-role/{name}/" in _caller_through_config(name, server.endpoint)

    second = CliRunner().invoke(quickstart, args)
    assert second.exit_code == 0, second.output
    assert re.findall(r"^  \S.*? +(reused) ", second.stdout, re.MULTILINE) == ["reused"] * 5
    assert _LINE.search(second.stdout).group(1) == _LINE.search(first.stdout).group(1)  # type: ignore[union-attr]


def test_disabled_profile_is_enabled_again(server: ServerProcess, tmp_path: Path) -> None:
    """A rerun re-enables the quickstart's profile if someone disabled it."""
    name = f"qs-{uuid.uuid4().hex[:8]}"
    args = ["--endpoint", server.endpoint, "--credentials-file", str(server.credentials_file)]
    args += ["--dir", str(tmp_path / "qs"), "--name", name]
    assert CliRunner().invoke(quickstart, args).exit_code == 0
    ra = server.client("rolesanywhere")
    (profile,) = [p for p in ra.list_profiles()["profiles"] if p["name"] == name]
    ra.disable_profile(profileId=profile["profileId"])
    again = CliRunner().invoke(quickstart, args)
    assert again.exit_code == 0, again.output
    assert re.search(r"^  profile +enabled ", again.stdout, re.MULTILINE), again.stdout


def _stop_pid(pid: int) -> None:
    """SIGTERM the server the quickstart left running and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def started_pid(tmp_path: Path) -> Iterator[Path]:
    """Where the quickstart writes the pid of the server it starts; that server is stopped after."""
    pid_file = tmp_path / "work" / ".elsewhere" / "server.pid"
    yield pid_file
    if pid_file.exists():
        _stop_pid(int(pid_file.read_text()))


def test_start_server(tmp_path: Path, aws_env: Path, started_pid: Path) -> None:
    """--start-server leaves a server running in the background; the printed line works."""
    work = tmp_path / "work"
    work.mkdir()
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ELSEWHERE_"))}
    result = subprocess.run(
        [ELSEWHERE, "quickstart", "--start-server", "--endpoint", endpoint],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert started_pid.exists()
    assert f"kill $(cat {started_pid})" in result.stdout
    assert (work / ".elsewhere/quickstart/ca.pem").exists()
    assert (work / ".elsewhere/quickstart/workload.key").stat().st_mode & 0o777 == 0o600
    # The server is still there after the command returned.
    assert httpx.get(f"{endpoint}/ping", timeout=5).status_code == 200
    _config_from_output(result.stdout, "elsewhere-quickstart", "us-east-1", aws_env)
    arn = _caller_through_config("elsewhere-quickstart", endpoint)
    assert re.fullmatch(
        r"arn:aws:sts::123456789012:assumed-role/elsewhere-quickstart/[0-9a-f]+", arn
    )


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("fail/unreachable", [], "cannot reach an elsewhere server at"),
        ("fail/not-a-url", ["--endpoint", "ftp://x"], "must be an http:// or https:// URL"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, name: str, extra: list[str], message: str) -> None:
    """Unreachable server, bad endpoint: exit 1, a message, no traceback."""
    args = ["--endpoint", f"http://127.0.0.1:{free_port()}", "--dir", str(tmp_path / "qs")]
    result = subprocess.run(
        [ELSEWHERE, "quickstart", *args, *extra],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, name
    assert message in result.stderr, (name, result.stderr)
    assert "Traceback" not in result.stderr


def test_missing_credentials_file(server: ServerProcess, tmp_path: Path) -> None:
    """No admin credentials file: exit 1 saying where the server writes it."""
    result = CliRunner().invoke(
        quickstart, ["--endpoint", server.endpoint, "--credentials-file", str(tmp_path / "no")]
    )
    assert result.exit_code == 1
    assert "no admin credentials file at" in result.stderr
    assert "<data dir>/admin.credentials" in result.stderr


def test_wrong_admin_key_is_refused(server: ServerProcess, tmp_path: Path) -> None:
    """Credentials the server does not know: exit 1 naming the problem."""
    credentials = tmp_path / "c"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = x\n"
    )
    result = CliRunner().invoke(
        quickstart,
        ["--endpoint", server.endpoint, "--credentials-file", str(credentials)],
    )
    assert result.exit_code == 1
    assert "the admin credentials are not this server's" in result.stderr


def test_region_is_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server acting as eu-west-1 is found through AWS_REGION; otherwise a clear error."""
    handle = start_server(tmp_path / "data", args=("--region", "eu-west-1"))
    try:
        for name in ("ELSEWHERE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)
        args = ["--endpoint", handle.endpoint, "--credentials-file", str(handle.credentials_file)]
        args += ["--dir", str(tmp_path / "qs")]
        refused = CliRunner().invoke(quickstart, args)
        assert refused.exit_code == 1
        assert "does not act as region 'us-east-1'; pass --region" in refused.stderr
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        found = CliRunner().invoke(quickstart, args)
        assert found.exit_code == 0, found.output
        assert "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/" in found.stdout
        assert "region = eu-west-1" in found.stdout
    finally:
        handle.stop()
