"""The authorizer's decision (execute-api:Invoke) for session credentials, in process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from elsewhere.domain import Deployment, Tag
from elsewhere.errors import (
    AccessDenied,
    BadRequest,
    ElsewhereError,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    SignatureExpired,
    TooManyRequests,
    UnrecognizedClient,
)
from elsewhere.pki import quick_chain
from elsewhere.service import Grant, Invocation, InvokeAuthorizer, ReplayGuard, SignatureReplayed
from elsewhere.service._authn import Authenticator
from elsewhere.service._authz import Authorizer
from elsewhere.service._session_auth import SessionResolver
from elsewhere.sigv4 import BodyWithheldRequest, HttpRequest, sign_hmac_request

from .conftest import ACCOUNT, NOW, REGION, World, session_request

API_HOST = "api.example.test"
ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:orders/prod"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN}/GET/items/*"},
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN}/POST/items"},
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN}/GET/"},
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"{ARN}/GET/team/*",
            "Condition": {
                "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "elsewhere-test-workload"}
            },
        },
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"{ARN}/GET/other-team/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/x509Subject/CN": "someone-else"}},
        },
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"{ARN}/GET/office/*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                "Bool": {"aws:SecureTransport": "true"},
                "StringLike": {"aws:UserAgent": "orders-client/*"},
            },
        },
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"{ARN}/GET/daytime/*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-11-28T12:30:00Z"}},
        },
        {
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"{ARN}/GET/blue/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
        },
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"{ARN}/GET/items/secret"},
    ],
}


def _setup(world: World, policy: dict[str, Any] = POLICY) -> tuple[str, dict[str, str]]:
    """A role with ``policy`` and credentials for it from a real CreateSession."""
    chain = quick_chain(NOW, "p256")
    name = "svc-" + str(len(world.store.list_roles()))
    role = world.add_role(name)
    world.store.put_inline_policy("role", name, "invoke", json.dumps(policy))
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    world.snapshots.refresh()
    answer = world.call(session_request(chain, anchor=anchor, profile=profile, role=role))
    assert answer.status == 201, answer.body
    creds: dict[str, str] = json.loads(answer.body)["credentialSet"][0]["credentials"]
    return name, creds


def _decider(world: World, replay: ReplayGuard | None = None) -> InvokeAuthorizer:
    """The authorizer as the server wires it, over the world's store and snapshot."""
    return InvokeAuthorizer(
        authenticator=Authenticator(
            lambda _: None, region=REGION, session_resolver=SessionResolver(world.snapshots)
        ),
        authorizer=Authorizer(
            world.store, account_id=ACCOUNT, region=REGION, snapshots=world.snapshots
        ),
        snapshots=world.snapshots,
        deployment=Deployment(ACCOUNT, REGION, "aws"),
        replay=replay,
    )


def _signed(
    creds: dict[str, str],
    method: str = "GET",
    path: str = "/items/1",
    *,
    query: str = "",
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = (),
    service: str = "execute-api",
    region: str = REGION,
    when: dt.datetime = NOW,
) -> HttpRequest:
    """A request to the service signed as botocore signs it, with the session's credentials."""
    return sign_hmac_request(
        HttpRequest(method, path, query, (("Host", API_HOST), *headers), body),
        access_key_id=creds["accessKeyId"],
        secret_access_key=creds["secretAccessKey"],
        session_token=creds["sessionToken"],
        region=region,
        service=service,
        now=when,
    )


def _decide(
    decider: InvokeAuthorizer,
    request: HttpRequest,
    *,
    now: dt.datetime = NOW,
    source_ip: str = "192.0.2.1",
    secure: bool = False,
    api: str = "orders",
    stage: str = "prod",
) -> Grant:
    """The decision for ``request`` as a front door asks for it."""
    invocation = Invocation(request, api, stage, source_ip, secure, now)
    return decider.decide(invocation, decider.signature(request))


def _replace(request: HttpRequest, **changes: Any) -> HttpRequest:
    """``request`` changed after signing (as an attacker in the middle would)."""
    fields = {
        "method": request.method,
        "raw_path": request.raw_path,
        "raw_query": request.raw_query,
        "headers": request.headers,
        "body": request.body,
    }
    fields.update(changes)
    return HttpRequest(**fields)


