"""Web identity tokens on the client: the STS call, the token file and its renewal loop."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from elsewhere.client import (
    EndpointUnreachableError,
    HttpAnswer,
    HttpCall,
    HttpFailure,
    SessionCredentials,
    TokenParameters,
    TokenRefusedError,
    WebIdentityToken,
    get_web_identity_token,
    run_token_file,
    write_token_file,
)
from elsewhere.clock import FixedClock
from elsewhere.sigv4 import (
    HttpRequest,
    derive_signing_key,
    parse_signed_request,
    verify_hmac_signature,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CREDS = SessionCredentials(
    access_key_id="ASIAEXAMPLE000000001",
    secret_access_key="s" * 40,
    session_token="session-token",
    expiration=T0 + dt.timedelta(hours=1),
    expiration_text="2026-01-01T01:00:00Z",
)
OK = (
    b'<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetWebIdentityTokenResult><WebIdentityToken>a.b.c</WebIdentityToken>"
    b"<Expiration>2026-01-01T00:05:00Z</Expiration></GetWebIdentityTokenResult>"
    b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>"
)


def _params(**changes: object) -> TokenParameters:
    fields: dict[str, object] = {
        "audiences": ("bao", "vault"),
        "sts_endpoint": "http://sts.test:8080",
        "region": "eu-west-1",
        "tags": (("job", "7"),),
        "subject_mode": "OriginIdentity",
        "scope": "read",
    }
    fields.update(changes)
    return TokenParameters(**fields)  # type: ignore[arg-type]


def test_request_is_signed_and_carries_every_member() -> None:
    """The form has every parameter; the SigV4 signature (with the session token) verifies."""
    seen: list[HttpCall] = []

    def handler(call: HttpCall) -> HttpAnswer:
        seen.append(call)
        return HttpAnswer(200, {}, OK)

    token = get_web_identity_token(CREDS, _params(), clock=FixedClock(T0), transport=handler)
    assert token == WebIdentityToken("a.b.c", T0 + dt.timedelta(minutes=5))
    call = seen[0]
    form = dict(parse_qsl(call.body.decode()))
    assert form == {
        "Action": "GetWebIdentityToken",
        "Version": "2011-06-15",
        "Audience.member.1": "bao",
        "Audience.member.2": "vault",
        "SigningAlgorithm": "RS256",
        "DurationSeconds": "300",
        "SubjectMode": "OriginIdentity",
        "Scope": "read",
        "Tags.member.1.Key": "job",
        "Tags.member.1.Value": "7",
    }
    wire = HttpRequest("POST", urlsplit(call.url).path, "", call.headers, call.body)
    signed = parse_signed_request(wire)
    assert signed.scope.service == "sts"
    assert signed.scope.region == "eu-west-1"
    assert signed.security_token == "session-token"
    key = derive_signing_key(CREDS.secret_access_key, signed.scope)
    verify_hmac_signature(wire, signed, signing_key=key)  # raises if the signature is wrong


@pytest.mark.parametrize(
    ("case", "status", "body", "text"),
    [
        (
            "fail/sts-error",
            403,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>OutboundWebIdentityFederationDisabledException"
            b"</Code><Message>not enabled</Message></Error></ErrorResponse>",
            "OutboundWebIdentityFederationDisabledException: not enabled",
        ),
        ("fail/not-xml", 502, b"<html", "not XML"),
        ("fail/no-token", 200, b"<R><Expiration>2026-01-01T00:05:00Z</Expiration></R>", "without"),
        (
            "fail/bad-expiration",
            200,
            b"<R><WebIdentityToken>t</WebIdentityToken><Expiration>soon</Expiration></R>",
            "not a time",
        ),
    ],
)
def test_refusals_are_one_line(case: str, status: int, body: bytes, text: str) -> None:
    """An STS error or a garbled answer is a TokenRefusedError naming what happened."""
    with pytest.raises(TokenRefusedError, match=text):
        get_web_identity_token(
            CREDS,
            _params(),
            clock=FixedClock(T0),
            transport=lambda _: HttpAnswer(status, {}, body),
        )


def test_unreachable_sts_is_reported() -> None:
    """A connection failure names the STS endpoint."""

    def handler(call: HttpCall) -> HttpAnswer:
        raise HttpFailure("ConnectionRefusedError: refused")

    with pytest.raises(EndpointUnreachableError, match=r"sts\.test.*refused"):
        get_web_identity_token(CREDS, _params(), clock=FixedClock(T0), transport=handler)


def test_token_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    """The file holds exactly the token, mode 0600; a second write replaces it."""
    path = tmp_path / "run" / "token"
    write_token_file(path, WebIdentityToken("first", T0))
    assert path.read_text() == "first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_token_file(path, WebIdentityToken("second", T0))
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["token"]


class _Clock(FixedClock):
    """A clock that sleeping moves forward."""

    def sleep(self, seconds: float) -> None:
        self.advance(dt.timedelta(seconds=seconds))


def _tokens(clock: _Clock, outcomes: list[str | Exception]) -> object:
    def fetch() -> WebIdentityToken:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return WebIdentityToken(outcome, clock.now() + dt.timedelta(seconds=300))

    return fetch


def test_token_is_renewed_at_four_fifths_of_its_life(tmp_path: Path) -> None:
    """Each token is replaced 240 s into its 300 s life."""
    clock = _Clock(T0)
    path = tmp_path / "token"
    written: list[tuple[str, dt.datetime]] = []
    fetch = _tokens(clock, ["one", "two", "three"])

    def fetch_and_note() -> WebIdentityToken:
        token = fetch()  # type: ignore[operator]
        written.append((token.token, clock.now()))
        return token  # type: ignore[no-any-return]

    run_token_file(fetch_and_note, path=path, clock=clock, sleep=clock.sleep, max_rounds=2)
    assert [(t, (at - T0).total_seconds()) for t, at in written] == [
        ("one", 0.0),
        ("two", 240.0),
        ("three", 480.0),
    ]
    assert path.read_text() == "three"


def test_failed_renewal_keeps_the_valid_token_and_retries(tmp_path: Path) -> None:
    """A failed renewal is retried after 10 s; the file keeps the token that is still valid."""
    clock = _Clock(T0)
    path = tmp_path / "token"
    fetch = _tokens(clock, ["one", TokenRefusedError("busy"), "two"])
    run_token_file(fetch, path=path, clock=clock, sleep=clock.sleep, max_rounds=2)  # type: ignore[arg-type]
    assert path.read_text() == "two"
    assert clock.now() == T0 + dt.timedelta(seconds=250)


def test_first_failure_and_failure_after_expiry_are_raised(tmp_path: Path) -> None:
    """No token at all, or none valid any more: the error ends the loop."""
    clock = _Clock(T0)
    with pytest.raises(TokenRefusedError):
        run_token_file(
            _tokens(clock, [TokenRefusedError("no")]),  # type: ignore[arg-type]
            path=tmp_path / "t",
            clock=clock,
            sleep=clock.sleep,
        )
    outcomes: list[str | Exception] = ["one", *[TokenRefusedError("down")] * 20]
    with pytest.raises(TokenRefusedError, match="down"):
        run_token_file(
            _tokens(clock, outcomes),  # type: ignore[arg-type]
            path=tmp_path / "t",
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.now() >= T0 + dt.timedelta(seconds=300)
