"""Input that is refused never crashes and never freezes anything, on a real server process.

Each class holds one rule: text no store can hold is refused at the wire (it used to freeze the
configuration snapshot, and with it revocation), on SQLite and PostgreSQL alike;
``instanceProperties`` stay within their bounds (a bad one used to stop subject recording);
background loops that fail are loud and never leave stale trust in service; CreateSession's body
must be signed and its presigned form is good for five minutes only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

from elsewhere.pki import Chain, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_hmac_request
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)
from tests.postgres import PostgresServer, unique_database_name
from tests.unit.sessions.test_signing_rules import presigned_request, unsigned_payload_request

pytestmark = pytest.mark.integration

JSON = "application/json"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
SNAPSHOT_FAILURE = "refreshing the configuration snapshot failed"
SUBJECT_FAILURE = "writing subject records failed"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, so its log holds only this module's traffic."""
    handle = start_server(tmp_path_factory.mktemp("refusals") / "data")
    yield handle
    handle.stop()


def signed_call(
    srv: ServerProcess,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    service: str = "rolesanywhere",
    content_type: str = JSON,
) -> httpx.Response:
    """Send ``body`` as is, signed with the root key (so no client library re-encodes it)."""
    key, secret = srv.admin_keys()
    request = HttpRequest(
        method=method,
        raw_path=path,
        raw_query="",
        headers=(("host", f"127.0.0.1:{srv.port}"), ("content-type", content_type)),
        body=body,
    )
    signed = sign_hmac_request(
        request,
        access_key_id=key,
        secret_access_key=secret,
        region=srv.region,
        service=service,
        now=dt.datetime.now(dt.UTC),
    )
    return httpx.request(
        method, srv.endpoint + path, content=body, headers=list(signed.headers), timeout=30
    )


