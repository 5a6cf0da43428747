"""Authorization of every rolesanywhere and IAM call by the policy engine.

For each operation the Service Authorization Reference (``data/service-authorization.json``, MIT,
see ``data/NOTICE.md``) gives the IAM action, the resource type it is checked on and the extra
actions the call also needs (``iam:PassRole`` for profile roles, ``<svc>:Tag*`` when tags are
sent). :meth:`Authorizer.authorize_call` turns one parsed request into those checks, with the
request's global condition keys (IAM User Guide, "AWS global condition context keys"), and
raises ``AccessDenied`` with AWS's message ("Troubleshoot access denied error messages") at the
first one the principal's policies do not allow. The root user may do anything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Protocol

from elsewhere.domain import Profile, format_rolesanywhere_arn
from elsewhere.domain._iam import format_iam_arn
from elsewhere.errors import AccessDenied
from elsewhere.policy import (
    ALLOWED,
    Decision,
    PolicySet,
    RequestContext,
    evaluate,
    format_access_denied,
)
from elsewhere.policy import Principal as PolicyPrincipal
from elsewhere.service._authn import Principal
from elsewhere.service._iam import IamStore
from elsewhere.service._ports import Repository, TagRepository
from elsewhere.service._session_auth import (
    SessionPrincipal,
    policy_principal,
    session_context_keys,
    session_policies,
)
from elsewhere.service._simulate import load_entity_policies
from elsewhere.service._snapshot import SnapshotProvider

__all__ = ["SERVICE_AUTHORIZATION", "Authorizer", "AuthzStore", "CallInfo", "Check"]

#: The Service Authorization Reference facts for rolesanywhere and iam (see data/NOTICE.md).
SERVICE_AUTHORIZATION: Final[dict[str, Any]] = json.loads(
    resources.files("elsewhere.service.data")
    .joinpath("service-authorization.json")
    .read_text(encoding="utf-8")
)

_ROLESANYWHERE_ID_MEMBER: Final = {
    "trust-anchor": "trustAnchorId",
    "profile": "profileId",
    "crl": "crlId",
    "subject": "subjectId",
}
_ROLESANYWHERE_SERVICE: Final = "rolesanywhere.amazonaws.com"


class AuthzStore(IamStore, Protocol):
    """The store as the authorizer reads it: IAM entities, resource tags and profiles."""

    @property
    def tags(self) -> TagRepository:
        """Tags of rolesanywhere resources."""
        ...

    @property
    def profiles(self) -> Repository[Profile]:
        """Profiles (for the roles ``EnableProfile`` passes)."""
        ...


@dataclass(frozen=True)
class CallInfo:
    """What the request itself says, for the global condition keys."""

    now: dt.datetime
    source_ip: str = ""
    secure: bool = False
    user_agent: str = ""


@dataclass(frozen=True)
class Check:
    """One action on one resource that a call needs, with its request-specific keys."""

    action: str
    resource: str
    keys: Mapping[str, Any]


def _tag_keys(prefix: str, tags: Sequence[tuple[str, str]]) -> dict[str, Any]:
    keys: dict[str, Any] = {f"{prefix}{k}": v for k, v in tags}
    return keys


def _request_tags(tags: Sequence[tuple[str, str]] | None) -> dict[str, Any]:
    if not tags:
        return {}
    keys = _tag_keys("aws:RequestTag/", tags)
    keys["aws:TagKeys"] = [k for k, _ in tags]
    return keys


class Authorizer:
    """Decides whether a principal may make a call, with the same engine as the simulator."""

    def __init__(
        self,
        store: AuthzStore,
        *,
        account_id: str,
        region: str,
        partition: str = "aws",
        snapshots: SnapshotProvider | None = None,
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._account = account_id
        self._region = region
        self._partition = partition

    # -- the engine call ---------------------------------------------------------------------

    def authorize(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, Any]
    ) -> Decision:
        """The decision for ``action`` on ``resource``; raises ``AccessDenied`` unless allowed.

        ``context`` holds request keys (``aws:SourceIp``, ``aws:RequestTag/k``, ...); the
        principal's own keys (``aws:PrincipalArn``, ``aws:username``, tags, ...) are added here.
        """
        policies, subject, keys = self.principal_view(principal)
        request = RequestContext(
            action=action, resource=resource, principal=subject, keys={**keys, **context}
        )
        decision = evaluate(request, policies)
        if decision.result != ALLOWED:
            raise AccessDenied(
                format_access_denied(principal.arn, action, resource, decision),
                reason=f"{decision.result}: {decision.reason}",
            )
        return decision

    def principal_view(
        self, principal: Principal
    ) -> tuple[PolicySet, PolicyPrincipal, dict[str, Any]]:
        """The principal's policies, its policy-engine principal and its principal keys."""
        keys: dict[str, Any] = {
            "aws:PrincipalArn": principal.arn,
            "aws:PrincipalAccount": principal.account,
        }
        if principal.kind == "root":
            keys.update({"aws:PrincipalType": "Account", "aws:userid": principal.account})
            subject = PolicyPrincipal(arn=principal.arn, account=principal.account, type="Account")
            return PolicySet(), subject, keys
        if principal.kind == "user":
            user = self._store.get_user(principal.name)
            keys.update(
                {
                    "aws:PrincipalType": "User",
                    "aws:userid": principal.user_id,
                    "aws:username": principal.name,
                }
            )
            subject = PolicyPrincipal(
                arn=principal.arn,
                account=principal.account,
                type="User",
                unique_id=principal.user_id,
            )
            if user is None or user.arn != principal.arn:
                return PolicySet(), subject, keys  # deleted since authentication: nothing allowed
            keys.update(_tag_keys("aws:PrincipalTag/", [(t.key, t.value) for t in user.tags]))
            loaded = load_entity_policies(self._store, "user", user.name)
            return (
                PolicySet(identity=tuple(p for p, _ in loaded.identity), boundary=loaded.boundary),
                subject,
                keys,
            )
        if (
            isinstance(principal, SessionPrincipal)
            and principal.claims is not None
            and self._snapshots is not None
        ):
            # A session issued here: role ∩ boundary ∩ the session policies sealed in its token.
            claims = principal.claims
            snapshot = self._snapshots.current()
            keys = dict(session_context_keys(claims))
            return session_policies(claims, snapshot), policy_principal(claims), keys
        # Any other assumed-role principal: the role's policies and boundary from the store.
        role_name = principal.arn.split("/")[1] if principal.arn.count("/") >= 2 else ""
        role = self._store.get_role(role_name) if role_name else None
        keys.update({"aws:PrincipalType": "AssumedRole", "aws:userid": principal.user_id})
        role_arn = role.arn if role is not None else ""
        if role is not None:
            keys["aws:PrincipalArn"] = role.arn
            keys.update(_tag_keys("aws:PrincipalTag/", [(t.key, t.value) for t in role.tags]))
        subject = PolicyPrincipal(
            arn=principal.arn,
            account=principal.account,
            type="AssumedRole",
            role_arn=role_arn,
            unique_id=role.role_id if role is not None else "",
        )
        if role is None:
            return PolicySet(), subject, keys
        loaded = load_entity_policies(self._store, "role", role.name)
        return (
            PolicySet(identity=tuple(p for p, _ in loaded.identity), boundary=loaded.boundary),
            subject,
            keys,
        )

    # -- whole calls -------------------------------------------------------------------------

    def authorize_call(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        principal: Principal,
        call: CallInfo,
    ) -> None:
        """Authorize one parsed call; raises ``AccessDenied`` at the first refused check."""
        if principal.kind == "root":
            return  # the account's root user may do anything (Policy evaluation logic page)
        if service not in ("rolesanywhere", "iam"):
            return  # STS answers GetCallerIdentity and AssumeRole by its own rules
        base = self._global_keys(call)
        for check in self.checks(service, operation, params, principal):
            self.authorize(principal, check.action, check.resource, {**base, **check.keys})

    def _global_keys(self, call: CallInfo) -> dict[str, Any]:
        now = call.now.astimezone(dt.UTC)
        keys: dict[str, Any] = {
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:SecureTransport": call.secure,
            "aws:RequestedRegion": self._region,
            "aws:ViaAWSService": False,
            "aws:PrincipalIsAWSService": False,
        }
        if call.source_ip:
            keys["aws:SourceIp"] = call.source_ip
        if call.user_agent:
            keys["aws:UserAgent"] = call.user_agent
        return keys

    def checks(
        self, service: str, operation: str, params: Mapping[str, Any], principal: Principal
    ) -> list[Check]:
        """Every (action, resource, keys) the call needs, the operation's own action first."""
        spec = SERVICE_AUTHORIZATION["operations"].get(service, {}).get(operation)
        if spec is None:
            # Not in the reference (an operation elsewhere adds): "<service>:<Operation>" on *.
            return [Check(f"{service}:{operation}", "*", {})]
        if service == "rolesanywhere":
            return self._rolesanywhere(operation, spec, params)
        return self._iam(operation, spec, params, principal)

    # rolesanywhere

    def _ra_arn(self, kind: str, resource_id: str) -> str:
        return format_rolesanywhere_arn(
            self._partition, self._region, self._account, kind, resource_id
        )

    def _resource_tags(self, arn: str) -> dict[str, Any]:
        return _tag_keys("aws:ResourceTag/", [(t.key, t.value) for t in self._store.tags.get(arn)])

    def _rolesanywhere(
        self, operation: str, spec: Mapping[str, Any], params: Mapping[str, Any]
    ) -> list[Check]:
        resource = "*"
        keys: dict[str, Any] = {}
        if "resourceArn" in params:
            resource = str(params["resourceArn"])
        else:
            for rtype in spec["resources"]:
                member = _ROLESANYWHERE_ID_MEMBER.get(rtype["type"])
                if member is not None and params.get(member):
                    resource = self._ra_arn(rtype["type"], str(params[member]))
                    break
        if resource != "*":
            keys.update(self._resource_tags(resource))
        tags = [(t["key"], t.get("value", "")) for t in params.get("tags") or []]
        keys.update(_request_tags(tags))
        if operation == "UntagResource" and params.get("tagKeys"):
            keys["aws:TagKeys"] = list(params["tagKeys"])
        checks = [Check(spec["action"], resource, keys)]
        if tags and operation != "TagResource":
            checks.append(Check("rolesanywhere:TagResource", resource, _request_tags(tags)))
        passed: Sequence[str] = ()
        if operation in ("CreateProfile", "UpdateProfile"):
            passed = params.get("roleArns") or ()
        elif operation == "EnableProfile" and params.get("profileId"):
            profile = self._store.profiles.get(str(params["profileId"]))
            passed = profile.role_arns if profile is not None else ()
        for role_arn in passed:
            checks.append(
                Check("iam:PassRole", role_arn, {"iam:PassedToService": _ROLESANYWHERE_SERVICE})
            )
        return checks

    # iam

    def _entity_arn(self, kind: str, name: str) -> tuple[str, dict[str, Any]]:
        entity = self._store.get_role(name) if kind == "role" else self._store.get_user(name)
        if entity is None:
            return format_iam_arn(self._partition, self._account, kind, "/", name), {}
        pairs = [(t.key, t.value) for t in entity.tags]
        keys = {**_tag_keys("aws:ResourceTag/", pairs), **_tag_keys("iam:ResourceTag/", pairs)}
        if entity.permissions_boundary_arn:
            keys["iam:PermissionsBoundary"] = entity.permissions_boundary_arn
        return entity.arn, keys

    def _iam(
        self,
        operation: str,
        spec: Mapping[str, Any],
        params: Mapping[str, Any],
        principal: Principal,
    ) -> list[Check]:
        types = [r["type"] for r in spec["resources"]]
        resource = "*"
        keys: dict[str, Any] = {}
        path = str(params.get("Path") or "/")
        if operation == "CreateRole":
            resource = format_iam_arn(
                self._partition, self._account, "role", path, params["RoleName"]
            )
        elif operation == "CreateUser":
            resource = format_iam_arn(
                self._partition, self._account, "user", path, params["UserName"]
            )
        elif operation == "CreatePolicy":
            resource = format_iam_arn(
                self._partition, self._account, "policy", path, params["PolicyName"]
            )
        elif operation == "SimulatePrincipalPolicy":
            resource = str(params.get("PolicySourceArn") or "*")
        elif "role" in types and params.get("RoleName"):
            resource, keys = self._entity_arn("role", str(params["RoleName"]))
        elif "user" in types:
            name = params.get("UserName") or (principal.name if principal.kind == "user" else "")
            if name:
                resource, keys = self._entity_arn("user", str(name))
        elif "policy" in types and params.get("PolicyArn"):
            resource = str(params["PolicyArn"])
            policy = self._store.get_managed_policy(resource)
            if policy is not None:
                keys = _tag_keys("aws:ResourceTag/", [(t.key, t.value) for t in policy.tags])
        if params.get("PermissionsBoundary"):
            keys["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
        if operation.startswith(("Attach", "Detach")) and params.get("PolicyArn"):
            keys["iam:PolicyARN"] = params["PolicyArn"]
        tags = [(t["Key"], t.get("Value", "")) for t in params.get("Tags") or []]
        keys.update(_request_tags(tags))
        if operation.startswith("Untag") and params.get("TagKeys"):
            keys["aws:TagKeys"] = list(params["TagKeys"])
        checks = [Check(spec["action"], resource, keys)]
        extra = {
            "CreateRole": "iam:TagRole",
            "CreateUser": "iam:TagUser",
            "CreatePolicy": "iam:TagPolicy",
        }
        if tags and operation in extra:
            checks.append(Check(extra[operation], resource, keys))
        return checks
