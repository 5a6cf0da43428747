"""GetWebIdentityToken as a use case: rules, errors, claims, checks, and independent checking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest

from elsewhere.clock import FixedClock
from elsewhere.errors import AccessDenied, ValidationError
from elsewhere.oidc import (
    CLAIMS_NAMESPACE,
    Federation,
    IssuerState,
    build_jwks,
    build_signing_key,
)
from elsewhere.service._authn import Principal
from elsewhere.service._session_auth import SessionPrincipal
from elsewhere.service._web_identity import (
    JWTPayloadSizeExceeded,
    OutboundWebIdentityFederationDisabled,
    SessionDurationEscalation,
    WebIdentityTokenRequest,
    WebIdentityTokens,
    web_identity_checks,
)
from elsewhere.tokens import SessionClaims
from tests.unit.oidc.conftest import T0, key_for

ISSUER = "https://idp.example.com"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ROOT = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:root",
    account=ACCOUNT,
    kind="root",
    user_id=ACCOUNT,
    name="root",
    access_key_id="AKIAROOT",
)


def _session(expires_in: dt.timedelta = dt.timedelta(hours=1)) -> SessionPrincipal:
    claims = SessionClaims(
        account=ACCOUNT,
        role_arn=ROLE,
        role_id="AROAEXAMPLEEXAMPLE234",
        role_name="app",
        role_path="/",
        session_name="0a1b",
        issued_at=T0,
        expires_at=T0 + expires_in,
        source="arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/t",
    )
    return SessionPrincipal(
        arn=claims.session_arn,
        account=ACCOUNT,
        kind="assumed-role",
        user_id=claims.assumed_role_id,
        name="0a1b",
        access_key_id="ASIAEXAMPLE",
        claims=claims,
    )


@dataclass
class _Snapshot:
    issuer: IssuerState | None


@dataclass
class _Snapshots:
    state: IssuerState | None

    def current(self) -> _Snapshot:
        return _Snapshot(self.state)


def _state(federation: Federation = Federation.ENABLED) -> IssuerState:
    return IssuerState(
        federation,
        (
            build_signing_key(key_for("RS256", 1), alg="RS256", now=T0),
            build_signing_key(key_for("ES384", 1), alg="ES384", now=T0),
        ),
    )


@dataclass
class _Keys:
    """The principal keys the authorizer would give each caller."""

    keys: dict[str, Any] = field(default_factory=dict)

    def __call__(self, principal: Principal) -> Mapping[str, Any]:
        return self.keys


def _tokens(
    state: IssuerState | None = None, keys: dict[str, Any] | None = None
) -> WebIdentityTokens:
    return WebIdentityTokens(
        _Snapshots(state if state is not None else _state()),  # type: ignore[arg-type]
        FixedClock(T0 + dt.timedelta(minutes=1, microseconds=500)),
        issuer=ISSUER,
        account_id=ACCOUNT,
        region="eu-west-1",
        principal_keys=_Keys(keys or {}),
        random=lambda n: bytes(range(n)),
    )


def _request(**changes: Any) -> WebIdentityTokenRequest:
    fields: dict[str, Any] = {"audiences": ("bao",), "algorithm": "RS256"}
    fields.update(changes)
    return WebIdentityTokenRequest(**fields)


def _verify(token: str, alg: str, audience: str = "bao") -> dict[str, Any]:
    jwks = jwt.PyJWKSet.from_dict(build_jwks(_state(), T0))
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=[alg],
        audience=audience,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES384"])
def test_session_token_names_its_role(alg: str) -> None:
    """A role session's token: sub and principal_id are the role ARN, tags under the namespace."""
    keys = {"aws:PrincipalTag/x509Subject/CN": "w1", "aws:PrincipalArn": ROLE}
    issued = _tokens(keys=keys).issue(_request(algorithm=alg, tags=(("job", "7"),)), _session())
    claims = _verify(issued.token, alg)
    assert claims["sub"] == ROLE
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "bao"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"] == "00010203-0405-4607-8809-0a0b0c0d0e0f"
    assert claims[CLAIMS_NAMESPACE] == {
        "aws_account": ACCOUNT,
        "source_region": "eu-west-1",
        "principal_id": ROLE,
        "principal_tags": {"x509Subject/CN": "w1"},
        "request_tags": {"job": "7"},
    }
    assert issued.expiration == dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    assert "subject_mode" not in claims


