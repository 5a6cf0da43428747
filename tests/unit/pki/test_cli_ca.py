"""Tests of ``elsewhere ca`` through click's runner and as a real subprocess."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography import x509

from elsewhere.cli import _ca

ELSEWHERE = Path(sys.executable).parent / "elsewhere"


@pytest.fixture
def cli() -> click.Group:
    """A root group holding only the ca commands."""

    @click.group()
    def root() -> None:
        """Test root."""

    _ca.register(root)
    return root


def test_init_issue_revoke_crl(cli: click.Group, tmp_path: Path) -> None:
    """The whole CA lifecycle works and writes the documented files."""
    runner = CliRunner()
    ca = tmp_path / "ca"
    result = runner.invoke(
        cli,
        [
            "ca",
            "init",
            "--dir",
            str(ca),
            "--with-intermediate",
            "--key-type",
            "p384",
            "--subject",
            "CN=Test Root,O=T",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in ca.iterdir()} >= {
        "ca.pem",
        "ca.key",
        "intermediate.pem",
        "intermediate.key",
        "index.json",
    }
    assert stat.S_IMODE((ca / "ca.key").stat().st_mode) == 0o600
    result = runner.invoke(
        cli,
        [
            "ca",
            "issue",
            "--dir",
            str(ca),
            "--subject",
            "CN=w,O=T",
            "--san",
            "dns:w.example",
            "--san",
            "uri:spiffe://t/w",
            "--san",
            "email:w@t.example",
            "--san",
            "ip:10.1.2.3",
            "--key-type",
            "rsa2048",
            "--days",
            "10",
            "--out-cert",
            str(tmp_path / "w.pem"),
            "--out-key",
            str(tmp_path / "w.key"),
            "--out-chain",
            str(tmp_path / "chain.pem"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "w.key").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "w.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(san) == 4
    result = runner.invoke(
        cli, ["ca", "revoke", "--dir", str(ca), "--cert", str(tmp_path / "w.pem")]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["ca", "crl", "--dir", str(ca), "--out", str(tmp_path / "x.crl")])
    assert result.exit_code == 0, result.output
    crl = x509.load_pem_x509_crl((tmp_path / "x.crl").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


@pytest.mark.parametrize(
    ("name", "args", "code", "needle"),
    [
        (
            "fail/no-ca",
            ["ca", "issue", "--subject", "CN=x", "--out-cert", "a", "--out-key", "b"],
            1,
            "ca init",
        ),
        (
            "fail/bad-san",
            [
                "ca",
                "issue",
                "--subject",
                "CN=x",
                "--san",
                "bogus:1",
                "--out-cert",
                "a",
                "--out-key",
                "b",
            ],
            1,
            "unknown SAN type",
        ),
        (
            "fail/revoke-both",
            ["ca", "revoke", "--serial", "1f", "--cert", "ca/ca.pem"],
            2,
            "exactly one",
        ),
        ("fail/revoke-none", ["ca", "revoke"], 2, "exactly one"),
        ("fail/revoke-bad-hex", ["ca", "revoke", "--serial", "xyz"], 2, "not hexadecimal"),
        ("fail/revoke-unknown", ["ca", "revoke", "--serial", "1f"], 1, "was not issued"),
        ("fail/init-twice", ["ca", "init"], 1, "already holds a CA"),
        ("fail/bad-key-type", ["ca", "init", "--key-type", "dsa"], 2, "Invalid value"),
    ],
)
def test_errors(
    cli: click.Group,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args: list[str],
    code: int,
    needle: str,
) -> None:
    """Bad invocations exit 1 (refused) or 2 (usage) with a helpful message."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    if name != "fail/no-ca" and name != "fail/bad-key-type":
        assert runner.invoke(cli, ["ca", "init", "--dir", "ca"]).exit_code == 0
        monkeypatch.setenv("ELSEWHERE_CA_DIR", "ca")
    if name == "fail/no-ca":
        monkeypatch.setenv("ELSEWHERE_CA_DIR", "nothing-here")
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert needle in result.output


def test_subprocess(tmp_path: Path) -> None:
    """The installed ``elsewhere`` script runs ca init and issue."""
    run = subprocess.run(
        [str(ELSEWHERE), "ca", "init", "--dir", str(tmp_path / "ca")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    run = subprocess.run(
        [
            str(ELSEWHERE),
            "ca",
            "issue",
            "--dir",
            str(tmp_path / "ca"),
            "--subject",
            "CN=sub",
            "--out-cert",
            str(tmp_path / "c.pem"),
            "--out-key",
            str(tmp_path / "k.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Issued CN=sub serial" in run.stdout


@pytest.mark.parametrize(
    ("name", "broken", "content", "args", "needle"),
    [
        ("fail/index-not-json", "index.json", "garbage", ["ca", "crl", "--out", "c.pem"], "index"),
        ("fail/key-not-pem", "ca.key", "garbage", ["ca", "crl", "--out", "c.pem"], "ca.key"),
        (
            "fail/unwritable-output",
            None,
            "",
            ["ca", "issue", "--subject", "CN=a", "--out-cert", "k/a.pem", "--out-key", "a.key"],
            "k",
        ),
    ],
)
def test_broken_files_are_one_line_errors(
    cli: click.Group,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    broken: str | None,
    content: str,
    args: list[str],
    needle: str,
) -> None:
    """A damaged CA directory or an unwritable output exits 1 with a message, not a traceback."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ca", "init", "--dir", "ca"]).exit_code == 0
    monkeypatch.setenv("ELSEWHERE_CA_DIR", "ca")
    if broken is not None:
        (tmp_path / "ca" / broken).write_text(content)
    else:
        (tmp_path / "k").write_text("a file where a directory is needed")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error:" in result.output
    assert needle in result.output
