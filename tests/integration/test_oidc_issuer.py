"""The OIDC issuer of outbound federation on a live server: IAM switch, documents, keys.

Through boto3 and plain HTTP: the three IAM operations with AWS's errors and the policy engine in
front of them; the discovery document and JWKS served to anyone with cache headers; rotation by
the ``elsewhere oidc rotate`` command seen by the running server within a second; ``elsewhere
oidc export`` writing the documents the server serves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ELSEWHERE, ServerProcess, start_server
from tests.postgres import PostgresServer, unique_database_name

pytestmark = pytest.mark.integration

FEDERATION_ACTIONS = [
    "iam:EnableOutboundWebIdentityFederation",
    "iam:DisableOutboundWebIdentityFederation",
    "iam:GetOutboundWebIdentityFederationInfo",
]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return (
        exc.value.response["Error"]["Code"],
        exc.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _user_iam(server: ServerProcess, actions: list[str]) -> Any:
    """An IAM client of a new user whose policy allows ``actions`` (nothing when empty)."""
    admin = server.client("iam")
    name = f"fed-{uuid.uuid4().hex[:8]}"
    admin.create_user(UserName=name)
    if actions:
        admin.put_user_policy(
            UserName=name,
            PolicyName="federation",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                }
            ),
        )
    key = admin.create_access_key(UserName=name)["AccessKey"]
    return server.client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _jwks(base: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/.well-known/jwks.json", timeout=10)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _oidc(server: ServerProcess, *args: str) -> str:
    done = subprocess.run(
        [ELSEWHERE, "oidc", *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_federation_switch_through_boto3(fresh_server: ServerProcess) -> None:
    """Never enabled, enabled, enabled again, disabled, disabled again: AWS's answers."""
    iam = fresh_server.client("iam")
    with pytest.raises(ClientError) as never:
        iam.get_outbound_web_identity_federation_info()
    assert _error(never) == ("FeatureDisabled", 404)

    enabled = iam.enable_outbound_web_identity_federation()
    assert enabled["IssuerIdentifier"] == fresh_server.endpoint
    with pytest.raises(ClientError) as twice:
        iam.enable_outbound_web_identity_federation()
    assert _error(twice) == ("FeatureEnabled", 409)
    info = iam.get_outbound_web_identity_federation_info()
    assert (info["IssuerIdentifier"], info["JwtVendingEnabled"]) == (fresh_server.endpoint, True)

    iam.disable_outbound_web_identity_federation()
    info = iam.get_outbound_web_identity_federation_info()
    assert info["JwtVendingEnabled"] is False
    with pytest.raises(ClientError) as off:
        iam.disable_outbound_web_identity_federation()
    assert _error(off) == ("FeatureDisabled", 404)


def test_federation_switch_with_the_aws_cli(fresh_server: ServerProcess) -> None:
    """``aws iam enable-outbound-web-identity-federation`` prints the issuer."""
    done = fresh_server.aws("iam", "enable-outbound-web-identity-federation", check=True)
    assert json.loads(done.stdout) == {"IssuerIdentifier": fresh_server.endpoint}


def test_switch_is_authorized_by_the_policy_engine(server: ServerProcess) -> None:
    """A user without the actions gets AccessDenied naming the action; one with them may read."""
    denied = _user_iam(server, [])
    with pytest.raises(ClientError) as refused:
        denied.enable_outbound_web_identity_federation()
    assert _error(refused) == ("AccessDenied", 403)
    assert "iam:EnableOutboundWebIdentityFederation" in str(refused.value)

    reader = _user_iam(server, ["iam:GetOutboundWebIdentityFederationInfo"])
    code = "ok"
    try:
        reader.get_outbound_web_identity_federation_info()
    except ClientError as exc:  # the shared server may never have enabled federation
        code = exc.response["Error"]["Code"]
    assert code in ("ok", "FeatureDisabled")
    with pytest.raises(ClientError) as write:
        reader.disable_outbound_web_identity_federation()
    assert _error(write) == ("AccessDenied", 403)


