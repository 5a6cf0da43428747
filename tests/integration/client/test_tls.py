"""The quickstart and the helper against an HTTPS server whose certificate a private CA issued.

Nothing here turns TLS verification off: the private CA is trusted through ``--ca-bundle``
(the quickstart, and the line it prints), the AWS CLI profile's ``ca_bundle`` setting, or
``AWS_CA_BUNDLE`` (the helper, as the AWS SDKs read it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from elsewhere.cli._quickstart import quickstart
from elsewhere.pki import issue_certificate, quick_chain
from tests.conftest import AWS_CLI, ServerProcess, start_server

pytestmark = pytest.mark.integration

_NOW = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
_LINE = re.compile(r"^credential_process = (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class TlsServer:
    """An HTTPS elsewhere server and the PEM file of the CA that issued its certificate."""

    server: ServerProcess
    ca_bundle: Path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """One HTTPS server for this module, its certificate from a private CA."""
    directory = tmp_path_factory.mktemp("tls")
    ca = quick_chain(_NOW, "p256")
    issued = issue_certificate(
        ca.root_ca,
        now=_NOW,
        subject="CN=localhost",
        sans=["dns:localhost", "ip:127.0.0.1"],
        extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
    )
    (directory / "tls.pem").write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "ca.pem").write_text(ca.anchor_pem)
    handle = start_server(
        directory / "data",
        args=(
            "--tls-certificate",
            str(directory / "tls.pem"),
            "--tls-key",
            str(directory / "tls.key"),
        ),
        scheme="https",
    )
    yield TlsServer(handle, directory / "ca.pem")
    handle.stop()


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_PAGER="",
    )
    return env


@pytest.mark.skipif(AWS_CLI is None, reason="the AWS CLI is not installed")
def test_quickstart_over_https_with_a_private_ca(
    tls_server: TlsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ca-bundle: the quickstart verifies the server, and its printed profile works as is."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    name = f"qs-{uuid.uuid4().hex[:8]}"
    server = tls_server.server
    result = CliRunner().invoke(
        quickstart,
        [
            "--endpoint",
            server.endpoint,
            "--credentials-file",
            str(server.credentials_file),
            "--ca-bundle",
            str(tls_server.ca_bundle),
            "--dir",
            str(tmp_path / "qs"),
            "--name",
            name,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "--no-verify-ssl" not in result.stdout
    line = _LINE.search(result.stdout)
    assert line, result.stdout
    assert f"--ca-bundle {tls_server.ca_bundle.resolve()}" in line.group(1)
    # The section as printed, pasted into an AWS config file; the CLI is told nothing else.
    section = result.stdout.split("Add this to ~/.aws/config:\n\n", 1)[1].split("\n\n", 1)[0]
    assert f"ca_bundle = {tls_server.ca_bundle.resolve()}" in section
    config = tmp_path / "aws-config"
    config.write_text(section + "\n")
    env = _clean_env(tmp_path)
    env.update(AWS_CONFIG_FILE=str(config), AWS_PROFILE=name)
    assert AWS_CLI is not None
    called = subprocess.run(
        [AWS_CLI, "sts", "get-caller-identity", "--endpoint-url", server.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert called.returncode == 0, called.stderr
    assert f":assumed-role/{name}/" in json.loads(called.stdout)["Arn"]


def test_quickstart_refuses_an_unverified_server_without_a_bundle(
    tls_server: TlsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --ca-bundle the private CA is not trusted: one line, nothing set up."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    server = tls_server.server
    result = CliRunner().invoke(
        quickstart,
        [
            "--endpoint",
            server.endpoint,
            "--credentials-file",
            str(server.credentials_file),
            "--dir",
            str(tmp_path / "qs"),
        ],
    )
    assert result.exit_code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.output
    assert not (tmp_path / "qs").exists()


def test_helper_takes_endpoint_and_ca_bundle_from_the_environment(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    """AWS_ENDPOINT_URL_ROLESANYWHERE and AWS_CA_BUNDLE alone reach the HTTPS server."""
    server = tls_server.server
    directory = tmp_path / "qs"
    name = f"qs-{uuid.uuid4().hex[:8]}"
    setup = CliRunner().invoke(
        quickstart,
        [
            "--endpoint",
            server.endpoint,
            "--credentials-file",
            str(server.credentials_file),
            "--ca-bundle",
            str(tls_server.ca_bundle),
            "--dir",
            str(directory),
            "--name",
            name,
        ],
    )
    assert setup.exit_code == 0, setup.output
    argv = shlex.split(_LINE.search(setup.stdout).group(1))  # type: ignore[union-attr]
    # Drop --endpoint and --ca-bundle: the environment must supply both.
    for flag in ("--endpoint", "--ca-bundle"):
        at = argv.index(flag)
        del argv[at : at + 2]
    env = _clean_env(tmp_path)
    env["AWS_ENDPOINT_URL_ROLESANYWHERE"] = server.endpoint
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert refused.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    env["AWS_CA_BUNDLE"] = str(tls_server.ca_bundle)
    granted = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert granted.returncode == 0, granted.stderr
    assert json.loads(granted.stdout)["AccessKeyId"].startswith("ASIA")
