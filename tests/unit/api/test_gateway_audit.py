"""The gateway's audit records: one per call, written before the answer, failing closed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from elsewhere.api import Gateway, GatewaySettings
from elsewhere.audit import AuditWriteError
from elsewhere.clock import FixedClock
from elsewhere.service._authn import Authenticator
from elsewhere.sigv4 import HttpRequest

from .test_gateway import KEY_ID, NOW, _drive, _lookup, _signed, _Sts


class _Trail:
    """An audit trail that keeps its records, or refuses them when ``broken``."""

    def __init__(self, *, broken: bool = False) -> None:
        """Nothing recorded yet."""
        self.events: list[Mapping[str, Any]] = []
        self.broken = broken

    def record(self, event: Mapping[str, Any]) -> None:
        """Keep ``event``, or fail as a full disk would."""
        if self.broken:
            raise AuditWriteError("audit log /var/log/audit.jsonl: No space left on device")
        self.events.append(event)


def _gateway(trail: _Trail) -> Gateway:
    """A gateway serving STS with an audit trail."""
    return Gateway(
        authenticator=Authenticator(_lookup, region="us-east-1"),
        handlers={"sts": _Sts()},
        clock=FixedClock(NOW),
        settings=GatewaySettings(region="us-east-1", account_id="123456789012"),
        audit=trail,
    )


def _call(trail: _Trail, request: HttpRequest) -> Any:
    """Run ``request`` through a gateway recording to ``trail``."""
    return asyncio.run(_drive(_gateway(trail), request))


CALLER_IDENTITY = urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}).encode()


def test_call_is_recorded_under_its_request_id() -> None:
    """A successful call gets one record naming the caller, the operation and the request id."""
    trail = _Trail()
    result = _call(trail, _signed(CALLER_IDENTITY))
    assert result.status == 200
    (event,) = trail.events
    assert event["requestID"] == result.headers[b"x-amzn-requestid"].decode()
    assert event["eventSource"] == "sts.amazonaws.com"
    assert event["eventName"] == "GetCallerIdentity"
    assert event["userIdentity"]["type"] == "Root"
    assert event["userIdentity"]["accessKeyId"] == KEY_ID
    assert event["sourceIPAddress"] == "127.0.0.1"
    assert event["eventTime"] == "2025-03-01T12:00:00Z"
    assert event["errorCode"] is None
    assert event["eventID"] != event["requestID"]


def test_refused_signature_is_recorded_with_its_reason() -> None:
    """A tampered request is recorded as refused, with the key it claimed and the reason."""
    request = _signed(CALLER_IDENTITY)
    tampered = HttpRequest(
        request.method, request.raw_path, "extra=1", request.headers, request.body
    )
    trail = _Trail()
    result = _call(trail, tampered)
    assert result.status == 403
    (event,) = trail.events
    assert event["errorCode"] == "SignatureDoesNotMatch"
    assert event["userIdentity"] == {"type": "Unknown", "accessKeyId": KEY_ID}
    assert event["additionalEventData"]["reason"] == "HMAC signature does not match"
    assert event["requestID"] == result.headers[b"x-amzn-requestid"].decode()


def test_unsigned_rolesanywhere_path_is_recorded_as_its_operation() -> None:
    """A rolesanywhere route called without a signature is recorded under that operation."""
    trail = _Trail()
    result = _call(trail, HttpRequest("GET", "/trustanchors", "", (("Host", "x"),), b""))
    assert result.status == 403
    (event,) = trail.events
    assert event["eventSource"] == "rolesanywhere.amazonaws.com"
    assert event["eventName"] == "ListTrustAnchors"
    assert event["errorCode"] == "MissingAuthenticationTokenException"


def test_requests_to_no_api_are_not_recorded() -> None:
    """Readiness probes and paths that name no API leave no audit record."""
    trail = _Trail()
    assert _call(trail, HttpRequest("GET", "/ping", "", (("Host", "x"),), b"")).status == 200
    assert _call(trail, HttpRequest("GET", "/favicon.ico", "", (("Host", "x"),), b"")).status
    assert trail.events == []


def test_unwritable_audit_log_fails_the_call_closed() -> None:
    """When the record cannot be written, the caller gets a 500 with the request id, not the
    answer."""
    result = _call(_Trail(broken=True), _signed(CALLER_IDENTITY))
    assert result.status == 500
    assert b"ServiceFailure" in result.body
    assert b"arn:aws:iam::123456789012:root" not in result.body
    request_id = result.headers[b"x-amzn-requestid"]
    assert request_id in result.body


class _Observer:
    """A request observer that keeps what it was told."""

    def __init__(self) -> None:
        """Nothing observed yet."""
        self.requests: list[tuple[str, str, int, str | None]] = []
        self.sessions: list[str] = []

    def observe_request(
        self, service: str, operation: str, status: int, code: str | None, seconds: float
    ) -> None:
        """Keep the request's labels; its latency must be a small positive number."""
        assert 0 < seconds < 60
        self.requests.append((service, operation, status, code))

    def observe_session(self, outcome: str) -> None:
        """Keep a CreateSession's outcome."""
        self.sessions.append(outcome)


def test_observer_counts_every_request_with_its_outcome() -> None:
    """The metrics observer hears every request: service, operation, status and error code."""
    observer = _Observer()
    gateway = Gateway(
        authenticator=Authenticator(_lookup, region="us-east-1"),
        handlers={"sts": _Sts()},
        clock=FixedClock(NOW),
        observer=observer,
    )
    request = _signed(CALLER_IDENTITY)
    asyncio.run(_drive(gateway, request))
    tampered = HttpRequest("POST", "/", "extra=1", request.headers, request.body)
    asyncio.run(_drive(gateway, tampered))
    asyncio.run(_drive(gateway, HttpRequest("GET", "/ping", "", (("Host", "x"),), b"")))
    assert observer.requests == [
        ("sts", "GetCallerIdentity", 200, None),
        ("sts", "Unknown", 403, "SignatureDoesNotMatch"),
        ("none", "Ping", 200, None),
    ]
    assert observer.sessions == []
