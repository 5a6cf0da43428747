"""The credential helper against a real ``elsewhere server`` process.

Every command path a user takes: ``credential-process`` (also as the AWS CLI's
``credential_process``), ``serve`` read by botocore's IMDS provider, ``update --once`` read as a
profile, and the boto3 ``session(...)``. Each set of credentials is proven by STS
GetCallerIdentity against the same server.
"""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives import serialization

from elsewhere.client import session
from elsewhere.pki import Chain, quick_chain
from tests.conftest import AWS_CLI, ELSEWHERE, ServerProcess, free_port

pytestmark = pytest.mark.integration

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }
    ],
}


@dataclass(frozen=True)
class Setup:
    """A chain on disk and the ARNs that let it assume a role on the server."""

    chain: Chain
    certificate: Path
    private_key: Path
    intermediates: Path
    anchor: str
    profile: str
    role: str
    role_name: str

    def flags(self, server: ServerProcess) -> list[str]:
        """The helper's flags for this setup."""
        return [
            "--certificate",
            str(self.certificate),
            "--private-key",
            str(self.private_key),
            "--intermediates",
            str(self.intermediates),
            "--trust-anchor-arn",
            self.anchor,
            "--profile-arn",
            self.profile,
            "--role-arn",
            self.role,
            "--endpoint",
            server.endpoint,
        ]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def setup(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """An RSA chain with an intermediate, a trust anchor, a role and a profile."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "rsa2048", True)
    directory = tmp_path_factory.mktemp("helper")
    certificate = directory / "leaf.pem"
    private_key = directory / "leaf.key"
    intermediates = directory / "chain.pem"
    certificate.write_bytes(chain.leaf.public_bytes(serialization.Encoding.PEM))
    private_key.write_text(chain.leaf_key_pem)
    intermediates.write_text(chain.chain_pem)
    ra = server.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name=_name("ta"),
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]["trustAnchorArn"]
    role_name = _name("role")
    role = server.client("iam").create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    profile = ra.create_profile(name=_name("p"), roleArns=[role], enabled=True)["profile"][
        "profileArn"
    ]
    return Setup(chain, certificate, private_key, intermediates, anchor, profile, role, role_name)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials")
    return env


def _caller(server: ServerProcess, **credentials: str) -> str:
    sts = boto3.client(
        "sts",
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
        **credentials,
    )
    return str(sts.get_caller_identity()["Arn"])


def _helper(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ELSEWHERE, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_credential_process_output_works_with_boto3(
    server: ServerProcess, setup: Setup, tmp_path: Path
) -> None:
    """credential-process prints a document whose credentials pass GetCallerIdentity."""
    result = _helper("credential-process", *setup.flags(server), env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    arn = _caller(
        server,
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document["SessionToken"],
    )
    assert f":assumed-role/{setup.role_name}/" in arn


def test_credential_process_with_alias_arns(
    server: ServerProcess, setup: Setup, tmp_path: Path
) -> None:
    """--trust-anchor-arn and --profile-arn may be alias ARNs: the helper gets credentials."""
    ra = server.client("rolesanywhere")
    anchor_alias = ra.update_trust_anchor(trustAnchorId=setup.anchor, aliasName=_name("helper/ta"))[
        "trustAnchor"
    ]["aliasArn"]
    profile_alias = ra.update_profile(profileId=setup.profile, aliasName=_name("helper"))[
        "profile"
    ]["aliasArn"]
    flags = setup.flags(server)
    flags[flags.index(setup.anchor)] = anchor_alias
    flags[flags.index(setup.profile)] = profile_alias
    result = _helper("credential-process", *flags, env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    arn = _caller(
        server,
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document["SessionToken"],
    )
    assert f":assumed-role/{setup.role_name}/" in arn


def _without(flags: list[str], *names: str) -> list[str]:
    """``flags`` with each of ``names`` and its value left out."""
    kept: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag in names:
            skip = True
        else:
            kept.append(flag)
    return kept


def _proves(server: ServerProcess, setup: Setup, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    arn = _caller(
        server,
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document["SessionToken"],
    )
    assert f":assumed-role/{setup.role_name}/" in arn


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_ROLESANYWHERE", "AWS_ENDPOINT_URL"])
def test_endpoint_from_the_environment(
    server: ServerProcess, setup: Setup, tmp_path: Path, variable: str
) -> None:
    """Without --endpoint, the AWS SDKs' endpoint variables point the helper at elsewhere."""
    env = _clean_env(tmp_path)
    env[variable] = server.endpoint
    flags = _without(setup.flags(server), "--endpoint")
    _proves(server, setup, _helper("credential-process", *flags, env=env))


def test_key_material_from_standard_input_and_the_environment(
    server: ServerProcess, setup: Setup, tmp_path: Path
) -> None:
    """'-' reads certificate, chain and key from standard input; env:NAME from variables."""
    flags = _without(setup.flags(server), "--certificate", "--private-key", "--intermediates")
    piped = subprocess.run(
        [
            ELSEWHERE,
            "credential-process",
            *flags,
            "--certificate",
            "-",
            "--intermediates",
            "-",
            "--private-key",
            "-",
        ],
        input=setup.certificate.read_text()
        + setup.intermediates.read_text()
        + setup.private_key.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(tmp_path),
        check=False,
    )
    _proves(server, setup, piped)
    env = _clean_env(tmp_path)
    env.update(
        WORKLOAD_CERT=setup.certificate.read_text(),
        WORKLOAD_KEY=setup.private_key.read_text(),
        WORKLOAD_CHAIN=setup.intermediates.read_text(),
    )
    from_env = [
        *flags,
        "--certificate",
        "env:WORKLOAD_CERT",
        "--private-key",
        "env:WORKLOAD_KEY",
        "--intermediates",
        "env:WORKLOAD_CHAIN",
    ]
    _proves(server, setup, _helper("credential-process", *from_env, env=env))


# What a workload host does not install: the server's dependencies (README, "A workload host").
_SERVER_ONLY = (
    "alembic",
    "asn1crypto",
    "boto3",
    "botocore",
    "filelock",
    "httpcore",
    "httpx",
    "prometheus_client",
    "psycopg",
    "pyhanko_certvalidator",
    "sqlalchemy",
    "starlette",
    "uvicorn",
)

_BLOCKER = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = set(sys.argv.pop(1).split(","))

class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not on a workload host)")
        return None

