"""Invoking the user's own services: API Gateway's IAM authorization, decided by elsewhere.

A proxy (Traefik, nginx, Envoy) or a middleware in front of a service asks whether one request
may pass. The rules are API Gateway's for a method with ``AWS_IAM`` authorization (API Gateway
Developer Guide, "Control access to a REST API with IAM permissions" and "IAM policy examples
for API execution permissions"):

- the request is signed with SigV4 for service ``execute-api`` in the server's region, with
  credentials elsewhere issued (a role session, an IAM user's key, the root key);
- the action is ``execute-api:Invoke`` on
  ``arn:{partition}:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``, the path
  without its leading ``/``, as API Gateway writes it (``.../prod/GET/`` for the root);
- the caller's policies decide, with the global condition keys a request carries.

Authentication is the one every elsewhere API uses (``Authenticator``: clock skew, expiry, token
and key checks, the same errors). A session whose role has been deleted, or deleted and made
again under the same name, is refused like a token that is no longer valid (iam-policy-evaluation
§7.9: sessions bind to the role's unique id).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Final, NamedTuple
from urllib.parse import unquote

from elsewhere.cache import BoundedCache
from elsewhere.domain import Deployment, format_utc_seconds
from elsewhere.errors import (
    AccessDenied,
    BadRequest,
    IncompleteSignature,
)
from elsewhere.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    ContextValue,
    Decision,
    PolicySet,
    RequestContext,
    evaluate,
    normalise_context_keys,
)
from elsewhere.policy import Principal as PolicyPrincipal
from elsewhere.service._authn import Authenticator, Principal
from elsewhere.service._authz import Authorizer
from elsewhere.service._replay import ReplayGuard
from elsewhere.service._session_auth import (
    SessionPrincipal,
    policy_principal,
    session_context_keys,
    session_policies,
    session_role,
)
from elsewhere.service._snapshot import SnapshotProvider
from elsewhere.sigv4 import (
    ALGORITHM_HMAC,
    UNSIGNED_PAYLOAD,
    BodyWithheldRequest,
    HttpRequest,
    SignedRequest,
    parse_signed_request,
)
from elsewhere.tokens import SessionClaims

__all__ = [
    "INVOKE_ACTION",
    "Grant",
    "Invocation",
    "InvocationDenied",
    "InvokeAuthorizer",
    "format_invoke_arn",
    "resource_path",
]

#: The one action API Gateway's IAM authorization checks.
INVOKE_ACTION: Final = "execute-api:Invoke"
#: The SigV4 service name clients sign for.
SIGNING_SERVICE: Final = "execute-api"

# API Gateway's REST API ids are ten lower-case alphanumerics and stage names are letters,
# digits, '-' and '_' (CreateStage); elsewhere lets the operator name them, within these
# characters, which cannot change the meaning of an ARN.
_NAME = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_METHOD = re.compile(r"[A-Z]{1,20}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What one cached session view keeps alive besides its strings (objects, dict), in bytes.
_ENTRY_OVERHEAD = 2048
# The skew the header form of a signature is valid for, either side of its date (the default of
# sigv4.check_request_time, which the authenticator applies).
_SKEW = dt.timedelta(minutes=5)


class Invocation(NamedTuple):
    """One request a proxy asks about, as its client sent it.

    ``request`` is the request as signed: original method, path, query, headers (``Host`` the
    client's) and body, or a ``BodyWithheldRequest`` when the proxy does not forward bodies.
    ``source_ip`` and ``secure`` are the client's address and whether it used TLS, as far as the
    front door believes them.
    """

    request: HttpRequest
    api: str
    stage: str
    source_ip: str
    secure: bool
    now: dt.datetime


class Grant(NamedTuple):
    """An allowed invocation: who the caller is, for the proxy to hand to the service."""

    principal_arn: str
    account: str
    caller_id: str  # aws:userid: AROA...:session for a session, AIDA... for a user
    source_identity: str  # "" when the session has none
    resource: str
    principal: Principal


class InvocationDenied(AccessDenied):
    """The caller's policies do not allow the invocation; names who was refused what."""

    def __init__(self, message: str, *, reason: str, principal: Principal, resource: str) -> None:
        super().__init__(message, reason=reason)
        self.principal = principal
        self.resource = resource


def format_invoke_arn(deployment: Deployment, api: str, stage: str, method: str, path: str) -> str:
    """The ``execute-api`` ARN of one call; ``path`` is the decoded path, without leading ``/``."""
    return (
        f"arn:{deployment.partition}:execute-api:{deployment.region}:{deployment.account_id}:"
        f"{api}/{stage}/{method}/{path}"
    )


def resource_path(raw_path: str) -> str:
    """The ARN's path part: ``raw_path`` percent-decoded, without its leading ``/``.

    A path is refused (``BadRequest``) when it could mean something else to the service behind
    the proxy than to the policy: a ``.`` or ``..`` segment (encoded or not), an empty segment
    (``//``), an encoded ``/``, a control character, or bytes that are not UTF-8. SigV4 signs
    such paths normalised (``/a/../b`` signs as ``/b``), so the policy would judge one path and
    the service might serve another.
    """
    if not raw_path.startswith("/"):
        raise BadRequest(reason=f"request path {raw_path[:200]!r} does not start with '/'")
    body = raw_path[1:]
    if "%" in body:
        lowered = body.lower()
        if "%2f" in lowered or "%5c" in lowered:
            raise BadRequest(reason="request path holds an encoded '/' or '\\'")
        try:
            decoded = unquote(body, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest(reason="request path is not UTF-8 once decoded") from None
    else:
        decoded = body
    if decoded:
        segments = decoded.split("/")
        # A trailing '/' leaves one empty last segment, which names a distinct resource.
        inner = segments[:-1] if segments[-1] == "" else segments
        for segment in inner:
            if segment in ("", ".", ".."):
                raise BadRequest(reason=f"request path {raw_path[:200]!r} is not in normal form")
    if _CONTROL.search(decoded):
        raise BadRequest(reason="request path holds a control character")
    return decoded


class InvokeAuthorizer:
    """Decides ``execute-api:Invoke`` for one request: authenticate, then evaluate policies."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        authorizer: Authorizer,
        snapshots: SnapshotProvider,
        deployment: Deployment,
        replay: ReplayGuard | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._snapshots = snapshots
        self._deployment = deployment
        self._replay = replay
        # API Gateway's denial names the resource with the account masked but for its last four
        # digits ("arn:aws:execute-api:us-west-2:********2543:vd2gh6uqw3/api/GET/").
        account = deployment.account_id
        self._account_field = f":{account}:"
        self._masked_account = f":{'*' * (len(account) - 4)}{account[-4:]}:"
        # Keys every invocation carries with the same value.
        self._constant_values = normalise_context_keys(
            {
                "aws:RequestedRegion": deployment.region,
                "aws:ResourceAccount": deployment.account_id,
                "aws:ViaAWSService": False,
                "aws:PrincipalIsAWSService": False,
            }
        )
        self._clock_values: tuple[int, Mapping[str, ContextValue]] = (-1, {})
        # Sessions' principals and normalised keys, by token and role tags (a few KiB each).
        self._session_cache: BoundedCache[
            tuple[str, tuple[tuple[str, str], ...]],
            tuple[PolicyPrincipal, Mapping[str, ContextValue]],
        ] = BoundedCache(max_entries=4096, max_weight=16 * 1024 * 1024)

    @property
    def deployment(self) -> Deployment:
        """The account, region and partition the ARNs name."""
        return self._deployment

    def signature(self, request: HttpRequest) -> SignedRequest:
        """The request's SigV4 signature parts; raises the 401 errors of a bad signature.

        Separate from :meth:`decide` so that a front door can tell, before deciding, whether the
        caller uses session credentials (decided from memory) or a long-term key (a store read).
        """
        signed = parse_signed_request(request)
        if signed.algorithm != ALGORITHM_HMAC:
            raise IncompleteSignature(
                f"Unsupported AWS 'algorithm': '{signed.algorithm}'",
                reason="an X.509 signature is accepted only by CreateSession",
            )
        return signed

    def decide(self, invocation: Invocation, signed: SignedRequest) -> Grant:
        """The grant for ``invocation``; raises an authentication error or ``AccessDenied``."""
        request = invocation.request
        api, stage = invocation.api, invocation.stage
        if not (_NAME.fullmatch(api) and _NAME.fullmatch(stage)):
            raise BadRequest(reason=f"api {api[:200]!r} or stage {stage[:200]!r} is not a name")
        method = request.method
        if not _METHOD.fullmatch(method):
            raise BadRequest(reason=f"method {method[:40]!r} is not an HTTP method name")
        if isinstance(request, BodyWithheldRequest) and signed.payload_hash == UNSIGNED_PAYLOAD:
            # Without the body and without a declared hash, nothing would tie the body the
            # service receives to the signature.
            raise IncompleteSignature(
                "UNSIGNED-PAYLOAD is not accepted here; sign the payload.",
                reason="UNSIGNED-PAYLOAD while the proxy withholds the body",
            )
        now = invocation.now
        principal = self._authenticator.authenticate(
            request, signed, service=SIGNING_SERVICE, now=now
        )
        policies, subject, principal_values = self._principal_view(
            principal, signed.security_token
        )
        if self._replay is not None:
            window = _SKEW
            if signed.presigned and signed.expires is not None:
                window = dt.timedelta(seconds=signed.expires)
            self._replay.admit(signed.signature, valid_until=signed.timestamp + window, now=now)
        resource = format_invoke_arn(
            self._deployment, api, stage, method, resource_path(request.raw_path)
        )
        values = self._values(principal_values, invocation)
        decision = evaluate(
            RequestContext.prepared(INVOKE_ACTION, resource, subject, values), policies
        )
        if decision.result != ALLOWED:
            raise InvocationDenied(
                self._denial(principal.arn, resource, decision),
                reason=f"{decision.result} ({decision.reason}) of {principal.arn} on {resource}",
                principal=principal,
                resource=resource,
            )
        return _grant(principal, resource)

    def _principal_view(
        self, principal: Principal, token: str | None
    ) -> tuple[PolicySet, PolicyPrincipal, Mapping[str, ContextValue]]:
        """The caller's policies, its policy-engine principal and its normalised keys.

        The authenticator has already refused a session whose role is gone or was made again.
        """
        if isinstance(principal, SessionPrincipal) and principal.claims is not None:
            # A session issued here: the role's policies from the snapshot (no store read),
            # narrowed by the session policies sealed in the token.
            claims = principal.claims
            snapshot = self._snapshots.current()
            role = session_role(claims, snapshot)
            tags = role.view.tags if role is not None else ()
            subject, values = self._session_keys(claims, tags, token)
            return session_policies(claims, snapshot), subject, values
        policies, subject, keys = self._authorizer.principal_view(principal)
        return policies, subject, normalise_context_keys(keys)

    def _session_keys(
        self, claims: SessionClaims, role_tags: tuple[tuple[str, str], ...], token: str | None
    ) -> tuple[PolicyPrincipal, Mapping[str, ContextValue]]:
        """The session as principal and its principal keys (``session_context_keys``, with the
        role's current tags), normalised once per token and set of role tags: a session makes
        many calls, and building the keys cost more than deciding."""
        key = (token, role_tags) if token is not None else None
        if key is not None:
            known = self._session_cache.get(key)
            if known is not None:
                return known
        keys = normalise_context_keys(session_context_keys(claims, role_tags))
        view = (policy_principal(claims), keys)
        if key is not None:
            strings = sum(len(name) + sum(map(len, value.values)) for name, value in keys.items())
            weight = _ENTRY_OVERHEAD + 4 * (len(key[0]) + strings)
            self._session_cache.put(key, view, weight=weight)
        return view

    def _values(
        self, principal_values: Mapping[str, ContextValue], invocation: Invocation
    ) -> dict[str, ContextValue]:
        """The context: the principal's keys, and the global condition keys the request itself
        gives (IAM User Guide, "AWS global condition context keys"), normalised."""
        now = invocation.now
        epoch = int(now.timestamp())
        second, clock_values = self._clock_values
        if epoch != second:
            clock_values = normalise_context_keys(
                {"aws:CurrentTime": format_utc_seconds(now), "aws:EpochTime": str(epoch)}
            )
            # One tuple, assigned at once: threads deciding in parallel see either second.
            self._clock_values = (epoch, clock_values)
        values = {**principal_values, **self._constant_values, **clock_values}
        values["aws:securetransport"] = _TRUE if invocation.secure else _FALSE
        if invocation.source_ip:
            values["aws:sourceip"] = _text(invocation.source_ip)
        request = invocation.request
        agent = request.header("user-agent")
        if agent:
            values["aws:useragent"] = _text(agent)
        referer = request.header("referer")
        if referer:
            values["aws:referer"] = _text(referer)
        return values

    def _denial(self, principal_arn: str, resource: str, decision: Decision) -> str:
        # API Gateway's texts (AWS Knowledge Center, "How do I troubleshoot HTTP 403 errors from
        # API Gateway?"): the caller, the action and the resource, with "with an explicit deny"
        # when a Deny statement matched.
        masked = resource.replace(self._account_field, self._masked_account, 1)
        text = (
            f"User: {principal_arn} is not authorized to perform: {INVOKE_ACTION} "
            f"on resource: {masked}"
        )
        if decision.result == EXPLICIT_DENY:
            text += " with an explicit deny"
        return text


_TRUE = ContextValue.of(True)
_FALSE = ContextValue.of(False)


def _text(value: str) -> ContextValue:
    return ContextValue((value,), False, "string")


def _grant(principal: Principal, resource: str) -> Grant:
    if isinstance(principal, SessionPrincipal) and principal.claims is not None:
        claims = principal.claims
        return Grant(
            principal_arn=principal.arn,
            account=principal.account,
            caller_id=claims.assumed_role_id,
            source_identity=claims.source_identity or "",
            resource=resource,
            principal=principal,
        )
    return Grant(
        principal_arn=principal.arn,
        account=principal.account,
        caller_id=principal.user_id,
        source_identity="",
        resource=resource,
        principal=principal,
    )
