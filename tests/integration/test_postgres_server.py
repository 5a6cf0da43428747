"""``elsewhere server`` on PostgreSQL: one process on a fresh database, and replicas sharing one.

The design promises that several stateless replicas behind a load balancer share one PostgreSQL
database. Replicas must share ``master.key`` (it seals the root key's secret and the session-token
key ring kept in the store); everything else comes from the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from elsewhere.pki import Chain, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_x509_request
from tests.conftest import ServerProcess, start_server
from tests.postgres import PostgresServer, unique_database_name

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
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


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty (unmigrated) database: the server must create the schema itself."""
    name = unique_database_name("elsewhere_server")
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def _start(data_dir: Path, url: str) -> ServerProcess:
    return start_server(data_dir, args=("--database-url", url))


def _share_master_key(source: ServerProcess, data_dir: Path) -> None:
    """Give a replica the master key of the first node (what an operator deploys)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copy2(source.data_dir / "master.key", data_dir / "master.key")
    (data_dir / "master.key").chmod(0o600)


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _anchor(ra: Any, chain: Chain) -> dict[str, Any]:
    out = ra.create_trust_anchor(
        name=_name("ta"),
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )
    return dict(out["trustAnchor"])


@contextmanager
def _replicas(
    postgres_server: PostgresServer, base: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers on one new PostgreSQL database: the first migrates it, the second joins."""
    name = unique_database_name("elsewhere_replicas")
    url = postgres_server.create_database(name)
    one = _start(base / "one", url)
    nodes = [one]
    try:
        _share_master_key(one, base / "two")
        nodes.append(_start(base / "two", url))
        yield nodes[0], nodes[1]
        _stop_all(nodes)
        assert {"trust_anchors", "profiles", "iam_roles", "alembic_version"} <= _tables(url)
    finally:
        for node in nodes:
            node.stop()
        postgres_server.drop_database(name)


def _stop_all(nodes: list[ServerProcess]) -> None:
    """Stop servers in parallel (SIGTERM all, then wait) and check each exited cleanly."""
    for node in nodes:
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    codes = []
    for node in nodes:
        # Wait, do not call stop(): a second SIGTERM during shutdown would kill the process.
        try:
            codes.append(node.process.wait(timeout=15))
        except subprocess.TimeoutExpired:
            codes.append(node.stop(signal.SIGKILL))
    assert codes == [0] * len(nodes), "\n".join(node.log() for node in nodes)


def _check_control_plane(node: ServerProcess) -> None:
    """The server migrated an empty database and serves the control plane from it."""
    assert not (node.data_dir / "elsewhere.db").exists()
    ra = node.client("rolesanywhere")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    anchor = _anchor(ra, quick_chain(NOW))
    # The PostgreSQL session runs at UTC+05:45: times must still come back as the same instant.
    assert before <= anchor["createdAt"] <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    anchor_id = anchor["trustAnchorId"]
    got = ra.get_trust_anchor(trustAnchorId=anchor_id)["trustAnchor"]
    assert got["createdAt"] == anchor["createdAt"]
    ra.tag_resource(resourceArn=anchor["trustAnchorArn"], tags=[{"key": "team", "value": "blue"}])
    tags = ra.list_tags_for_resource(resourceArn=anchor["trustAnchorArn"])["tags"]
    assert tags == [{"key": "team", "value": "blue"}]
    ra.disable_trust_anchor(trustAnchorId=anchor_id)
    assert ra.get_trust_anchor(trustAnchorId=anchor_id)["trustAnchor"]["enabled"] is False
    profile = ra.create_profile(
        name=_name("p"), roleArns=["arn:aws:iam::123456789012:role/app"], enabled=True
    )["profile"]
    assert profile["profileId"] in [p["profileId"] for p in ra.list_profiles()["profiles"]]
    ra.delete_trust_anchor(trustAnchorId=anchor_id)
    with pytest.raises(ClientError) as err:
        ra.get_trust_anchor(trustAnchorId=anchor_id)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def _check_shared_state(one: ServerProcess, two: ServerProcess) -> None:
    """What one replica writes the other reads; the second found the root key in the database."""
    assert two.admin_keys() == one.admin_keys()
    ra_one, ra_two = one.client("rolesanywhere"), two.client("rolesanywhere")
    anchor = _anchor(ra_one, quick_chain(NOW))
    seen = ra_two.get_trust_anchor(trustAnchorId=anchor["trustAnchorId"])["trustAnchor"]
    assert seen == anchor
    ra_two.disable_trust_anchor(trustAnchorId=anchor["trustAnchorId"])
    again = ra_one.get_trust_anchor(trustAnchorId=anchor["trustAnchorId"])["trustAnchor"]
    assert again["enabled"] is False
    profile = ra_two.create_profile(
        name=_name("p"), roleArns=["arn:aws:iam::123456789012:role/app"]
    )["profile"]
    assert profile["profileId"] in {p["profileId"] for p in ra_one.list_profiles()["profiles"]}


