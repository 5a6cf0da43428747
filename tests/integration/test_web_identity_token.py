"""STS GetWebIdentityToken on a live server: a certificate's session gets a JWT anyone can verify.

Tokens are checked with PyJWT against the JWKS the server serves (both algorithms, and across a
key rotation), the way a relying party checks them; permissions come from the policy engine
with the sts: condition keys.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from elsewhere.pki import quick_chain
from tests.conftest import ELSEWHERE, ServerProcess, start_server
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    put_role_policy,
    send,
    signed_request,
    sts_for,
)

pytestmark = pytest.mark.integration

NAMESPACE = "https://sts.amazonaws.com/"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return (
        exc.value.response["Error"]["Code"],
        exc.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _enable(server: ServerProcess) -> None:
    try:
        server.client("iam").enable_outbound_web_identity_federation()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "FeatureEnabled":
            raise


def _verify(server: ServerProcess, token: str, audience: str) -> dict[str, Any]:
    """Check ``token`` as a relying party would: keys from the served JWKS, iss, aud, exp."""
    keys = jwt.PyJWKClient(f"{server.endpoint}/.well-known/jwks.json", cache_keys=False)
    key = keys.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "ES384"],
        audience=audience,
        issuer=server.endpoint,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return claims


def _allow(actions: list[str], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def workload(server: ServerProcess) -> Callable[..., tuple[Any, str]]:
    """A certificate's session (its STS client) for a new role with the given policy."""
    _enable(server)

    def make(policy: str | None = None, duration: int = 3600) -> tuple[Any, str]:
        chain = quick_chain(
            dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            subject=f"CN=web-{uuid.uuid4().hex[:6]},O=elsewhere",
        )
        anchor = make_anchor(server, chain.anchor_pem)
        role = make_role(server)
        name = role.rsplit("/", 1)[1]
        put_role_policy(
            server, name, "tokens", policy or _allow(["sts:GetWebIdentityToken", "sts:Tag*"])
        )
        profile = make_profile(server, [role])
        answer = send(
            server,
            signed_request(
                server,
                chain,
                anchor=anchor,
                profile=profile,
                role=role,
                body={"durationSeconds": duration},
            ),
        )
        assert answer.status_code == 201, answer.text
        creds = answer.json()["credentialSet"][0]["credentials"]
        return sts_for(server, creds), role

    return make


@pytest.mark.parametrize("alg", ["RS256", "ES384"])
def test_certificate_session_token_verifies(
    server: ServerProcess, workload: Callable[..., tuple[Any, str]], alg: str
) -> None:
    """boto3's get_web_identity_token: a token PyJWT verifies with the served JWKS."""
    sts, role = workload()
    out = sts.get_web_identity_token(
        Audience=["https://vault.example.com"],
        SigningAlgorithm=alg,
        DurationSeconds=120,
        Tags=[{"Key": "job", "Value": "nightly"}],
    )
    claims = _verify(server, out["WebIdentityToken"], "https://vault.example.com")
    assert jwt.get_unverified_header(out["WebIdentityToken"])["alg"] == alg
    assert claims["sub"] == role
    assert claims["exp"] - claims["iat"] == 120
    assert out["Expiration"] == dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    aws = claims[NAMESPACE]
    assert aws["aws_account"] == server.account_id
    assert aws["source_region"] == server.region
    assert aws["principal_id"] == role
    assert aws["principal_tags"]["x509Subject/CN"].startswith("web-")
    assert aws["request_tags"] == {"job": "nightly"}


def test_several_audiences(server: ServerProcess, workload: Callable[..., tuple[Any, str]]) -> None:
    """Several audiences make aud an array; each one verifies."""
    sts, _ = workload()
    token = sts.get_web_identity_token(Audience=["a", "b"], SigningAlgorithm="RS256")
    for audience in ("a", "b"):
        assert _verify(server, token["WebIdentityToken"], audience)["aud"] == ["a", "b"]


def test_token_never_outlives_the_session(
    server: ServerProcess, workload: Callable[..., tuple[Any, str]]
) -> None:
    """A 15-minute session may not get a one-hour token: SessionDurationEscalationException."""
    sts, _ = workload(duration=900)
    with pytest.raises(ClientError) as info:
        sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256", DurationSeconds=3600)
    assert _error(info) == ("SessionDurationEscalationException", 403)
    sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256", DurationSeconds=600)


@pytest.mark.parametrize(
    ("case", "request_args", "code"),
    [
        ("fail/audience-not-allowed", {"Audience": ["other"]}, "AccessDenied"),
        ("fail/too-long", {"Audience": ["bao"], "DurationSeconds": 900}, "AccessDenied"),
        (
            "fail/es384-not-allowed",
            {"Audience": ["bao"], "SigningAlgorithm": "ES384"},
            "AccessDenied",
        ),
        (
            "fail/tags-need-tag-action",
            {"Audience": ["bao"], "Tags": [{"Key": "k", "Value": "v"}]},
            "AccessDenied",
        ),
        ("ok/allowed", {"Audience": ["bao"], "DurationSeconds": 300}, None),
        ("ok/default-duration", {"Audience": ["bao"]}, None),
    ],
)
def test_condition_keys_bound_the_token(
    workload: Callable[..., tuple[Any, str]],
    case: str,
    request_args: dict[str, Any],
    code: str | None,
) -> None:
    """sts:IdentityTokenAudience, sts:DurationSeconds and sts:SigningAlgorithm are enforced."""
    policy = _allow(
        ["sts:GetWebIdentityToken"],
        {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": "bao"},
            "NumericLessThanEquals": {"sts:DurationSeconds": 300},
            "StringEquals": {"sts:SigningAlgorithm": "RS256"},
        },
    )
    sts, _ = workload(policy)
    args = {"SigningAlgorithm": "RS256", **request_args}
    if code is None:
        sts.get_web_identity_token(**args)
        return
    with pytest.raises(ClientError) as info:
        sts.get_web_identity_token(**args)
    assert _error(info) == (code, 403)
    assert "sts:" in str(info.value)