def test_root_and_users_are_their_own_subject() -> None:
    """A long-term caller's token names the caller's ARN, whatever the duration."""
    issued = _tokens().issue(_request(duration_seconds=3600), ROOT)
    assert _verify(issued.token, "RS256")["sub"] == ROOT.arn


def test_disabled_account_gets_no_token() -> None:
    """Never enabled or disabled: OutboundWebIdentityFederationDisabledException, 403."""
    for federation in (Federation.NEVER, Federation.DISABLED):
        with pytest.raises(OutboundWebIdentityFederationDisabled) as info:
            _tokens(_state(federation)).issue(_request(), ROOT)
        assert info.value.status_for("query") == 403
        assert info.value.code_for("query") == "OutboundWebIdentityFederationDisabledException"


@pytest.mark.parametrize(
    ("case", "session_left", "duration", "ok"),
    [
        ("ok/within-session", dt.timedelta(minutes=10), 300, True),
        ("ok/up-to-the-second", dt.timedelta(minutes=6), 300, True),
        ("fail/past-session", dt.timedelta(minutes=5), 300, False),
        ("fail/hour-in-short-session", dt.timedelta(minutes=30), 3600, False),
    ],
)
def test_token_never_outlives_its_session(
    case: str, session_left: dt.timedelta, duration: int, ok: bool
) -> None:
    """A token ending after the calling session is SessionDurationEscalationException."""
    tokens = _tokens()
    request = _request(duration_seconds=duration)
    if ok:
        tokens.issue(request, _session(session_left))
    else:
        with pytest.raises(SessionDurationEscalation):
            tokens.issue(request, _session(session_left))


@pytest.mark.parametrize(
    ("case", "changes", "text"),
    [
        ("fail/unknown-algorithm", {"algorithm": "HS256"}, "enum value set: [RS256, ES384]"),
        ("fail/jwt-svid", {"token_type": "JWT_SVID"}, "JWT_SVID"),
        (
            "fail/token-type-with-subject-mode",
            {"token_type": "AWSIdentity", "subject_mode": "AWSIdentity"},
            "cannot be combined",
        ),
        ("fail/token-type-with-scope", {"token_type": "AWSIdentity", "scope": "x"}, "combined"),
        ("fail/scope-without-origin", {"scope": "read"}, "OriginIdentity"),
        (
            "fail/scope-two-audiences",
            {"scope": "read", "subject_mode": "OriginIdentity", "audiences": ("a", "b")},
            "exactly one Audience",
        ),
        (
            "fail/scope-repeated",
            {"scope": "read read", "subject_mode": "OriginIdentity"},
            "repeated",
        ),
        ("fail/duplicate-tag", {"tags": (("Team", "a"), ("team", "b"))}, "Duplicate tag keys"),
        ("fail/aws-tag", {"tags": (("AWS:x", "a"),)}, "aws:"),
        ("fail/origin-without-context", {"subject_mode": "OriginIdentity"}, "trusted identity"),
    ],
)
def test_request_rules(case: str, changes: dict[str, Any], text: str) -> None:
    """Each broken rule is a ValidationError that says which."""
    with pytest.raises(ValidationError, match=None) as info:
        _tokens().issue(_request(**changes), _session())
    assert text in info.value.message


def test_explicit_aws_identity_token_type_is_served() -> None:
    """TokenType=AWSIdentity alone is the default token."""
    issued = _tokens().issue(_request(token_type="AWSIdentity"), ROOT)
    assert _verify(issued.token, "RS256")["sub"] == ROOT.arn