sys.meta_path.insert(0, Blocker())
sys.argv[0] = "elsewhere"
from elsewhere.cli import main
main()
"""


def test_credential_process_needs_none_of_the_server_dependencies(
    server: ServerProcess, setup: Setup, tmp_path: Path
) -> None:
    """With every server-only package made unimportable, credential-process still works."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _BLOCKER,
            ",".join(_SERVER_ONLY),
            "credential-process",
            *setup.flags(server),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(tmp_path),
        check=False,
    )
    _proves(server, setup, result)


@pytest.mark.skipif(AWS_CLI is None, reason="the AWS CLI is not installed")
def test_aws_cli_credential_process(server: ServerProcess, setup: Setup, tmp_path: Path) -> None:
    """The AWS CLI runs the helper through credential_process, unchanged."""
    config = tmp_path / "config"
    command = shlex.join([ELSEWHERE, "credential-process", *setup.flags(server)])
    config.write_text(f"[profile ra]\ncredential_process = {command}\nregion = us-east-1\n")
    env = _clean_env(tmp_path)
    env.update(AWS_CONFIG_FILE=str(config), AWS_PROFILE="ra", AWS_PAGER="")
    assert AWS_CLI is not None
    result = subprocess.run(
        [AWS_CLI, "sts", "get-caller-identity", "--endpoint-url", server.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f":assumed-role/{setup.role_name}/" in json.loads(result.stdout)["Arn"]


def test_refusal_reaches_stderr(server: ServerProcess, setup: Setup, tmp_path: Path) -> None:
    """A role the profile does not list: exit 1 and the server's message on stderr."""
    other = server.client("iam").create_role(
        RoleName=_name("other"), AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    flags = setup.flags(server)
    flags[flags.index("--role-arn") + 1] = other
    result = _helper("credential-process", *flags, env=_clean_env(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "AccessDeniedException" in result.stderr
    assert "Traceback" not in result.stderr
    # The one line names the request id, under which the server logged the precise reason.
    found = re.search(r"\(request id ([0-9a-f-]{36})\)$", result.stderr.strip())
    assert found, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    reason = f"request_id={found.group(1)} op=CreateSession code=AccessDeniedException reason="
    deadline = time.monotonic() + 10
    while reason not in server.log():
        assert time.monotonic() < deadline, "the server did not log the reason under the id"
        time.sleep(0.05)
    assert f"{reason}role {other} is not listed in the profile" in server.log()


def test_boto3_session(server: ServerProcess, setup: Setup) -> None:
    """session(...) gives a boto3 session that calls STS as the role."""
    boto = session(
        certificate=str(setup.certificate),
        private_key=str(setup.private_key),
        intermediates=str(setup.intermediates),
        trust_anchor_arn=setup.anchor,
        profile_arn=setup.profile,
        role_arn=setup.role,
        endpoint=server.endpoint,
    )
    sts = boto.client(
        "sts", endpoint_url=server.endpoint, config=Config(retries={"max_attempts": 1})
    )
    assert f":assumed-role/{setup.role_name}/" in sts.get_caller_identity()["Arn"]


def test_update_once_then_profile(server: ServerProcess, setup: Setup, tmp_path: Path) -> None:
    """update --once writes a profile that boto3 reads."""
    env = _clean_env(tmp_path)
    credentials_file = tmp_path / "credentials"
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials_file)
    result = _helper("update", *setup.flags(server), "--profile", "ra", "--once", env=env)
    assert result.returncode == 0, result.stderr
    parser = configparser.ConfigParser()
    parser.read(credentials_file)
    section = parser["ra"]
    arn = _caller(
        server,
        aws_access_key_id=section["aws_access_key_id"],
        aws_secret_access_key=section["aws_secret_access_key"],
        aws_session_token=section["aws_session_token"],
    )
    assert f":assumed-role/{setup.role_name}/" in arn


@pytest.fixture
def serving(server: ServerProcess, setup: Setup, tmp_path: Path) -> Iterator[str]:
    """``elsewhere serve`` running on a free port (container endpoint on); yields its URL."""
    port = free_port()
    log = tmp_path / "serve.log"
    token_file = tmp_path / "container-token"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                ELSEWHERE,
                "serve",
                *setup.flags(server),
                "--port",
                str(port),
                "--container-token-file",
                str(token_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=_clean_env(tmp_path),
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(log.read_text())
            try:
                httpx.put(url + "/latest/api/token", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_feeds_botocore_imds(
    server: ServerProcess, serving: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """botocore's IMDSv2 provider, pointed at serve, gets working credentials."""
    for name, value in _clean_env(tmp_path).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", serving)
    sts: Any = boto3.Session(region_name=server.region).client(
        "sts", endpoint_url=server.endpoint, config=Config(retries={"max_attempts": 1})
    )
    assert ":assumed-role/" in sts.get_caller_identity()["Arn"]


def test_serve_feeds_botocore_container_provider(
    server: ServerProcess, serving: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """botocore's container provider (FULL_URI + token file), pointed at serve, gets credentials."""
    for name, value in _clean_env(tmp_path).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", serving + "/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tmp_path / "container-token"))
    session = boto3.Session(region_name=server.region)
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "container-role"
    sts: Any = session.client(
        "sts", endpoint_url=server.endpoint, config=Config(retries={"max_attempts": 1})
    )
    assert ":assumed-role/" in sts.get_caller_identity()["Arn"]
