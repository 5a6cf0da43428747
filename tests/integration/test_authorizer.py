"""The authorizer on a real server: sessions from CreateSession, IAM users, the log, the guard."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path

import pytest
from botocore.credentials import Credentials

from tests.conftest import ServerProcess, start_server
from tests.integration._invoke import ask, invoke_policy, new_session, sign

pytestmark = pytest.mark.integration

URL = "https://api.example.test:8443"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/items/1?view=full", 200, id="ok/allowed"),
        pytest.param("POST", "/items", 200, id="ok/allowed-with-body"),
        pytest.param("GET", "/admin", 403, id="fail/denied-by-path"),
        pytest.param("DELETE", "/items/1", 403, id="fail/denied-by-method"),
        pytest.param("GET", "/items/secret", 403, id="fail/explicit-deny"),
        pytest.param("GET", "/team/a", 200, id="ok/tag-condition-holds"),
        pytest.param("GET", "/other-team/a", 403, id="fail/denied-by-tag-condition"),
    ],
)
def test_session_calls_are_decided_by_the_roles_policies(
    server: ServerProcess, method: str, path: str, status: int
) -> None:
    """A real session's signed calls are allowed or denied by its role's policies."""
    session = new_session(server)
    body = b'{"n":1}' if method == "POST" else b""
    answer = ask(server, sign(session.credentials, method, URL + path, body))
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.headers["X-Elsewhere-Principal-Arn"].startswith(
            f"arn:aws:sts::123456789012:assumed-role/{session.role_name}/"
        )
        assert answer.headers["X-Elsewhere-Account"] == "123456789012"
        assert answer.headers["X-Elsewhere-Caller-Id"].startswith("AROA")
        assert answer.headers["X-Elsewhere-Source-Identity"] == "CN=elsewhere-test-workload"
    else:
        assert answer.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert answer.json()["Message"].startswith("User: arn:aws:sts::123456789012:")


def test_tampered_and_late_requests_are_refused(server: ServerProcess) -> None:
    """A changed header, path or body, or a signature past its window, is a 401."""
    session = new_session(server)
    good = sign(session.credentials, "POST", URL + "/items", b'{"n":1}', {"X-Team": "a"})
    assert ask(server, good).status_code == 200
    changed_header = ask(server, good, extra={"X-Team": "b"})
    assert changed_header.status_code == 401
    assert changed_header.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    changed_path = ask(server, good, extra={"X-Forwarded-Uri": "/items/2"})
    assert changed_path.status_code == 401
    changed_body = ask(server, good, body=b'{"n":2}')
    assert changed_body.status_code == 401
    captured = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    refused = ask(server, sign(session.credentials, "GET", URL + "/items/1", at=captured))
    assert refused.status_code == 401
    assert refused.json()["message"].startswith("Signature expired")


def test_deleted_roles_sessions_are_refused(server: ServerProcess) -> None:
    """Once its role is deleted, a session's calls are refused as an invalid token."""
    session = new_session(server)
    assert ask(server, sign(session.credentials, "GET", URL + "/items/1")).status_code == 200
    iam = server.client("iam")
    iam.delete_role_policy(RoleName=session.role_name, PolicyName="invoke")
    iam.delete_role(RoleName=session.role_name)
    answer = ask(server, sign(session.credentials, "GET", URL + "/items/1"))
    assert answer.status_code == 401, answer.text
    assert answer.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"


def test_iam_user_keys_are_authorized_by_the_users_policies(server: ServerProcess) -> None:
    """An IAM user's access key signs calls too; the user's own policies decide."""
    iam = server.client("iam")
    name = f"caller-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName="invoke", PolicyDocument=json.dumps(invoke_policy())
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    allowed = ask(server, sign(credentials, "GET", URL + "/items/9"))
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["X-Elsewhere-Principal-Arn"] == f"arn:aws:iam::123456789012:user/{name}"
    assert allowed.headers["X-Elsewhere-Caller-Id"].startswith("AIDA")
    assert allowed.headers["X-Elsewhere-Source-Identity"] == ""
    assert ask(server, sign(credentials, "GET", URL + "/admin")).status_code == 403
    wrong = Credentials(key["AccessKeyId"], "x" * 40)
    assert ask(server, sign(wrong, "GET", URL + "/items/9")).status_code == 401


def test_every_decision_is_logged_with_its_request_id_and_reason(server: ServerProcess) -> None:
    """The log names each answer's request id, its decision and, for refusals, the reason."""
    session = new_session(server)
    allowed = ask(server, sign(session.credentials, "GET", URL + "/items/1"))
    denied = ask(server, sign(session.credentials, "GET", URL + "/admin"))
    no_signature = {"Authorization": ""}
    unsigned = ask(server, sign(session.credentials, "GET", URL + "/x"), extra=no_signature)
    ids = [a.headers["x-amzn-RequestId"] for a in (allowed, denied, unsigned)]
    deadline = time.monotonic() + 10
    log = server.log()
    # Decision lines are buffered with the access lines and written every tenth of a second.
    while not all(f"request_id={i} decision=" in log for i in ids):
        assert time.monotonic() < deadline, log[-2000:]
        time.sleep(0.05)
        log = server.log()
    for answer, words in (
        (allowed, ("decision=allow", "resource=arn:aws:execute-api:")),
        (denied, ("decision=deny", "status=403", "implicitDeny")),
        (unsigned, ("decision=refuse", "status=401")),
    ):
        request_id = answer.headers["x-amzn-RequestId"]
        [line] = [line for line in log.splitlines() if f"request_id={request_id} decision=" in line]
        for word in words:
            assert word in line, line


def test_replay_guard_refuses_a_second_use(tmp_path: Path) -> None:
    """With --replay-guard, one signed request is answered once; without it, every time."""
    guarded = start_server(tmp_path / "data", args=("--replay-guard", "1000"))
    try:
        session = new_session(guarded)
        request = sign(session.credentials, "GET", URL + "/items/1")
        assert ask(guarded, request).status_code == 200
        again = ask(guarded, request)
        assert again.status_code == 401
        assert again.json()["message"] == "The request signature has been used before."
        assert ask(guarded, sign(session.credentials, "GET", URL + "/items/2")).status_code == 200
    finally:
        guarded.stop()


@pytest.mark.parametrize(
    ("args", "status"),
    [
        pytest.param((), 403, id="fail/not-believed-by-default"),
        pytest.param(("--forwarded-allow-ips", "127.0.0.1"), 200, id="ok/named-proxy"),
    ],
)
def test_source_ip_is_believed_only_from_named_proxies(
    tmp_path: Path, args: tuple[str, ...], status: int
) -> None:
    """aws:SourceIp is the forwarded client only when the proxy is named."""
    proxied = start_server(tmp_path / "data", args=args)
    try:
        session = new_session(proxied)
        request = sign(session.credentials, "GET", URL + "/office/1")
        answer = ask(proxied, request, extra={"X-Forwarded-For": "203.0.113.7"})
        assert answer.status_code == status, answer.text
    finally:
        proxied.stop()
