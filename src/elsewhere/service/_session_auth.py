"""Authentication of calls made with temporary credentials (``x-amz-security-token``).

DESIGN.md, "Session tokens are stateless": the token is opened with the key ring held in the
configuration snapshot, the access key id must be the one sealed in it, and the secret is derived
again from both; then the request's HMAC signature is checked with that secret. No database read.

A forged, tampered or foreign token is ``InvalidClientTokenId``; a genuine but expired one is
``ExpiredToken`` (iam-policy-evaluation.md §7.9). A session is bound to its role's unique id
(``AROA…``, sealed in the token), not to the role's name: once the role is deleted, or deleted and
created again under the same name (a new role with a new id), the token is refused as invalid
(``InvalidClientTokenId`` / ``UnrecognizedClientException``, AWS's answer for a token that no
longer names a valid principal, aws-protocols.md §4.5), so a session never acts with another
role's permissions. The resulting principal carries the session's
claims, from which :func:`session_policies` and :func:`session_context_keys` give the policy
engine what it needs to authorize the session's calls (the role's policies narrowed by the
session policies and the permissions boundary; ``aws:TokenIssueTime`` for revocation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from elsewhere.cache import BoundedCache
from elsewhere.domain import format_utc_seconds
from elsewhere.errors import UnrecognizedClient
from elsewhere.policy import Policy, PolicyKind, PolicySet, parse_policy
from elsewhere.policy import Principal as PolicyPrincipal
from elsewhere.service._authn import Principal, SigningKeyCache
from elsewhere.service._snapshot import ConfigSnapshot, RoleEntry, SnapshotProvider
from elsewhere.service._weights import policy_weight
from elsewhere.sigv4 import HttpRequest, SignedRequest, verify_hmac_signature
from elsewhere.tokens import SessionClaims, derive_secret_access_key, verify_credential_pair

__all__ = [
    "SessionPrincipal",
    "SessionResolver",
    "origin_identity_keys",
    "policy_principal",
    "session_context_keys",
    "session_policies",
    "session_role",
    "session_view",
]


@dataclass(frozen=True)
class SessionPrincipal(Principal):
    """An assumed-role session authenticated by its temporary credentials."""

    claims: SessionClaims | None = None


def policy_principal(claims: SessionClaims) -> PolicyPrincipal:
    """The session as the policy engine's principal (type ``AssumedRole``)."""
    return PolicyPrincipal(
        arn=claims.session_arn,
        account=claims.account,
        type="AssumedRole",
        role_arn=claims.role_arn,
        unique_id=claims.role_id,
    )


def session_context_keys(
    claims: SessionClaims, role_tags: Sequence[tuple[str, str]] = ()
) -> dict[str, object]:
    """The global condition keys every request of this session carries (GKEYS, §5.1).

    ``aws:PrincipalTag/*`` holds the role's own tags (``role_tags``) and the session's tags; a
    session tag overrides a role tag of the same key, compared without regard to case (IAM User
    Guide, "Pass session tags in AWS STS": the principal's tags come from the session tags and
    the IAM tags of the assumed role; iam-policy-evaluation.md §5). Callers pass the role's tags
    as they are at request time, not as they were when the session was issued.
    """
    keys: dict[str, object] = {
        "aws:TokenIssueTime": format_utc_seconds(claims.issued_at),
        "aws:PrincipalArn": claims.role_arn,
        "aws:PrincipalAccount": claims.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:userid": claims.assumed_role_id,
        "aws:MultiFactorAuthPresent": False,
    }
    if claims.source_identity is not None:
        keys["aws:SourceIdentity"] = claims.source_identity
    keys.update(origin_identity_keys(claims))
    tags: dict[str, tuple[str, str]] = {}
    for key, value in (*role_tags, *claims.principal_tags):
        tags[key.lower()] = (key, value)
    for key, value in tags.values():
        keys[f"aws:PrincipalTag/{key}"] = value
    return keys


def origin_identity_keys(claims: SessionClaims) -> dict[str, object]:
    """The session's trusted identity propagation keys (``aws:OriginIdentity/*``), if any.

    They come only from the sealed token, so a caller cannot set them (IAM Roles Anywhere User
    Guide, "Trusted identity propagation").
    """
    keys: dict[str, object] = {}
    if claims.origin_subject is not None:
        keys["aws:OriginIdentity/Subject"] = claims.origin_subject
    if claims.origin_subject_type is not None:
        keys["aws:OriginIdentity/SubjectType"] = claims.origin_subject_type
    if claims.origin_issuer is not None:
        keys["aws:OriginIdentity/Issuer"] = claims.origin_issuer
    return keys


