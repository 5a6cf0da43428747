"""IAM records: roles, users, customer managed policies and their versions (pure).

Identifiers and ARNs follow the IAM User Guide, "IAM identifiers": an entity ARN carries its path
without the leading slash (``role/division/sub/MyRole``) and no region.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from elsewhere.domain._records import Tag

__all__ = [
    "MAX_ATTACHED_POLICIES",
    "MAX_POLICY_VERSIONS",
    "MAX_TAGS",
    "ManagedPolicy",
    "PolicyVersion",
    "Role",
    "User",
    "format_iam_arn",
    "split_iam_arn",
]

#: Versions stored per managed policy (IAM and STS quotas).
MAX_POLICY_VERSIONS = 5
#: Managed policies attached per user or role (default quota).
MAX_ATTACHED_POLICIES = 10
#: Tags per IAM user, role or policy (IAM quotas).
MAX_TAGS = 50

_IAM_ARN_RE = re.compile(r"^arn:([^:]+):iam::(\d{12}|aws):(role|user|policy)(/(?:.*/)?)([^/]+)$")


def format_iam_arn(partition: str, account: str, kind: str, path: str, name: str) -> str:
    """``arn:<partition>:iam::<account>:<kind><path><name>``; ``path`` is ``/`` or ``/a/b/``."""
    return f"arn:{partition}:iam::{account}:{kind}{path}{name}"


def split_iam_arn(arn: str) -> tuple[str, str, str, str, str] | None:
    """(partition, account, kind, path, name) of a role/user/policy ARN, or None."""
    m = _IAM_ARN_RE.match(arn)
    if m is None:
        return None
    partition, account, kind, path, name = m.groups()
    return partition, account, kind, path, name


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role: who may assume it (trust policy) and its limits."""

    role_id: str
    arn: str
    name: str
    path: str
    assume_role_policy: str
    description: str
    max_session_duration: int
    permissions_boundary_arn: str | None
    tags: tuple[Tag, ...]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class User:
    """An IAM user (a person or program administering elsewhere with access keys)."""

    user_id: str
    arn: str
    name: str
    path: str
    permissions_boundary_arn: str | None
    tags: tuple[Tag, ...]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version of a customer managed policy (``v1``, ``v2``, ...)."""

    version_id: str
    document: str
    is_default: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A customer managed policy; ``document`` is the default version's text."""

    policy_id: str
    arn: str
    name: str
    path: str
    description: str
    default_version_id: str
    document: str
    attachment_count: int
    tags: tuple[Tag, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