def test_no_policy_no_token(
    server: ServerProcess, workload: Callable[..., tuple[Any, str]]
) -> None:
    """A session whose role does not allow sts:GetWebIdentityToken is refused with AWS's text."""
    sts, _ = workload(_allow(["s3:GetObject"]))
    with pytest.raises(ClientError) as info:
        sts.get_web_identity_token(Audience=["bao"], SigningAlgorithm="RS256")
    assert _error(info) == ("AccessDenied", 403)
    assert "sts:GetWebIdentityToken" in str(info.value)


def test_disabled_federation_refuses_tokens(fresh_server: ServerProcess) -> None:
    """Before Enable and after Disable: OutboundWebIdentityFederationDisabledException (403)."""
    sts = fresh_server.client("sts")
    with pytest.raises(ClientError) as never:
        sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
    assert _error(never) == ("OutboundWebIdentityFederationDisabledException", 403)
    iam = fresh_server.client("iam")
    iam.enable_outbound_web_identity_federation()
    token = sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="ES384")
    iam.disable_outbound_web_identity_federation()
    with pytest.raises(ClientError) as off:
        sts.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
    assert _error(off)[0] == "OutboundWebIdentityFederationDisabledException"
    # Tokens issued before the switch was turned off stay verifiable.
    assert _verify(fresh_server, token["WebIdentityToken"], "a")["sub"].endswith(":root")


def test_tokens_verify_across_a_rotation(fresh_server: ServerProcess) -> None:
    """A token signed before a rotation and one after both verify against the served JWKS."""
    fresh_server.client("iam").enable_outbound_web_identity_federation()
    sts = fresh_server.client("sts")
    before = {
        alg: sts.get_web_identity_token(Audience=["a"], SigningAlgorithm=alg)["WebIdentityToken"]
        for alg in ("RS256", "ES384")
    }
    done = subprocess.run(
        [
            ELSEWHERE,
            "oidc",
            "rotate",
            "--activate-after",
            "2",
            "--data-dir",
            str(fresh_server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    new_kids = {row.split("\t")[0] for row in done.stdout.splitlines()[1:] if "\tpending\t" in row}
    assert len(new_kids) == 2
    deadline = time.monotonic() + 30
    after: dict[str, str] = {}
    while len(after) < 2 and time.monotonic() < deadline:
        for alg in ("RS256", "ES384"):
            token = sts.get_web_identity_token(Audience=["a"], SigningAlgorithm=alg)
            if jwt.get_unverified_header(token["WebIdentityToken"])["kid"] in new_kids:
                after[alg] = token["WebIdentityToken"]
        time.sleep(0.2)
    assert set(after) == {"RS256", "ES384"}
    for token in (*before.values(), *after.values()):
        assert (
            _verify(fresh_server, token, "a")["sub"]
            == f"arn:aws:iam::{fresh_server.account_id}:root"
        )
    for alg, token in before.items():
        assert jwt.get_unverified_header(token)["kid"] not in new_kids, alg


def test_iam_user_token_and_cli(server: ServerProcess) -> None:
    """An IAM user's token names the user; the AWS CLI's get-web-identity-token works too."""
    _enable(server)
    iam = server.client("iam")
    name = f"tok-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])["User"]
    iam.put_user_policy(
        UserName=name, PolicyName="t", PolicyDocument=_allow(["sts:GetWebIdentityToken"])
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = boto3.client(
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )
    token = sts.get_web_identity_token(Audience=["x"], SigningAlgorithm="RS256")
    claims = _verify(server, token["WebIdentityToken"], "x")
    assert claims["sub"] == user["Arn"]
    assert claims[NAMESPACE]["principal_tags"] == {"team": "blue"}

    done = server.aws(
        "sts", "get-web-identity-token", "--audience", "cli", "--signing-algorithm", "ES384"
    )
    assert done.returncode == 0, done.stderr
    assert _verify(server, json.loads(done.stdout)["WebIdentityToken"], "cli")


def test_audit_log_never_holds_a_token(tmp_path: Path) -> None:
    """The audit record of GetWebIdentityToken keeps the request and hides the token itself."""
    audit = tmp_path / "audit.jsonl"
    node = start_server(tmp_path / "data", args=("--audit-log", str(audit)))
    try:
        node.client("iam").enable_outbound_web_identity_federation()
        token = node.client("sts").get_web_identity_token(
            Audience=["audited"], SigningAlgorithm="RS256"
        )["WebIdentityToken"]
        deadline = time.monotonic() + 10
        while "GetWebIdentityToken" not in audit.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        node.stop()
    text = audit.read_text()
    assert token not in text
    assert token.split(".")[2] not in text  # not even the signature
    records = [json.loads(line) for line in text.splitlines()]
    (record,) = [r for r in records if r.get("eventName") == "GetWebIdentityToken"]
    assert "audited" in json.dumps(record["requestParameters"])
    # The audit layer hides the model's sensitive members; it may leave a read's answer out.
    response = json.dumps(record.get("responseElements"))
    assert response == "null" or "HIDDEN_DUE_TO_SECURITY_REASONS" in response
