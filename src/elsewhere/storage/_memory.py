"""An in-memory store implementing the service ports; for tests and throwaway servers.

It behaves as the SQL store does (``tests/unit/storage/test_parity.py`` drives both with one random
script): datetimes are stored as aware UTC and naive ones refused, text orders by code point, ARNs
of trust anchors, profiles and CRLs are unique, and only a write that changes something bumps the
configuration version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from elsewhere.domain import (
    AccessKey,
    AliasInUseError,
    AuthenticationRecord,
    CredentialSummary,
    Crl,
    InstanceProperty,
    Profile,
    Subject,
    Tag,
    TrustAnchor,
)
from elsewhere.storage._iam import MemoryIamStore
from elsewhere.storage._subjects import (
    MAX_CREDENTIALS_PER_SUBJECT,
    MAX_INSTANCE_PROPERTIES_PER_SUBJECT,
    properties_key,
)

__all__ = ["MemoryStore"]

R = TypeVar("R", TrustAnchor, Profile, Crl)


class _Version:
    def __init__(self) -> None:
        self.value = 0


def _utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC, as the SQL store's ``UtcDateTime`` column stores and returns it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(dt.UTC)


_T = TypeVar("_T")


def _utc_fields(record: _T) -> _T:
    """``record`` with every datetime field in UTC (ValueError on a naive one)."""
    changes: dict[str, Any] = {
        f.name: _utc(value)
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if isinstance(value := getattr(record, f.name), dt.datetime)
    }
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]


def _stored(record: R) -> R:
    """``record`` as the store keeps it: in UTC, without ``previous_alias_name``, which belongs
    to the answer of one update only."""
    record = _utc_fields(record)
    if record.previous_alias_name is None:
        return record
    return dataclasses.replace(record, previous_alias_name=None)


def _check_limit(limit: int) -> int:
    """Refuse a negative page size, as the SQL store does (a slice would drop the last items)."""
    if limit < 0:
        raise ValueError(f"negative page size {limit}")
    return limit


class _MemoryRepository(Generic[R]):
    """Records by id in a dict, under the store's lock."""

    def __init__(self, lock: threading.RLock, version: _Version, tags: _MemoryTags) -> None:
        self._lock = lock
        self._version = version
        self._tags = tags
        self._rows: dict[str, R] = {}
        self._ids_by_arn: dict[str, str] = {}
        self._ids_by_alias: dict[str, str] = {}

    def add(self, record: R, tags: Sequence[Tag] = ()) -> None:
        """Insert a new record and its tags, both or neither (under the store's one lock).

        KeyError if its id or ARN exists, AliasInUseError if another record holds its alias (as
        SQL's unique keys and index refuse them).
        """
        record = _stored(record)
        with self._lock:
            if record.id in self._rows:
                raise KeyError(record.id)
            if record.arn in self._ids_by_arn:
                # SQL cannot tell which unique key refused the row: it names the id either way.
                raise KeyError(record.id)
            if record.alias_name is not None and record.alias_name in self._ids_by_alias:
                raise AliasInUseError(record.alias_name)
            self._tags.put(record.arn, tags)  # first: if it fails, nothing was added
            self._index(record)
            self._version.value += 1

    def _index(self, record: R) -> None:
        self._rows[record.id] = record
        self._ids_by_arn[record.arn] = record.id
        if record.alias_name is not None:
            self._ids_by_alias[record.alias_name] = record.id

    def _unindex(self, record: R) -> None:
        del self._rows[record.id]
        del self._ids_by_arn[record.arn]
        if record.alias_name is not None:
            del self._ids_by_alias[record.alias_name]

    def get(self, record_id: str) -> R | None:
        """The record, or None."""
        with self._lock:
            return self._rows.get(record_id)

    def get_by_alias(self, alias_name: str) -> R | None:
        """The record holding ``alias_name``, or None."""
        with self._lock:
            record_id = self._ids_by_alias.get(alias_name)
            return None if record_id is None else self._rows[record_id]

    def replace(self, record: R) -> bool:
        """Overwrite the record with the same id.

        KeyError if its ARN is another record's, AliasInUseError if its alias is.
        """
        record = _stored(record)
        with self._lock:
            old = self._rows.get(record.id)
            if old is None:
                return False
            if old == record:
                return True  # nothing changes: no bump
            if self._ids_by_arn.get(record.arn, record.id) != record.id:
                raise KeyError(record.arn)
            if (
                record.alias_name is not None
                and self._ids_by_alias.get(record.alias_name, record.id) != record.id
            ):
                raise AliasInUseError(record.alias_name)
            self._unindex(old)
            self._index(record)
            self._version.value += 1
            return True

    def remove(self, record_id: str) -> R | None:
        """Delete and return the record, and its tags."""
        with self._lock:
            record = self._rows.get(record_id)
            if record is not None:
                self._unindex(record)
                self._tags.clear(record.arn)
                self._version.value += 1
            return record

    def list_page(self, after: str | None, limit: int) -> list[R]:
        """Up to ``limit`` records after ``after``, by id (ValueError if ``limit`` < 0)."""
        _check_limit(limit)
        with self._lock:
            keys = sorted(k for k in self._rows if after is None or k > after)[:limit]
            return [self._rows[k] for k in keys]

    def list_all(self) -> list[R]:
        """Every record, by id."""
        with self._lock:
            return [self._rows[k] for k in sorted(self._rows)]

    def count(self) -> int:
        """How many records there are."""
        with self._lock:
            return len(self._rows)


