"""The logs of a real ``elsewhere server``: JSON lines, and the plain-HTTP warning."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.integration


def _json_lines(server: ServerProcess) -> list[dict[str, Any]]:
    """The log records (standard output's start-up lines are not JSON and are left out)."""
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def _wait_for(server: ServerProcess, text: str) -> None:
    """Poll the log until ``text`` is in it (access lines are written every 0.1 s)."""
    deadline = time.monotonic() + 10
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} never reached the log"
        time.sleep(0.05)


def test_json_logs(tmp_path: Path) -> None:
    """With --log-format json every line on standard error is a JSON object; access and
    refusal lines carry their fields."""
    server = start_server(tmp_path / "data", args=("--log-format", "json"))
    try:
        sts = server.client("sts")
        granted = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/nobody", RoleSessionName="xy")
        refused = caught.value.response["ResponseMetadata"]["RequestId"]
        _wait_for(server, refused)
        _wait_for(server, granted)
        for line in server.log().splitlines():
            if line.startswith(("elsewhere ", "AWS CLI:", "boto3:")):
                continue  # the start-up lines on standard output
            json.loads(line)
        records = _json_lines(server)
        access = next(r for r in records if r.get("request_id") == granted)
        assert access["logger"] == "elsewhere.access"
        assert access["operation"] == "GetCallerIdentity"
        assert access["status"] == 200
        assert access["method"] == "POST"
        assert access["principal"] == f"arn:aws:iam::{server.account_id}:root"
        assert isinstance(access["duration_ms"], float)
        assert access["time"].endswith("Z")
        reason = next(
            r
            for r in records
            if r["logger"] == "elsewhere.errors" and r.get("request_id") == refused
        )
        assert reason["operation"] == "AssumeRole"
        assert reason["code"] == "AccessDenied"
        assert reason["reason"]
    finally:
        assert server.stop() == 0
    # What was logged last at shutdown was written.
    assert _json_lines(server)[-1]["message"].startswith("Finished server process")


def test_text_logs_stay_as_they_were(server: ServerProcess) -> None:
    """The default text access line keeps its shape."""
    request_id = server.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
    _wait_for(server, f"request_id={request_id}")
    (line,) = [line for line in server.log().splitlines() if f"request_id={request_id}" in line]
    parts = line.split(" ")
    assert parts[2:7] == ["INFO", "elsewhere.access", "127.0.0.1", "POST", "/"]
    assert parts[7] == "200"
    assert parts[8].endswith("ms")
    assert parts[9:] == [
        "op=GetCallerIdentity",
        f"principal=arn:aws:iam::{server.account_id}:root",
        f"request_id={request_id}",
    ]


def test_plain_http_beyond_loopback_is_warned_about(tmp_path: Path) -> None:
    """A server listening on every interface without TLS says so at start."""
    server = start_server(tmp_path / "data", args=("--host", "0.0.0.0"))  # noqa: S104 - the point
    try:
        _wait_for(server, "WARNING elsewhere.server serving plain HTTP on 0.0.0.0")
    finally:
        server.stop()


def test_loopback_is_not_warned_about(server: ServerProcess) -> None:
    """The default loopback listener gives no plain-HTTP warning."""
    assert "serving plain HTTP" not in server.log()
