"""Expiry notifications of a real ``elsewhere server``: a loopback webhook and a JSON-lines file.

The server checks at start whether the day's notices are due; the test seeds an anchor whose
CA expires in 10 days and a session whose certificate expires in 5, restarts the server with
the sinks, and waits for the events. A second start on the same day sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import Chain, build_root_ca, issue_certificate
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)

pytestmark = pytest.mark.integration


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that keeps every event it is sent."""

    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        """Keep the event and answer 204."""
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: its URL and what it received."""
    handler = type("Receiver", (_Receiver,), {"bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", handler.bodies
    server.shutdown()
    server.server_close()


def _wait(condition: Any, what: str, server: ServerProcess) -> None:
    """Poll ``condition`` until it holds (30 s at most)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{server.log()}"
        time.sleep(0.1)


def test_expiring_certificates_are_announced_once(
    tmp_path: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    """A CA expiring in 10 days and a leaf expiring in 5, used today, each get one event on the
    webhook and in the file; a restart the same day sends nothing again."""
    url, received = receiver
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca = build_root_ca(
        now=now - dt.timedelta(days=300),
        subject="CN=expiring notifications CA,O=elsewhere",
        not_after=now + dt.timedelta(days=10),
    )
    leaf = issue_certificate(
        ca,
        now=now - dt.timedelta(days=1),
        subject="CN=expiring-workload,O=elsewhere",
        not_after=now + dt.timedelta(days=5),
    )
    chain = Chain(ca.certificate, ca.key, None, None, leaf.certificate, leaf.key)
    data = tmp_path / "data"
    first = start_server(data)
    try:
        anchor = make_anchor(
            first, ca.certificate.public_bytes(serialization.Encoding.PEM).decode()
        )
        role = make_role(first)
        profile = make_profile(first, [role])
        granted = send(
            first, signed_request(first, chain, anchor=anchor, profile=profile, role=role)
        )
        assert granted.status_code == 201, granted.text
    finally:
        assert first.stop() == 0  # the subject record is flushed at shutdown

    events = tmp_path / "events.jsonl"
    args = ("--notify-webhook", url, "--notify-file", str(events))
    second = start_server(data, args=args)
    try:
        _wait(lambda: len(received) >= 2, "two events on the webhook", second)
        _wait(lambda: events.exists() and len(events.read_text().splitlines()) >= 2, "file", second)
    finally:
        second.stop()
    assert len(received) == 2
    by_kind = {e["detail"]["notification-event"]: e for e in received}
    ca_event = by_kind["CA_CERTIFICATE_EXPIRY"]
    assert ca_event["source"] == "aws.rolesanywhere"
    assert ca_event["detail-type"] == "Roles Anywhere Certificate Expiration State Change"
    assert ca_event["resources"] == [anchor]
    assert ca_event["detail"]["days-to-expiry"] == 10
    assert ca_event["detail"]["certificate-serial-number"].lstrip("0") == format(
        ca.certificate.serial_number, "X"
    )
    ee_event = by_kind["END_ENTITY_CERTIFICATE_EXPIRY"]
    assert ee_event["detail"]["days-to-expiry"] == 5
    assert ee_event["resources"][0] == anchor
    assert ee_event["resources"][1] == granted.json()["subjectArn"]
    in_file = [json.loads(line) for line in events.read_text().splitlines()]
    assert sorted(e["id"] for e in in_file) == sorted(e["id"] for e in received)

    third = start_server(data, args=args)
    try:
        _wait(lambda: "already taken by a run" in third.log(), "the day's claim seen", third)
    finally:
        third.stop()
    assert len(received) == 2
    assert len(events.read_text().splitlines()) == 2