class _MemoryTags:
    def __init__(self, lock: threading.RLock, version: _Version) -> None:
        self._lock = lock
        self._version = version
        self._tags: dict[str, dict[str, str]] = {}

    def get(self, resource_arn: str) -> tuple[Tag, ...]:
        """The resource's tags by key."""
        with self._lock:
            tags = self._tags.get(resource_arn, {})
            return tuple(Tag(k, tags[k]) for k in sorted(tags))

    def put(self, resource_arn: str, tags: Sequence[Tag]) -> None:
        """Add or overwrite tags (no version bump when every value is already stored)."""
        latest = {t.key: t.value for t in tags}
        with self._lock:
            existing = self._tags.get(resource_arn, {})
            if all(existing.get(k) == v for k, v in latest.items()):
                return
            self._tags[resource_arn] = existing | latest
            self._version.value += 1

    def remove(self, resource_arn: str, keys: Sequence[str]) -> None:
        """Remove tags by key (no version bump when none of them was there)."""
        with self._lock:
            existing = self._tags.get(resource_arn, {})
            removed = [existing.pop(k) for k in set(keys) if k in existing]
            if not existing:
                self._tags.pop(resource_arn, None)
            if removed:
                self._version.value += 1

    def clear(self, resource_arn: str) -> None:
        """Remove every tag of the resource (no version bump when it had none)."""
        with self._lock:
            if self._tags.pop(resource_arn, None):
                self._version.value += 1


