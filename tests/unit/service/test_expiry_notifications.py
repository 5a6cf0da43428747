"""Expiry notifications: which certificates are due, the event's shape, once a day across
replicas, and the webhook and file sinks against a loopback receiver."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.app._notify import FileSink, WebhookSink
from elsewhere.clock import FixedClock
from elsewhere.domain import AuthenticationRecord
from elsewhere.pki import build_root_ca, issue_certificate
from elsewhere.service import ControlPlane
from elsewhere.service._notifications import (
    CA_EVENT,
    DETAIL_TYPE,
    END_ENTITY_EVENT,
    Notifier,
    build_event,
    find_expiring,
)
from elsewhere.storage import MemoryStore
from elsewhere.x509 import format_subject_dn

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
REGION = "eu-west-1"
CALLER = f"arn:aws:iam::{ACCOUNT}:root"


def _pem(certificate: Any) -> str:
    return str(certificate.public_bytes(serialization.Encoding.PEM).decode())


class _Sink:
    """A sink that keeps what it is sent (or fails every time)."""

    def __init__(self, *, broken: bool = False) -> None:
        """Nothing sent yet."""
        self.name = "memory"
        self.events: list[Mapping[str, Any]] = []
        self.broken = broken

    def send(self, event: Mapping[str, Any]) -> None:
        """Keep ``event``, or fail."""
        if self.broken:
            raise RuntimeError("receiver down")
        self.events.append(event)


class _World:
    """A store with anchors whose CAs expire when the test says."""

    def __init__(self) -> None:
        """An empty memory store and a control plane on it."""
        self.store = MemoryStore()
        self.cp = ControlPlane(self.store, FixedClock(NOW), account_id=ACCOUNT, region=REGION)

    def anchor(
        self,
        *,
        ca_days_left: float,
        settings: list[dict[str, Any]] | None = None,
        enabled: bool = True,
    ) -> tuple[str, Any]:
        """An anchor whose CA expires ``ca_days_left`` days after NOW; its ARN and the CA."""
        ca = build_root_ca(
            now=NOW - dt.timedelta(days=400),
            subject=f"CN=CA {ca_days_left} {id(self)}-{len(self.store.trust_anchors.list_all())}",
            not_after=NOW + dt.timedelta(days=ca_days_left),
        )
        params: dict[str, Any] = {
            "name": f"ta-{len(self.store.trust_anchors.list_all())}",
            "enabled": enabled,
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": _pem(ca.certificate)},
            },
        }
        if settings is not None:
            params["notificationSettings"] = settings
        out = self.cp.handle("CreateTrustAnchor", params, CALLER)
        return str(out["trustAnchor"]["trustAnchorArn"]), ca

    def seen(
        self, ca: Any, *, days_left: float, seen_ago: dt.timedelta, failed: bool = False
    ) -> Any:
        """A leaf of ``ca`` expiring ``days_left`` days after NOW, used ``seen_ago`` before."""
        leaf = issue_certificate(
            ca,
            now=NOW - dt.timedelta(days=10),
            subject=f"CN=workload-{days_left}-{seen_ago.total_seconds()}",
            not_after=NOW + dt.timedelta(days=days_left),
        ).certificate
        subject = format_subject_dn(leaf.subject)
        self.store.subjects.record_authentications(
            [
                AuthenticationRecord(
                    x509_subject=subject,
                    seen_at=NOW - seen_ago,
                    serial_number=str(leaf.serial_number),
                    issuer=format_subject_dn(leaf.issuer),
                    x509_certificate_data=_pem(leaf),
                    failed=failed,
                    new_subject_id=f"subject-{leaf.serial_number}",
                    new_subject_arn=f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:subject/{leaf.serial_number}",
                )
            ]
        )
        return leaf

    def notices(self, now: dt.datetime = NOW) -> list[Any]:
        """The notices due ``now`` (through the notifier's own reading of the store)."""
        notifier = Notifier(self.store, [], account_id=ACCOUNT, region=REGION)
        return find_expiring(
            self.store.trust_anchors.list_all(),
            notifier._seen_since(now - dt.timedelta(days=1)),
            now=now,
        )


def _setting(event: str, threshold: int, *, enabled: bool = True) -> dict[str, Any]:
    return {"event": event, "enabled": enabled, "threshold": threshold, "channel": "ALL"}


@pytest.mark.parametrize(
    ("case", "days_left", "expected"),
    [
        ("ok/inside-default-threshold", 30, 30),
        ("ok/at-the-threshold", 45, 45),
        ("ok/expires-today", 0.5, 1),
        ("ok/expired-a-week-ago", -7, -7),
        ("fail/beyond-the-threshold", 46, None),
        ("fail/expired-more-than-14-days-ago", -15, None),
    ],
)
def test_ca_certificate_window(case: str, days_left: float, expected: int | None) -> None:
    """A CA is noticed from the threshold (default 45 days) until 14 days after expiry."""
    world = _World()
    arn, ca = world.anchor(ca_days_left=days_left)
    notices = [n for n in world.notices() if n.event == CA_EVENT]
    if expected is None:
        assert notices == []
        return
    (notice,) = notices
    assert notice.trust_anchor_arn == arn
    assert notice.days_to_expiry == expected
    serial = format(ca.certificate.serial_number, "X")
    assert notice.serial_number == (serial if len(serial) % 2 == 0 else "0" + serial)
    assert notice.issuer == format_subject_dn(ca.certificate.issuer)


def test_settings_threshold_and_disabled_events() -> None:
    """An anchor's own threshold counts; a disabled event or a disabled anchor sends nothing."""
    world = _World()
    near, _ = world.anchor(ca_days_left=5, settings=[_setting(CA_EVENT, 10)])
    world.anchor(ca_days_left=20, settings=[_setting(CA_EVENT, 10)])
    world.anchor(ca_days_left=5, settings=[_setting(CA_EVENT, 30, enabled=False)])
    world.anchor(ca_days_left=5, enabled=False)
    assert [(n.trust_anchor_arn, n.days_to_expiry) for n in world.notices()] == [(near, 5)]


def test_end_entity_certificates_used_in_the_last_day() -> None:
    """Leaves used successfully in the last day are noticed until the day they expire."""
    world = _World()
    arn, ca = world.anchor(ca_days_left=400)
    due = world.seen(ca, days_left=10, seen_ago=dt.timedelta(hours=3))
    world.seen(ca, days_left=10, seen_ago=dt.timedelta(days=2))  # not used lately
    world.seen(ca, days_left=60, seen_ago=dt.timedelta(hours=1))  # beyond 45 days
    world.seen(ca, days_left=5, seen_ago=dt.timedelta(hours=1), failed=True)  # refused session
    _, other = world.anchor(
        ca_days_left=400, settings=[_setting(END_ENTITY_EVENT, 30, enabled=False)]
    )
    world.seen(other, days_left=3, seen_ago=dt.timedelta(hours=1))  # its anchor turned EE off
    (notice,) = world.notices()
    assert notice.event == END_ENTITY_EVENT
    assert notice.trust_anchor_arn == arn
    assert notice.days_to_expiry == 10
    assert notice.subject == format_subject_dn(due.subject)
    assert notice.subject_arn is not None
    assert notice.subject_arn.endswith(f"subject/{due.serial_number}")


def test_event_is_shaped_like_aws() -> None:
    """The event has EventBridge's envelope and AWS's detail fields."""
    world = _World()
    arn, _ = world.anchor(ca_days_left=3)
    (notice,) = world.notices()
    event = build_event(notice, account_id=ACCOUNT, region=REGION, now=NOW, event_id="id-1")
    assert event == {
        "version": "0",
        "id": "id-1",
        "detail-type": DETAIL_TYPE,
        "source": "aws.rolesanywhere",
        "account": ACCOUNT,
        "time": "2026-06-01T09:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "certificate-serial-number": notice.serial_number,
            "days-to-expiry": 3,
            "issuer": notice.issuer,
            "subject": notice.subject,
            "not-after": "2026-06-04T09:00:00Z",
            "notification-event": CA_EVENT,
        },
    }


