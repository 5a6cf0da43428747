"""IAM storage: roles, users, managed policies with versions, inline policies and attachments.

Two implementations of one set of methods, mixed into the stores: :class:`MemoryIamStore` (into
``MemoryStore``) and :class:`SqlIamStore` (into ``SqlStore``). Names of roles and users are unique
case-insensitively per account (IAM quotas page), so rows are keyed by the lower-cased name and
lookups by name ignore case. Every write bumps the store's configuration version.

A managed policy's default version always exists. Every write that reads a policy's versions
before it writes (SetDefaultPolicyVersion, DeletePolicyVersion, CreatePolicyVersion with its
version quota) is one transaction holding the policy row's lock (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the write transaction holds the database's write lock from its start), so
a concurrent DeletePolicyVersion cannot remove the version a SetDefaultPolicyVersion is making the
default. Should a default still be missing (a database written before this rule), readers treat
the policy as absent rather than fail: IAM's "does not exist or is not attachable", and an
authorizer that loses the policy's grants (deny by default) rather than one that errors.
SetDefaultPolicyVersion to an existing version repairs it.

Nothing names a policy, a role or a user that is gone, and no read-modify-write loses a
concurrent one. The writes that check before they write do both in one transaction:
``attach_managed_policy``, ``put_owned_inline_policy`` and ``update_role``/``update_user`` (tags,
boundary, description) lock the owner's row, then, when they reference a policy, hold its row for
share; ``remove_unused_managed_policy`` (DeletePolicy) and ``remove_unused_owner`` (DeleteRole,
DeleteUser) lock the row they delete and check for users of it first; ``update_managed_policy``
(tags) locks the policy's row. Owner before policy everywhere, so no lock cycle. A policy name is
unique in the account whatever the path: the schema has no unique index on it, so
``add_managed_policy`` checks and inserts under a per-name advisory lock on PostgreSQL.
``attach_policy``, ``put_inline_policy`` and ``replace_*`` write without those checks (seeding).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from elsewhere.domain import AccessKey, Tag
from elsewhere.domain._iam import ManagedPolicy, PolicyVersion, Role, User
from elsewhere.storage._schema import (
    access_keys,
    iam_attachments,
    iam_inline_policies,
    iam_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
)
from elsewhere.storage._upsert import upsert

__all__ = [
    "InlineCheck",
    "KeyAddition",
    "MemoryIamStore",
    "OwnerRemoval",
    "PolicyRemoval",
    "SqlIamStore",
]

ROLE = "role"
USER = "user"

#: What :meth:`remove_unused_managed_policy` did: removed it, found no such policy, or refused
#: because the policy is attached to (or the permissions boundary of) a role or user, or has
#: versions other than its default (IAM API reference, DeletePolicy).
PolicyRemoval = Literal["removed", "absent", "attached", "versions"]

#: What :meth:`remove_unused_owner` did: removed the role or user, found none, or refused because
#: it still has inline policies, attached managed policies or (a user) access keys (IAM API
#: reference, DeleteRole and DeleteUser).
OwnerRemoval = Literal["removed", "absent", "policies", "attached", "keys"]

#: What :meth:`add_user_access_key` did: added the key, found no such user, or refused because
#: the user already has ``limit`` keys (IAM quota AccessKeysPerUser).
KeyAddition = Literal["added", "absent", "limit"]


class _AccessKeysLike(Protocol):
    def list_for_principal(self, principal_arn: str) -> list[AccessKey]: ...

    def add(self, key: AccessKey) -> None: ...

#: Sees an owner's other inline policies, (name, document), and raises to refuse a write.
InlineCheck = Callable[[list[tuple[str, str]]], None]


def _tags_json(tags: tuple[Tag, ...]) -> str:
    return json.dumps([[t.key, t.value] for t in tags], separators=(",", ":"))


def _tags(text: str) -> tuple[Tag, ...]:
    return tuple(Tag(k, v) for k, v in json.loads(text))


def _version_number(version_id: str) -> int:
    return int(version_id[1:]) if version_id[1:].isdigit() else 0


# --- memory ---------------------------------------------------------------------------------


class _Counter(Protocol):
    value: int


@dataclass
class _MemoryIam:
    lock: threading.RLock = field(default_factory=threading.RLock)
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    versions: dict[str, dict[str, PolicyVersion]] = field(default_factory=dict)
    inline: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    attached: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class MemoryIamStore:
    """IAM records in this process (mixed into ``MemoryStore``)."""

    _version: _Counter
    _access_keys: _AccessKeysLike

    def __init__(self) -> None:
        self._iam = _MemoryIam()

    def _bump(self) -> None:
        self._version.value += 1

    def _owners(self, kind: str) -> dict[str, Any]:
        return self._iam.roles if kind == ROLE else self._iam.users

    def _add_owner(self, kind: str, owner: Any) -> bool:
        """Insert a role or user; KeyError if the name is taken, False for a missing boundary."""
        s = self._iam
        with s.lock:
            owners = self._owners(kind)
            if owner.name.lower() in owners:
                raise KeyError(owner.name)
            if not self._boundary_ok(owner.permissions_boundary_arn):
                return False
            owners[owner.name.lower()] = owner
            self._bump()
            return True

    def _replace_owner(self, kind: str, owner: Any) -> bool:
        s = self._iam
        with s.lock:
            owners = self._owners(kind)
            if owner.name.lower() not in owners:
                return False
            owners[owner.name.lower()] = owner
            self._bump()
            return True

    def _update_owner(self, kind: str, name: str, change: Callable[[Any], Any]) -> Any:
        s = self._iam
        with s.lock:
            owners = self._owners(kind)
            old = owners.get(name.lower())
            if old is None:
                return None
            new = replace(change(old), name=old.name)
            if new.permissions_boundary_arn != old.permissions_boundary_arn and not (
                self._boundary_ok(new.permissions_boundary_arn)
            ):
                raise KeyError(new.permissions_boundary_arn)
            if new != old:
                owners[name.lower()] = new
                self._bump()
            return new

    # roles

    def add_role(self, role: Role) -> bool:
        """Insert a role; KeyError if its name is taken (any case).

        False (nothing written) when it names a permissions boundary policy that does not exist.
        """
        return self._add_owner(ROLE, role)

    def get_role(self, name: str) -> Role | None:
        """The role, or None."""
        with self._iam.lock:
            return self._iam.roles.get(name.lower())

    def get_role_by_arn(self, arn: str) -> Role | None:
        """The role with this ARN, or None."""
        with self._iam.lock:
            return next((r for r in self._iam.roles.values() if r.arn == arn), None)

    def get_role_by_id(self, role_id: str) -> Role | None:
        """The role with this unique id (``AROA…``), or None."""
        with self._iam.lock:
            return next((r for r in self._iam.roles.values() if r.role_id == role_id), None)

    def replace_role(self, role: Role) -> bool:
        """Overwrite the role of the same name; False if there is none."""
        return self._replace_owner(ROLE, role)

    def update_role(self, name: str, change: Callable[[Role], Role]) -> Role | None:
        """Apply ``change`` to the stored role and write the result atomically; the new role.

        None without the role. Whatever ``change`` raises propagates with nothing written; a
        permissions boundary it sets must name an existing policy (KeyError with that ARN).
        """
        role: Role | None = self._update_owner(ROLE, name, change)
        return role

    def remove_role(self, name: str) -> bool:
        """Delete the role with its inline policies and attachments."""
        return self._remove_owner(ROLE, name)

    def list_roles(self) -> list[Role]:
        """Every role, by name."""
        with self._iam.lock:
            return [self._iam.roles[k] for k in sorted(self._iam.roles)]

    # users

    def add_user(self, user: User) -> bool:
        """Insert a user; KeyError if its name is taken (any case).

        False (nothing written) when it names a permissions boundary policy that does not exist.
        """
        return self._add_owner(USER, user)

    def get_user(self, name: str) -> User | None:
        """The user, or None."""
        with self._iam.lock:
            return self._iam.users.get(name.lower())

    def get_user_by_arn(self, arn: str) -> User | None:
        """The user with this ARN, or None."""
        with self._iam.lock:
            return next((u for u in self._iam.users.values() if u.arn == arn), None)

    def get_user_by_id(self, user_id: str) -> User | None:
        """The user with this unique id (``AIDA…``), or None."""
        with self._iam.lock:
            return next((u for u in self._iam.users.values() if u.user_id == user_id), None)

    def replace_user(self, user: User) -> bool:
        """Overwrite the user of the same name; False if there is none."""
        return self._replace_owner(USER, user)

    def update_user(self, name: str, change: Callable[[User], User]) -> User | None:
        """Apply ``change`` to the stored user and write the result atomically; the new user.

        None without the user; otherwise as :meth:`update_role`.
        """
        user: User | None = self._update_owner(USER, name, change)
        return user

    def remove_user(self, name: str) -> bool:
        """Delete the user with its inline policies and attachments."""
        return self._remove_owner(USER, name)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        with self._iam.lock:
            return [self._iam.users[k] for k in sorted(self._iam.users)]

    def remove_unused_owner(self, kind: str, name: str) -> OwnerRemoval:
        """Delete the role or user unless it has inline or attached policies, atomically."""
        s = self._iam
        key = name.lower()
        with s.lock:
            found = self._owners(kind).get(key)
            if found is None:
                return "absent"
            if s.inline.get((kind, key)):
                return "policies"
            if s.attached.get((kind, key)):
                return "attached"
            if kind == USER and self._access_keys.list_for_principal(found.arn):
                return "keys"
            self._remove_owner(kind, name)
            return "removed"

    def add_user_access_key(self, user_name: str, key: AccessKey, *, limit: int) -> KeyAddition:
        """Add ``key`` for the user unless the user is gone or has ``limit`` keys, atomically.

        Under the IAM lock, which DeleteUser holds too: a key never outlives its user, and two
        concurrent creations cannot both pass the quota.
        """
        s = self._iam
        with s.lock:
            user = s.users.get(user_name.lower())
            if user is None or user.arn != key.principal_arn:
                return "absent"
            if len(self._access_keys.list_for_principal(user.arn)) >= limit:
                return "limit"
            self._access_keys.add(key)
            return "added"

    def _remove_owner(self, kind: str, name: str) -> bool:
        s = self._iam
        key = name.lower()
        with s.lock:
            table = self._owners(kind)
            if table.pop(key, None) is None:
                return False
            s.inline.pop((kind, key), None)
            s.attached.pop((kind, key), None)
            self._bump()
            return True

    # inline policies

    def put_inline_policy(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        """Create or replace an inline policy of a role or user."""
        s = self._iam
        with s.lock:
            s.inline.setdefault((kind, owner.lower()), {})[policy_name] = document
            self._bump()

    def put_owned_inline_policy(
        self,
        kind: str,
        owner: str,
        policy_name: str,
        document: str,
        *,
        check: InlineCheck | None = None,
    ) -> bool:
        """Create or replace an inline policy of an existing role or user, atomically.

        False (nothing written) without the owner. ``check`` sees the owner's other inline
        policies as (name, document) and raises to refuse, with nothing written.
        """
        s = self._iam
        key = owner.lower()
        with s.lock:
            if key not in self._owners(kind):
                return False
            if check is not None:
                docs = s.inline.get((kind, key), {})
                check([(n, docs[n]) for n in sorted(docs) if n != policy_name])
            self.put_inline_policy(kind, owner, policy_name, document)
            return True

    def get_inline_policy(self, kind: str, owner: str, policy_name: str) -> str | None:
        """The inline policy's document, or None."""
        with self._iam.lock:
            return self._iam.inline.get((kind, owner.lower()), {}).get(policy_name)

    def remove_inline_policy(self, kind: str, owner: str, policy_name: str) -> bool:
        """Delete an inline policy; False if there was none."""
        s = self._iam
        with s.lock:
            found = s.inline.get((kind, owner.lower()), {}).pop(policy_name, None) is not None
            if found:
                self._bump()
            return found

    def list_inline_policies(self, kind: str, owner: str) -> list[tuple[str, str]]:
        """(name, document) of every inline policy, by name."""
        with self._iam.lock:
            docs = self._iam.inline.get((kind, owner.lower()), {})
            return [(n, docs[n]) for n in sorted(docs)]

    def list_role_inline_policies(self, role_name: str) -> list[tuple[str, str]]:
        """(name, document) of the role's inline policies, by name."""
        return self.list_inline_policies(ROLE, role_name)

    def list_user_inline_policies(self, user_name: str) -> list[tuple[str, str]]:
        """(name, document) of the user's inline policies, by name."""
        return self.list_inline_policies(USER, user_name)

    # attachments

    def attach_policy(self, kind: str, owner: str, policy_arn: str) -> None:
        """Attach a managed policy (no-op when attached already)."""
        s = self._iam
        with s.lock:
            arns = s.attached.setdefault((kind, owner.lower()), [])
            if policy_arn not in arns:
                arns.append(policy_arn)
                self._bump()

    def attach_managed_policy(
        self, kind: str, owner: str, policy_arn: str, *, limit: int | None = None
    ) -> bool:
        """Attach an existing managed policy to an existing role or user, checked atomically.

        True when attached (now or before); False (nothing written) when the owner already has
        ``limit`` policies attached; KeyError when the owner or the policy does not exist.
        Unlike :meth:`attach_policy`, a concurrent DeletePolicy cannot leave it dangling.
        """
        s = self._iam
        with s.lock:
            if owner.lower() not in self._owners(kind):
                raise KeyError(owner)
            if not self._attachable(policy_arn):
                raise KeyError(policy_arn)
            arns = s.attached.get((kind, owner.lower()), [])
            if policy_arn in arns:
                return True
            if limit is not None and len(arns) >= limit:
                return False
            self.attach_policy(kind, owner, policy_arn)
            return True

    def detach_policy(self, kind: str, owner: str, policy_arn: str) -> bool:
        """Detach a managed policy; False if it was not attached."""
        s = self._iam
        with s.lock:
            arns = s.attached.get((kind, owner.lower()), [])
            if policy_arn not in arns:
                return False
            arns.remove(policy_arn)
            self._bump()
            return True

    def list_attached_policy_arns(self, kind: str, owner: str) -> list[str]:
        """ARNs of the attached managed policies, by ARN."""
        with self._iam.lock:
            return sorted(self._iam.attached.get((kind, owner.lower()), []))

    def list_attached_role_policy_arns(self, role_name: str) -> list[str]:
        """ARNs of the managed policies attached to the role."""
        return self.list_attached_policy_arns(ROLE, role_name)

    def _attachment_count(self, arn: str) -> int:
        return sum(arn in arns for arns in self._iam.attached.values())

    def _attachable(self, arn: str) -> bool:
        """Whether the policy exists with its default version (the caller holds the lock)."""
        p = self._iam.policies.get(arn)
        return p is not None and p.default_version_id in self._iam.versions[arn]

    def _boundary_ok(self, arn: str | None) -> bool:
        return arn is None or self._attachable(arn)

    # managed policies

    def add_managed_policy(self, policy: ManagedPolicy, version: PolicyVersion) -> None:
        """Insert a policy with its first version; KeyError if its ARN or its name is taken."""
        s = self._iam
        with s.lock:
            if policy.arn in s.policies or any(p.name == policy.name for p in s.policies.values()):
                raise KeyError(policy.arn)
            s.policies[policy.arn] = replace(policy, document="", attachment_count=0)
            s.versions[policy.arn] = {version.version_id: version}
            s.counters[policy.arn] = _version_number(version.version_id)
            self._bump()

    def get_managed_policy(self, arn: str) -> ManagedPolicy | None:
        """The policy with its default version's document and attachment count, or None."""
        s = self._iam
        with s.lock:
            p = s.policies.get(arn)
            default = None if p is None else s.versions[arn].get(p.default_version_id)
            if p is None or default is None:
                return None  # no policy, or its default version is missing (module docstring)
            return replace(
                p, document=default.document, attachment_count=self._attachment_count(arn)
            )

    def list_managed_policies(self) -> list[ManagedPolicy]:
        """Every customer managed policy (with documents), by name then ARN."""
        with self._iam.lock:
            found = [self.get_managed_policy(a) for a in self._iam.policies]
        return sorted((p for p in found if p is not None), key=lambda p: (p.name, p.arn))

    def remove_managed_policy(self, arn: str) -> bool:
        """Delete the policy and its versions; False if there was none."""
        s = self._iam
        with s.lock:
            if s.policies.pop(arn, None) is None:
                return False
            s.versions.pop(arn, None)
            s.counters.pop(arn, None)
            self._bump()
            return True

    def remove_unused_managed_policy(self, arn: str) -> PolicyRemoval:
        """Delete the policy unless it is in use or has other versions, checked atomically."""
        s = self._iam
        with s.lock:
            if arn not in s.policies:
                return "absent"
            if self._attachment_count(arn):
                return "attached"
            if len(s.versions[arn]) > 1:
                return "versions"
            owners: list[Role | User] = [*s.roles.values(), *s.users.values()]
            if any(o.permissions_boundary_arn == arn for o in owners):
                return "attached"
            self.remove_managed_policy(arn)
            return "removed"

    def add_policy_version(self, arn: str, version: PolicyVersion) -> None:
        """Add a version; when it is the default, it becomes the policy's default."""
        s = self._iam
        with s.lock:
            s.versions[arn][version.version_id] = version
            if version.is_default:
                self._set_default(arn, version.version_id, version.created_at)
            self._bump()

    def add_next_policy_version(
        self, arn: str, document: str, *, is_default: bool, when: Any, limit: int | None = None
    ) -> PolicyVersion | None:
        """Add a version numbered after every version the policy ever had; return it.

        None (and nothing written) when the policy already has ``limit`` versions; KeyError when
        there is no such policy.
        """
        s = self._iam
        with s.lock:
            if arn not in s.policies:
                raise KeyError(arn)
            if limit is not None and len(s.versions[arn]) >= limit:
                return None
            number = max([s.counters.get(arn, 0), *map(_version_number, s.versions[arn])]) + 1
            s.counters[arn] = number
            version = PolicyVersion(f"v{number}", document, is_default, when)
            self.add_policy_version(arn, version)
            return version

    def _set_default(self, arn: str, version_id: str, when: Any) -> None:
        s = self._iam
        s.versions[arn] = {
            vid: replace(v, is_default=vid == version_id) for vid, v in s.versions[arn].items()
        }
        s.policies[arn] = replace(s.policies[arn], default_version_id=version_id, updated_at=when)

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None:
        """The version, or None."""
        with self._iam.lock:
            return self._iam.versions.get(arn, {}).get(version_id)

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        """The policy's versions, newest first."""
        with self._iam.lock:
            vs = list(self._iam.versions.get(arn, {}).values())
        return sorted(vs, key=lambda v: _version_number(v.version_id), reverse=True)

    def remove_policy_version(self, arn: str, version_id: str) -> bool:
        """Delete a version unless it is the policy's default; False if default or absent."""
        s = self._iam
        with s.lock:
            policy = s.policies.get(arn)
            if policy is None or policy.default_version_id == version_id:
                return False
            if s.versions[arn].pop(version_id, None) is None:
                return False
            self._bump()
            return True

    def set_default_policy_version(self, arn: str, version_id: str, when: Any) -> bool:
        """Make ``version_id`` the default; False if the policy or the version does not exist."""
        s = self._iam
        with s.lock:
            if arn not in s.policies or version_id not in s.versions[arn]:
                return False
            self._set_default(arn, version_id, when)
            self._bump()
            return True

    def replace_managed_policy(self, policy: ManagedPolicy) -> bool:
        """Overwrite the policy's own fields (tags, description); versions are kept.

        The default version and update date stay as stored (see ``SqlIamStore``'s twin).
        """
        s = self._iam
        with s.lock:
            stored = s.policies.get(policy.arn)
            if stored is None:
                return False
            s.policies[policy.arn] = replace(
                stored, description=policy.description, tags=policy.tags
            )
            self._bump()
            return True

    def update_managed_policy(
        self, arn: str, change: Callable[[ManagedPolicy], ManagedPolicy]
    ) -> ManagedPolicy | None:
        """Apply ``change`` to the policy and write its description and tags atomically.

        The new policy, or None when there is no (readable) policy. Whatever ``change`` raises
        propagates with nothing written.
        """
        s = self._iam
        with s.lock:
            policy = self.get_managed_policy(arn)
            if policy is None:
                return None
            new = change(policy)
            if (new.description, new.tags) != (policy.description, policy.tags):
                self.replace_managed_policy(replace(new, arn=arn))
            return replace(policy, description=new.description, tags=new.tags)


