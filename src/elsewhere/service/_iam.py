"""The IAM subset elsewhere serves: roles, users with access keys, inline and managed policies.

Operations, members and errors follow the IAM API reference and botocore's ``iam`` model; the
error texts are AWS's (IAM API reference per operation, and observed responses). Policy documents
are checked by the policy engine's grammar (``elsewhere.policy.parse_policy``) before anything is
stored. Documents are returned as text; the protocol layer URL-encodes them as IAM does.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from elsewhere.clock import Clock
from elsewhere.domain import AccessKey, Tag
from elsewhere.domain._iam import (
    MAX_ATTACHED_POLICIES,
    MAX_POLICY_VERSIONS,
    MAX_TAGS,
    ManagedPolicy,
    PolicyVersion,
    Role,
    User,
    format_iam_arn,
    split_iam_arn,
)
from elsewhere.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidAction,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)
from elsewhere.policy import PolicyKind, parse_policy, policy_size, rewrite_principals
from elsewhere.service._authn import AccessKeySecret, Principal
from elsewhere.service._ports import AccessKeyRepository
from elsewhere.service._simulate import PolicySimulator
from elsewhere.tokens import new_access_key_id, new_secret_access_key, new_unique_id

__all__ = [
    "MAX_ACCESS_KEYS_PER_USER",
    "IamService",
    "IamStore",
    "validate_session_policy",
]

#: Access keys per IAM user (IAM quotas).
MAX_ACCESS_KEYS_PER_USER = 2
#: Aggregate inline policy size per role and per user (IAM quotas; whitespace not counted).
MAX_INLINE_ROLE_POLICY_SIZE = 10240
MAX_INLINE_USER_POLICY_SIZE = 2048

_DEFAULT_MAX_ITEMS = 100
_T = TypeVar("_T")

ROLE = "role"
USER = "user"

# A unique id as a policy's Principal may hold it (IAM identifiers: AIDA…, AROA…, …); the policy
# grammar accepts the same form (policy._parse).
_UNIQUE_ID = re.compile(r"A[A-Z0-9]{15,127}")


class IamStore(Protocol):
    """What the IAM use cases need of a store (``elsewhere.storage`` implements it)."""

    @property
    def access_keys(self) -> AccessKeyRepository:
        """Long-term access keys."""
        ...

    def add_role(self, role: Role) -> bool:
        """Insert; KeyError if the name is taken, False if its boundary policy does not exist."""
        ...

    def get_role(self, name: str) -> Role | None: ...
    def get_role_by_arn(self, arn: str) -> Role | None: ...
    def get_role_by_id(self, role_id: str) -> Role | None: ...
    def replace_role(self, role: Role) -> bool: ...
    def update_role(self, name: str, change: Callable[[Role], Role]) -> Role | None:
        """Read, ``change`` and write the role in one transaction; None without the role.

        KeyError when ``change`` sets a permissions boundary whose policy does not exist.
        """
        ...

    def remove_role(self, name: str) -> bool: ...
    def remove_unused_owner(self, kind: str, name: str) -> str:
        """Delete unless it has policies or (a user) access keys: "removed", "absent",
        "policies", "attached" or "keys"."""
        ...

    def add_user_access_key(self, user_name: str, key: AccessKey, *, limit: int) -> str:
        """Add the user's key unless the user is gone or has ``limit``: "added", "absent",
        "limit"; checked and written in one transaction."""
        ...

    def list_roles(self) -> list[Role]: ...
    def add_user(self, user: User) -> bool:
        """Insert; KeyError if the name is taken, False if its boundary policy does not exist."""
        ...

    def get_user(self, name: str) -> User | None: ...
    def get_user_by_arn(self, arn: str) -> User | None: ...
    def get_user_by_id(self, user_id: str) -> User | None: ...
    def replace_user(self, user: User) -> bool: ...
    def update_user(self, name: str, change: Callable[[User], User]) -> User | None:
        """As :meth:`update_role`, for a user."""
        ...

    def remove_user(self, name: str) -> bool: ...
    def list_users(self) -> list[User]: ...
    def put_inline_policy(self, kind: str, owner: str, name: str, doc: str) -> None: ...
    def put_owned_inline_policy(
        self,
        kind: str,
        owner: str,
        policy_name: str,
        document: str,
        *,
        check: Callable[[list[tuple[str, str]]], None] | None = None,
    ) -> bool:
        """Put atomically: False without the owner; ``check`` sees the others and may raise."""
        ...

    def get_inline_policy(self, kind: str, owner: str, name: str) -> str | None: ...
    def remove_inline_policy(self, kind: str, owner: str, name: str) -> bool: ...
    def list_inline_policies(self, kind: str, owner: str) -> list[tuple[str, str]]: ...
    def attach_policy(self, kind: str, owner: str, policy_arn: str) -> None: ...
    def attach_managed_policy(
        self, kind: str, owner: str, policy_arn: str, *, limit: int | None = None
    ) -> bool:
        """Attach atomically: False at ``limit``, KeyError without the owner or the policy."""
        ...

    def detach_policy(self, kind: str, owner: str, policy_arn: str) -> bool: ...
    def list_attached_policy_arns(self, kind: str, owner: str) -> list[str]: ...
    def add_managed_policy(self, policy: ManagedPolicy, version: PolicyVersion) -> None: ...
    def get_managed_policy(self, arn: str) -> ManagedPolicy | None: ...
    def list_managed_policies(self) -> list[ManagedPolicy]: ...
    def remove_managed_policy(self, arn: str) -> bool: ...
    def remove_unused_managed_policy(self, arn: str) -> str:
        """Delete unless in use: "removed", "absent", "attached" or "versions" (atomic)."""
        ...

    def replace_managed_policy(self, policy: ManagedPolicy) -> bool: ...
    def update_managed_policy(
        self, arn: str, change: Callable[[ManagedPolicy], ManagedPolicy]
    ) -> ManagedPolicy | None:
        """Read, ``change`` and write description and tags in one transaction; None if absent."""
        ...

    def add_policy_version(self, arn: str, version: PolicyVersion) -> None: ...
    def add_next_policy_version(
        self, arn: str, document: str, *, is_default: bool, when: Any, limit: int | None = None
    ) -> PolicyVersion | None:
        """Add the next version; None when ``limit`` versions exist, KeyError without the policy.

        Counting and adding are atomic, as are the checks of the two methods below.
        """
        ...

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None: ...
    def list_policy_versions(self, arn: str) -> list[PolicyVersion]: ...
    def remove_policy_version(self, arn: str, version_id: str) -> bool:
        """Delete a version unless it is the default; False if it is the default or absent."""
        ...

    def set_default_policy_version(self, arn: str, version_id: str, when: Any) -> bool:
        """Make an existing version the default; False if the policy or version is absent."""
        ...


def validate_session_policy(text: str) -> None:
    """Check a profile's ``sessionPolicy`` with the IAM grammar (raises MalformedPolicyDocument)."""
    parse_policy(text, kind=PolicyKind.SESSION, policy_id="sessionPolicy")


