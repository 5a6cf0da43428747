"""Storage ports: what the use cases need from a store, as structural ``typing.Protocol`` types.

``elsewhere.storage`` implements these without importing this module (``MemoryStore`` and
``SqlStore``); one contract suite (``tests/unit/storage/test_contract.py``) holds them to the same
behaviour. Every write that changes configuration bumps the store's ``config_version`` so that other
nodes can tell their in-memory snapshot is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from elsewhere.domain import (
    AccessKey,
    AuthenticationRecord,
    Crl,
    Profile,
    Subject,
    Tag,
    TrustAnchor,
)

__all__ = [
    "AccessKeyRepository",
    "KeyValueRepository",
    "Repository",
    "SecretRepository",
    "Store",
    "SubjectRepository",
    "TagRepository",
]

R = TypeVar("R", TrustAnchor, Profile, Crl)


class Repository(Protocol[R]):
    """Records keyed by their ``id``; listings are ordered by ``id``."""

    def add(self, record: R, tags: Sequence[Tag] = ()) -> None:
        """Insert a new record (its id must be new) and its tags, in one transaction."""
        ...

    def get(self, record_id: str) -> R | None:
        """The record with ``record_id``, or None."""
        ...

    def get_by_alias(self, alias_name: str) -> R | None:
        """The record whose ``alias_name`` is exactly ``alias_name`` (case-sensitive), or None."""
        ...

    def replace(self, record: R) -> bool:
        """Overwrite the record with the same id; False if there is none."""
        ...

    def remove(self, record_id: str) -> R | None:
        """Delete and return the record, or None if there was none."""
        ...

    def list_page(self, after: str | None, limit: int) -> list[R]:
        """Up to ``limit`` records with id greater than ``after`` (all when None), by id."""
        ...

    def list_all(self) -> list[R]:
        """Every record, by id."""
        ...

    def count(self) -> int:
        """How many records there are."""
        ...


class TagRepository(Protocol):
    """Tags keyed by resource ARN."""

    def get(self, resource_arn: str) -> tuple[Tag, ...]:
        """The resource's tags, ordered by key."""
        ...

    def put(self, resource_arn: str, tags: Sequence[Tag]) -> None:
        """Add tags, overwriting the values of keys that exist."""
        ...

    def remove(self, resource_arn: str, keys: Sequence[str]) -> None:
        """Remove the tags with these keys (absent keys are ignored)."""
        ...

    def clear(self, resource_arn: str) -> None:
        """Remove every tag of the resource."""
        ...


class SubjectRepository(Protocol):
    """Subjects, written in batches by the data plane and read by the control plane."""

    def record_authentications(self, batch: Sequence[AuthenticationRecord]) -> None:
        """Fold a batch of CreateSession attempts into the subject records, in one transaction."""
        ...

    def get(self, subject_id: str) -> Subject | None:
        """The subject with its recent credentials and instance properties, or None."""
        ...

    def list_page(self, after: str | None, limit: int) -> list[Subject]:
        """Up to ``limit`` subjects (without credentials) with id greater than ``after``, by id."""
        ...


class AccessKeyRepository(Protocol):
    """Long-term access keys (the root admin key; later IAM users' keys)."""

    def add(self, key: AccessKey) -> None:
        """Insert a new key."""
        ...

    def get(self, access_key_id: str) -> AccessKey | None:
        """The key, or None."""
        ...

    def set_status(self, access_key_id: str, status: str) -> bool:
        """Set ``Active``/``Inactive``; False if there is no such key."""
        ...

    def remove(self, access_key_id: str) -> bool:
        """Delete the key; False if there was none."""
        ...

    def list_for_principal(self, principal_arn: str) -> list[AccessKey]:
        """The keys of one principal, by id."""
        ...


class KeyValueRepository(Protocol):
    """Small named text values (bootstrap facts, settings)."""

    def get(self, name: str) -> str | None:
        """The value, or None."""
        ...

    def put(self, name: str, value: str) -> None:
        """Set the value."""
        ...


class SecretRepository(Protocol):
    """Small named binary secrets (key ring material, encrypted by the caller where needed)."""

    def get(self, name: str) -> bytes | None:
        """The secret, or None."""
        ...

    def put(self, name: str, value: bytes) -> None:
        """Set the secret."""
        ...

    def get_or_create(self, name: str, value: bytes) -> bytes:
        """The stored secret; store ``value`` first if there is none (first writer wins)."""
        ...

    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        """Store ``value`` only if the secret still holds ``expected`` (None: is absent).

        A compare-and-set for read-modify-write updates (key rotation): True if written, False
        (nothing written) when another writer changed the secret since ``expected`` was read.
        """
        ...


class Store(Protocol):
    """Everything the services persist."""

    @property
    def trust_anchors(self) -> Repository[TrustAnchor]:
        """Trust anchors."""
        ...

    @property
    def profiles(self) -> Repository[Profile]:
        """Profiles."""
        ...

    @property
    def crls(self) -> Repository[Crl]:
        """CRLs."""
        ...

    @property
    def tags(self) -> TagRepository:
        """Resource tags."""
        ...

    @property
    def subjects(self) -> SubjectRepository:
        """Subjects."""
        ...

    @property
    def access_keys(self) -> AccessKeyRepository:
        """Access keys."""
        ...

    @property
    def settings(self) -> KeyValueRepository:
        """Named settings."""
        ...

    @property
    def secrets(self) -> SecretRepository:
        """Named secrets."""
        ...

    def config_version(self) -> int:
        """A number that grows on every configuration change (any node, any process)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