def test_each_day_is_sent_once_across_replicas() -> None:
    """Two replicas on one store: the first to claim the day sends, the other sends nothing;
    the next day is sent again."""
    world = _World()
    world.anchor(ca_days_left=3)
    first, second = _Sink(), _Sink()
    one = Notifier(world.store, [first], account_id=ACCOUNT, region=REGION, owner="one")
    two = Notifier(world.store, [second], account_id=ACCOUNT, region=REGION, owner="two")
    assert one.run_due(NOW) == 1
    assert two.run_due(NOW + dt.timedelta(hours=5)) is None
    assert one.run_due(NOW + dt.timedelta(hours=6)) is None
    assert len(first.events) == 1
    assert second.events == []
    assert two.run_due(NOW + dt.timedelta(days=1)) == 1
    assert second.events[0]["detail"]["days-to-expiry"] == 2


def test_a_run_left_unfinished_is_taken_over_when_stale() -> None:
    """A claim left running (its replica died) is taken over after an hour, not before."""
    world = _World()
    world.anchor(ca_days_left=3)
    day = NOW.date().isoformat()
    world.store.secrets.put_if(f"notifications/{day}", None, b"running 2026-06-01T09:00:00Z dead")
    sink = _Sink()
    notifier = Notifier(world.store, [sink], account_id=ACCOUNT, region=REGION)
    assert notifier.run_due(NOW + dt.timedelta(minutes=30)) is None
    assert notifier.run_due(NOW + dt.timedelta(minutes=61)) == 1
    claim = world.store.secrets.get(f"notifications/{day}")
    assert claim is not None
    assert claim.startswith(b"done ")