class _MemorySubjects:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._subjects: dict[str, Subject] = {}
        self._by_dn: dict[str, str] = {}

    def record_authentications(self, batch: Sequence[AuthenticationRecord]) -> None:
        """Fold a batch into the subject records, all or nothing.

        KeyError (and nothing written) if a new subject's id is another subject's, as in SQL.
        """
        batch = [_utc_fields(rec) for rec in batch]
        with self._lock:
            created: dict[str, str] = {}
            for rec in batch:
                if rec.x509_subject in self._by_dn or rec.x509_subject in created:
                    continue
                if rec.new_subject_id in self._subjects or rec.new_subject_id in created.values():
                    raise KeyError(rec.new_subject_id)
                created[rec.x509_subject] = rec.new_subject_id
            for rec in batch:
                self._record(rec)

    def _record(self, rec: AuthenticationRecord) -> None:
        subject_id = self._by_dn.get(rec.x509_subject)
        if subject_id is None:
            subject = Subject(
                id=rec.new_subject_id,
                arn=rec.new_subject_arn,
                x509_subject=rec.x509_subject,
                enabled=True,
                last_seen_at=rec.seen_at,
                created_at=rec.seen_at,
                updated_at=rec.seen_at,
            )
            self._by_dn[rec.x509_subject] = subject.id
        else:
            subject = self._subjects[subject_id]
        cred = CredentialSummary(
            seen_at=rec.seen_at,
            serial_number=rec.serial_number,
            issuer=rec.issuer,
            enabled=True,
            x509_certificate_data=rec.x509_certificate_data,
            failed=rec.failed,
        )
        creds = [
            c
            for c in subject.credentials
            if (c.issuer, c.serial_number) != (rec.issuer, rec.serial_number)
        ]
        # The SQL store's order: newest first, ties by serial number then issuer (a total order,
        # so listing and trimming to the most recent N agree in every store). Both sorts are
        # stable, the second (reverse=True keeps stability) on the primary key.
        creds.append(cred)
        creds.sort(key=lambda c: (c.serial_number, c.issuer))
        creds.sort(key=lambda c: c.seen_at, reverse=True)
        props = list(subject.instance_properties)
        if rec.instance_properties is not None:
            key = properties_key(rec.instance_properties)
            props = [p for p in props if properties_key(p.properties) != key]
            # Keys in sorted order, as the SQL store reads back its canonical JSON.
            ordered = dict(sorted(rec.instance_properties.items()))
            props.append(InstanceProperty(rec.seen_at, ordered, rec.failed))
            props.sort(key=lambda p: properties_key(p.properties))
            props.sort(key=lambda p: p.seen_at, reverse=True)
        self._subjects[subject.id] = dataclasses.replace(
            subject,
            last_seen_at=max(subject.last_seen_at, rec.seen_at),
            updated_at=max(subject.updated_at, rec.seen_at),
            credentials=tuple(creds[:MAX_CREDENTIALS_PER_SUBJECT]),
            instance_properties=tuple(props[:MAX_INSTANCE_PROPERTIES_PER_SUBJECT]),
        )

    def get(self, subject_id: str) -> Subject | None:
        """The subject with its credentials, or None."""
        with self._lock:
            subject = self._subjects.get(subject_id)
        if subject is None:
            return None
        # Fresh property maps, as every SQL read makes: a caller's edit must not reach the store.
        return dataclasses.replace(
            subject,
            instance_properties=tuple(
                dataclasses.replace(p, properties=dict(p.properties))
                for p in subject.instance_properties
            ),
        )

    def list_page(self, after: str | None, limit: int) -> list[Subject]:
        """Subjects without credentials, by id (ValueError if ``limit`` < 0)."""
        _check_limit(limit)
        with self._lock:
            keys = sorted(k for k in self._subjects if after is None or k > after)[:limit]
            return [
                dataclasses.replace(self._subjects[k], credentials=(), instance_properties=())
                for k in keys
            ]


class _MemoryAccessKeys:
    def __init__(self, lock: threading.RLock, version: _Version) -> None:
        self._lock = lock
        self._version = version
        self._keys: dict[str, AccessKey] = {}

    def add(self, key: AccessKey) -> None:
        """Insert a new key."""
        key = _utc_fields(key)
        with self._lock:
            if key.access_key_id in self._keys:
                raise KeyError(key.access_key_id)
            self._keys[key.access_key_id] = key
            self._version.value += 1

    def get(self, access_key_id: str) -> AccessKey | None:
        """The key, or None."""
        with self._lock:
            return self._keys.get(access_key_id)

    def set_status(self, access_key_id: str, status: str) -> bool:
        """Set the key's status."""
        with self._lock:
            key = self._keys.get(access_key_id)
            if key is None:
                return False
            if key.status != status:
                self._keys[access_key_id] = dataclasses.replace(key, status=status)
                self._version.value += 1
            return True

    def remove(self, access_key_id: str) -> bool:
        """Delete the key."""
        with self._lock:
            found = self._keys.pop(access_key_id, None) is not None
            if found:
                self._version.value += 1
            return found

    def list_for_principal(self, principal_arn: str) -> list[AccessKey]:
        """The keys of one principal, by id."""
        with self._lock:
            return [
                self._keys[k]
                for k in sorted(self._keys)
                if self._keys[k].principal_arn == principal_arn
            ]