def test_allowed_call_names_the_session(world: World) -> None:
    """An allowed call's grant names the session, its account, caller id and source identity."""
    _, creds = _setup(world)
    grant = _decide(_decider(world), _signed(creds))
    assert grant.principal_arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/svc-0/")
    assert grant.account == ACCOUNT
    assert grant.caller_id.startswith("AROA")
    assert grant.caller_id.endswith(":" + grant.principal_arn.rsplit("/", 1)[1])
    assert grant.source_identity == "CN=elsewhere-test-workload"
    assert grant.resource == f"{ARN}/GET/items/1"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "allowed"),
    [
        pytest.param("GET", "/items/7", {}, True, id="ok/path-allowed"),
        pytest.param("GET", "/", {}, True, id="ok/root-is-GET-slash"),
        pytest.param("POST", "/items", {"body": b'{"n":1}'}, True, id="ok/post-with-body"),
        pytest.param("GET", "/admin", {}, False, id="fail/path-not-allowed"),
        pytest.param("DELETE", "/items/7", {}, False, id="fail/method-not-allowed"),
        pytest.param("GET", "/items/secret", {}, False, id="fail/explicit-deny"),
        pytest.param("GET", "/team/x", {}, True, id="ok/tag-condition-holds"),
        pytest.param("GET", "/other-team/x", {}, False, id="fail/tag-condition-fails"),
        pytest.param(
            "GET",
            "/office/x",
            {"headers": (("User-Agent", "orders-client/2.0"),)},
            True,
            id="ok/ip-transport-agent-hold",
        ),
        pytest.param(
            "GET",
            "/office/x",
            {"headers": (("User-Agent", "curl/8"),)},
            False,
            id="fail/user-agent-condition",
        ),
        pytest.param("GET", "/daytime/x", {}, True, id="ok/current-time-condition"),
    ],
)
def test_policy_decides_by_method_path_and_context(
    world: World, method: str, path: str, kwargs: dict[str, Any], allowed: bool
) -> None:
    """The role's policies decide on the method, the path and the request's context keys."""
    _, creds = _setup(world)
    request = _signed(creds, method, path, **kwargs)
    decider = _decider(world)
    if allowed:
        assert _decide(decider, request, source_ip="203.0.113.9", secure=True).resource.endswith(
            f"/{method}{path}"
        )
    else:
        with pytest.raises(AccessDenied):
            _decide(decider, request, source_ip="203.0.113.9", secure=True)


def test_context_keys_come_from_the_request(world: World) -> None:
    """aws:SourceIp and aws:SecureTransport are the front door's; aws:CurrentTime the clock's."""
    _, creds = _setup(world)
    decider = _decider(world)
    office = _signed(creds, path="/office/x", headers=(("User-Agent", "orders-client/2.0"),))
    with pytest.raises(AccessDenied):
        _decide(decider, office, source_ip="198.51.100.1", secure=True)
    with pytest.raises(AccessDenied):
        _decide(decider, office, source_ip="203.0.113.9", secure=False)
    late = NOW + dt.timedelta(minutes=45)
    with pytest.raises(AccessDenied):
        _decide(decider, _signed(creds, path="/daytime/x", when=late), now=late)


