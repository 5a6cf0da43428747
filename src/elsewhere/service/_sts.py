"""STS over its AWS API: ``GetCallerIdentity`` and ``AssumeRole`` (role chaining).

Semantics from iam-policy-evaluation.md §6.6 and §7: the target role's trust policy is evaluated
with the caller as principal (for a session: the session ARN, its role and role id), together with
the caller's own policies (role ∩ boundary ∩ session policies) so that an explicit deny, such as
``AWSRevokeOlderSessions`` on ``aws:TokenIssueTime``, stops an older session from minting new
ones. A session that assumes a role is role chaining: at most one hour. The source identity is
kept along the chain and cannot change; transitive tags are carried into the next session.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from elsewhere.clock import Clock
from elsewhere.domain import format_utc_seconds
from elsewhere.errors import AccessDenied, InvalidAction, ValidationError
from elsewhere.policy import (
    ALLOWED,
    PolicyKind,
    PolicySet,
    RequestContext,
    evaluate,
    format_access_denied,
    parse_policy,
)
from elsewhere.policy import Principal as PolicyPrincipal
from elsewhere.service._authn import Principal
from elsewhere.service._session_auth import (
    SessionPrincipal,
    session_view,
)
from elsewhere.service._snapshot import SnapshotProvider
from elsewhere.tokens import SessionClaims, issue_credentials, validate_packed_policy_size

__all__ = ["StsService"]

_CHAIN_LIMIT = 3600
_DEFAULT_DURATION = 3600


#: The caller's policies, policy-engine principal and principal keys (the Authorizer's view).
CallerView = Callable[[Principal], tuple[PolicySet, PolicyPrincipal, dict[str, Any]]]


class StsService:
    """The gateway's ``sts`` handler."""

    def __init__(
        self,
        snapshots: SnapshotProvider,
        clock: Clock,
        *,
        random: Callable[[int], bytes] = os.urandom,
        caller_view: CallerView | None = None,
    ) -> None:
        self._snapshots = snapshots
        self._clock = clock
        self._caller_view = caller_view
        self._random = random

    def __call__(self, operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        """Run one STS operation for ``caller``."""
        if operation == "GetCallerIdentity":
            return self.get_caller_identity(caller)
        if operation == "AssumeRole":
            return self.assume_role(params, caller)
        raise InvalidAction(
            f"Could not find operation {operation} for version 2011-06-15",
            reason=f"STS operation {operation} is not implemented",
        )

    def get_caller_identity(self, caller: Principal) -> dict[str, Any]:
        """Who the caller is; needs no permission (§7.4)."""
        return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}

    def assume_role(self, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        """Issue credentials for ``RoleArn`` to ``caller`` if the trust policy allows it."""
        now = self._clock.now()
        snapshot = self._snapshots.current()
        role_arn = str(params["RoleArn"])
        session_name = str(params["RoleSessionName"])
        parent = caller.claims if isinstance(caller, SessionPrincipal) else None
        chained = parent is not None
        duration = int(params.get("DurationSeconds") or _DEFAULT_DURATION)

        def denied(reason: str, decision_text: str = "") -> AccessDenied:
            return AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn}",
                reason=reason + (f": {decision_text}" if decision_text else ""),
            )

        role = snapshot.role(role_arn)
        if role is None:
            raise denied(f"role {role_arn} does not exist")
        if chained and duration > _CHAIN_LIMIT:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        if duration > role.view.max_session_duration:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )

        # Source identity: set once, then kept along the chain (§7.6).
        requested_identity = params.get("SourceIdentity")
        inherited_identity = parent.source_identity if parent is not None else None
        if (
            requested_identity is not None
            and inherited_identity is not None
            and requested_identity != inherited_identity
        ):
            raise denied("the source identity of a chained session cannot change")
        identity = inherited_identity or requested_identity

        # Tags: inherited transitive tags, then the request's (§7.5).
        request_tags = [(str(t["Key"]), str(t["Value"])) for t in params.get("Tags") or []]
        transitive_requested = [str(k) for k in params.get("TransitiveTagKeys") or []]
        lowered = [k.lower() for k, _ in request_tags]
        if len(set(lowered)) != len(lowered):
            raise ValidationError(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        if not {k.lower() for k in transitive_requested} <= set(lowered):
            raise ValidationError("The TransitiveTagKeys must be a subset of the session tags.")
        inherited: list[tuple[str, str]] = []
        inherited_keys: list[str] = []
        if parent is not None:
            keep = {k.lower() for k in parent.transitive_tag_keys}
            inherited = [(k, v) for k, v in parent.principal_tags if k.lower() in keep]
            inherited_keys = [k for k, _ in inherited]
        if {k.lower() for k in inherited_keys} & set(lowered):
            raise ValidationError(
                "One or more session tags conflict with transitive tags of the calling session."
            )
        tags = tuple(inherited + request_tags)
        transitive = tuple(inherited_keys + transitive_requested)

        # Session policies.
        policy_text = params.get("Policy")
        if policy_text is not None:
            parse_policy(str(policy_text), kind=PolicyKind.SESSION, policy_id="session")
        policy_arns: list[str] = []
        for index, descriptor in enumerate(params.get("PolicyArns") or [], start=1):
            # The model leaves PolicyDescriptorType.arn optional, so the protocol layer lets
            # ``PolicyArns.member.1.foo=x`` through as ``{}``; STS needs the ARN. [INFERRED] text,
            # in the protocol layer's wording for a missing member.
            if descriptor.get("arn") is None:
                raise ValidationError(
                    f"1 validation error detected: Value null at 'policyArns.{index}.member.arn' "
                    "failed to satisfy constraint: Member must not be null"
                )
            policy_arns.append(str(descriptor["arn"]))

        # The trust policy, with the caller's own policies for a session caller.
        keys: dict[str, object] = {
            "aws:CurrentTime": format_utc_seconds(now),
            "aws:EpochTime": int(now.timestamp()),
            "sts:RoleSessionName": session_name,
        }
        principal: PolicyPrincipal
        own: PolicySet
        if parent is not None:
            own, principal, parent_keys = session_view(parent, snapshot)
            keys.update(parent_keys)
        elif caller.kind == "root":
            # IAM User Guide, "Switch to an IAM role (AWS API)"; STS's answer to a root caller.
            raise AccessDenied("Roles may not be assumed by root accounts.", reason="root caller")
        elif self._caller_view is not None:
            # An IAM user: its own policies must allow sts:AssumeRole too when the trust policy
            # trusts the account rather than naming the user (iam-policy-evaluation.md §6.6).
            own, principal, caller_keys = self._caller_view(caller)
            keys.update(caller_keys)
        else:
            principal = PolicyPrincipal(
                arn=caller.arn,
                account=caller.account,
                type="User",
                unique_id=caller.user_id,
            )
            own = PolicySet()
        if identity is not None:
            keys["sts:SourceIdentity"] = identity
        for key, value in role.view.tags:
            keys[f"aws:ResourceTag/{key}"] = value
        for key, value in tags:
            keys[f"aws:RequestTag/{key}"] = value
        if tags:
            keys["aws:TagKeys"] = [k for k, _ in tags]
        if transitive:
            keys["sts:TransitiveTagKeys"] = list(transitive)
        if role.trust is None:
            raise denied("the role's trust policy is missing or invalid")
        policies = PolicySet(
            identity=own.identity, resource=role.trust, boundary=own.boundary, session=own.session
        )
        actions = ["sts:AssumeRole"]
        if tags:
            actions.append("sts:TagSession")
        if identity is not None:
            actions.append("sts:SetSourceIdentity")
        for action in actions:
            decision = evaluate(
                RequestContext(action=action, resource=role_arn, principal=principal, keys=keys),
                policies,
            )
            if decision.result != ALLOWED:
                raise AccessDenied(
                    format_access_denied(caller.arn, action, role_arn, decision, with_reason=False),
                    reason=f"{action} refused: {decision.reason}",
                )

        packed = validate_packed_policy_size(policy_text, policy_arns, tags)
        claims = SessionClaims(
            account=role.view.account,
            role_arn=role.view.arn,
            role_id=role.view.role_id,
            role_name=role.view.name,
            role_path=role.view.path,
            session_name=session_name,
            issued_at=now,
            expires_at=now + dt.timedelta(seconds=duration),
            source="sts:AssumeRole",
            source_identity=identity,
            principal_tags=tags,
            transitive_tag_keys=transitive,
            session_policy=None if policy_text is None else str(policy_text),
            managed_policy_arns=tuple(policy_arns),
            chain_depth=(parent.chain_depth + 1) if parent is not None else 0,
            # Trusted identity propagation carries along a role chain and cannot change there
            # (IAM User Guide, "Trusted identity propagation with IAM").
            origin_subject=parent.origin_subject if parent is not None else None,
            origin_subject_type=parent.origin_subject_type if parent is not None else None,
            origin_issuer=parent.origin_issuer if parent is not None else None,
        )
        ring = snapshot.ring
        if ring is None:
            raise denied("no session key ring is configured")
        creds = issue_credentials(
            claims, ring, access_key_random=self._random, nonce=self._random(12)
        )
        output: dict[str, Any] = {
            "Credentials": {
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": creds.expiration,
            },
            "AssumedRoleUser": {"AssumedRoleId": claims.assumed_role_id, "Arn": claims.session_arn},
            "PackedPolicySize": packed,
        }
        if identity is not None:
            output["SourceIdentity"] = identity
        return output
