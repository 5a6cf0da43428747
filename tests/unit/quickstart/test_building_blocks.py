"""The quickstart's offline parts: trust policy, admin credentials, command line, files."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path

import pytest
from cryptography import x509

from elsewhere.policy import PolicyKind, parse_policy
from elsewhere.quickstart import (
    QuickstartError,
    build_trust_policy,
    candidate_regions,
    credential_process_command,
    ensure_ca,
    ensure_workload_certificate,
    load_admin_credentials,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ANCHOR = (
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f0e6a8e-5d4c-4b7e-9d0a-1c2b3a4d5e6f"
)
PROFILE = (
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/1f0e6a8e-5d4c-4b7e-9d0a-1c2b3a4d5e6f"
)
ROLE = "arn:aws:iam::123456789012:role/elsewhere-quickstart"


def test_trust_policy_is_a_valid_trust_policy_bound_to_the_cn() -> None:
    """The trust policy parses as a trust policy and names the service, actions, CN and anchor."""
    document = build_trust_policy("web-01", ANCHOR)
    parse_policy(json.dumps(document), kind=PolicyKind.TRUST)
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalTag/x509Subject/CN": "web-01"}
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": ANCHOR}


def test_trust_policy_without_anchor_has_only_the_cn_condition() -> None:
    """Without an anchor ARN only the CN is required."""
    (statement,) = build_trust_policy("web-01")["Statement"]
    assert list(statement["Condition"]) == ["StringEquals"]


@pytest.mark.parametrize(
    ("name", "text", "profile", "expected"),
    [
        (
            "ok/default",
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cr%t\n",
            "default",
            ("AKIA1", "s3cr%t", None),
        ),
        (
            "ok/profile-with-token",
            "[admin]\naws_access_key_id=ASIA1\naws_secret_access_key=x\naws_session_token=t\n",
            "admin",
            ("ASIA1", "x", "t"),
        ),
    ],
)
def test_admin_credentials_ok(
    tmp_path: Path, name: str, text: str, profile: str, expected: tuple[str, str, str | None]
) -> None:
    """A shared-credentials file gives its key, secret and token (no % interpolation)."""
    path = tmp_path / "c"
    path.write_text(text)
    assert load_admin_credentials(path, profile) == expected, name


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("fail/garbage", "not ini\n", "is not an AWS credentials file"),
        ("fail/no-profile", "[other]\naws_access_key_id=a\n", "has no [default] profile"),
        ("fail/no-secret", "[default]\naws_access_key_id=a\n", "needs aws_access_key_id"),
        ("fail/missing", None, "no admin credentials file at"),
    ],
)
def test_admin_credentials_fail(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    """A missing or malformed credentials file is a QuickstartError with a clear message."""
    path = tmp_path / "c"
    if text is not None:
        path.write_text(text)
    with pytest.raises(QuickstartError) as info:
        load_admin_credentials(path)
    assert message in info.value.message, name


def test_credential_process_command_is_quoted_and_absolute(tmp_path: Path) -> None:
    """The command line survives shell splitting with spaces in paths and uses absolute paths."""
    directory = tmp_path / "with space"
    command = credential_process_command(
        certificate=directory / "w.pem",
        private_key=directory / "w.key",
        trust_anchor_arn=ANCHOR,
        profile_arn=PROFILE,
        role_arn=ROLE,
        endpoint="http://127.0.0.1:8080",
    )
    argv = shlex.split(command)
    assert argv[1] == "credential-process"
    assert argv[argv.index("--certificate") + 1] == str(directory / "w.pem")
    assert Path(argv[argv.index("--private-key") + 1]).is_absolute()
    assert argv[argv.index("--endpoint") + 1] == "http://127.0.0.1:8080"
    assert "--no-verify-ssl" not in argv


def test_ca_and_workload_are_reused_then_renewed(tmp_path: Path) -> None:
    """A second run reuses the CA and certificate; a near expiry or a new CN issues a new one."""
    directory = tmp_path / "qs"
    store, step = ensure_ca(directory, now=NOW)
    assert step.action == "created"
    cert, key, step = ensure_workload_certificate(store, directory, "web-01", now=NOW)
    assert step.action == "issued"
    assert key.stat().st_mode & 0o777 == 0o600
    first = x509.load_pem_x509_certificate(cert.read_bytes())
    assert first.subject.rfc4514_string() == "CN=web-01"

    store, step = ensure_ca(directory, now=NOW)
    assert step.action == "reused"
    _, _, step = ensure_workload_certificate(store, directory, "web-01", now=NOW)
    assert step.action == "reused"

    later = first.not_valid_after_utc - dt.timedelta(hours=12)
    _, _, step = ensure_workload_certificate(store, directory, "web-01", now=later)
    assert step.action == "issued"
    _, _, step = ensure_workload_certificate(store, directory, "web-02", now=NOW)
    assert step.action == "issued"


def test_workload_from_another_ca_is_replaced(tmp_path: Path) -> None:
    """A workload certificate that does not chain to the CA in the directory is issued again."""
    other, _ = ensure_ca(tmp_path / "other", now=NOW)
    ensure_workload_certificate(other, tmp_path / "other", "web-01", now=NOW)
    directory = tmp_path / "qs"
    store, _ = ensure_ca(directory, now=NOW)
    directory.joinpath("workload.pem").write_bytes((tmp_path / "other/workload.pem").read_bytes())
    directory.joinpath("workload.key").write_bytes((tmp_path / "other/workload.key").read_bytes())
    _, _, step = ensure_workload_certificate(store, directory, "web-01", now=NOW)
    assert step.action == "issued"


def test_broken_ca_directory_is_a_clear_error(tmp_path: Path) -> None:
    """A ca.pem without its key is reported, not a traceback."""
    (tmp_path / "ca.pem").write_text("junk")
    with pytest.raises(QuickstartError, match="development CA in"):
        ensure_ca(tmp_path, now=NOW)


def test_candidate_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """--region alone if given; else ELSEWHERE_REGION, us-east-1, AWS_REGION, AWS_DEFAULT_REGION."""
    for name in ("ELSEWHERE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert candidate_regions("eu-west-1") == ("eu-west-1",)
    assert candidate_regions(None) == ("us-east-1",)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("ELSEWHERE_REGION", "ap-south-1")
    assert candidate_regions(None) == ("ap-south-1", "us-east-1", "eu-west-1")