def session_view(
    claims: SessionClaims, snapshot: ConfigSnapshot
) -> tuple[PolicySet, PolicyPrincipal, dict[str, object]]:
    """What the policy engine needs to judge a call of this session: its policies, the session
    as principal, and its principal keys (with the role's current tags), from one role lookup.
    """
    role = session_role(claims, snapshot)
    tags = role.view.tags if role is not None else ()
    return (
        _policies(claims, role, snapshot),
        policy_principal(claims),
        session_context_keys(claims, tags),
    )


def session_role(claims: SessionClaims, snapshot: ConfigSnapshot) -> RoleEntry | None:
    """The role the session was issued for, or None when that role no longer exists.

    The role is looked up by ARN and must still carry the unique id sealed in the token: a role
    created again under the same name is another role (IAM User Guide, "IAM identifiers": unique
    ids are never reused), and grants its predecessor's sessions nothing.
    """
    role = snapshot.role(claims.role_arn)
    if role is None or role.view.role_id != claims.role_id:
        return None
    return role


# Compiled inline session policies, by text (what failed to compile is remembered as None).
_SESSION_POLICIES: BoundedCache[str, tuple[Policy | None]] = BoundedCache(
    max_entries=1024, max_weight=16 * 1024 * 1024
)


def _session_policy(text: str) -> Policy | None:
    """The compiled inline session policy of a token (tokens repeat, so compiled once each)."""
    known = _SESSION_POLICIES.get(text)
    if known is not None:
        return known[0]
    try:
        policy: Policy | None = parse_policy(
            text, kind=PolicyKind.SESSION, policy_id="session", max_size=None
        )
    except Exception:  # an invalid session policy narrows the session to nothing
        policy = None
    _SESSION_POLICIES.put(text, (policy,), weight=policy_weight(text))
    return policy


def session_policies(claims: SessionClaims, snapshot: ConfigSnapshot) -> PolicySet:
    """The policies that bound what the session may do: role ∩ boundary ∩ session policies.

    A role that no longer exists, or exists under a new unique id, grants nothing (an empty
    identity set); authentication refuses such a session already (:class:`SessionResolver`).
    """
    return _policies(claims, session_role(claims, snapshot), snapshot)


def _policies(claims: SessionClaims, role: RoleEntry | None, snapshot: ConfigSnapshot) -> PolicySet:
    identity = role.identity if role is not None else ()
    boundary = role.boundary if role is not None else None
    session: tuple[Policy, ...] | None = None
    if claims.session_policy is not None or claims.managed_policy_arns:
        parts: list[Policy] = []
        if claims.session_policy is not None:
            inline = _session_policy(claims.session_policy)
            # A session policy that no longer parses allows nothing: pass an empty set.
            if inline is not None:
                parts.append(inline)
        for arn in claims.managed_policy_arns:
            managed = snapshot.managed_policy(arn)
            if managed is not None:
                parts.append(managed)
        session = tuple(parts)
    return PolicySet(identity=identity, boundary=boundary, session=session)


class SessionResolver:
    """The gateway's ``session_resolver``: temporary credentials → :class:`SessionPrincipal`."""

    def __init__(
        self, snapshots: SnapshotProvider, *, signing_keys: SigningKeyCache | None = None
    ) -> None:
        self._snapshots = snapshots
        # Keyed by the session's access key id and token, filled only after the pair has been
        # verified: a forged token never gets that far, and the cache holds no secret.
        self._signing_keys = SigningKeyCache() if signing_keys is None else signing_keys

    def __call__(
        self, request: HttpRequest, signed: SignedRequest, now: dt.datetime
    ) -> SessionPrincipal:
        """Verify token, key pairing, expiry, the role's identity and the HMAC signature.

        Raises the STS errors: ``UnrecognizedClient`` for a token that is not genuine, not paired
        with the access key id, or whose role no longer exists under the id it was issued for;
        ``ExpiredToken``; ``InvalidSignature``.
        """
        token = signed.security_token
        if token is None:
            raise UnrecognizedClient(reason="no session token")
        snapshot = self._snapshots.current()
        ring = snapshot.ring
        if ring is None:
            raise UnrecognizedClient(reason="no session key ring is configured")
        claims = verify_credential_pair(signed.credential, token, ring, now=now)
        if session_role(claims, snapshot) is None:
            raise UnrecognizedClient(
                reason=f"the session's role {claims.role_arn} ({claims.role_id}) no longer exists"
            )
        # The secret is derived again only when this session's key for the scope is not kept.
        signing_key = self._signing_keys.session_signing_key(
            signed.credential,
            token,
            lambda: derive_secret_access_key(signed.credential, token, ring),
            signed.scope,
            now=now,
        )
        verify_hmac_signature(request, signed, signing_key=signing_key)
        return SessionPrincipal(
            arn=claims.session_arn,
            account=claims.account,
            kind="assumed-role",
            user_id=claims.assumed_role_id,
            name=claims.session_name,
            access_key_id=signed.credential,
            claims=claims,
        )