def test_an_undeliverable_event_is_counted_and_the_others_still_go() -> None:
    """A sink that fails is logged and counted; the other sinks get the event."""
    world = _World()
    world.anchor(ca_days_left=3)
    good, bad = _Sink(), _Sink(broken=True)
    notifier = Notifier(world.store, [bad, good], account_id=ACCOUNT, region=REGION)
    assert notifier.run_due(NOW) == 1
    assert notifier.failed == 1
    assert len(good.events) == 1


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A loopback webhook receiver: answers with the next scripted status."""

    statuses: list[int]
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        """Keep the body; answer the next status."""
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        status = self.statuses.pop(0) if self.statuses else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    """A webhook receiver on loopback; its URL and handler class (statuses, bodies)."""
    handler = type("Receiver", (_Receiver,), {"statuses": [], "bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_retries(receiver: tuple[str, type[_Receiver]]) -> None:
    """The webhook POSTs the event; a 503 and a 500 are retried, then the 200 ends it."""
    url, handler = receiver
    handler.statuses = [503, 500, 200]
    waits: list[float] = []
    sink = WebhookSink(url, backoff=(0.5, 1.0, 2.0), sleep=waits.append)
    sink.send({"id": "e-1", "detail": {"days-to-expiry": 3}})
    sink.close()
    assert handler.bodies == [{"id": "e-1", "detail": {"days-to-expiry": 3}}] * 3
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize(
    ("case", "statuses", "posts"),
    [("fail/always-503", [503] * 4, 4), ("fail/a-400-is-not-retried", [400], 1)],
)
def test_webhook_gives_up(
    receiver: tuple[str, type[_Receiver]], case: str, statuses: list[int], posts: int
) -> None:
    """After the last retry, or on an answer that will not change, the sink raises."""
    url, handler = receiver
    handler.statuses = list(statuses)
    sink = WebhookSink(url, backoff=(0.0, 0.0, 0.0), sleep=lambda _: None)
    with pytest.raises(RuntimeError, match="HTTP"):
        sink.send({"id": "e-2"})
    sink.close()
    assert len(handler.bodies) == posts


def test_file_sink_appends_json_lines(tmp_path: Path) -> None:
    """The file sink writes one event per line, appended."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(str(path))
    sink.send({"id": "a"})
    sink.send({"id": "b"})
    sink.close()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"id": "a"},
        {"id": "b"},
    ]