def _signed_create_session(
    node: ServerProcess, chain: Chain, anchor: str, profile: str, role: str
) -> HttpRequest:
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
    )
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        query,
        (("Host", f"127.0.0.1:{node.port}"), ("Content-Type", "application/json")),
        b'{"durationSeconds":900}',
    )
    return sign_x509_request(
        unsigned,
        certificate=chain.leaf,
        private_key=chain.leaf_key,
        region=node.region,
        now=dt.datetime.now(dt.UTC),
        intermediates=chain.intermediates,
    )


def _post(node: ServerProcess, request: HttpRequest) -> httpx.Response:
    return httpx.post(
        f"{node.endpoint}/sessions?{request.raw_query}",
        headers=list(request.headers),
        content=request.body,
        timeout=30,
    )


def _check_session_across_replicas(one: ServerProcess, two: ServerProcess) -> None:
    """Configure on replica one, CreateSession on replica two, use the credentials on one."""
    role = one.client("iam").create_role(
        RoleName=_name("role"), AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    chain = quick_chain(NOW)
    ra = one.client("rolesanywhere")
    anchor = _anchor(ra, chain)["trustAnchorArn"]
    profile = ra.create_profile(name=_name("p"), roleArns=[role], enabled=True)["profile"]
    request = _signed_create_session(two, chain, anchor, profile["profileArn"], role)
    # Replica two learns of the new configuration within the documented bound (1 s).
    deadline = time.monotonic() + 5
    while True:
        answer = _post(two, request)
        if answer.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 201, answer.text
    creds = answer.json()["credentialSet"][0]["credentials"]
    sts = boto3.client(
        "sts",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name=one.region,
        endpoint_url=one.endpoint,
    )
    identity = sts.get_caller_identity()
    assert identity["Arn"].startswith(
        role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    )

    # DESIGN.md: disabling a profile on one replica takes effect on every replica within 1 s.
    ra.disable_profile(profileId=profile["profileId"])
    disabled_at = time.monotonic()
    while True:
        request = _signed_create_session(two, chain, anchor, profile["profileArn"], role)
        refused = _post(two, request)
        if refused.status_code != 201 or time.monotonic() - disabled_at > 10:
            break
        time.sleep(0.05)
    # One second is the bound; the rest is slack for one request on a loaded CI machine.
    assert refused.status_code == 403, refused.text
    assert time.monotonic() - disabled_at < 2.5


def test_replicas_share_one_postgres_database(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Control plane on a migrated-at-start database; two replicas share state and sessions.

    One test, not three, so that the two server processes start once even under xdist.
    """
    with _replicas(postgres_server, tmp_path) as (one, two):
        _check_control_plane(one)
        _check_shared_state(one, two)
        _check_session_across_replicas(one, two)


def test_replicas_starting_together_agree_on_the_root_key(
    tmp_path: Path, empty_database: str
) -> None:
    """Two replicas started at once on an empty database migrate it once and share one root key."""
    # The master-key file format: base64 of 32 random bytes, mode 0600 (see elsewhere.app).
    key = base64.b64encode(os.urandom(32)) + b"\n"
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir(mode=0o700)
        (d / "master.key").write_bytes(key)
        (d / "master.key").chmod(0o600)
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(_start, d, empty_database) for d in dirs]
    nodes = [f.result() for f in started if f.exception() is None]
    try:
        assert len(nodes) == 2, [str(f.exception()) for f in started]
        assert nodes[0].admin_keys() == nodes[1].admin_keys()
        for node in nodes:
            assert node.client("rolesanywhere").list_trust_anchors()["trustAnchors"] == []
    finally:
        _stop_all(nodes)


def test_nul_in_access_key_id_is_an_auth_error(tmp_path: Path, empty_database: str) -> None:
    """An access key id holding NUL (PostgreSQL text cannot) is a 403, never a 500."""
    node = _start(tmp_path / "data", empty_database)
    try:
        url = node.client(
            "rolesanywhere",
            aws_access_key_id="AKIA\x00NULNULNULNUL",
            aws_secret_access_key="x" * 40,
        ).generate_presigned_url("list_profiles", Params={}, ExpiresIn=60)
        answer = httpx.get(url)
        assert answer.status_code == 403, answer.text
        assert answer.headers["x-amzn-errortype"] == "UnrecognizedClientException"
    finally:
        _stop_all([node])
