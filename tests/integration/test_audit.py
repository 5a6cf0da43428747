"""The audit log of a real ``elsewhere server``: every call recorded, no secret written, rotation.

One server writes ``--audit-log``; the test makes CreateSession (granted and refused), control
plane, IAM and STS calls (AssumeRole by a session, and by root, refused), with boto3, httpx and a
presigned URL, then reads the file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from elsewhere.pki import quick_chain
from elsewhere.x509 import format_subject_dn
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
    sts_for,
)

pytestmark = pytest.mark.integration

FIELDS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "recipientAccountId",
}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """A server writing its audit log to a file."""
    root = tmp_path_factory.mktemp("audited")
    path = root / "audit.jsonl"
    handle = start_server(root / "data", args=("--audit-log", str(path)))
    yield handle, path
    handle.stop()


def _records(path: Path) -> list[dict[str, Any]]:
    """Every record in the file."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def _signature(headers: Any) -> str:
    """The signature hex of a signed request's Authorization header."""
    for name, value in headers:
        if name.lower() == "authorization":
            found = re.search(r"Signature=([0-9a-f]+)", value)
            assert found
            return found.group(1)
    raise AssertionError("no Authorization header")


def test_every_call_is_recorded_and_no_secret_is_written(
    audited: tuple[ServerProcess, Path],
) -> None:
    """CreateSession, AssumeRole, IAM and control-plane calls each get a full record; no secret
    key, session token or signature reaches the file."""
    server, path = audited
    secrets: list[str] = [server.admin_keys()[1]]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    chain = quick_chain(now - dt.timedelta(hours=1), "p256", True)
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    role_name = role.rsplit("/", 1)[1]
    target = make_role(
        server,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                }
            ],
        },
    )
    server.client("iam").put_role_policy(
        RoleName=role_name,
        PolicyName="chain",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        "Resource": target,
                    }
                ],
            }
        ),
    )
    profile = make_profile(server, [role])

    # CreateSession granted.
    request = signed_request(server, chain, anchor=anchor, profile=profile, role=role)
    secrets.append(_signature(request.headers))
    granted = send(server, request)
    assert granted.status_code == 201, granted.text
    creds = granted.json()["credentialSet"][0]["credentials"]
    secrets += [creds["secretAccessKey"], creds["sessionToken"]]
    granted_id = granted.headers["x-amzn-requestid"]

    # CreateSession refused: the role is not in the profile.
    refused = send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=target)
    )
    assert refused.status_code == 403
    refused_id = refused.headers["x-amzn-requestid"]

    # AssumeRole by the session (granted), and by root (refused).
    chained = sts_for(server, creds).assume_role(RoleArn=target, RoleSessionName="chained")
    secrets += [
        chained["Credentials"]["SecretAccessKey"],
        chained["Credentials"]["SessionToken"],
    ]
    with pytest.raises(ClientError):
        server.client("sts").assume_role(RoleArn=target, RoleSessionName="root")

    # An IAM user's new key, and a presigned call carrying a signature in its URL.
    iam = server.client("iam")
    iam.create_user(UserName=f"audit-{granted_id[:8]}")
    key = iam.create_access_key(UserName=f"audit-{granted_id[:8]}")["AccessKey"]
    secrets.append(key["SecretAccessKey"])
    url = boto3.client(
        "sts",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    ).generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    secrets.append(re.search(r"X-Amz-Signature=([0-9a-f]+)", url).group(1))  # type: ignore[union-attr]
    assert httpx.get(url, timeout=30).status_code == 200

    text = path.read_text()
    for secret in secrets:
        assert secret not in text
    records = _records(path)
    for record in records:
        assert set(record) >= FIELDS, record
        assert record["eventVersion"] == "1.09"
        assert record["eventType"] == "AwsApiCall"
        assert record["recipientAccountId"] == server.account_id
    by_id = {record["requestID"]: record for record in records}

    ok = by_id[granted_id]
    assert ok["eventName"] == "CreateSession"
    assert ok["errorCode"] is None
    assert ok["additionalEventData"] == {
        "x509Subject": format_subject_dn(chain.leaf.subject),
        "x509Issuer": format_subject_dn(chain.leaf.issuer),
        "x509SerialNumber": str(chain.leaf.serial_number),
        "trustAnchorArn": anchor,
        "profileArn": profile,
        "roleArn": role,
        "roleSessionName": ok["additionalEventData"]["roleSessionName"],
        "sourceIdentity": "CN=elsewhere-test-workload",
        "accessKeyId": creds["accessKeyId"],
    }
    assert ok["responseElements"]["credentialSet"][0]["credentials"]["accessKeyId"] == (
        creds["accessKeyId"]
    )

    no = by_id[refused_id]
    assert no["errorCode"] == "AccessDeniedException"
    assert no["errorMessage"] == f"Unable to assume role for {target}."
    assert no["additionalEventData"]["refusal"] == "profile"
    assert "not listed in the profile" in no["additionalEventData"]["reason"]
    assert no["additionalEventData"]["x509SerialNumber"] == str(chain.leaf.serial_number)

    assume = [r for r in records if r["eventName"] == "AssumeRole"]
    chained_record = next(r for r in assume if r["errorCode"] is None)
    assert chained_record["userIdentity"]["type"] == "AssumedRole"
    assert chained_record["userIdentity"]["accessKeyId"] == creds["accessKeyId"]
    assert chained_record["requestParameters"] == {"roleArn": target, "roleSessionName": "chained"}
    issued = chained_record["responseElements"]["credentials"]
    assert issued["accessKeyId"] == chained["Credentials"]["AccessKeyId"]
    assert issued["secretAccessKey"] == issued["sessionToken"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    root_record = next(r for r in assume if r["errorCode"] is not None)
    assert root_record["userIdentity"]["type"] == "Root"
    assert root_record["errorMessage"] == "Roles may not be assumed by root accounts."

    names = {(r["eventSource"], r["eventName"]) for r in records}
    assert ("rolesanywhere.amazonaws.com", "CreateTrustAnchor") in names
    assert ("rolesanywhere.amazonaws.com", "CreateProfile") in names
    assert ("iam.amazonaws.com", "CreateRole") in names
    assert ("iam.amazonaws.com", "CreateAccessKey") in names
    assert ("sts.amazonaws.com", "GetCallerIdentity") in names


def test_sighup_reopens_the_file(audited: tuple[ServerProcess, Path]) -> None:
    """After logrotate moves the file and sends SIGHUP, new records go to a new file."""
    server, path = audited
    rotated = path.with_name("audit.jsonl.1")
    path.rename(rotated)
    server.process.send_signal(signal.SIGHUP)
    sts = server.client("sts")
    deadline = time.monotonic() + 20
    while not (path.exists() and path.stat().st_size > 0):
        assert time.monotonic() < deadline, "no record reached the reopened file"
        sts.get_caller_identity()
        time.sleep(0.05)
    assert server.process.poll() is None
    assert _records(path)[-1]["eventName"] == "GetCallerIdentity"
    assert f"audit log {path} reopened" in server.log()


def test_unwritable_audit_log_refuses_to_hand_out_credentials(tmp_path: Path) -> None:
    """With an audit log that cannot be written, calls fail closed with a 500 and the record is
    in the error log."""
    server = start_server(tmp_path / "data", args=("--audit-log", "/dev/full"))
    try:
        with pytest.raises(ClientError) as caught:
            server.client("sts").get_caller_identity()
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
        request_id = error["ResponseMetadata"]["RequestId"]
        log = server.log()
        assert "audit record not written to /dev/full" in log
        assert f'"requestID":"{request_id}"' in log
    finally:
        server.stop()


def test_audit_log_to_standard_output(tmp_path: Path) -> None:
    """``--audit-log -`` writes the records to standard output."""
    server = start_server(tmp_path / "data", args=("--audit-log", "-"))
    try:
        answer = server.client("sts").get_caller_identity()
        request_id = answer["ResponseMetadata"]["RequestId"]
        deadline = time.monotonic() + 10
        while f'"requestID":"{request_id}"' not in server.log():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.stop()