def test_denial_text_is_api_gateways(world: World) -> None:
    """A denial names the caller, the action and the resource with the account masked."""
    _, creds = _setup(world)
    decider = _decider(world)
    with pytest.raises(AccessDenied) as implicit:
        _decide(decider, _signed(creds, path="/admin"))
    assert implicit.value.message.startswith("User: arn:aws:sts::123456789012:assumed-role/")
    assert implicit.value.message.endswith(
        " is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:{REGION}:********9012:orders/prod/GET/admin"
    )
    assert "implicitDeny" in implicit.value.reason
    with pytest.raises(AccessDenied) as explicit:
        _decide(decider, _signed(creds, path="/items/secret"))
    assert explicit.value.message.endswith("/GET/items/secret with an explicit deny")


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        pytest.param(lambda r: _replace(r, raw_path="/items/2"), InvalidSignature, id="fail/path"),
        pytest.param(lambda r: _replace(r, method="PUT"), InvalidSignature, id="fail/method"),
        pytest.param(lambda r: _replace(r, raw_query="x=1"), InvalidSignature, id="fail/query"),
        pytest.param(
            lambda r: _replace(
                r,
                headers=tuple(
                    (n, "evil.example" if n.lower() == "host" else v) for n, v in r.headers
                ),
            ),
            InvalidSignature,
            id="fail/signed-header",
        ),
        pytest.param(
            lambda r: _replace(r, body=b'{"n":2}'), InvalidSignature, id="fail/body-changed"
        ),
        pytest.param(
            lambda r: _replace(
                r,
                headers=tuple(
                    (n, v + "A" if n.lower() == "x-amz-security-token" else v)
                    for n, v in r.headers
                ),
            ),
            UnrecognizedClient,
            id="fail/token",
        ),
        pytest.param(
            lambda r: _replace(
                r, headers=tuple((n, v) for n, v in r.headers if n.lower() != "authorization")
            ),
            MissingAuthenticationToken,
            id="fail/no-signature",
        ),
    ],
)
def test_tampered_requests_are_refused(world: World, tamper: Any, error: type) -> None:
    """Any change to what was signed, or to the token, is an authentication failure."""
    _, creds = _setup(world)
    request = _signed(creds, "POST", "/items", body=b'{"n":1}')
    decider = _decider(world)
    _decide(decider, request)  # the untouched request passes
    with pytest.raises(error):
        _decide(decider, tamper(request))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"service": "sts"}, InvalidSignature, id="fail/other-service"),
        pytest.param({"region": "eu-west-1"}, InvalidSignature, id="fail/other-region"),
        pytest.param(
            {"when": NOW - dt.timedelta(minutes=6)}, SignatureExpired, id="fail/replayed-late"
        ),
        pytest.param(
            {"when": NOW + dt.timedelta(minutes=6)}, SignatureExpired, id="fail/from-the-future"
        ),
        pytest.param({"when": NOW - dt.timedelta(minutes=4)}, None, id="ok/within-skew"),
    ],
)
def test_scope_and_clock_are_those_of_every_elsewhere_api(
    world: World, kwargs: dict[str, Any], error: type | None
) -> None:
    """Service execute-api, the server's region, and ±5 minutes, as the rest of elsewhere."""
    _, creds = _setup(world)
    request = _signed(creds, **kwargs)
    if error is None:
        _decide(_decider(world), request)
        return
    with pytest.raises(error):
        _decide(_decider(world), request)


def test_expired_session_is_refused(world: World) -> None:
    """A session past its expiry is ExpiredToken, whatever its signature."""
    _, creds = _setup(world)
    later = NOW + dt.timedelta(hours=2)
    with pytest.raises(ElsewhereError) as caught:
        _decide(_decider(world), _signed(creds, when=later), now=later)
    assert caught.value.code == "ExpiredTokenException"


@pytest.mark.parametrize("recreate", [False, True], ids=["fail/deleted", "fail/recreated"])
def test_session_of_a_deleted_role_is_refused(world: World, recreate: bool) -> None:
    """A role deleted (or deleted and made again with the same name) ends its sessions."""
    name, creds = _setup(world)
    decider = _decider(world)
    _decide(decider, _signed(creds))
    world.store.remove_inline_policy("role", name, "invoke")
    world.store.remove_role(name)
    if recreate:
        world.add_role(name)
        world.store.put_inline_policy("role", name, "invoke", json.dumps(POLICY))
    world.snapshots.refresh()
    with pytest.raises(UnrecognizedClient):
        _decide(decider, _signed(creds))


def test_x509_signature_is_not_an_invocation(world: World) -> None:
    """A request signed with a certificate (CreateSession's algorithm) is refused."""
    chain = quick_chain(NOW, "p256")
    request = session_request(chain, anchor="a", profile="p", role="r")
    with pytest.raises(IncompleteSignature):
        _decider(world).signature(request)