def test_origin_identity_subject() -> None:
    """With a TIP context, OriginIdentity puts the subject in sub and adds subject_mode."""
    keys = {
        "aws:OriginIdentity/Subject": "workload-01",
        "aws:OriginIdentity/Issuer": "arn:aws:rolesanywhere:us-east-1:1:trust-anchor/t",
    }
    issued = _tokens(keys=keys).issue(
        _request(subject_mode="OriginIdentity", scope="read write"), _session()
    )
    claims = _verify(issued.token, "RS256")
    assert claims["sub"] == "workload-01"
    assert claims["subject_mode"] == "OriginIdentity"
    assert claims["scope"] == "read write"
    assert claims[CLAIMS_NAMESPACE]["principal_id"] == ROLE


@pytest.mark.parametrize(
    ("case", "keys", "error"),
    [
        ("fail/no-issuer", {"aws:OriginIdentity/Subject": "w"}, ValidationError),
        (
            "fail/blank-subject",
            {"aws:OriginIdentity/Subject": " ", "aws:OriginIdentity/Issuer": "i"},
            ValidationError,
        ),
        (
            "fail/arn-subject",
            {"aws:OriginIdentity/Subject": "arn:x", "aws:OriginIdentity/Issuer": "i"},
            AccessDenied,
        ),
        (
            "fail/control-character",
            {"aws:OriginIdentity/Subject": "a\nb", "aws:OriginIdentity/Issuer": "i"},
            AccessDenied,
        ),
    ],
)
def test_origin_identity_refusals(case: str, keys: dict[str, Any], error: type[Exception]) -> None:
    """Without subject and issuer: a validation error; with a subject AWS denies: AccessDenied."""
    with pytest.raises(error):
        _tokens(keys=keys).issue(_request(subject_mode="OriginIdentity"), _session())


def test_payload_size_is_bounded() -> None:
    """Tags that swell the claims past 8 KiB give JWTPayloadSizeExceededException (400)."""
    tags = tuple((f"key{i}", "v" * 256) for i in range(40))
    with pytest.raises(JWTPayloadSizeExceeded) as info:
        _tokens().issue(_request(tags=tags), ROOT)
    assert info.value.status_for("query") == 400


def test_signing_key_follows_rotation() -> None:
    """After a rotation activates, tokens name the new key; before, the old one."""
    state = _state()
    new = build_signing_key(
        key_for("RS256", 2), alg="RS256", now=T0, activates_at=T0 + dt.timedelta(minutes=1)
    )
    rotated = state.with_keys([new], now=T0)
    issued = _tokens(rotated).issue(_request(), ROOT)
    assert jwt.get_unverified_header(issued.token)["kid"] == new.kid


@pytest.mark.parametrize(
    ("case", "changes", "actions", "keys"),
    [
        (
            "ok/defaults",
            {},
            ["sts:GetWebIdentityToken"],
            {
                "sts:IdentityTokenAudience": ["bao"],
                "sts:DurationSeconds": 300,
                "sts:SigningAlgorithm": "RS256",
                "sts:SubjectMode": "AWSIdentity",
            },
        ),
        (
            "ok/tags",
            {"tags": (("job", "7"),), "duration_seconds": 900},
            ["sts:GetWebIdentityToken", "sts:TagGetWebIdentityToken"],
            {"aws:RequestTag/job": "7", "aws:TagKeys": ["job"], "sts:DurationSeconds": 900},
        ),
        (
            "ok/scope",
            {"scope": "read write", "subject_mode": "OriginIdentity"},
            ["sts:GetWebIdentityToken", "sts:SetWebIdentityTokenScope"],
            {"sts:IdentityTokenScope": ["read", "write"], "sts:SubjectMode": "OriginIdentity"},
        ),
    ],
)
def test_authorization_checks(
    case: str, changes: dict[str, Any], actions: list[str], keys: dict[str, Any]
) -> None:
    """The actions a request needs and the condition keys they are judged with."""
    checks = web_identity_checks(_request(**changes))
    assert [c.action for c in checks] == actions
    for check in checks:
        for name, value in keys.items():
            assert check.keys[name] == value