def wait_for(condition: Callable[[], bool], *, timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def setup(srv: ServerProcess) -> Callable[[], tuple[Chain, str, str, str]]:
    """A chain, an anchor for it, a role and an enabled profile listing the role."""

    def make() -> tuple[Chain, str, str, str]:
        chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
        anchor = make_anchor(srv, chain.anchor_pem)
        role = make_role(srv)
        return chain, anchor, role, make_profile(srv, [role])

    return make


def create_session(
    srv: ServerProcess, case: tuple[Chain, str, str, str], **body: Any
) -> httpx.Response:
    """CreateSession for ``case`` (chain, anchor, role, profile) with extra body members."""
    chain, anchor, role, profile = case
    return send(
        srv, signed_request(srv, chain, anchor=anchor, profile=profile, role=role, body=body)
    )


class TestUnstorableText:
    """Text no store can hold (a lone surrogate, NUL) is a 400 everywhere; revocation stays live."""

    def test_poisoned_profile_is_refused_and_disable_still_works(
        self, srv: ServerProcess, setup: Callable[[], tuple[Chain, str, str, str]]
    ) -> None:
        """CreateProfile with a "\\ud800" role ARN is a 400; a DisableProfile after it holds."""
        case = setup()
        assert create_session(srv, case).status_code == 201
        poisoned = b'{"name": "poison", "roleArns": ["arn:aws:iam::123456789012:role/\\ud800"]}'
        answer = signed_call(srv, "POST", "/profiles", poisoned)
        assert answer.status_code == 400, answer.text
        assert answer.headers["x-amzn-errortype"] == "ValidationException"
        assert "unpaired UTF-16 surrogates" in answer.json()["message"]
        # The lookup of a resource by a poisoned ARN is refused before it reaches the store.
        tag = json.dumps(
            {
                "resourceArn": f"{case[3]}\ud800",
                "tags": [{"key": "k", "value": "v"}],
            }
        ).encode()
        answer = signed_call(srv, "POST", "/TagResource", tag)
        assert answer.status_code == 400, answer.text
        assert answer.headers["x-amzn-errortype"] == "ValidationException"
        srv.client("rolesanywhere").disable_profile(profileId=case[3].rsplit("/", 1)[1])
        # The documented bound is 1 s; on the node that took the write it holds at once.
        assert wait_for(lambda: create_session(srv, case).status_code == 403, timeout=1.0)
        assert SNAPSHOT_FAILURE not in srv.log()

    @pytest.mark.parametrize(
        ("case", "pairs"),
        [
            ("fail/iam-role-name-nul", [("Action", "CreateRole"), ("RoleName", "r\x00")]),
            ("fail/iam-description-nul", [("Action", "CreateRole"), ("Description", "\x00")]),
            ("fail/sts-session-name-nul", [("Action", "AssumeRole"), ("RoleSessionName", "\x00")]),
        ],
    )
    def test_query_protocol_refuses_nul(
        self, srv: ServerProcess, case: str, pairs: list[tuple[str, str]]
    ) -> None:
        """A NUL in an IAM or STS parameter is a 400 ValidationError in XML."""
        service = "sts" if pairs[0][1] == "AssumeRole" else "iam"
        body = urlencode(pairs).encode()
        answer = signed_call(srv, "POST", "/", body, service=service, content_type=FORM)
        assert answer.status_code == 400, (case, answer.text)
        assert "<Code>ValidationError</Code>" in answer.text, case

    def test_encoded_surrogate_in_a_form_is_refused(self, srv: ServerProcess) -> None:
        """A surrogate's bytes percent-encoded in a form (%ED%A0%80) are a 400, not a 500."""
        body = b"Action=CreateRole&RoleName=r%ED%A0%80&AssumeRolePolicyDocument=%7B%7D"
        answer = signed_call(srv, "POST", "/", body, service="iam", content_type=FORM)
        assert answer.status_code == 400, answer.text

    def test_nul_in_a_path_label_and_query_is_refused(self, srv: ServerProcess) -> None:
        """%00 in a path label or a query parameter is a 400 ValidationException."""
        for path in (f"/profile/{uuid.uuid4()}%00", "/ListTagsForResource"):
            key, secret = srv.admin_keys()
            query = "resourceArn=arn%3Aaws%3Arolesanywhere%3A%3A%3Aprofile%2F%00"
            request = HttpRequest(
                method="GET",
                raw_path=path,
                raw_query=query if "List" in path else "",
                headers=(("host", f"127.0.0.1:{srv.port}"),),
                body=b"",
            )
            signed = sign_hmac_request(
                request,
                access_key_id=key,
                secret_access_key=secret,
                region=srv.region,
                service="rolesanywhere",
                now=dt.datetime.now(dt.UTC),
            )
            url = srv.endpoint + path + (f"?{request.raw_query}" if request.raw_query else "")
            answer = httpx.get(url, headers=list(signed.headers), timeout=30)
            assert answer.status_code == 400, answer.text
            assert answer.headers["x-amzn-errortype"] == "ValidationException"


class TestInstanceProperties:
    """``instanceProperties``: 1..200 characters, at most 50, storable; recording never stops."""

    def test_bad_properties_are_refused_and_recording_goes_on(
        self, srv: ServerProcess, setup: Callable[[], tuple[Chain, str, str, str]]
    ) -> None:
        """A lone surrogate is a 400; the next good call's properties are recorded."""
        case = setup()
        for props in ({"a": "\ud800"}, {"\udc00": "v"}, {"a": ""}, {"k" * 201: "v"}):
            answer = create_session(srv, case, instanceProperties=props)
            assert answer.status_code == 400, (props, answer.text)
            assert answer.headers["x-amzn-errortype"] == "ValidationException"
        good = {"host": f"h-{uuid.uuid4().hex[:8]}"}
        assert create_session(srv, case, instanceProperties=good).status_code == 201
        ra = srv.client("rolesanywhere")

        def recorded() -> bool:
            for subject in ra.list_subjects()["subjects"]:
                detail = ra.get_subject(subjectId=subject["subjectId"])["subject"]
                if any(p["properties"] == good for p in detail.get("instanceProperties", [])):
                    return True
            return False

        assert wait_for(recorded)
        assert SUBJECT_FAILURE not in srv.log()


def _sql(srv: ServerProcess, statement: str) -> None:
    """Run one statement on the server's SQLite store from outside (as another tool would)."""
    with contextlib.closing(sqlite3.connect(srv.data_dir / "elsewhere.db", timeout=30)) as db:
        db.execute(statement)
        db.commit()


def _ping(srv: ServerProcess) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{srv.endpoint}/ping", timeout=10)
    return answer.status_code, answer.json()


def _loop(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(loop for loop in body["loops"] if loop["name"] == name)


class TestLiveness:
    """Background loops that fail are loud (/ping, one log line per streak) and never leave the
    server serving a configuration older than 1 s."""

    def test_a_failing_store_refuses_stale_trust(self, fresh_server: ServerProcess) -> None:
        """The version check fails: /ping 503 'unavailable', CreateSession 503; then it heals."""
        srv = fresh_server
        case = _make_case(srv)
        assert create_session(srv, case).status_code == 201
        _sql(srv, "ALTER TABLE config_version RENAME TO config_version_away")
        try:
            assert wait_for(lambda: _ping(srv)[0] == 503)
            status, body = _ping(srv)
            assert (status, body["status"]) == (503, "unavailable")
            loop = _loop(body, "configuration")
            assert loop["failing"] is True
            assert loop["consecutiveFailures"] >= 1
            assert loop["ageSeconds"] > 1
            assert "config_version" not in json.dumps(body)  # states and counts, no error text
            answer = create_session(srv, case)
            assert answer.status_code == 503, answer.text
            assert answer.headers["x-amzn-errortype"] == "ServiceUnavailableException"
            # Ten failing refreshes in a row log the streak once.
            assert wait_for(
                lambda: _loop(_ping(srv)[1], "configuration")["consecutiveFailures"] >= 10
            )
            assert srv.log().count(f"{SNAPSHOT_FAILURE}\nTraceback") == 1
        finally:
            _sql(srv, "ALTER TABLE config_version_away RENAME TO config_version")
        assert wait_for(lambda: _ping(srv)[0] == 200)
        assert create_session(srv, case).status_code == 201
        body = _ping(srv)[1]
        assert body["status"] == "ok"
        assert _loop(body, "configuration")["failures"] >= 1  # the history stays visible
        assert "works again after" in srv.log()

    def test_failing_subject_writes_are_visible(self, fresh_server: ServerProcess) -> None:
        """Subject writes fail: sessions are still issued, /ping says 'degraded'; then they land."""
        srv = fresh_server
        case = _make_case(srv)
        _sql(srv, "ALTER TABLE subjects RENAME TO subjects_away")
        try:
            props = {"run": uuid.uuid4().hex[:8]}
            assert create_session(srv, case, instanceProperties=props).status_code == 201
            assert wait_for(lambda: _ping(srv)[1]["status"] == "degraded")
            status, body = _ping(srv)
            assert status == 200
            assert _loop(body, "subjectRecording")["failing"] is True
            assert create_session(srv, case).status_code == 201
            assert wait_for(
                lambda: _loop(_ping(srv)[1], "subjectRecording")["consecutiveFailures"] >= 4
            )
        finally:
            _sql(srv, "ALTER TABLE subjects_away RENAME TO subjects")
        assert wait_for(lambda: _ping(srv)[1]["status"] == "ok")
        ra = srv.client("rolesanywhere")
        assert wait_for(lambda: len(ra.list_subjects()["subjects"]) == 1)
        assert srv.log().count(f"{SUBJECT_FAILURE}\nTraceback") == 1

    def test_a_row_an_older_version_stored_does_not_freeze_revocation(
        self, fresh_server: ServerProcess
    ) -> None:
        """A profile stored with a "\\ud800" role ARN is left out; DisableProfile still holds."""
        from elsewhere.domain import Profile
        from elsewhere.storage import open_store

        srv = fresh_server
        case = _make_case(srv)
        assert create_session(srv, case).status_code == 201
        good = srv.client("rolesanywhere").get_profile(profileId=case[3].rsplit("/", 1)[1])
        poisoned_id = str(uuid.uuid4())
        store = open_store(f"sqlite:///{srv.data_dir / 'elsewhere.db'}")
        try:
            template = store.profiles.get(good["profile"]["profileId"])
            assert isinstance(template, Profile)
            store.profiles.add(
                dataclasses.replace(
                    template,
                    id=poisoned_id,
                    arn=template.arn.replace(template.id, poisoned_id),
                    role_arns=("arn:aws:iam::123456789012:role/\ud800",),
                )
            )
        finally:
            store.close()
        assert wait_for(lambda: _ping(srv)[1]["status"] == "degraded")
        assert _loop(_ping(srv)[1], "configuration")["unreadableRecords"] == 1
        assert create_session(srv, case).status_code == 201
        srv.client("rolesanywhere").disable_profile(profileId=template.id)
        assert wait_for(lambda: create_session(srv, case).status_code == 403, timeout=1.0)
        assert SNAPSHOT_FAILURE not in srv.log()


def _make_case(srv: ServerProcess) -> tuple[Chain, str, str, str]:
    """A chain, an anchor, a role and an enabled profile on ``srv``."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(srv, chain.anchor_pem)
    role = make_role(srv)
    return chain, anchor, role, make_profile(srv, [role])


class TestSigning:
    """CreateSession's body must be signed, and a presigned one is good for ±5 minutes only."""

    def test_unsigned_payload_with_a_body_is_refused(
        self, srv: ServerProcess, setup: Callable[[], tuple[Chain, str, str, str]]
    ) -> None:
        """UNSIGNED-PAYLOAD over a body: 403 Invalid signature (it was accepted)."""
        chain, anchor, role, profile = setup()
        host = f"127.0.0.1:{srv.port}"
        now = dt.datetime.now(dt.UTC)
        body = b'{"durationSeconds":900}'
        answer = send(
            srv,
            unsigned_payload_request(chain, anchor, profile, role, body, host=host, now=now),
        )
        assert answer.status_code == 403, answer.text
        assert answer.json()["message"] == "Invalid signature"
        empty = unsigned_payload_request(chain, anchor, profile, role, b"", host=host, now=now)
        assert send(srv, empty).status_code == 201

    def test_presigned_is_good_for_five_minutes_only(
        self, srv: ServerProcess, setup: Callable[[], tuple[Chain, str, str, str]]
    ) -> None:
        """A presigned CreateSession six minutes old is refused although it says a week."""
        chain, anchor, role, profile = setup()
        host = f"127.0.0.1:{srv.port}"
        now = dt.datetime.now(dt.UTC)
        fresh = presigned_request(chain, anchor, profile, role, signed_at=now, host=host)
        assert send(srv, fresh).status_code == 201
        old = presigned_request(
            chain, anchor, profile, role, signed_at=now - dt.timedelta(minutes=6), host=host
        )
        answer = send(srv, old)
        assert answer.status_code == 403, answer.text
        assert answer.json()["message"].startswith("Signature expired")


@pytest.mark.postgres
def test_postgresql_refuses_what_the_wire_refuses(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """PostgreSQL's text cannot hold NUL (hence the wire refuses it), and a server on PostgreSQL
    answers a NUL or a lone surrogate with the same 400 as one on SQLite."""
    name = unique_database_name("elsewhere_refusals")
    url = postgres_server.create_database(name)
    try:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn, pytest.raises(sa.exc.DataError):
                conn.execute(sa.text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
        finally:
            engine.dispose()
        srv = start_server(tmp_path / "data", args=("--database-url", url))
        try:
            for body in (
                b'{"name": "p", "roleArns": ["arn:aws:iam::123456789012:role/\\ud800"]}',
                b'{"name": "p", "roleArns": ["arn:aws:iam::123456789012:role/\\u0000"]}',
                b'{"name": "p\\u0000", "roleArns": []}',
            ):
                answer = signed_call(srv, "POST", "/profiles", body)
                assert answer.status_code == 400, (body, answer.text)
                assert answer.headers["x-amzn-errortype"] == "ValidationException"
            assert srv.client("rolesanywhere").list_profiles()["profiles"] == []
            assert "Traceback" not in srv.log()
        finally:
            srv.stop()
    finally:
        postgres_server.drop_database(name)