def test_documents_are_public_with_cache_headers(server: ServerProcess) -> None:
    """Discovery and JWKS answer without a signature, cacheable, with an ETag and 304."""
    discovery = httpx.get(f"{server.endpoint}/.well-known/openid-configuration", timeout=10)
    assert discovery.status_code == 200
    assert discovery.headers["content-type"] == "application/json"
    assert discovery.headers["cache-control"] == "public, max-age=300"
    metadata = discovery.json()
    assert metadata["issuer"] == server.endpoint
    assert metadata["jwks_uri"] == f"{server.endpoint}/.well-known/jwks.json"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES384"]
    assert metadata["subject_types_supported"] == ["public"]

    jwks = httpx.get(metadata["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    assert jwks.headers["cache-control"] == "public, max-age=300"
    keys = jwks.json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES384", "RS256"]
    assert all(k["use"] == "sig" and k["kid"] for k in keys)
    assert not any("d" in k for k in keys)

    etag = jwks.headers["etag"]
    again = httpx.get(metadata["jwks_uri"], headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    head = httpx.head(metadata["jwks_uri"], timeout=10)
    assert head.status_code == 200
    assert head.headers["etag"] == etag


def test_other_methods_on_documents_need_a_signature(server: ServerProcess) -> None:
    """Only GET and HEAD are public; a POST to the path is an unsigned AWS call (403)."""
    answer = httpx.post(f"{server.endpoint}/.well-known/jwks.json", timeout=10)
    assert answer.status_code == 403


def test_public_url_sets_the_issuer_and_its_path(tmp_path: Path) -> None:
    """With --public-url, iss and jwks_uri name it, and its path serves the documents too."""
    public = "https://idp.example.com/elsewhere"
    node = start_server(tmp_path / "data", args=("--public-url", public + "/"))
    try:
        for path in ("", "/elsewhere"):
            metadata = httpx.get(
                f"{node.endpoint}{path}/.well-known/openid-configuration", timeout=10
            ).json()
            assert metadata["issuer"] == public
            assert metadata["jwks_uri"] == f"{public}/.well-known/jwks.json"
        enabled = node.client("iam").enable_outbound_web_identity_federation()
        assert enabled["IssuerIdentifier"] == public
        assert _jwks(node.endpoint) == _jwks(node.endpoint + "/elsewhere")
    finally:
        node.stop()


def test_bad_public_url_is_refused_at_start(tmp_path: Path) -> None:
    """A --public-url with a query is a usage error, not a server with a broken issuer."""
    done = subprocess.run(
        [ELSEWHERE, "server", "--data-dir", str(tmp_path / "d"), "--public-url", "https://x/?a"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--public-url" in done.stderr


def test_rotation_reaches_the_running_server(fresh_server: ServerProcess) -> None:
    """`elsewhere oidc rotate` adds keys the server publishes within a second; old ones stay."""
    before = {k["kid"] for k in _jwks(fresh_server.endpoint)["keys"]}
    listing = _oidc(fresh_server, "rotate", "--activate-after", "600")
    rows = [line.split("\t") for line in listing.strip().splitlines()[1:]]
    assert sorted(row[2] for row in rows) == ["active", "active", "pending", "pending"]
    new = {row[0] for row in rows} - before
    assert len(new) == 2

    deadline = time.monotonic() + 1.0
    while True:
        now_published = {k["kid"] for k in _jwks(fresh_server.endpoint)["keys"]}
        if now_published == before | new or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert now_published == before | new

    keys = _oidc(fresh_server, "keys")
    assert all(kid in keys for kid in before | new)


def test_export_writes_what_the_server_serves(tmp_path: Path) -> None:
    """`elsewhere oidc export DIR` writes the two documents a server with that URL serves."""
    public = "https://bucket.example.com/issuer"
    node = start_server(tmp_path / "data", args=("--public-url", public))
    try:
        out = tmp_path / "site"
        done = subprocess.run(
            [
                ELSEWHERE,
                "oidc",
                "export",
                str(out),
                "--data-dir",
                str(node.data_dir),
                "--public-url",
                public,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        for name in ("openid-configuration", "jwks.json"):
            served = httpx.get(f"{node.endpoint}/.well-known/{name}", timeout=10)
            assert (out / ".well-known" / name).read_bytes() == served.content
    finally:
        node.stop()


def test_export_needs_the_public_url(fresh_server: ServerProcess, tmp_path: Path) -> None:
    """Without --public-url (or ELSEWHERE_PUBLIC_URL) export refuses: iss must match the host."""
    done = subprocess.run(
        [
            ELSEWHERE,
            "oidc",
            "export",
            str(tmp_path / "x"),
            "--data-dir",
            str(fresh_server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "--public-url" in done.stderr


@pytest.mark.postgres
def test_replicas_serve_one_issuer(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """Two replicas on one database publish the same JWKS; a rotation reaches both within 1 s."""
    public = "https://idp.example.com"
    name = unique_database_name("elsewhere_oidc")
    url = postgres_server.create_database(name)
    args = ("--database-url", url, "--public-url", public)
    one = start_server(tmp_path / "one", args=args)
    nodes = [one]
    try:
        (tmp_path / "two").mkdir(mode=0o700)
        shutil.copy2(one.data_dir / "master.key", tmp_path / "two" / "master.key")
        nodes.append(start_server(tmp_path / "two", args=args))
        two = nodes[1]
        first = [httpx.get(f"{n.endpoint}/.well-known/jwks.json", timeout=10) for n in nodes]
        assert first[0].content == first[1].content
        assert first[0].headers["etag"] == first[1].headers["etag"]
        assert one.client("iam").enable_outbound_web_identity_federation()["IssuerIdentifier"] == (
            public
        )
        # The switch written through one replica is seen through the other.
        assert two.client("iam").get_outbound_web_identity_federation_info()["JwtVendingEnabled"]

        done = subprocess.run(
            [ELSEWHERE, "oidc", "rotate", "--data-dir", str(one.data_dir), "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rotated_at = time.monotonic()
        expected = {row.split("\t")[0] for row in done.stdout.strip().splitlines()[1:]}
        seen: dict[str, float] = {}
        while len(seen) < 2 and time.monotonic() - rotated_at < 5:
            for node in nodes:
                kids = {k["kid"] for k in _jwks(node.endpoint)["keys"]}
                if node.endpoint not in seen and kids == expected:
                    seen[node.endpoint] = time.monotonic() - rotated_at
            time.sleep(0.05)
        assert len(seen) == 2, seen
        assert max(seen.values()) < 1.0, seen
    finally:
        for node in nodes:
            node.stop()
        postgres_server.drop_database(name)