# --- SQL ------------------------------------------------------------------------------------


class _DbLike(Protocol):
    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self, *, bump: bool = True) -> AbstractContextManager[Connection]: ...


def _role_row(r: Role) -> dict[str, Any]:
    return {
        "name_key": r.name.lower(),
        "role_id": r.role_id,
        "arn": r.arn,
        "name": r.name,
        "path": r.path,
        "assume_role_policy": r.assume_role_policy,
        "description": r.description,
        "max_session_duration": r.max_session_duration,
        "permissions_boundary_arn": r.permissions_boundary_arn,
        "tags": _tags_json(r.tags),
        "created_at": r.created_at,
    }


def _role(r: RowMapping) -> Role:
    return Role(
        role_id=r["role_id"],
        arn=r["arn"],
        name=r["name"],
        path=r["path"],
        assume_role_policy=r["assume_role_policy"],
        description=r["description"],
        max_session_duration=int(r["max_session_duration"]),
        permissions_boundary_arn=r["permissions_boundary_arn"],
        tags=_tags(r["tags"]),
        created_at=r["created_at"],
    )


def _user_row(u: User) -> dict[str, Any]:
    return {
        "name_key": u.name.lower(),
        "user_id": u.user_id,
        "arn": u.arn,
        "name": u.name,
        "path": u.path,
        "permissions_boundary_arn": u.permissions_boundary_arn,
        "tags": _tags_json(u.tags),
        "created_at": u.created_at,
    }