def _tags_out(tags: Sequence[Tag]) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def _tags_in(raw: Sequence[Mapping[str, str]] | None) -> tuple[Tag, ...]:
    if not raw:
        return ()
    merged: dict[str, str] = {}
    for item in raw:
        key = item["Key"]
        if any(k.lower() == key.lower() and k != key for k in merged):
            raise InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        merged[key] = item.get("Value", "")
    return tuple(Tag(k, v) for k, v in merged.items())


def _merge_tags(existing: tuple[Tag, ...], new: tuple[Tag, ...], kind: str) -> tuple[Tag, ...]:
    # Tag keys are case-insensitive in IAM: a new value replaces the old key's (IAM UG, tags).
    out = {t.key.lower(): t for t in existing}
    for t in new:
        out[t.key.lower()] = t
    if len(out) > MAX_TAGS:
        raise LimitExceeded(f"Cannot exceed quota for TagsPer{kind}: {MAX_TAGS}")
    return tuple(out.values())


def _remove_tags(existing: tuple[Tag, ...], keys: Sequence[str]) -> tuple[Tag, ...]:
    drop = {k.lower() for k in keys}
    return tuple(t for t in existing if t.key.lower() not in drop)


def _invalid_principal(value: str) -> MalformedPolicyDocument:
    # IAM's text for a principal that does not exist (iam-policy-evaluation.md §1.3, §1.7).
    return MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{value}"')


def _no_boundary(arn: object) -> NoSuchEntity:
    return NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")


def _path(params: Mapping[str, Any]) -> str:
    path = str(params.get("Path") or "/")
    if not (path.startswith("/") and path.endswith("/")) or "//" in path:
        raise ValidationError(
            "The specified value for path is invalid. It must begin and end with / and contain "
            "only alphanumeric characters and/or / characters."
        )
    return path


def _page(
    items: Sequence[_T], params: Mapping[str, Any], key: Callable[[_T], str]
) -> tuple[list[_T], dict[str, Any]]:
    """IAM pagination: ``Marker`` resumes after the last key returned; ``MaxItems`` 1..1000."""
    max_items = int(params.get("MaxItems") or _DEFAULT_MAX_ITEMS)
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeError) as exc:
            raise ValidationError("Invalid Marker.", reason=f"marker {marker!r}") from exc
        start = next((i for i, it in enumerate(items) if key(it) > after), len(items))
    chunk = list(items[start : start + max_items])
    more = start + max_items < len(items)
    meta: dict[str, Any] = {"IsTruncated": more}
    if more and chunk:
        meta["Marker"] = base64.urlsafe_b64encode(key(chunk[-1]).encode()).decode("ascii")
    return chunk, meta


