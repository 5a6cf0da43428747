"""Tests of ``elsewhere verify-certificate`` through click's runner and as a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from elsewhere import pki
from elsewhere.cli import _verify

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
AT = "2026-01-02T00:00:00Z"
ELSEWHERE = Path(sys.executable).parent / "elsewhere"


@pytest.fixture
def cli() -> click.Group:
    """A root group holding only verify-certificate."""

    @click.group()
    def root() -> None:
        """Test root."""

    _verify.register(root)
    return root


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A chain with an intermediate as files, a clean CRL and one revoking the leaf."""
    chain = pki.quick_chain(NOW, with_intermediate=True, sans=["dns:w.example"])
    paths = {
        "anchor": tmp_path / "ca.pem",
        "chain": tmp_path / "chain.pem",
        "leaf": tmp_path / "leaf.pem",
        "bundle": tmp_path / "bundle.pem",
        "clean": tmp_path / "clean.crl",
        "revoked": tmp_path / "revoked.der",
        "six": tmp_path / "six.pem",
    }
    paths["six"].write_text(chain.chain_pem * 6)
    paths["anchor"].write_text(chain.anchor_pem)
    paths["chain"].write_text(chain.chain_pem)
    paths["leaf"].write_text(chain.leaf_pem)
    paths["bundle"].write_text(chain.leaf_pem + chain.chain_pem)
    paths["clean"].write_bytes(chain.crl([], now=NOW).public_bytes(serialization.Encoding.PEM))
    paths["revoked"].write_bytes(
        chain.crl([chain.leaf.serial_number], now=NOW).public_bytes(serialization.Encoding.DER)
    )
    return paths


@pytest.mark.parametrize(
    ("name", "args", "code", "needle"),
    [
        (
            "ok/with-chain",
            ["--intermediates", "{chain}", "--crl", "{clean}", "{leaf}"],
            0,
            "ACCEPTED: CN=elsewhere-test-workload,O=elsewhere",
        ),
        ("ok/bundle-as-leaf", ["{bundle}"], 0, "x509SAN/DNS = w.example"),
        ("fail/missing-intermediate", ["{leaf}"], 1, "neither a certificate of the trust anchor"),
        (
            "fail/revoked",
            ["--intermediates", "{chain}", "--crl", "{revoked}", "{leaf}"],
            1,
            "is revoked by CRL",
        ),
        (
            "fail/expired",
            ["--intermediates", "{chain}", "--at", "2027-01-01T00:00:00Z", "{leaf}"],
            1,
            "expired at 2026-01-31T00:00:00Z",
        ),
        ("fail/chain-over-five", ["--intermediates", "{six}", "{leaf}"], 1, "at most 5"),
        ("fail/bad-at", ["--at", "yesterday", "{leaf}"], 2, "not an ISO 8601 time"),
        (
            "fail/anchor-is-leaf",
            ["--trust-anchor-bundle", "{leaf}", "{leaf}"],
            2,
            "is not a CA certificate",
        ),
        ("fail/missing-file", ["{tmp}/nothing.pem"], 2, "cannot read"),
        ("fail/bad-crl", ["--crl", "{leaf}", "{leaf}"], 2, "not a PEM or DER X.509 CRL"),
    ],
)
def test_verify_table(
    cli: click.Group,
    files: dict[str, Path],
    tmp_path: Path,
    name: str,
    args: list[str],
    code: int,
    needle: str,
) -> None:
    """Exit 0 accepted, 1 refused (with the reason), 2 usage error."""
    subst = {k: str(v) for k, v in files.items()} | {"tmp": str(tmp_path)}
    argv = [a.format(**subst) for a in args]
    if "--trust-anchor-bundle" not in argv:
        argv = ["--trust-anchor-bundle", str(files["anchor"]), *argv]
    if "--at" not in argv:
        argv = ["--at", AT, *argv]
    result = CliRunner().invoke(cli, ["verify-certificate", *argv])
    assert result.exit_code == code, (name, result.output)
    assert needle in result.output, name


def test_json_output(cli: click.Group, files: dict[str, Path]) -> None:
    """--json prints the decision, the path and the principal tags."""
    result = CliRunner().invoke(
        cli,
        [
            "verify-certificate",
            "--trust-anchor-bundle",
            str(files["anchor"]),
            "--at",
            AT,
            "--intermediates",
            str(files["chain"]),
            "--json",
            str(files["leaf"]),
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["accepted"] is True
    assert len(answer["path"]) == 3
    assert answer["source_identity"] == "CN=elsewhere-test-workload"
    assert answer["principal_tags"]["x509Subject/O"] == "elsewhere"


def test_json_refusal(cli: click.Group, files: dict[str, Path]) -> None:
    """A refusal in JSON carries AWS's public message and the precise reason."""
    result = CliRunner().invoke(
        cli,
        [
            "verify-certificate",
            "--trust-anchor-bundle",
            str(files["anchor"]),
            "--at",
            AT,
            "--json",
            str(files["leaf"]),
        ],
    )
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["message"] == "Untrusted signing certificate"
    assert answer["reason"].startswith("no path to a trust anchor")


@pytest.mark.parametrize(("leaf", "code"), [("bundle", 0), ("leaf", 1)])
def test_subprocess(files: dict[str, Path], leaf: str, code: int) -> None:
    """The installed script answers with the documented exit status."""
    run = subprocess.run(
        [
            str(ELSEWHERE),
            "verify-certificate",
            "--trust-anchor-bundle",
            str(files["anchor"]),
            "--at",
            AT,
            str(files[leaf]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == code, run.stdout + run.stderr
    assert ("ACCEPTED" if code == 0 else "REFUSED") in run.stdout


def test_tag_warnings_follow_createsessions_rules(cli: click.Group, tmp_path: Path) -> None:
    """A CN with a tab is accepted as a path but flagged: CreateSession refuses it as a tag."""
    chain = pki.quick_chain(NOW, subject="CN=tab\there,O=elsewhere")
    anchor, leaf = tmp_path / "anchor.pem", tmp_path / "leaf.pem"
    anchor.write_text(chain.anchor_pem)
    leaf.write_text(chain.leaf_pem)
    result = CliRunner().invoke(
        cli,
        [
            "verify-certificate",
            "--trust-anchor-bundle",
            str(anchor),
            "--at",
            AT,
            "--json",
            str(leaf),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tags_failing_sts_rules"] == ["x509Subject/CN"]
