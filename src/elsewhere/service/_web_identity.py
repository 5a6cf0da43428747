"""STS ``GetWebIdentityToken``: a signed JWT for the calling principal, for an external audience.

STS API Reference, GetWebIdentityToken, and the IAM User Guide pages on outbound identity
federation ("Understanding token claims", "Controlling access with IAM policies"). In order:

1. **Authorization** happens at the gateway, as for every call (:func:`web_identity_checks`):
   ``sts:GetWebIdentityToken`` on ``*`` with the condition keys ``sts:IdentityTokenAudience``
   (every audience), ``sts:DurationSeconds``, ``sts:SigningAlgorithm``, ``sts:SubjectMode``,
   ``sts:TokenType`` and ``aws:RequestTag/*``/``aws:TagKeys``; ``sts:TagGetWebIdentityToken`` as
   well when the request has ``Tags``, and ``sts:SetWebIdentityTokenScope`` with
   ``sts:IdentityTokenScope`` (every scope value) when it has ``Scope``. The duration and subject
   mode keys carry the values in effect (300 and ``AWSIdentity`` when not sent), so a policy that
   caps them also holds for requests that leave them out.
2. **The request's own rules** (validation errors, 400): ``SigningAlgorithm`` is ``RS256`` or
   ``ES384`` (the model bounds only its length); ``TokenType`` excludes ``SubjectMode``
   and ``Scope``; ``JWT_SVID`` needs a workload identity provider, which elsewhere does not have;
   ``Scope`` needs ``SubjectMode=OriginIdentity`` and exactly one audience, and no repeated value;
   tag keys are unique without regard to case and do not begin with ``aws:``.
3. **The account's switch**: ``OutboundWebIdentityFederationDisabledException`` (403) unless
   outbound federation is enabled.
4. **The session's bounds**: a token may not outlive the session that asks for it
   (``SessionDurationEscalationException``, 403); ``OriginIdentity`` needs the session's trusted
   identity propagation context (a validation error without it), and a subject AWS would accept
   (refused as ``AccessDenied`` otherwise: STS "denies the request").
5. **Size**: a claim set above :data:`~elsewhere.oidc.MAX_PAYLOAD_BYTES` is
   ``JWTPayloadSizeExceededException`` (400).

``sub`` is the caller's ARN in ``AWSIdentity`` mode: for a role session the role's ARN, as in
AWS's sample token, which ``principal_id`` repeats; an IAM user's or the root's own ARN
otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from elsewhere.clock import Clock
from elsewhere.errors import AccessDenied, ElsewhereError, InternalError, ValidationError
from elsewhere.oidc import (
    ALGORITHMS,
    MAX_PAYLOAD_BYTES,
    IssuerState,
    build_token_claims,
    encode_json,
    origin_subject_problem,
    scope_problem,
    sign_jwt,
)
from elsewhere.service._authn import Principal
from elsewhere.service._session_auth import SessionPrincipal
from elsewhere.service._snapshot import SnapshotProvider

__all__ = [
    "DEFAULT_TOKEN_DURATION",
    "JWTPayloadSizeExceeded",
    "OutboundWebIdentityFederationDisabled",
    "SessionDurationEscalation",
    "WebIdentityToken",
    "WebIdentityTokenRequest",
    "WebIdentityTokens",
    "parse_web_identity_request",
    "web_identity_checks",
]

#: ``DurationSeconds`` when the request leaves it out (STS API Reference).
DEFAULT_TOKEN_DURATION: Final = 300

_ORIGIN = "OriginIdentity"
_AWS_IDENTITY = "AWSIdentity"


class OutboundWebIdentityFederationDisabled(ElsewhereError):
    """The account has not enabled outbound web identity federation (STS model, 403)."""

    code = "OutboundWebIdentityFederationDisabledException"
    status = 403
    default_message = (
        "Outbound web identity federation is not enabled for this account. Enable it with "
        "EnableOutboundWebIdentityFederation."
    )


class SessionDurationEscalation(ElsewhereError):
    """The token would outlive the session asking for it (STS model, 403)."""

    code = "SessionDurationEscalationException"
    status = 403
    default_message = (
        "The requested token duration would extend beyond the expiration of the calling session."
    )


class JWTPayloadSizeExceeded(ElsewhereError):
    """The claim set is larger than elsewhere signs (STS model, 400)."""

    code = "JWTPayloadSizeExceededException"
    status = 400
    default_message = (
        f"The token payload would exceed {MAX_PAYLOAD_BYTES} bytes. Reduce the number or size "
        "of the request tags."
    )


@dataclass(frozen=True)
class WebIdentityTokenRequest:
    """What a caller asks for (the model's members, typed)."""

    audiences: tuple[str, ...]
    algorithm: str
    duration_seconds: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    subject_mode: str | None = None
    scope: str | None = None
    token_type: str | None = None

    @property
    def duration(self) -> int:
        """The token's lifetime in seconds."""
        return self.duration_seconds or DEFAULT_TOKEN_DURATION

    @property
    def mode(self) -> str:
        """The subject mode in effect."""
        return self.subject_mode or _AWS_IDENTITY


@dataclass(frozen=True)
class WebIdentityToken:
    """The signed token and when it expires."""

    token: str
    expiration: dt.datetime


def parse_web_identity_request(params: Mapping[str, Any]) -> WebIdentityTokenRequest:
    """The typed request from the protocol layer's validated input."""
    duration = params.get("DurationSeconds")
    return WebIdentityTokenRequest(
        audiences=tuple(str(a) for a in params.get("Audience") or ()),
        algorithm=str(params.get("SigningAlgorithm") or ""),
        duration_seconds=None if duration is None else int(duration),
        tags=tuple((str(t["Key"]), str(t["Value"])) for t in params.get("Tags") or ()),
        subject_mode=params.get("SubjectMode"),
        scope=params.get("Scope"),
        token_type=params.get("TokenType"),
    )


@dataclass(frozen=True)
class WebIdentityCheck:
    """One action the call needs on ``*``, with the request's keys."""

    action: str
    keys: Mapping[str, Any]


def web_identity_checks(request: WebIdentityTokenRequest) -> list[WebIdentityCheck]:
    """The authorization checks of one request (see the module docstring, step 1)."""
    keys: dict[str, Any] = {
        "sts:IdentityTokenAudience": list(request.audiences),
        "sts:DurationSeconds": request.duration,
        "sts:SigningAlgorithm": request.algorithm,
        "sts:SubjectMode": request.mode,
    }
    if request.token_type is not None:
        keys["sts:TokenType"] = request.token_type
    if request.tags:
        keys.update({f"aws:RequestTag/{k}": v for k, v in request.tags})
        keys["aws:TagKeys"] = [k for k, _ in request.tags]
    if request.scope is not None:
        keys["sts:IdentityTokenScope"] = request.scope.split(" ")
    checks = [WebIdentityCheck("sts:GetWebIdentityToken", keys)]
    if request.tags:
        checks.append(WebIdentityCheck("sts:TagGetWebIdentityToken", keys))
    if request.scope is not None:
        checks.append(WebIdentityCheck("sts:SetWebIdentityTokenScope", keys))
    return checks


def _validate(request: WebIdentityTokenRequest) -> None:
    """The request's own rules (module docstring, step 2)."""
    if request.algorithm not in ALGORITHMS:
        # The model bounds only the length (jwtAlgorithmType: 5); the documented values are two.
        raise ValidationError(
            f"1 validation error detected: Value '{request.algorithm}' at 'signingAlgorithm' "
            f"failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(ALGORITHMS)}]"
        )
    if request.token_type is not None and (
        request.subject_mode is not None or request.scope is not None
    ):
        raise ValidationError(
            "TokenType cannot be combined with SubjectMode or Scope.",
            reason="TokenType with SubjectMode or Scope",
        )
    if request.token_type == "JWT_SVID":  # noqa: S105 - a token type, not a secret
        raise ValidationError(
            "TokenType JWT_SVID needs a workload identity provider with a JWT signer for the "
            "calling session; this endpoint issues AWSIdentity tokens only.",
            reason="JWT-SVID requested",
        )
    if request.scope is not None:
        if request.mode != _ORIGIN or len(request.audiences) != 1:
            raise ValidationError(
                "Scope can be specified only with SubjectMode OriginIdentity and exactly one "
                "Audience.",
                reason="Scope without OriginIdentity and one audience",
            )
        problem = scope_problem(request.scope)
        if problem is not None:
            raise ValidationError(f"Invalid Scope: {problem}.", reason=problem)
    lowered = [k.lower() for k, _ in request.tags]
    if len(set(lowered)) != len(lowered):
        raise ValidationError(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    if any(k.startswith("aws:") for k in lowered):
        raise ValidationError(
            "Tag keys cannot begin with aws:, which is reserved for AWS use.",
            reason="aws: tag key",
        )


def _principal_tags(keys: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    prefix = "aws:PrincipalTag/"
    return tuple(
        (name[len(prefix) :], str(value)) for name, value in keys.items() if name.startswith(prefix)
    )


class WebIdentityTokens:
    """Issues web identity tokens from the snapshot's issuer state (no store read)."""

    def __init__(
        self,
        snapshots: SnapshotProvider,
        clock: Clock,
        *,
        issuer: str,
        account_id: str,
        region: str,
        principal_keys: Callable[[Principal], Mapping[str, Any]],
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._snapshots = snapshots
        self._clock = clock
        self._issuer = issuer
        self._account = account_id
        self._region = region
        self._principal_keys = principal_keys
        self._random = random

    def issue(self, request: WebIdentityTokenRequest, caller: Principal) -> WebIdentityToken:
        """A token for ``caller``, or the error of the first rule it breaks."""
        _validate(request)
        state = self._snapshots.current().issuer or IssuerState()
        if not state.enabled:
            raise OutboundWebIdentityFederationDisabled(reason="outbound federation is off")
        now = self._clock.now()
        issued_at = now.replace(microsecond=0)
        expires_at = issued_at + dt.timedelta(seconds=request.duration)
        claims = caller.claims if isinstance(caller, SessionPrincipal) else None
        if claims is not None and expires_at > claims.expires_at:
            raise SessionDurationEscalation(
                reason=f"token until {expires_at.isoformat()}, session until "
                f"{claims.expires_at.isoformat()}"
            )
        principal_arn = claims.role_arn if claims is not None else caller.arn
        subject, subject_mode = principal_arn, None
        if request.mode == _ORIGIN:
            subject = self._origin_subject(caller)
            subject_mode = _ORIGIN
        payload = build_token_claims(
            issuer=self._issuer,
            audiences=request.audiences,
            subject=subject,
            issued_at=issued_at,
            expires_at=expires_at,
            token_id=str(uuid.UUID(bytes=self._random(16), version=4)),
            account=self._account,
            region=self._region,
            principal_arn=principal_arn,
            principal_tags=_principal_tags(self._principal_keys(caller)),
            request_tags=request.tags,
            subject_mode=subject_mode,
            scope=request.scope,
        )
        size = len(encode_json(payload))
        if size > MAX_PAYLOAD_BYTES:
            raise JWTPayloadSizeExceeded(reason=f"claims of {size} bytes")
        key = state.signer(request.algorithm, now)
        if key is None:
            raise InternalError(reason=f"no {request.algorithm} signing key is active")
        token = sign_jwt(payload, key=key.private_key, alg=key.alg, kid=key.kid)
        return WebIdentityToken(token=token, expiration=expires_at)

    def _origin_subject(self, caller: Principal) -> str:
        """The session's ``aws:OriginIdentity/Subject``, when it may be a token's subject."""
        keys = self._principal_keys(caller)
        subject = keys.get("aws:OriginIdentity/Subject")
        has_issuer = "aws:OriginIdentity/Issuer" in keys or (
            "aws:OriginIdentity/FederatedProviderArn" in keys
        )
        if not isinstance(subject, str) or not has_issuer or not subject.strip():
            raise ValidationError(
                "SubjectMode OriginIdentity needs a calling session with a trusted identity "
                "propagation context (aws:OriginIdentity/Subject and aws:OriginIdentity/Issuer).",
                reason="no origin identity in the calling session",
            )
        problem = origin_subject_problem(subject)
        if problem is not None:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:GetWebIdentityToken "
                "because the origin identity subject of the session cannot be a token subject",
                reason=problem,
            )
        return subject


def checks_for(params: Mapping[str, Any]) -> Sequence[WebIdentityCheck]:
    """The checks of the raw (validated) input, for the authorizer."""
    return web_identity_checks(parse_web_identity_request(params))