class IamService:
    """IAM operations for an authenticated (and already authorized) caller."""

    def __init__(
        self,
        store: IamStore,
        clock: Clock,
        *,
        account_id: str,
        partition: str = "aws",
        seal_secret: Callable[[str, str], str] | None = None,
        open_secret: Callable[[str, str], str] | None = None,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._store = store
        self._clock = clock
        self._account = account_id
        self._partition = partition
        self._seal = seal_secret or (lambda secret, _ctx: secret)
        self._open = open_secret or (lambda sealed, _ctx: sealed)
        self._random = random
        self._simulator = PolicySimulator(store, account_id=account_id, partition=partition)
        self._ops: dict[str, Callable[[Mapping[str, Any], Principal], dict[str, Any]]] = {
            name: getattr(self, "_op_" + _snake(name)) for name in OPERATIONS
        }

    # -- entry points ------------------------------------------------------------------------

    def handle(
        self, operation: str, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        """Run ``operation`` with ``params`` (IAM model member names); return its output."""
        handler = self._ops.get(operation)
        if handler is None:
            raise InvalidAction(
                f"The action {operation} is not valid for this web service.",
                reason=f"IAM operation {operation} is not implemented by elsewhere",
            )
        return handler(params, caller)

    def lookup_access_key(self, access_key_id: str) -> AccessKeySecret | None:
        """An IAM user's access key for authentication, or None (unknown, or not a user's)."""
        record = self._store.access_keys.get(access_key_id)
        if record is None:
            return None
        user = self._store.get_user_by_arn(record.principal_arn)
        if user is None:
            return None
        return AccessKeySecret(
            access_key_id=access_key_id,
            secret_access_key=self._open(record.secret_access_key, access_key_id),
            principal=self.user_principal(user, access_key_id),
            active=record.status == "Active",
        )

    def user_principal(self, user: User, access_key_id: str) -> Principal:
        """The authenticated principal of ``user`` signing with ``access_key_id``."""
        return Principal(
            arn=user.arn,
            account=self._account,
            kind="user",
            user_id=user.user_id,
            name=user.name,
            access_key_id=access_key_id,
        )

    # -- helpers -----------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self._clock.now()

    def _arn(self, kind: str, path: str, name: str) -> str:
        return format_iam_arn(self._partition, self._account, kind, path, name)

    def _role(self, name: str) -> Role:
        role = self._store.get_role(name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    def _user(self, name: str) -> User:
        user = self._store.get_user(name)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return user

    def _policy(self, arn: str) -> ManagedPolicy:
        policy = self._store.get_managed_policy(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return policy

    def _attachable(self, arn: str) -> ManagedPolicy:
        policy = self._store.get_managed_policy(arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def _update_role(self, name: str, change: Callable[[Role], Role]) -> Role:
        """Read-modify-write the role atomically (no lost update between concurrent calls)."""
        try:
            role = self._store.update_role(name, change)
        except KeyError as exc:  # the boundary's policy was deleted since it was checked
            raise _no_boundary(exc.args[0]) from None
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    def _update_user(self, name: str, change: Callable[[User], User]) -> User:
        """Read-modify-write the user atomically (no lost update between concurrent calls)."""
        try:
            user = self._store.update_user(name, change)
        except KeyError as exc:  # the boundary's policy was deleted since it was checked
            raise _no_boundary(exc.args[0]) from None
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return user

    def _caller_user(self, params: Mapping[str, Any], caller: Principal) -> str | None:
        """``UserName``, else the calling IAM user's name; None means the root itself."""
        name = params.get("UserName")
        if name:
            return str(name)
        if caller.kind == "user":
            return caller.name
        if caller.kind == "root":
            return None
        raise ValidationError("Must specify userName when calling with non-User credentials")

    @staticmethod
    def _identity_document(text: str, name: str) -> None:
        parse_policy(text, kind=PolicyKind.IDENTITY, policy_id=name)

    def _trust_document(self, text: str) -> str:
        """The trust policy as stored: checked, and the users and roles it names bound to ids.

        IAM saves a trust policy with each user or role ARN replaced by that principal's unique
        id, and refuses a principal that does not exist (IAM User Guide, "Policy elements:
        Principal", IAM roles and IAM users), so a user or role deleted and created again under
        the same name is not trusted by a policy that named its predecessor: the evaluator
        matches the id (``policy.Principal.unique_id``). ARNs of other accounts, the account's
        root and session ARNs stay as written.
        """
        parse_policy(text, kind=PolicyKind.TRUST, policy_id="AssumeRolePolicyDocument")
        return rewrite_principals(text, self._bound_principal)

    def _bound_principal(self, value: str) -> str | None:
        """The unique id to store for a principal ARN of this account (None: keep the value)."""
        parts = split_iam_arn(value)
        if parts is not None:
            _, account, kind, _, _ = parts
            if account != self._account or kind not in (ROLE, USER):
                return None
            entity = (
                self._store.get_role_by_arn(value)
                if kind == ROLE
                else self._store.get_user_by_arn(value)
            )
            if entity is None:
                raise _invalid_principal(value)
            return entity.role_id if isinstance(entity, Role) else entity.user_id
        # An id as GetRole shows it for a deleted principal is refused like a missing ARN, as
        # IAM does; an id of a principal that exists is kept.
        if _UNIQUE_ID.fullmatch(value) and self._principal_by_id(value) is None:
            raise _invalid_principal(value)
        return None

    def _principal_by_id(self, unique_id: str) -> Role | User | None:
        role = self._store.get_role_by_id(unique_id)
        return role if role is not None else self._store.get_user_by_id(unique_id)

    def _trust_out(self, text: str) -> str:
        """A stored trust policy as IAM shows it: ids of principals that exist as their ARNs.

        The id of a principal deleted since the policy was saved is shown as is (IAM User Guide,
        "Policy elements: Principal": the policy then shows the principal's unique id).
        """

        def arn(value: str) -> str | None:
            if not _UNIQUE_ID.fullmatch(value):
                return None
            entity = self._principal_by_id(value)
            return entity.arn if entity is not None else None

        return rewrite_principals(text, arn)

    def _boundary(self, arn: str | None) -> str | None:
        if arn is None:
            return None
        self._boundary_exists(arn)
        return arn

    def _boundary_exists(self, arn: str) -> None:
        if self._store.get_managed_policy(arn) is None:
            raise _no_boundary(arn)

    # -- output shapes -----------------------------------------------------------------------

    @staticmethod
    def _boundary_out(arn: str | None) -> dict[str, str] | None:
        if arn is None:
            return None
        return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}

    def _role_out(self, role: Role, *, document: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.role_id,
            "Arn": role.arn,
            "CreateDate": role.created_at,
            "MaxSessionDuration": role.max_session_duration,
        }
        if document:
            out["AssumeRolePolicyDocument"] = self._trust_out(role.assume_role_policy)
        if role.description:
            out["Description"] = role.description
        if role.permissions_boundary_arn:
            out["PermissionsBoundary"] = self._boundary_out(role.permissions_boundary_arn)
        if role.tags:
            out["Tags"] = _tags_out(role.tags)
        return out

    def _user_out(self, user: User) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": user.path,
            "UserName": user.name,
            "UserId": user.user_id,
            "Arn": user.arn,
            "CreateDate": user.created_at,
        }
        if user.permissions_boundary_arn:
            out["PermissionsBoundary"] = self._boundary_out(user.permissions_boundary_arn)
        if user.tags:
            out["Tags"] = _tags_out(user.tags)
        return out

    @staticmethod
    def _policy_out(p: ManagedPolicy, *, tags: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "PolicyName": p.name,
            "PolicyId": p.policy_id,
            "Arn": p.arn,
            "Path": p.path,
            "DefaultVersionId": p.default_version_id,
            "AttachmentCount": p.attachment_count,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": p.created_at,
            "UpdateDate": p.updated_at,
        }
        if p.description:
            out["Description"] = p.description
        if tags and p.tags:
            out["Tags"] = _tags_out(p.tags)
        return out

    @staticmethod
    def _version_out(v: PolicyVersion, *, document: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "VersionId": v.version_id,
            "IsDefaultVersion": v.is_default,
            "CreateDate": v.created_at,
        }
        if document:
            out["Document"] = v.document
        return out

    # -- roles -------------------------------------------------------------------------------

    def _op_create_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        name = params["RoleName"]
        path = _path(params)
        document = self._trust_document(params["AssumeRolePolicyDocument"])
        tags = _tags_in(params.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise LimitExceeded(f"Cannot exceed quota for TagsPerRole: {MAX_TAGS}")
        role = Role(
            role_id=new_unique_id("AROA", self._random),
            arn=self._arn("role", path, name),
            name=name,
            path=path,
            assume_role_policy=document,
            description=params.get("Description") or "",
            max_session_duration=int(params.get("MaxSessionDuration") or 3600),
            permissions_boundary_arn=self._boundary(params.get("PermissionsBoundary")),
            tags=tags,
            created_at=self._now(),
        )
        try:
            added = self._store.add_role(role)
        except KeyError:
            raise EntityAlreadyExists(f"Role with name {name} already exists.") from None
        if not added:  # the boundary's policy was deleted since it was checked
            raise _no_boundary(role.permissions_boundary_arn)
        return {"Role": self._role_out(role)}

    def _op_get_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return {"Role": self._role_out(self._role(params["RoleName"]))}

    def _op_list_roles(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        prefix = params.get("PathPrefix") or "/"
        roles = [r for r in self._store.list_roles() if r.path.startswith(prefix)]
        chunk, meta = _page(roles, params, lambda r: r.name.lower())
        # ListRoles leaves out tags and the boundary (IAM API reference, ListRoles).
        items = []
        for r in chunk:
            out = self._role_out(r)
            out.pop("Tags", None)
            out.pop("PermissionsBoundary", None)
            items.append(out)
        return {"Roles": items, **meta}

    def _op_update_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if params.get("Description") is not None:
            changes["description"] = params["Description"]
        if params.get("MaxSessionDuration") is not None:
            changes["max_session_duration"] = int(params["MaxSessionDuration"])
        self._update_role(params["RoleName"], lambda r: dataclasses.replace(r, **changes))
        return {}

    def _op_update_role_description(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        description = params["Description"]
        role = self._update_role(
            params["RoleName"], lambda r: dataclasses.replace(r, description=description)
        )
        return {"Role": self._role_out(role)}

    def _op_update_assume_role_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        role = self._role(params["RoleName"])
        document = self._trust_document(params["PolicyDocument"])
        self._update_role(role.name, lambda r: dataclasses.replace(r, assume_role_policy=document))
        return {}

    def _op_delete_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        role = self._role(params["RoleName"])
        self._remove_owner(ROLE, role.name)
        return {}

    def _remove_owner(self, kind: str, name: str) -> None:
        """Delete a role or user unless it has policies, checked and deleted atomically."""
        # One store transaction, so a policy attached or put concurrently is either seen here
        # (DeleteConflict) or refused for want of its owner; never silently dropped.
        outcome = self._store.remove_unused_owner(kind, name)
        if outcome == "policies":
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        if outcome == "attached":
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        if outcome == "keys":
            raise DeleteConflict("Cannot delete entity, must delete access keys first.")
        if outcome != "removed":
            raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")

    def _op_tag_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        role = self._role(params["RoleName"])
        new = _tags_in(params["Tags"])
        # Merged with the tags as stored when written: a concurrent TagRole's keys are kept and
        # the quota is checked against them.
        self._update_role(
            role.name, lambda r: dataclasses.replace(r, tags=_merge_tags(r.tags, new, "Role"))
        )
        return {}

    def _op_untag_role(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        keys = params["TagKeys"]
        self._update_role(
            params["RoleName"], lambda r: dataclasses.replace(r, tags=_remove_tags(r.tags, keys))
        )
        return {}

    def _op_list_role_tags(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        role = self._role(params["RoleName"])
        chunk, meta = _page(sorted(role.tags, key=lambda t: t.key), params, lambda t: t.key)
        return {"Tags": _tags_out(chunk), **meta}

    def _op_put_role_permissions_boundary(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        role = self._role(params["RoleName"])
        arn = self._boundary(params["PermissionsBoundary"])
        # The store checks the policy again under its lock as it writes (DeletePolicy race).
        self._update_role(role.name, lambda r: dataclasses.replace(r, permissions_boundary_arn=arn))
        return {}

    def _op_delete_role_permissions_boundary(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        def drop(role: Role) -> Role:
            if role.permissions_boundary_arn is None:
                raise NoSuchEntity(f"The role with name {role.name} has no permissions boundary.")
            return dataclasses.replace(role, permissions_boundary_arn=None)

        self._update_role(params["RoleName"], drop)
        return {}

    # -- inline policies (roles and users) ---------------------------------------------------

    def _owner(self, kind: str, name: str) -> str:
        return self._role(name).name if kind == ROLE else self._user(name).name

    def _put_inline(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        owner = self._owner(kind, params["RoleName" if kind == ROLE else "UserName"])
        name, document = params["PolicyName"], params["PolicyDocument"]
        self._identity_document(document, name)
        limit = MAX_INLINE_ROLE_POLICY_SIZE if kind == ROLE else MAX_INLINE_USER_POLICY_SIZE
        size = policy_size(document)

        def fits(others: list[tuple[str, str]]) -> None:
            # Run by the store under the owner's lock: concurrent puts cannot pass it together.
            if sum(policy_size(d) for _, d in others) + size > limit:
                raise LimitExceeded(
                    f"Maximum policy size of {limit} bytes exceeded for {kind} {owner}"
                )

        if not self._store.put_owned_inline_policy(kind, owner, name, document, check=fits):
            raise NoSuchEntity(f"The {kind} with name {owner} cannot be found.")  # deleted since
        return {}

    def _get_inline(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        member = "RoleName" if kind == ROLE else "UserName"
        owner = self._owner(kind, params[member])
        name = params["PolicyName"]
        document = self._store.get_inline_policy(kind, owner, name)
        if document is None:
            raise NoSuchEntity(f"The {kind} policy with name {name} cannot be found.")
        return {member: owner, "PolicyName": name, "PolicyDocument": document}

    def _delete_inline(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        owner = self._owner(kind, params["RoleName" if kind == ROLE else "UserName"])
        name = params["PolicyName"]
        if not self._store.remove_inline_policy(kind, owner, name):
            raise NoSuchEntity(f"The {kind} policy with name {name} cannot be found.")
        return {}

    def _list_inline(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        owner = self._owner(kind, params["RoleName" if kind == ROLE else "UserName"])
        names = [n for n, _ in self._store.list_inline_policies(kind, owner)]
        chunk, meta = _page(names, params, lambda n: n)
        return {"PolicyNames": chunk, **meta}

    def _op_put_role_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return self._put_inline(ROLE, params)

    def _op_get_role_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return self._get_inline(ROLE, params)

    def _op_delete_role_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._delete_inline(ROLE, params)

    def _op_list_role_policies(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._list_inline(ROLE, params)

    def _op_put_user_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return self._put_inline(USER, params)

    def _op_get_user_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return self._get_inline(USER, params)

    def _op_delete_user_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._delete_inline(USER, params)

    def _op_list_user_policies(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._list_inline(USER, params)

    # -- attachments -------------------------------------------------------------------------

    def _attach(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params["RoleName" if kind == ROLE else "UserName"]
        owner = self._owner(kind, name)
        policy = self._attachable(params["PolicyArn"])
        # Checked again as the store writes, in one transaction holding the owner's row and the
        # policy's: a concurrent DeletePolicy or DeleteRole cannot leave the attachment dangling,
        # and two concurrent attachments cannot pass the quota together.
        try:
            attached = self._store.attach_managed_policy(
                kind, owner, policy.arn, limit=MAX_ATTACHED_POLICIES
            )
        except KeyError:
            self._owner(kind, name)  # NoSuchEntity for the role or user when it is the one gone
            raise NoSuchEntity(
                f"Policy {policy.arn} does not exist or is not attachable."
            ) from None
        if not attached:
            noun = "PoliciesPerRole" if kind == ROLE else "PoliciesPerUser"
            raise LimitExceeded(f"Cannot exceed quota for {noun}: {MAX_ATTACHED_POLICIES}")
        return {}

    def _detach(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        owner = self._owner(kind, params["RoleName" if kind == ROLE else "UserName"])
        arn = params["PolicyArn"]
        if not self._store.detach_policy(kind, owner, arn):
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return {}

    def _list_attached(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        owner = self._owner(kind, params["RoleName" if kind == ROLE else "UserName"])
        prefix = params.get("PathPrefix") or "/"
        items = []
        for arn in self._store.list_attached_policy_arns(kind, owner):
            policy = self._store.get_managed_policy(arn)
            if policy is not None and policy.path.startswith(prefix):
                items.append({"PolicyName": policy.name, "PolicyArn": policy.arn})
        chunk, meta = _page(items, params, lambda i: i["PolicyArn"])
        return {"AttachedPolicies": chunk, **meta}

    def _op_attach_role_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._attach(ROLE, params)

    def _op_detach_role_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._detach(ROLE, params)

    def _op_list_attached_role_policies(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._list_attached(ROLE, params)

    def _op_attach_user_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._attach(USER, params)

    def _op_detach_user_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._detach(USER, params)

    def _op_list_attached_user_policies(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._list_attached(USER, params)

    # -- managed policies --------------------------------------------------------------------

    def _op_create_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        name, document = params["PolicyName"], params["PolicyDocument"]
        path = _path(params)
        parse_policy(document, kind=PolicyKind.IDENTITY, policy_id=name)
        tags = _tags_in(params.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise LimitExceeded(f"Cannot exceed quota for TagsPerPolicy: {MAX_TAGS}")
        now = self._now()
        arn = self._arn("policy", path, name)
        policy = ManagedPolicy(
            policy_id=new_unique_id("ANPA", self._random),
            arn=arn,
            name=name,
            path=path,
            description=params.get("Description") or "",
            default_version_id="v1",
            document=document,
            attachment_count=0,
            tags=tags,
            created_at=now,
            updated_at=now,
        )
        try:
            # The store checks the name (any path) and inserts in one transaction.
            self._store.add_managed_policy(policy, PolicyVersion("v1", document, True, now))
        except KeyError:
            raise EntityAlreadyExists(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            ) from None
        return {"Policy": self._policy_out(policy)}

    def _op_get_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        return {"Policy": self._policy_out(self._policy(params["PolicyArn"]))}

    def _op_delete_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        # The store checks attachments, boundaries and versions under the policy's lock and
        # deletes in the same transaction, so nothing attached concurrently is left dangling.
        outcome = self._store.remove_unused_managed_policy(policy.arn)
        if outcome == "attached":
            raise DeleteConflict("Cannot delete a policy attached to entities.")
        if outcome == "versions":
            raise DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must "
                "delete the policy's versions. The default version is deleted with the policy."
            )
        if outcome != "removed":
            raise NoSuchEntity(f"Policy {policy.arn} was not found.")
        return {}

    def _op_list_policies(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        # Only customer managed ("Local") policies exist here; Scope=AWS lists nothing.
        if params.get("Scope") == "AWS":
            return {"Policies": [], "IsTruncated": False}
        prefix = params.get("PathPrefix") or "/"
        found = [p for p in self._store.list_managed_policies() if p.path.startswith(prefix)]
        if params.get("OnlyAttached"):
            found = [p for p in found if p.attachment_count > 0]
        chunk, meta = _page(found, params, lambda p: f"{p.name}\x00{p.arn}")
        return {"Policies": [self._policy_out(p, tags=False) for p in chunk], **meta}

    def _op_create_policy_version(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        document = params["PolicyDocument"]
        parse_policy(document, kind=PolicyKind.IDENTITY, policy_id=policy.name)
        try:
            # The store counts and adds in one transaction: two concurrent calls cannot both
            # take the last free slot.
            version = self._store.add_next_policy_version(
                policy.arn,
                document,
                is_default=bool(params.get("SetAsDefault")),
                when=self._now(),
                limit=MAX_POLICY_VERSIONS,
            )
        except KeyError:  # deleted since it was read above
            raise NoSuchEntity(f"Policy {policy.arn} was not found.") from None
        if version is None:
            raise LimitExceeded(
                f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                "create a new version, you must delete an existing version."
            )
        return {"PolicyVersion": self._version_out(version, document=False)}

    def _op_get_policy_version(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        version = self._store.get_policy_version(policy.arn, params["VersionId"])
        if version is None:
            raise NoSuchEntity(
                f"Policy {policy.arn} version {params['VersionId']} does not exist or is not "
                "attachable."
            )
        return {"PolicyVersion": self._version_out(version)}

    def _op_list_policy_versions(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        versions = self._store.list_policy_versions(policy.arn)
        chunk, meta = _page(versions, params, lambda v: f"{10**6 - int(v.version_id[1:]):07d}")
        return {"Versions": [self._version_out(v, document=False) for v in chunk], **meta}

    def _op_delete_policy_version(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        vid = params["VersionId"]
        # The store refuses the default under the policy's lock, so a concurrent
        # SetDefaultPolicyVersion cannot make this version the default as it goes.
        if not self._store.remove_policy_version(policy.arn, vid):
            if self._store.get_policy_version(policy.arn, vid) is not None:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            raise NoSuchEntity(
                f"Policy {policy.arn} version {vid} does not exist or is not attachable."
            )
        return {}

    def _op_set_default_policy_version(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        arn, vid = params["PolicyArn"], params["VersionId"]
        # No read of the policy first: the store checks under the policy's lock, and this way
        # a policy whose default version went missing (readers hide it) can still be repaired.
        if not self._store.set_default_policy_version(arn, vid, self._now()):
            self._policy(arn)  # NoSuchEntity for the policy itself when it is the one missing
            raise NoSuchEntity(f"Policy {arn} version {vid} does not exist or is not attachable.")
        return {}

    def _update_policy(self, arn: str, change: Callable[[ManagedPolicy], ManagedPolicy]) -> None:
        """Read-modify-write the policy's tags atomically (no lost update between calls)."""
        if self._store.update_managed_policy(arn, change) is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")

    def _op_tag_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        new = _tags_in(params["Tags"])
        self._update_policy(
            policy.arn,
            lambda p: dataclasses.replace(p, tags=_merge_tags(p.tags, new, "Policy")),
        )
        return {}

    def _op_untag_policy(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        keys = params["TagKeys"]
        self._update_policy(
            params["PolicyArn"], lambda p: dataclasses.replace(p, tags=_remove_tags(p.tags, keys))
        )
        return {}

    def _op_list_policy_tags(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        policy = self._policy(params["PolicyArn"])
        chunk, meta = _page(sorted(policy.tags, key=lambda t: t.key), params, lambda t: t.key)
        return {"Tags": _tags_out(chunk), **meta}

    # -- users and access keys ---------------------------------------------------------------

    def _op_create_user(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        name = params["UserName"]
        path = _path(params)
        tags = _tags_in(params.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise LimitExceeded(f"Cannot exceed quota for TagsPerUser: {MAX_TAGS}")
        user = User(
            user_id=new_unique_id("AIDA", self._random),
            arn=self._arn("user", path, name),
            name=name,
            path=path,
            permissions_boundary_arn=self._boundary(params.get("PermissionsBoundary")),
            tags=tags,
            created_at=self._now(),
        )
        try:
            added = self._store.add_user(user)
        except KeyError:
            raise EntityAlreadyExists(f"User with name {name} already exists.") from None
        if not added:  # the boundary's policy was deleted since it was checked
            raise _no_boundary(user.permissions_boundary_arn)
        return {"User": self._user_out(user)}

    def _op_get_user(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        name = self._caller_user(params, caller)
        if name is None:
            # The root user describes itself (IAM API reference, GetUser).
            return {
                "User": {
                    "Path": "/",
                    "UserName": "root",
                    "UserId": self._account,
                    "Arn": caller.arn,
                    "CreateDate": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                }
            }
        return {"User": self._user_out(self._user(name))}

    def _op_list_users(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        prefix = params.get("PathPrefix") or "/"
        users = [u for u in self._store.list_users() if u.path.startswith(prefix)]
        chunk, meta = _page(users, params, lambda u: u.name.lower())
        items = []
        for u in chunk:
            out = self._user_out(u)
            out.pop("Tags", None)
            out.pop("PermissionsBoundary", None)
            items.append(out)
        return {"Users": items, **meta}

    def _op_delete_user(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        user = self._user(params["UserName"])
        # The store checks for access keys in the same transaction as the delete.
        self._remove_owner(USER, user.name)
        return {}

    def _op_tag_user(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        user = self._user(params["UserName"])
        new = _tags_in(params["Tags"])
        self._update_user(
            user.name, lambda u: dataclasses.replace(u, tags=_merge_tags(u.tags, new, "User"))
        )
        return {}

    def _op_untag_user(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        keys = params["TagKeys"]
        self._update_user(
            params["UserName"], lambda u: dataclasses.replace(u, tags=_remove_tags(u.tags, keys))
        )
        return {}

    def _op_list_user_tags(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        user = self._user(params["UserName"])
        chunk, meta = _page(sorted(user.tags, key=lambda t: t.key), params, lambda t: t.key)
        return {"Tags": _tags_out(chunk), **meta}

    def _op_put_user_permissions_boundary(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        user = self._user(params["UserName"])
        arn = self._boundary(params["PermissionsBoundary"])
        # The store checks the policy again under its lock as it writes (DeletePolicy race).
        self._update_user(user.name, lambda u: dataclasses.replace(u, permissions_boundary_arn=arn))
        return {}

    def _op_delete_user_permissions_boundary(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        self._update_user(
            params["UserName"], lambda u: dataclasses.replace(u, permissions_boundary_arn=None)
        )
        return {}

    def _key_owner(self, params: Mapping[str, Any], caller: Principal) -> User:
        name = self._caller_user(params, caller)
        if name is None:
            raise ValidationError(
                "The root user's access keys are managed by the server, not through IAM."
            )
        return self._user(name)

    def _op_create_access_key(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        user = self._key_owner(params, caller)
        key_id = new_access_key_id("AKIA", self._random)
        secret = new_secret_access_key(self._random)
        record = AccessKey(
            access_key_id=key_id,
            secret_access_key=self._seal(secret, key_id),
            principal_arn=user.arn,
            user_name=user.name,
            status="Active",
            created_at=self._now(),
        )
        # Quota and the user's existence are checked as the key is written (one transaction),
        # so concurrent creations stay within the quota and no key outlives a deleted user.
        outcome = self._store.add_user_access_key(
            user.name, record, limit=MAX_ACCESS_KEYS_PER_USER
        )
        if outcome == "limit":
            raise LimitExceeded(
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
            )
        if outcome != "added":
            self._user(user.name)  # raises NoSuchEntity as IAM words it
            raise NoSuchEntity(f"The user with name {user.name} cannot be found.")
        return {
            "AccessKey": {
                "UserName": user.name,
                "AccessKeyId": key_id,
                "Status": "Active",
                "SecretAccessKey": secret,
                "CreateDate": record.created_at,
            }
        }

    def _user_key(self, params: Mapping[str, Any], caller: Principal) -> AccessKey:
        user = self._key_owner(params, caller)
        key_id = params["AccessKeyId"]
        record = self._store.access_keys.get(key_id)
        if record is None or record.principal_arn != user.arn:
            raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        return record

    def _op_list_access_keys(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        user = self._key_owner(params, caller)
        keys = self._store.access_keys.list_for_principal(user.arn)
        chunk, meta = _page(keys, params, lambda k: k.access_key_id)
        items = [
            {
                "UserName": user.name,
                "AccessKeyId": k.access_key_id,
                "Status": k.status,
                "CreateDate": k.created_at,
            }
            for k in chunk
        ]
        return {"AccessKeyMetadata": items, **meta}

    def _op_delete_access_key(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        record = self._user_key(params, caller)
        self._store.access_keys.remove(record.access_key_id)
        return {}

    def _op_update_access_key(self, params: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
        record = self._user_key(params, caller)
        self._store.access_keys.set_status(record.access_key_id, params["Status"])
        return {}

    # -- simulation ---------------------------------------------------------------------------

    def _op_simulate_custom_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._simulator.simulate_custom_policy(params)

    def _op_simulate_principal_policy(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        return self._simulator.simulate_principal_policy(params)

    # -- account ------------------------------------------------------------------------------

    def _op_get_account_authorization_details(
        self, params: Mapping[str, Any], caller: Principal
    ) -> dict[str, Any]:
        wanted = set(params.get("Filter") or ("User", "Role", "LocalManagedPolicy", "Group"))
        out: dict[str, Any] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
            "IsTruncated": False,
        }

        def attached(kind: str, owner: str) -> list[dict[str, str]]:
            found = []
            for arn in self._store.list_attached_policy_arns(kind, owner):
                p = self._store.get_managed_policy(arn)
                if p is not None:
                    found.append({"PolicyName": p.name, "PolicyArn": p.arn})
            return found

        def inline(kind: str, owner: str) -> list[dict[str, str]]:
            return [
                {"PolicyName": n, "PolicyDocument": d}
                for n, d in self._store.list_inline_policies(kind, owner)
            ]

        if "User" in wanted:
            for u in self._store.list_users():
                detail = self._user_out(u)
                detail.update(
                    UserPolicyList=inline(USER, u.name),
                    GroupList=[],
                    AttachedManagedPolicies=attached(USER, u.name),
                )
                out["UserDetailList"].append(detail)
        if "Role" in wanted:
            for r in self._store.list_roles():
                detail = self._role_out(r)
                detail.pop("Description", None)
                detail.pop("MaxSessionDuration", None)
                detail.update(
                    InstanceProfileList=[],
                    RolePolicyList=inline(ROLE, r.name),
                    AttachedManagedPolicies=attached(ROLE, r.name),
                )
                out["RoleDetailList"].append(detail)
        if "LocalManagedPolicy" in wanted:
            for p in self._store.list_managed_policies():
                detail = self._policy_out(p, tags=False)
                detail["PolicyVersionList"] = [
                    self._version_out(v) for v in self._store.list_policy_versions(p.arn)
                ]
                out["Policies"].append(detail)
        return out


#: The IAM operations :class:`IamService` serves.
OPERATIONS: tuple[str, ...] = (
    "AttachRolePolicy",
    "AttachUserPolicy",
    "CreateAccessKey",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "CreateUser",
    "DeleteAccessKey",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DeleteUser",
    "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "GetAccountAuthorizationDetails",
    "GetPolicy",
    "GetPolicyVersion",
    "GetRole",
    "GetRolePolicy",
    "GetUser",
    "GetUserPolicy",
    "ListAccessKeys",
    "ListAttachedRolePolicies",
    "ListAttachedUserPolicies",
    "ListPolicies",
    "ListPolicyTags",
    "ListPolicyVersions",
    "ListRolePolicies",
    "ListRoleTags",
    "ListRoles",
    "ListUserPolicies",
    "ListUserTags",
    "ListUsers",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "PutUserPermissionsBoundary",
    "PutUserPolicy",
    "SetDefaultPolicyVersion",
    "SimulateCustomPolicy",
    "SimulatePrincipalPolicy",
    "TagPolicy",
    "TagRole",
    "TagUser",
    "UntagPolicy",
    "UntagRole",
    "UntagUser",
    "UpdateAccessKey",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "UpdateRoleDescription",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
