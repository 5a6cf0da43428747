"""Authorization of every rolesanywhere and IAM call and STS GetWebIdentityToken by the policies.

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
from elsewhere.errors import AccessDenied, ResourceNotFound
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
from elsewhere.service._ports import TagRepository
from elsewhere.service._resources import Lookup, ResourceFinder, ResourceStore
from elsewhere.service._session_auth import (
    SessionPrincipal,
    session_view,
)
from elsewhere.service._simulate import load_entity_policies
from elsewhere.service._snapshot import SnapshotProvider
from elsewhere.service._web_identity import checks_for as web_identity_checks_for

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


def _operations(service: str) -> Mapping[str, Any]:
    """The operations of ``service`` that the shipped reference data lists."""
    found: Mapping[str, Any] = SERVICE_AUTHORIZATION["operations"].get(service, {})
    return found


class AuthzStore(IamStore, ResourceStore, Protocol):
    """The store as the authorizer reads it: IAM entities, rolesanywhere resources and tags."""

    @property
    def tags(self) -> TagRepository:
        """Tags of rolesanywhere resources."""
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
    """One action on one resource that a call needs, with its request-specific keys.

    ``resource`` is what policies are evaluated against (the canonical ARN); ``shown`` is the
    resource as the request named it, for the AccessDenied text (empty: ``resource``).
    """

    action: str
    resource: str
    keys: Mapping[str, Any]
    shown: str = ""


@dataclass(frozen=True)
class _Target:
    """The resource a rolesanywhere call names, in the member ``member`` of its input."""

    member: str
    found: Lookup[Any]
    shown: str


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
        self._finder = ResourceFinder(
            store, account_id=account_id, region=region, partition=partition
        )

    # -- the engine call ---------------------------------------------------------------------

    def authorize(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, Any],
        *,
        shown: str = "",
    ) -> Decision:
        """The decision for ``action`` on ``resource``; raises ``AccessDenied`` unless allowed.

        ``context`` holds request keys (``aws:SourceIp``, ``aws:RequestTag/k``, ...); the
        principal's own keys (``aws:PrincipalArn``, ``aws:username``, tags, ...) are added here.
        The refusal names ``shown`` (the resource as the request named it) when given.
        """
        policies, subject, keys = self.principal_view(principal)
        request = RequestContext(
            action=action, resource=resource, principal=subject, keys={**keys, **context}
        )
        decision = evaluate(request, policies)
        if decision.result != ALLOWED:
            raise AccessDenied(
                format_access_denied(principal.arn, action, shown or resource, decision),
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
            policies, session, session_keys = session_view(
                principal.claims, self._snapshots.current()
            )
            return policies, session, dict(session_keys)
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
    ) -> dict[str, Any]:
        """Authorize one parsed call; the input the handler is to run with.

        Raises ``AccessDenied`` at the first refused check. A rolesanywhere call that names a
        resource by id, ARN or alias ARN is judged on that resource's canonical ARN and tags;
        once allowed, it is ``ResourceNotFoundException`` if there is no such resource, and
        otherwise the input names the resource by its canonical ARN, so the handler acts on the
        very resource that was authorized even if an alias moves meanwhile.
        """
        if principal.kind == "root":
            return dict(params)  # the account's root user may do anything (Policy evaluation logic)
        if service not in ("rolesanywhere", "iam") and operation not in _operations(service):
            return dict(params)  # STS answers GetCallerIdentity and AssumeRole by its own rules
        base = self._global_keys(call)
        target = self._target(operation, params) if service == "rolesanywhere" else None
        for check in self._checks(service, operation, params, principal, target):
            self.authorize(
                principal, check.action, check.resource, {**base, **check.keys}, shown=check.shown
            )
        if target is None:
            return dict(params)
        if target.found.record is None:
            if target.found.kind == "subject":
                return dict(params)  # GetSubject looks subjects up itself; they carry no tags
            raise ResourceNotFound(reason=target.found.reason)
        return {**params, target.member: target.found.record.arn}

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
        target = self._target(operation, params) if service == "rolesanywhere" else None
        return self._checks(service, operation, params, principal, target)

    def _checks(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        principal: Principal,
        target: _Target | None,
    ) -> list[Check]:
        spec = SERVICE_AUTHORIZATION["operations"].get(service, {}).get(operation)
        if spec is None:
            # Not in the reference (an operation elsewhere adds): "<service>:<Operation>" on *.
            return [Check(f"{service}:{operation}", "*", {})]
        if service == "rolesanywhere":
            return self._rolesanywhere(operation, spec, params, target)
        if service == "sts":
            return [Check(c.action, "*", c.keys) for c in web_identity_checks_for(params)]
        return self._iam(operation, spec, params, principal)

    # rolesanywhere

    def _target(self, operation: str, params: Mapping[str, Any]) -> _Target | None:
        """The resource the call names, looked up once, or None for calls that name none."""
        if operation == "ImportCrl":
            # The CRL is new; the anchor it is for is named by ARN, never by alias (see
            # ResourceFinder.find).
            arn = str(params.get("trustAnchorArn") or "")
            anchor = self._finder.find("trust-anchor", arn, aliases=False)
            return _Target("trustAnchorArn", anchor, arn)
        if "resourceArn" in params:
            arn = str(params["resourceArn"])
            return _Target("resourceArn", self._finder.find_tagged(arn), arn)
        for kind, member in _ROLESANYWHERE_ID_MEMBER.items():
            identifier = params.get(member)
            if not identifier:
                continue
            identifier = str(identifier)
            shown = identifier if identifier.startswith("arn:") else self._ra_arn(kind, identifier)
            if kind == "subject":
                # Subjects have no alias and no tags: the id names the ARN.
                found: Lookup[Any] = Lookup(kind, None, shown, f"subject {identifier}")
            else:
                found = self._finder.find(kind, identifier)
            return _Target(member, found, shown)
        return None

    def _ra_arn(self, kind: str, resource_id: str) -> str:
        return format_rolesanywhere_arn(
            self._partition, self._region, self._account, kind, resource_id
        )

    def _resource_tags(self, arn: str) -> dict[str, Any]:
        return _tag_keys("aws:ResourceTag/", [(t.key, t.value) for t in self._store.tags.get(arn)])

    def _rolesanywhere(
        self,
        operation: str,
        spec: Mapping[str, Any],
        params: Mapping[str, Any],
        target: _Target | None,
    ) -> list[Check]:
        resource, shown = "*", ""
        keys: dict[str, Any] = {}
        target_keys: dict[str, Any] = {}
        if target is not None:
            if target.found.record is not None:
                # aws:ResourceTag is the tags of the resource itself, whatever form named it.
                target_keys = self._resource_tags(target.found.policy_arn)
            if operation != "ImportCrl":  # checked on * (below), as the reference says
                resource, shown = target.found.policy_arn, target.shown
                keys.update(target_keys)
        tags = [(t["key"], t.get("value", "")) for t in params.get("tags") or []]
        keys.update(_request_tags(tags))
        if operation == "UntagResource" and params.get("tagKeys"):
            keys["aws:TagKeys"] = list(params["tagKeys"])
        checks = [Check(spec["action"], resource, keys, shown)]
        if operation == "ImportCrl" and target is not None:
            # [decision] The reference checks ImportCrl on * only. A CRL changes what the trust
            # anchor accepts, so the call is also checked on the anchor it is imported for: a
            # Deny on that anchor's ARN or tags holds here too.
            checks.append(Check(spec["action"], target.found.policy_arn, target_keys, target.shown))
        if tags and operation != "TagResource":
            checks.append(Check("rolesanywhere:TagResource", resource, _request_tags(tags), shown))
        passed: Sequence[str] = ()
        if operation in ("CreateProfile", "UpdateProfile"):
            passed = params.get("roleArns") or ()
        elif operation == "EnableProfile" and target is not None:
            # The roles the profile holds, however the request named it.
            profile = target.found.record
            passed = profile.role_arns if isinstance(profile, Profile) else ()
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