@pytest.mark.parametrize(
    ("api", "stage"),
    [
        pytest.param("", "prod", id="fail/no-api"),
        pytest.param("orders", "", id="fail/no-stage"),
        pytest.param("orders/x", "prod", id="fail/slash-in-api"),
        pytest.param("orders", "pr*d", id="fail/wildcard-in-stage"),
    ],
)
def test_api_and_stage_must_be_names(world: World, api: str, stage: str) -> None:
    """The proxy's api and stage become ARN parts: nothing that could change its meaning."""
    _, creds = _setup(world)
    with pytest.raises(BadRequest):
        _decide(_decider(world), _signed(creds), api=api, stage=stage)


def test_withheld_body_trusts_the_declared_hash(world: World) -> None:
    """Without the body, a signed X-Amz-Content-SHA256 stands in for it; nothing else does."""
    _, creds = _setup(world)
    body = b'{"n":1}'
    declared = (("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()),)
    signed = _signed(creds, "POST", "/items", body=body, headers=declared)
    withheld = BodyWithheldRequest("POST", "/items", "", signed.headers, b"")
    decider = _decider(world)
    assert _decide(decider, withheld).resource.endswith("/POST/items")
    undeclared = _signed(creds, "POST", "/items", body=body)
    with pytest.raises(InvalidSignature):
        _decide(decider, BodyWithheldRequest("POST", "/items", "", undeclared.headers, b""))
    unsigned = _signed(
        creds, "POST", "/items", body=body, headers=(("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),)
    )
    with pytest.raises(IncompleteSignature):
        _decide(decider, BodyWithheldRequest("POST", "/items", "", unsigned.headers, b""))


def test_forwarded_body_must_match_the_declared_hash(world: World) -> None:
    """With the body forwarded, a declared hash of another body is refused."""
    _, creds = _setup(world)
    declared = (("X-Amz-Content-SHA256", hashlib.sha256(b"other").hexdigest()),)
    request = _signed(creds, "POST", "/items", body=b'{"n":1}', headers=declared)
    with pytest.raises(InvalidSignature):
        _decide(_decider(world), request)


def test_replay_guard_refuses_a_second_use(world: World) -> None:
    """With the guard, one signature passes once; a new signature passes again."""
    _, creds = _setup(world)
    decider = _decider(world, ReplayGuard(16))
    first = _signed(creds)
    _decide(decider, first)
    with pytest.raises(SignatureReplayed) as caught:
        _decide(decider, first)
    assert caught.value.code == "InvalidSignatureException"
    _decide(decider, _signed(creds, when=NOW + dt.timedelta(seconds=1)))


def test_replay_guard_records_only_verified_signatures(world: World) -> None:
    """A refused request leaves nothing behind: the real one still passes once."""
    _, creds = _setup(world)
    guard = ReplayGuard(16)
    decider = _decider(world, guard)
    request = _signed(creds)
    with pytest.raises(InvalidSignature):
        _decide(decider, _replace(request, raw_path="/items/2"))
    assert len(guard) == 0
    _decide(decider, request)
    assert len(guard) == 1


def test_replay_guard_forgets_after_the_window_and_fills_up() -> None:
    """Entries live until their signature could no longer pass; a full guard refuses."""
    guard = ReplayGuard(2)
    until = NOW + dt.timedelta(minutes=5)
    guard.admit("a" * 64, valid_until=until, now=NOW)
    guard.admit("b" * 64, valid_until=until, now=NOW)
    with pytest.raises(TooManyRequests):
        guard.admit("c" * 64, valid_until=until, now=NOW)
    with pytest.raises(SignatureReplayed):
        guard.admit("a" * 64, valid_until=until, now=NOW + dt.timedelta(minutes=4))
    later = until + dt.timedelta(seconds=2)
    guard.admit("a" * 64, valid_until=later + dt.timedelta(minutes=5), now=later)
    assert len(guard) == 1


def test_role_tags_are_principal_tags_as_they_are_now(world: World) -> None:
    """The role's own tags are the session's aws:PrincipalTag/*, read at each call."""
    name, creds = _setup(world)
    decider = _decider(world)
    _decide(decider, _signed(creds, path="/blue/1"))  # the role is tagged team=blue
    world.store.update_role(name, lambda r: dataclasses.replace(r, tags=(Tag("team", "red"),)))
    world.snapshots.refresh()
    with pytest.raises(AccessDenied):
        _decide(decider, _signed(creds, path="/blue/1"))