class _MemorySettings:
    def __init__(self, lock: threading.RLock, version: _Version) -> None:
        self._lock = lock
        self._version = version
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        """The value, or None."""
        with self._lock:
            return self._values.get(name)

    def put(self, name: str, value: str) -> None:
        """Set the value (no version bump when it is already stored)."""
        with self._lock:
            if self._values.get(name) != value:
                self._values[name] = value
                self._version.value += 1


class _MemorySecrets:
    def __init__(self, lock: threading.RLock, version: _Version) -> None:
        self._lock = lock
        self._version = version
        self._values: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        """The secret, or None."""
        with self._lock:
            return self._values.get(name)

    def put(self, name: str, value: bytes) -> None:
        """Set the secret (no version bump when it is already stored)."""
        with self._lock:
            if self._values.get(name) != value:
                self._values[name] = bytes(value)
                self._version.value += 1

    def get_or_create(self, name: str, value: bytes) -> bytes:
        """The stored secret, storing ``value`` first if there is none."""
        with self._lock:
            if name not in self._values:
                self._values[name] = bytes(value)
                self._version.value += 1
            return self._values[name]

    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        """Store ``value`` only if the secret still holds ``expected`` (None: is absent)."""
        with self._lock:
            if self._values.get(name) != expected:
                return False
            if expected != value:
                self._values[name] = bytes(value)
                self._version.value += 1
            return True


class MemoryStore(MemoryIamStore):
    """A store that lives in this process only (the ports' reference fake)."""

    _access_keys: _MemoryAccessKeys

    def __init__(self) -> None:
        super().__init__()
        lock = threading.RLock()
        self._version = _Version()
        self._tags = _MemoryTags(lock, self._version)
        tags = self._tags
        self._trust_anchors: _MemoryRepository[TrustAnchor] = _MemoryRepository(
            lock, self._version, tags
        )
        self._profiles: _MemoryRepository[Profile] = _MemoryRepository(lock, self._version, tags)
        self._crls: _MemoryRepository[Crl] = _MemoryRepository(lock, self._version, tags)
        self._subjects = _MemorySubjects(lock)
        self._access_keys = _MemoryAccessKeys(lock, self._version)
        self._settings = _MemorySettings(lock, self._version)
        self._secrets = _MemorySecrets(lock, self._version)

    @property
    def trust_anchors(self) -> _MemoryRepository[TrustAnchor]:
        """Trust anchors."""
        return self._trust_anchors

    @property
    def profiles(self) -> _MemoryRepository[Profile]:
        """Profiles."""
        return self._profiles

    @property
    def crls(self) -> _MemoryRepository[Crl]:
        """CRLs."""
        return self._crls

    @property
    def tags(self) -> _MemoryTags:
        """Resource tags."""
        return self._tags

    @property
    def subjects(self) -> _MemorySubjects:
        """Subjects."""
        return self._subjects

    @property
    def access_keys(self) -> _MemoryAccessKeys:
        """Access keys."""
        return self._access_keys

    @property
    def settings(self) -> _MemorySettings:
        """Named settings."""
        return self._settings

    @property
    def secrets(self) -> _MemorySecrets:
        """Named secrets."""
        return self._secrets

    def config_version(self) -> int:
        """Grows on every configuration change."""
        return self._version.value

    def close(self) -> None:
        """Nothing to release."""