def _user(r: RowMapping) -> User:
    return User(
        user_id=r["user_id"],
        arn=r["arn"],
        name=r["name"],
        path=r["path"],
        permissions_boundary_arn=r["permissions_boundary_arn"],
        tags=_tags(r["tags"]),
        created_at=r["created_at"],
    )


def _policy_row(p: ManagedPolicy) -> dict[str, Any]:
    return {
        "arn": p.arn,
        "policy_id": p.policy_id,
        "name": p.name,
        "path": p.path,
        "description": p.description,
        "default_version_id": p.default_version_id,
        "tags": _tags_json(p.tags),
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def _version(r: RowMapping, default_id: str) -> PolicyVersion:
    return PolicyVersion(
        version_id=r["version_id"],
        document=r["document"],
        is_default=r["version_id"] == default_id,
        created_at=r["created_at"],
    )


def _lock_policy(conn: Connection, arn: str, column: sa.Column[Any], *, share: bool = False) -> Any:
    """``column`` of the policy row, locked until the transaction ends; None without the row.

    ``FOR UPDATE`` on PostgreSQL (``FOR SHARE`` with ``share``: writers that only need the policy
    to stay, such as attachments, do not wait for each other). SQLite has no row locks
    (SQLAlchemy drops the clause) but every write transaction there holds the database's one
    write lock from its start (``_Db.write``).
    """
    return conn.execute(
        sa.select(column).where(iam_policies.c.arn == arn).with_for_update(read=share)
    ).scalar()


def _lock_attachable(conn: Connection, arn: str) -> bool:
    """Whether the policy exists with its default version; its row kept (``FOR SHARE``).

    A DeletePolicy (``FOR UPDATE``) then waits for this transaction to end and sees what it
    wrote, or this one waits for the delete and finds no row.
    """
    default = _lock_policy(conn, arn, iam_policies.c.default_version_id, share=True)
    if default is None:
        return False
    v = iam_policy_versions
    found = conn.execute(
        sa.select(v.c.version_id).where(v.c.policy_arn == arn, v.c.version_id == default)
    ).first()
    return found is not None


def _lock_owner(conn: Connection, kind: str, name: str) -> RowMapping | None:
    """The role's or user's row, locked (``FOR UPDATE``) until the transaction ends, or None.

    Lock order everywhere: the owner's row, then the policy's; DeletePolicy takes only the
    policy's, so no two transactions wait on each other in a cycle.
    """
    table = iam_roles if kind == ROLE else iam_users
    return (
        conn.execute(sa.select(table).where(table.c.name_key == name.lower()).with_for_update())
        .mappings()
        .first()
    )


def _name_lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for one managed policy name."""
    digest = hashlib.sha256(b"elsewhere.iam_policies.name\x00" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SqlIamStore:
    """IAM records on the SQL database (mixed into ``SqlStore``)."""

    _db: _DbLike

    # roles

    def add_role(self, role: Role) -> bool:
        """Insert a role; KeyError if its name is taken (any case).

        False (nothing written) when it names a permissions boundary policy that does not exist;
        the check and the insert are one transaction holding the policy's row.
        """
        try:
            with self._db.write() as conn:
                if not self._boundary_ok(conn, role.permissions_boundary_arn):
                    return False
                conn.execute(sa.insert(iam_roles).values(**_role_row(role)))
                return True
        except IntegrityError as exc:
            raise KeyError(role.name) from exc

    @staticmethod
    def _boundary_ok(conn: Connection, arn: str | None) -> bool:
        return arn is None or _lock_attachable(conn, arn)

    def _update_owner(
        self,
        kind: str,
        name: str,
        change: Callable[[Any], Any],
        to_record: Callable[[RowMapping], Any],
        to_row: Callable[[Any], dict[str, Any]],
    ) -> Any:
        table = iam_roles if kind == ROLE else iam_users
        with self._db.write() as conn:
            row = _lock_owner(conn, kind, name)
            if row is None:
                return None
            old = to_record(row)
            new = replace(change(old), name=old.name)
            if new.permissions_boundary_arn != old.permissions_boundary_arn and not (
                self._boundary_ok(conn, new.permissions_boundary_arn)
            ):
                raise KeyError(new.permissions_boundary_arn)
            if new != old:
                values = to_row(new)
                conn.execute(
                    sa.update(table).where(table.c.name_key == values["name_key"]).values(**values)
                )
            return new

    def _one(self, table: Table, where: Any) -> RowMapping | None:
        with self._db.read() as conn:
            return conn.execute(sa.select(table).where(where)).mappings().first()

    def get_role(self, name: str) -> Role | None:
        """The role, or None."""
        row = self._one(iam_roles, iam_roles.c.name_key == name.lower())
        return None if row is None else _role(row)

    def get_role_by_arn(self, arn: str) -> Role | None:
        """The role with this ARN, or None."""
        row = self._one(iam_roles, iam_roles.c.arn == arn)
        return None if row is None else _role(row)

    def get_role_by_id(self, role_id: str) -> Role | None:
        """The role with this unique id (``AROA…``), or None."""
        row = self._one(iam_roles, iam_roles.c.role_id == role_id)
        return None if row is None else _role(row)

    def replace_role(self, role: Role) -> bool:
        """Overwrite the role of the same name; False if there is none."""
        row = _role_row(role)
        with self._db.write() as conn:
            result = conn.execute(
                sa.update(iam_roles).where(iam_roles.c.name_key == row["name_key"]).values(**row)
            )
            return result.rowcount == 1

    def update_role(self, name: str, change: Callable[[Role], Role]) -> Role | None:
        """Apply ``change`` to the stored role and write the result atomically; the new role.

        None without the role. Whatever ``change`` raises propagates with nothing written; a
        permissions boundary it sets must name an existing policy (KeyError with that ARN). One
        transaction holding the role's row (and the new boundary policy's), so concurrent tag
        calls do not lose each other's tags and a concurrent DeletePolicy cannot strand the
        boundary.
        """
        role: Role | None = self._update_owner(ROLE, name, change, _role, _role_row)
        return role

    def remove_role(self, name: str) -> bool:
        """Delete the role with its inline policies and attachments."""
        return self._remove_owner(iam_roles, ROLE, name)

    def list_roles(self) -> list[Role]:
        """Every role, by name."""
        with self._db.read() as conn:
            rows = conn.execute(sa.select(iam_roles).order_by(iam_roles.c.name_key)).mappings()
            return [_role(r) for r in rows]

    # users

    def add_user(self, user: User) -> bool:
        """Insert a user; KeyError if its name is taken (any case).

        False (nothing written) when it names a permissions boundary policy that does not exist.
        """
        try:
            with self._db.write() as conn:
                if not self._boundary_ok(conn, user.permissions_boundary_arn):
                    return False
                conn.execute(sa.insert(iam_users).values(**_user_row(user)))
                return True
        except IntegrityError as exc:
            raise KeyError(user.name) from exc

    def get_user(self, name: str) -> User | None:
        """The user, or None."""
        row = self._one(iam_users, iam_users.c.name_key == name.lower())
        return None if row is None else _user(row)

    def get_user_by_arn(self, arn: str) -> User | None:
        """The user with this ARN, or None."""
        row = self._one(iam_users, iam_users.c.arn == arn)
        return None if row is None else _user(row)

    def get_user_by_id(self, user_id: str) -> User | None:
        """The user with this unique id (``AIDA…``), or None."""
        row = self._one(iam_users, iam_users.c.user_id == user_id)
        return None if row is None else _user(row)

    def replace_user(self, user: User) -> bool:
        """Overwrite the user of the same name; False if there is none."""
        row = _user_row(user)
        with self._db.write() as conn:
            result = conn.execute(
                sa.update(iam_users).where(iam_users.c.name_key == row["name_key"]).values(**row)
            )
            return result.rowcount == 1

    def update_user(self, name: str, change: Callable[[User], User]) -> User | None:
        """Apply ``change`` to the stored user and write the result atomically; the new user.

        None without the user; otherwise as :meth:`update_role`.
        """
        user: User | None = self._update_owner(USER, name, change, _user, _user_row)
        return user

    def remove_user(self, name: str) -> bool:
        """Delete the user with its inline policies and attachments."""
        return self._remove_owner(iam_users, USER, name)

    def list_users(self) -> list[User]:
        """Every user, by name."""
        with self._db.read() as conn:
            rows = conn.execute(sa.select(iam_users).order_by(iam_users.c.name_key)).mappings()
            return [_user(r) for r in rows]

    def remove_unused_owner(self, kind: str, name: str) -> OwnerRemoval:
        """Delete the role or user unless it has inline or attached policies, atomically.

        One transaction holding the owner's row, which attachments and inline policy writes
        take first: none of them can land between the check and the delete.
        """
        key = name.lower()
        table = iam_roles if kind == ROLE else iam_users
        with self._db.write() as conn:
            owner = _lock_owner(conn, kind, name)
            if owner is None:
                return "absent"
            checks: tuple[tuple[Table, OwnerRemoval], ...] = (
                (iam_inline_policies, "policies"),
                (iam_attachments, "attached"),
            )
            for t, refusal in checks:
                found = conn.execute(
                    sa.select(t.c.owner_key).where(t.c.owner_kind == kind, t.c.owner_key == key)
                ).first()
                if found is not None:
                    return refusal
            if kind == USER:
                a = access_keys
                has_keys = conn.execute(
                    sa.select(a.c.access_key_id).where(a.c.principal_arn == owner["arn"])
                ).first()
                if has_keys is not None:
                    return "keys"
            conn.execute(sa.delete(table).where(table.c.name_key == key))
            return "removed"

    def add_user_access_key(self, user_name: str, key: AccessKey, *, limit: int) -> KeyAddition:
        """Add ``key`` for the user unless the user is gone or has ``limit`` keys, atomically.

        One transaction holding the user's row (``FOR UPDATE``), which DeleteUser takes too: a
        key never outlives its user (a later user of the same name would inherit it), and two
        concurrent creations cannot both pass the quota. KeyError if the key id exists.
        """
        a = access_keys
        try:
            with self._db.write() as conn:
                user = _lock_owner(conn, USER, user_name)
                if user is None or user["arn"] != key.principal_arn:
                    return "absent"
                count = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(a)
                    .where(a.c.principal_arn == key.principal_arn)
                ).scalar_one()
                if count >= limit:
                    return "limit"
                conn.execute(sa.insert(a).values(**dataclasses.asdict(key)))
                return "added"
        except IntegrityError as exc:
            raise KeyError(key.access_key_id) from exc

    def _remove_owner(self, table: Table, kind: str, name: str) -> bool:
        key = name.lower()
        with self._db.write() as conn:
            result = conn.execute(sa.delete(table).where(table.c.name_key == key))
            for t in (iam_inline_policies, iam_attachments):
                conn.execute(sa.delete(t).where(t.c.owner_kind == kind, t.c.owner_key == key))
            return result.rowcount == 1

    # inline policies

    def put_inline_policy(self, kind: str, owner: str, policy_name: str, document: str) -> None:
        """Create or replace an inline policy of a role or user."""
        t = iam_inline_policies
        key = {"owner_kind": kind, "owner_key": owner.lower(), "policy_name": policy_name}
        with self._db.write() as conn:
            upsert(conn, t, [{**key, "document": document}], list(key))

    def put_owned_inline_policy(
        self,
        kind: str,
        owner: str,
        policy_name: str,
        document: str,
        *,
        check: InlineCheck | None = None,
    ) -> bool:
        """Create or replace an inline policy of an existing role or user, atomically.

        False (nothing written) without the owner. ``check`` sees the owner's other inline
        policies as (name, document) and raises to refuse, with nothing written. One transaction
        holding the owner's row: a concurrent DeleteRole cannot leave the policy behind for a
        later role of the same name, and two writes cannot pass the size quota together.
        """
        t = iam_inline_policies
        key = {"owner_kind": kind, "owner_key": owner.lower(), "policy_name": policy_name}
        with self._db.write() as conn:
            if _lock_owner(conn, kind, owner) is None:
                return False
            if check is not None:
                rows = conn.execute(
                    sa.select(t.c.policy_name, t.c.document)
                    .where(
                        t.c.owner_kind == kind,
                        t.c.owner_key == owner.lower(),
                        t.c.policy_name != policy_name,
                    )
                    .order_by(t.c.policy_name)
                )
                check([(r[0], r[1]) for r in rows])
            upsert(conn, t, [{**key, "document": document}], list(key))
            return True

    def get_inline_policy(self, kind: str, owner: str, policy_name: str) -> str | None:
        """The inline policy's document, or None."""
        t = iam_inline_policies
        row = self._one(
            t,
            sa.and_(
                t.c.owner_kind == kind,
                t.c.owner_key == owner.lower(),
                t.c.policy_name == policy_name,
            ),
        )
        return None if row is None else str(row["document"])

    def remove_inline_policy(self, kind: str, owner: str, policy_name: str) -> bool:
        """Delete an inline policy; False if there was none."""
        t = iam_inline_policies
        with self._db.write() as conn:
            result = conn.execute(
                sa.delete(t).where(
                    t.c.owner_kind == kind,
                    t.c.owner_key == owner.lower(),
                    t.c.policy_name == policy_name,
                )
            )
            return result.rowcount == 1

    def list_inline_policies(self, kind: str, owner: str) -> list[tuple[str, str]]:
        """(name, document) of every inline policy, by name."""
        t = iam_inline_policies
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.policy_name, t.c.document)
                .where(t.c.owner_kind == kind, t.c.owner_key == owner.lower())
                .order_by(t.c.policy_name)
            )
            return [(r[0], r[1]) for r in rows]

    def list_role_inline_policies(self, role_name: str) -> list[tuple[str, str]]:
        """(name, document) of the role's inline policies, by name."""
        return self.list_inline_policies(ROLE, role_name)

    def list_user_inline_policies(self, user_name: str) -> list[tuple[str, str]]:
        """(name, document) of the user's inline policies, by name."""
        return self.list_inline_policies(USER, user_name)

    # attachments

    def attach_policy(self, kind: str, owner: str, policy_arn: str) -> None:
        """Attach a managed policy (no-op when attached already)."""
        if policy_arn in self.list_attached_policy_arns(kind, owner):
            return
        try:
            with self._db.write() as conn:
                conn.execute(
                    sa.insert(iam_attachments).values(
                        owner_kind=kind, owner_key=owner.lower(), policy_arn=policy_arn
                    )
                )
        except IntegrityError:
            return  # attached concurrently: same outcome

    def attach_managed_policy(
        self, kind: str, owner: str, policy_arn: str, *, limit: int | None = None
    ) -> bool:
        """Attach an existing managed policy to an existing role or user, checked atomically.

        True when attached (now or before); False (nothing written) when the owner already has
        ``limit`` policies attached; KeyError when the owner or the policy does not exist. One
        transaction holding the owner's row (so the quota holds) and the policy's row for share
        (so a concurrent DeletePolicy cannot leave the attachment dangling).
        """
        t = iam_attachments
        with self._db.write() as conn:
            if _lock_owner(conn, kind, owner) is None:
                raise KeyError(owner)
            if not _lock_attachable(conn, policy_arn):
                raise KeyError(policy_arn)
            attached = [
                r[0]
                for r in conn.execute(
                    sa.select(t.c.policy_arn).where(
                        t.c.owner_kind == kind, t.c.owner_key == owner.lower()
                    )
                )
            ]
            if policy_arn in attached:
                return True
            if limit is not None and len(attached) >= limit:
                return False
            conn.execute(
                sa.insert(t).values(owner_kind=kind, owner_key=owner.lower(), policy_arn=policy_arn)
            )
            return True

    def detach_policy(self, kind: str, owner: str, policy_arn: str) -> bool:
        """Detach a managed policy; False if it was not attached."""
        t = iam_attachments
        with self._db.write() as conn:
            result = conn.execute(
                sa.delete(t).where(
                    t.c.owner_kind == kind,
                    t.c.owner_key == owner.lower(),
                    t.c.policy_arn == policy_arn,
                )
            )
            return result.rowcount == 1

    def list_attached_policy_arns(self, kind: str, owner: str) -> list[str]:
        """ARNs of the attached managed policies, by ARN."""
        t = iam_attachments
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.policy_arn)
                .where(t.c.owner_kind == kind, t.c.owner_key == owner.lower())
                .order_by(t.c.policy_arn)
            )
            return [r[0] for r in rows]

    def list_attached_role_policy_arns(self, role_name: str) -> list[str]:
        """ARNs of the managed policies attached to the role."""
        return self.list_attached_policy_arns(ROLE, role_name)

    # managed policies

    def add_managed_policy(self, policy: ManagedPolicy, version: PolicyVersion) -> None:
        """Insert a policy with its first version; KeyError if its ARN or its name is taken.

        IAM refuses a second policy of one name whatever its path. The schema has no unique
        index on the name, so the check and the insert are one transaction, serialised per name
        by an advisory lock on PostgreSQL (SQLite's write transactions are serial already).
        """
        p = iam_policies
        try:
            with self._db.write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(_name_lock_key(policy.name)))
                    )
                taken = conn.execute(sa.select(p.c.arn).where(p.c.name == policy.name)).first()
                if taken is not None:
                    raise KeyError(policy.arn)
                conn.execute(sa.insert(p).values(**_policy_row(policy)))
                conn.execute(
                    sa.insert(iam_policy_versions).values(
                        policy_arn=policy.arn,
                        version_id=version.version_id,
                        document=version.document,
                        created_at=version.created_at,
                    )
                )
        except IntegrityError as exc:
            raise KeyError(policy.arn) from exc

    @staticmethod
    def _policies(where: Any) -> sa.Select[Any]:
        """Policies with their default document and attachment count, in one statement.

        One SELECT reads one snapshot on every engine. Two (the row, then the document of the
        default it names) could see a SetDefaultPolicyVersion and a DeletePolicyVersion of the
        old default commit in between, and read a live policy as absent.
        """
        p, v, a = iam_policies, iam_policy_versions, iam_attachments
        count = (
            sa.select(sa.func.count())
            .select_from(a)
            .where(a.c.policy_arn == p.c.arn)
            .scalar_subquery()
        )
        default = sa.and_(v.c.policy_arn == p.c.arn, v.c.version_id == p.c.default_version_id)
        return (
            sa.select(p, v.c.document.label("default_document"), count.label("attachments"))
            .select_from(p.outerjoin(v, default))
            .where(where)
        )

    @staticmethod
    def _policy(row: RowMapping) -> ManagedPolicy | None:
        doc = row["default_document"]
        if doc is None:
            return None  # default version missing: unusable, read as absent (module docstring)
        count = row["attachments"]
        return ManagedPolicy(
            policy_id=row["policy_id"],
            arn=row["arn"],
            name=row["name"],
            path=row["path"],
            description=row["description"],
            default_version_id=row["default_version_id"],
            document=doc,
            attachment_count=int(count),
            tags=_tags(row["tags"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def get_managed_policy(self, arn: str) -> ManagedPolicy | None:
        """The policy with its default version's document and attachment count, or None."""
        with self._db.read() as conn:
            row = conn.execute(self._policies(iam_policies.c.arn == arn)).mappings().first()
            return None if row is None else self._policy(row)

    def list_managed_policies(self) -> list[ManagedPolicy]:
        """Every customer managed policy (with documents), by name then ARN."""
        with self._db.read() as conn:
            rows = conn.execute(
                self._policies(sa.true()).order_by(iam_policies.c.name, iam_policies.c.arn)
            ).mappings()
            found = [self._policy(r) for r in list(rows)]
        return [p for p in found if p is not None]

    def remove_managed_policy(self, arn: str) -> bool:
        """Delete the policy and its versions; False if there was none."""
        with self._db.write() as conn:
            result = conn.execute(sa.delete(iam_policies).where(iam_policies.c.arn == arn))
            conn.execute(
                sa.delete(iam_policy_versions).where(iam_policy_versions.c.policy_arn == arn)
            )
            return result.rowcount == 1

    def remove_unused_managed_policy(self, arn: str) -> PolicyRemoval:
        """Delete the policy unless it is in use or has other versions, checked atomically.

        One transaction holding the policy's row (``FOR UPDATE``): attachments and boundaries
        written concurrently hold it for share, so either they are seen here or they find the
        policy gone.
        """
        a, r, u, v = iam_attachments, iam_roles, iam_users, iam_policy_versions
        with self._db.write() as conn:
            if _lock_policy(conn, arn, iam_policies.c.arn) is None:
                return "absent"
            if conn.execute(sa.select(a.c.owner_key).where(a.c.policy_arn == arn)).first():
                return "attached"
            versions = conn.execute(
                sa.select(sa.func.count()).select_from(v).where(v.c.policy_arn == arn)
            ).scalar_one()
            if versions > 1:
                return "versions"
            for table in (r, u):
                used = conn.execute(
                    sa.select(table.c.name_key).where(table.c.permissions_boundary_arn == arn)
                ).first()
                if used is not None:
                    return "attached"
            conn.execute(sa.delete(iam_policies).where(iam_policies.c.arn == arn))
            conn.execute(sa.delete(v).where(v.c.policy_arn == arn))
            return "removed"

    def add_policy_version(self, arn: str, version: PolicyVersion) -> None:
        """Add a version; when it is the default, it becomes the policy's default."""
        with self._db.write() as conn:
            conn.execute(
                sa.insert(iam_policy_versions).values(
                    policy_arn=arn,
                    version_id=version.version_id,
                    document=version.document,
                    created_at=version.created_at,
                )
            )
            if version.is_default:
                conn.execute(
                    sa.update(iam_policies)
                    .where(iam_policies.c.arn == arn)
                    .values(default_version_id=version.version_id, updated_at=version.created_at)
                )

    def add_next_policy_version(
        self, arn: str, document: str, *, is_default: bool, when: Any, limit: int | None = None
    ) -> PolicyVersion | None:
        """Add a version numbered after every version the policy ever had; return it.

        None (and nothing written) when the policy already has ``limit`` versions; KeyError when
        there is no such policy. The count and the insert are one locked transaction.
        """
        p, v = iam_policies, iam_policy_versions
        with self._db.write() as conn:
            counter = _lock_policy(conn, arn, p.c.version_counter)
            if counter is None:
                raise KeyError(arn)
            existing = [
                r[0] for r in conn.execute(sa.select(v.c.version_id).where(v.c.policy_arn == arn))
            ]
            if limit is not None and len(existing) >= limit:
                return None
            number = max([int(counter), *map(_version_number, existing)]) + 1
            conn.execute(sa.update(p).where(p.c.arn == arn).values(version_counter=number))
            version = PolicyVersion(f"v{number}", document, is_default, when)
            conn.execute(
                sa.insert(v).values(
                    policy_arn=arn,
                    version_id=version.version_id,
                    document=document,
                    created_at=when,
                )
            )
            if is_default:
                conn.execute(
                    sa.update(p)
                    .where(p.c.arn == arn)
                    .values(default_version_id=version.version_id, updated_at=when)
                )
            return version

    @staticmethod
    def _versions(where: Any) -> sa.Select[Any]:
        """Versions with their policy's default version id, in one statement (one snapshot)."""
        v, p = iam_policy_versions, iam_policies
        default = (
            sa.select(p.c.default_version_id).where(p.c.arn == v.c.policy_arn).scalar_subquery()
        )
        return sa.select(v, default.label("default_id")).where(where)

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion | None:
        """The version, or None."""
        v = iam_policy_versions
        with self._db.read() as conn:
            row = (
                conn.execute(
                    self._versions(sa.and_(v.c.policy_arn == arn, v.c.version_id == version_id))
                )
                .mappings()
                .first()
            )
            return None if row is None else _version(row, row["default_id"] or "")

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        """The policy's versions, newest first."""
        v = iam_policy_versions
        with self._db.read() as conn:
            rows = conn.execute(self._versions(v.c.policy_arn == arn)).mappings()
            found = [_version(r, r["default_id"] or "") for r in rows]
        return sorted(found, key=lambda x: _version_number(x.version_id), reverse=True)

    def remove_policy_version(self, arn: str, version_id: str) -> bool:
        """Delete a version unless it is the policy's default; False if default or absent."""
        v = iam_policy_versions
        with self._db.write() as conn:
            # The policy row lock orders this against SetDefaultPolicyVersion (see module doc).
            if _lock_policy(conn, arn, iam_policies.c.default_version_id) in (None, version_id):
                return False
            result = conn.execute(
                sa.delete(v).where(v.c.policy_arn == arn, v.c.version_id == version_id)
            )
            return result.rowcount == 1

    def set_default_policy_version(self, arn: str, version_id: str, when: Any) -> bool:
        """Make ``version_id`` the default; False if the policy or the version does not exist."""
        v = iam_policy_versions
        with self._db.write() as conn:
            if _lock_policy(conn, arn, iam_policies.c.arn) is None:
                return False
            found = conn.execute(
                sa.select(v.c.version_id).where(v.c.policy_arn == arn, v.c.version_id == version_id)
            ).first()
            if found is None:
                return False
            conn.execute(
                sa.update(iam_policies)
                .where(iam_policies.c.arn == arn)
                .values(default_version_id=version_id, updated_at=when)
            )
            return True

    def replace_managed_policy(self, policy: ManagedPolicy) -> bool:
        """Overwrite the policy's own fields (tags, description); versions are kept.

        The default version and update date are left as stored: the caller's copy may be older
        than a concurrent SetDefaultPolicyVersion, and writing it back could name a version that
        has been deleted since.
        """
        row = _policy_row(policy)
        with self._db.write() as conn:
            result = conn.execute(
                sa.update(iam_policies)
                .where(iam_policies.c.arn == policy.arn)
                .values(description=row["description"], tags=row["tags"])
            )
            return result.rowcount == 1

    def update_managed_policy(
        self, arn: str, change: Callable[[ManagedPolicy], ManagedPolicy]
    ) -> ManagedPolicy | None:
        """Apply ``change`` to the policy and write its description and tags atomically.

        The new policy, or None when there is no (readable) policy. Whatever ``change`` raises
        propagates with nothing written. One transaction holding the policy's row, so two
        concurrent TagPolicy calls both land and the tag quota holds.
        """
        p = iam_policies
        with self._db.write() as conn:
            row = None
            if _lock_policy(conn, arn, p.c.arn) is not None:
                row = conn.execute(self._policies(p.c.arn == arn)).mappings().first()
            policy = None if row is None else self._policy(row)
            if policy is None:
                return None
            new = change(policy)
            if (new.description, new.tags) != (policy.description, policy.tags):
                conn.execute(
                    sa.update(p)
                    .where(p.c.arn == arn)
                    .values(description=new.description, tags=_tags_json(new.tags))
                )
            return replace(policy, description=new.description, tags=new.tags)
