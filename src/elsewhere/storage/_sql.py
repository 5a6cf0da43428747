"""The SQL store: SQLite (embedded default, WAL mode) and PostgreSQL (psycopg 3), one code path.

Every configuration write that changes something runs in one transaction with the bump of
``config_version`` so that any node can compare versions to learn its snapshot is stale; on
PostgreSQL the bump also sends ``NOTIFY elsewhere_config`` (empty payload: listeners read
``config_version``) when the transaction commits. A write that changes nothing (removing what is
not there, writing the value already stored) does not bump: every replica would rebuild its
snapshot for nothing. ``MemoryStore`` follows the same rules; ``tests/unit/storage/test_parity.py``
drives both with one random script.

Text order is code-point order everywhere: SQLite's default ``BINARY`` collation compares UTF-8
bytes, and on PostgreSQL every ordering and range comparison of text says ``COLLATE "C"`` (byte
order of UTF-8), whatever the database's locale, because a locale collation (``en_US.UTF-8``)
ignores punctuation and sorts ``a`` before ``B``, unlike Python's ``sorted``.
Nothing lives only in this process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from elsewhere.domain import (
    AccessKey,
    AliasInUseError,
    AttributeMapping,
    AuthenticationRecord,
    CredentialSummary,
    Crl,
    InstanceProperty,
    NotificationSetting,
    Profile,
    Subject,
    Tag,
    TipConfiguration,
    TrustAnchor,
    TrustAnchorSource,
)
from elsewhere.storage import _schema as s
from elsewhere.storage._iam import SqlIamStore
from elsewhere.storage._subjects import (
    MAX_CREDENTIALS_PER_SUBJECT,
    MAX_INSTANCE_PROPERTIES_PER_SUBJECT,
    properties_key,
)
from elsewhere.storage._upsert import upsert

__all__ = ["SqlStore", "open_store", "upgrade_schema"]

R = TypeVar("R", TrustAnchor, Profile, Crl)

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_T = TypeVar("_T")


def _aware(record: _T) -> _T:
    """``record`` if none of its datetime fields is naive; else ValueError, as MemoryStore raises.

    ``UtcDateTime`` refuses naive values too, but only while binding, wrapped in SQLAlchemy's
    ``StatementError``; checking first keeps the error the same in every store.
    """
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
    return record


def _stored(record: R) -> R:
    """``record`` as the store keeps it: ``previous_alias_name`` belongs to one answer only."""
    if record.previous_alias_name is None:
        return record
    return dataclasses.replace(record, previous_alias_name=None)


def _check_limit(limit: int) -> int:
    # SQLite reads LIMIT -1 as "no limit", PostgreSQL refuses it, a slice drops the last items:
    # a negative page size is the caller's bug, refused the same way by every store.
    if limit < 0:
        raise ValueError(f"negative page size {limit}")
    return limit


# --- row mapping ---------------------------------------------------------------------------------


def _anchor_row(a: TrustAnchor) -> dict[str, Any]:
    return {
        "id": a.id,
        "arn": a.arn,
        "name": a.name,
        "source_type": a.source.source_type,
        "x509_certificate_data": a.source.x509_certificate_data,
        "acm_pca_arn": a.source.acm_pca_arn,
        "enabled": a.enabled,
        "crl_dp_revocation_enabled": a.crl_dp_revocation_enabled,
        "notification_settings": _json(
            [
                {
                    "event": n.event,
                    "enabled": n.enabled,
                    "threshold": n.threshold,
                    "channel": n.channel,
                    "configured_by": n.configured_by,
                }
                for n in a.notification_settings
            ]
        ),
        "alias_name": a.alias_name,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


def _anchor_record(r: RowMapping) -> TrustAnchor:
    return TrustAnchor(
        id=r["id"],
        arn=r["arn"],
        name=r["name"],
        source=TrustAnchorSource(r["source_type"], r["x509_certificate_data"], r["acm_pca_arn"]),
        enabled=bool(r["enabled"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        notification_settings=tuple(
            NotificationSetting(**n) for n in json.loads(r["notification_settings"])
        ),
        crl_dp_revocation_enabled=bool(r["crl_dp_revocation_enabled"]),
        alias_name=r["alias_name"],
    )


def _profile_row(p: Profile) -> dict[str, Any]:
    tip = p.tip_configuration
    return {
        "id": p.id,
        "arn": p.arn,
        "name": p.name,
        "enabled": p.enabled,
        "created_by": p.created_by,
        "role_arns": _json(list(p.role_arns)),
        "managed_policy_arns": _json(list(p.managed_policy_arns)),
        "duration_seconds": p.duration_seconds,
        "accept_role_session_name": p.accept_role_session_name,
        "require_instance_properties": p.require_instance_properties,
        "attribute_mappings": _json(
            [[m.certificate_field, list(m.specifiers)] for m in p.attribute_mappings]
        ),
        "session_policy": p.session_policy,
        "alias_name": p.alias_name,
        "tip_configuration": None if tip is None else _json(dataclasses.asdict(tip)),
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def _profile_record(r: RowMapping) -> Profile:
    tip = r["tip_configuration"]
    return Profile(
        id=r["id"],
        arn=r["arn"],
        name=r["name"],
        enabled=bool(r["enabled"]),
        created_by=r["created_by"],
        role_arns=tuple(json.loads(r["role_arns"])),
        managed_policy_arns=tuple(json.loads(r["managed_policy_arns"])),
        duration_seconds=int(r["duration_seconds"]),
        accept_role_session_name=bool(r["accept_role_session_name"]),
        require_instance_properties=bool(r["require_instance_properties"]),
        attribute_mappings=tuple(
            AttributeMapping(field, tuple(specs))
            for field, specs in json.loads(r["attribute_mappings"])
        ),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        session_policy=r["session_policy"],
        alias_name=r["alias_name"],
        tip_configuration=None if tip is None else TipConfiguration(**json.loads(tip)),
    )


def _crl_row(c: Crl) -> dict[str, Any]:
    return {
        "id": c.id,
        "arn": c.arn,
        "name": c.name,
        "enabled": c.enabled,
        "crl_data": c.crl_data,
        "trust_anchor_arn": c.trust_anchor_arn,
        "alias_name": c.alias_name,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def _crl_record(r: RowMapping) -> Crl:
    return Crl(
        id=r["id"],
        arn=r["arn"],
        name=r["name"],
        enabled=bool(r["enabled"]),
        crl_data=bytes(r["crl_data"]),
        trust_anchor_arn=r["trust_anchor_arn"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        alias_name=r["alias_name"],
    )


def _subject_record(r: RowMapping) -> Subject:
    return Subject(
        id=r["id"],
        arn=r["arn"],
        x509_subject=r["x509_subject"],
        enabled=bool(r["enabled"]),
        last_seen_at=r["last_seen_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


# --- the store -----------------------------------------------------------------------------------


# conn.info key: a DML statement of the current write transaction changed a row.
_CHANGED = "elsewhere.changed"


def _note_change(
    conn: Connection,
    clauseelement: object,
    multiparams: object,
    params: object,
    execution_options: object,
    result: sa.CursorResult[Any],
) -> None:
    """``after_execute``: remember that an INSERT, UPDATE or DELETE touched a row.

    An unknown row count (-1, some drivers' executemany) counts as a change: a needless bump
    costs a snapshot rebuild, a missing one a stale replica.
    """
    if isinstance(clauseelement, sa.Insert | sa.Update | sa.Delete) and result.rowcount != 0:
        conn.info[_CHANGED] = True


class _Db:
    """The engine plus the one way to write configuration: a transaction that bumps the version
    when it changed something."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if not sa.event.contains(engine, "after_execute", _note_change):
            sa.event.listen(engine, "after_execute", _note_change)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def text_key(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``column`` compared and ordered by code point (see the module docstring)."""
        if self.engine.dialect.name == "postgresql":
            return sa.collate(column, "C")
        return column

    @staticmethod
    def bump(conn: Connection) -> None:
        """Bump ``config_version`` in the transaction of ``conn`` (and NOTIFY on PostgreSQL)."""
        conn.execute(
            sa.update(s.config_version)
            .where(s.config_version.c.id == 1)
            .values(version=s.config_version.c.version + 1)
        )
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_notify('elsewhere_config', '')"))

    @contextmanager
    def write(self, *, bump: bool = True) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite opens its transaction only at the first INSERT/UPDATE/DELETE, so the
                # reads a write makes before that ran outside it and could be stale by the time it
                # writes (check-then-write races). BEGIN IMMEDIATE takes SQLite's one write lock
                # now, so writers run one at a time and each sees the last one's commit (SQLite,
                # "BEGIN TRANSACTION"; SQLAlchemy's pysqlite dialect notes on transactions).
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            # conn.info belongs to the pooled DBAPI connection: start each write clean.
            conn.info.pop(_CHANGED, None)
            yield conn
            # A write that was refused or matched nothing (deleting what is not there) changes
            # no configuration, so replicas need not rebuild their snapshots for it.
            if conn.info.pop(_CHANGED, False) and bump:
                self.bump(conn)


def _write_tags(conn: Connection, resource_arn: str, tags: Sequence[Tag]) -> None:
    """Insert or overwrite ``tags`` of ``resource_arn`` inside the caller's transaction."""
    latest = {tag.key: tag.value for tag in tags}
    if latest:
        rows = [
            {"resource_arn": resource_arn, "tag_key": k, "tag_value": v} for k, v in latest.items()
        ]
        upsert(conn, s.resource_tags, rows, ["resource_arn", "tag_key"])


class _SqlRepository(Generic[R]):
    """Records of one table keyed by ``id``."""

    def __init__(
        self,
        db: _Db,
        table: sa.Table,
        to_row: Callable[[R], dict[str, Any]],
        to_record: Callable[[RowMapping], R],
    ) -> None:
        self._db = db
        self._table = table
        self._to_row: Callable[[R], dict[str, Any]] = to_row
        self._to_record: Callable[[RowMapping], R] = to_record

    def add(self, record: R, tags: Sequence[Tag] = ()) -> None:
        """Insert a new record and its tags, in one transaction: both are written or neither.

        KeyError if its id or ARN exists, AliasInUseError if another record holds its alias.
        """
        record = _stored(_aware(record))
        row = self._to_row(record)
        try:
            with self._db.write() as conn:
                conn.execute(sa.insert(self._table).values(**row))
                _write_tags(conn, record.arn, tags)
        except IntegrityError as exc:
            if self._holds(self._table.c.id, record.id) or self._holds(
                self._table.c.arn, record.arn
            ):
                raise KeyError(record.id) from exc
            raise self._refused(record, KeyError(record.id)) from exc

    def _holds(self, column: sa.Column[Any], value: str, *, other_than: str = "") -> bool:
        """Whether a row (other than the one with id ``other_than``) has ``value`` in ``column``."""
        query = sa.select(self._table.c.id).where(column == value, self._table.c.id != other_than)
        with self._db.read() as conn:
            return conn.execute(query).first() is not None

    def _refused(self, record: R, otherwise: Exception) -> Exception:
        """The error for a row a unique index refused: the alias if another record holds it.

        The unique index on ``alias_name`` is what keeps an alias to one resource when two
        replicas take it at the same moment; the refused writer's transaction is gone, so the
        holder is read afresh.
        """
        if record.alias_name is not None:
            holder = self.get_by_alias(record.alias_name)
            if holder is not None and holder.id != record.id:
                return AliasInUseError(record.alias_name)
        return otherwise

    def get(self, record_id: str) -> R | None:
        """The record, or None."""
        with self._db.read() as conn:
            row = (
                conn.execute(sa.select(self._table).where(self._table.c.id == record_id))
                .mappings()
                .first()
            )
        return None if row is None else self._to_record(row)

    def get_by_alias(self, alias_name: str) -> R | None:
        """The record holding ``alias_name``, or None."""
        with self._db.read() as conn:
            row = (
                conn.execute(sa.select(self._table).where(self._table.c.alias_name == alias_name))
                .mappings()
                .first()
            )
        return None if row is None else self._to_record(row)

    def replace(self, record: R) -> bool:
        """Overwrite the record with the same id.

        KeyError if its ARN is another record's, AliasInUseError if its alias is.
        """
        record = _stored(_aware(record))
        try:
            with self._db.write(bump=False) as conn:
                row = (
                    conn.execute(sa.select(self._table).where(self._table.c.id == record.id))
                    .mappings()
                    .first()
                )
                if row is None:
                    return False
                if self._to_record(row) == record:
                    return True  # nothing changes: no bump
                conn.execute(
                    sa.update(self._table)
                    .where(self._table.c.id == record.id)
                    .values(**self._to_row(record))
                )
                self._db.bump(conn)
                return True
        except IntegrityError as exc:
            if self._holds(self._table.c.arn, record.arn, other_than=record.id):
                raise KeyError(record.arn) from exc
            raise self._refused(record, KeyError(record.arn)) from exc

    def remove(self, record_id: str) -> R | None:
        """Delete and return the record, and its tags, in one transaction."""
        with self._db.write(bump=False) as conn:
            row = (
                conn.execute(sa.select(self._table).where(self._table.c.id == record_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(sa.delete(self._table).where(self._table.c.id == record_id))
            tags = s.resource_tags
            conn.execute(sa.delete(tags).where(tags.c.resource_arn == row["arn"]))
            self._db.bump(conn)
            return self._to_record(row)

    def list_page(self, after: str | None, limit: int) -> list[R]:
        """Up to ``limit`` records after ``after``, by id (ValueError if ``limit`` < 0)."""
        key = self._db.text_key(self._table.c.id)
        query = sa.select(self._table).order_by(key).limit(_check_limit(limit))
        if after is not None:
            query = query.where(key > after)
        with self._db.read() as conn:
            return [self._to_record(r) for r in conn.execute(query).mappings()]

    def list_all(self) -> list[R]:
        """Every record, by id."""
        key = self._db.text_key(self._table.c.id)
        with self._db.read() as conn:
            rows = conn.execute(sa.select(self._table).order_by(key)).mappings()
            return [self._to_record(r) for r in rows]

    def count(self) -> int:
        """How many records there are."""
        with self._db.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self._table)).scalar_one()
            )


class _SqlTags:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def get(self, resource_arn: str) -> tuple[Tag, ...]:
        """The resource's tags by key."""
        t = s.resource_tags
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.tag_key, t.c.tag_value)
                .where(t.c.resource_arn == resource_arn)
                .order_by(self._db.text_key(t.c.tag_key))
            )
            return tuple(Tag(k, v) for k, v in rows)

    def put(self, resource_arn: str, tags: Sequence[Tag]) -> None:
        """Add or overwrite tags (no version bump when every value is already stored)."""
        t = s.resource_tags
        latest = {tag.key: tag.value for tag in tags}
        if not latest:
            return
        with self._db.write(bump=False) as conn:
            stored = dict(
                conn.execute(
                    sa.select(t.c.tag_key, t.c.tag_value).where(
                        t.c.resource_arn == resource_arn, t.c.tag_key.in_(list(latest))
                    )
                ).all()
            )
            changed = [
                {"resource_arn": resource_arn, "tag_key": k, "tag_value": v}
                for k, v in latest.items()
                if stored.get(k) != v
            ]
            if changed:
                upsert(conn, t, changed, ["resource_arn", "tag_key"])
                self._db.bump(conn)

    def remove(self, resource_arn: str, keys: Sequence[str]) -> None:
        """Remove tags by key (no version bump when none of them was there)."""
        t = s.resource_tags
        if not keys:
            return
        with self._db.write(bump=False) as conn:
            result = conn.execute(
                sa.delete(t).where(t.c.resource_arn == resource_arn, t.c.tag_key.in_(list(keys)))
            )
            if result.rowcount:
                self._db.bump(conn)

    def clear(self, resource_arn: str) -> None:
        """Remove every tag of the resource (no version bump when it had none)."""
        t = s.resource_tags
        with self._db.write(bump=False) as conn:
            result = conn.execute(sa.delete(t).where(t.c.resource_arn == resource_arn))
            if result.rowcount:
                self._db.bump(conn)


class _SqlSubjects:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def record_authentications(self, batch: Sequence[AuthenticationRecord]) -> None:
        """Fold a batch into the subject records, in one transaction.

        Two nodes may create the same new subject at once; the loser's transaction fails on the
        unique subject hash and is retried, then finds the winner's row. A new subject whose id
        is another subject's is KeyError, and nothing of the batch is written.
        """
        for rec in batch:
            _aware(rec)
        for attempt in range(3):
            try:
                # Subjects are not configuration: no version bump.
                with self._db.write(bump=False) as conn:
                    for rec in batch:
                        self._record(self._db, conn, rec)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    @staticmethod
    def _record(db: _Db, conn: Connection, rec: AuthenticationRecord) -> None:
        t = s.subjects
        subject_hash = _sha256(rec.x509_subject)
        row = conn.execute(
            sa.select(t.c.id, t.c.last_seen_at, t.c.updated_at).where(
                t.c.x509_subject_hash == subject_hash
            )
        ).first()
        if row is None:
            subject_id = rec.new_subject_id
            if conn.execute(sa.select(t.c.id).where(t.c.id == subject_id)).first() is not None:
                raise KeyError(subject_id)  # not a race to retry: this id is taken for good
            conn.execute(
                sa.insert(t).values(
                    id=subject_id,
                    arn=rec.new_subject_arn,
                    x509_subject_hash=subject_hash,
                    x509_subject=rec.x509_subject,
                    enabled=True,
                    last_seen_at=rec.seen_at,
                    created_at=rec.seen_at,
                    updated_at=rec.seen_at,
                )
            )
        else:
            subject_id = row.id
            conn.execute(
                sa.update(t)
                .where(t.c.id == subject_id)
                .values(
                    last_seen_at=max(row.last_seen_at, rec.seen_at),
                    updated_at=max(row.updated_at, rec.seen_at),
                )
            )
        c = s.subject_credentials
        credential_key = _sha256(f"{rec.issuer}\x00{rec.serial_number}")
        conn.execute(
            sa.delete(c).where(c.c.subject_id == subject_id, c.c.credential_key == credential_key)
        )
        conn.execute(
            sa.insert(c).values(
                subject_id=subject_id,
                credential_key=credential_key,
                serial_number=rec.serial_number,
                issuer=rec.issuer,
                seen_at=rec.seen_at,
                enabled=True,
                x509_certificate_data=rec.x509_certificate_data,
                failed=rec.failed,
            )
        )
        _trim(
            conn,
            c,
            c.c.credential_key,
            _credential_order(db),
            subject_id,
            MAX_CREDENTIALS_PER_SUBJECT,
        )
        if rec.instance_properties is not None:
            p = s.subject_instance_properties
            canonical = properties_key(rec.instance_properties)
            key = _sha256(canonical)
            conn.execute(
                sa.delete(p).where(p.c.subject_id == subject_id, p.c.properties_key == key)
            )
            conn.execute(
                sa.insert(p).values(
                    subject_id=subject_id,
                    properties_key=key,
                    properties=canonical,
                    seen_at=rec.seen_at,
                    failed=rec.failed,
                )
            )
            _trim(
                conn,
                p,
                p.c.properties_key,
                _properties_order(db),
                subject_id,
                MAX_INSTANCE_PROPERTIES_PER_SUBJECT,
            )

    def get(self, subject_id: str) -> Subject | None:
        """The subject with its credentials, or None."""
        with self._db.read() as conn:
            row = (
                conn.execute(sa.select(s.subjects).where(s.subjects.c.id == subject_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            c = s.subject_credentials
            creds = conn.execute(
                sa.select(c)
                .where(c.c.subject_id == subject_id)
                .order_by(*_credential_order(self._db))
            ).mappings()
            credentials = tuple(
                CredentialSummary(
                    seen_at=r["seen_at"],
                    serial_number=r["serial_number"],
                    issuer=r["issuer"],
                    enabled=bool(r["enabled"]),
                    x509_certificate_data=r["x509_certificate_data"],
                    failed=bool(r["failed"]),
                )
                for r in creds
            )
            p = s.subject_instance_properties
            props = conn.execute(
                sa.select(p)
                .where(p.c.subject_id == subject_id)
                .order_by(*_properties_order(self._db))
            ).mappings()
            properties = tuple(
                InstanceProperty(r["seen_at"], json.loads(r["properties"]), bool(r["failed"]))
                for r in props
            )
        return dataclasses.replace(
            _subject_record(row), credentials=credentials, instance_properties=properties
        )

    def list_page(self, after: str | None, limit: int) -> list[Subject]:
        """Subjects without credentials, by id (ValueError if ``limit`` < 0)."""
        t = s.subjects
        key = self._db.text_key(t.c.id)
        query = sa.select(t).order_by(key).limit(_check_limit(limit))
        if after is not None:
            query = query.where(key > after)
        with self._db.read() as conn:
            return [_subject_record(r) for r in conn.execute(query).mappings()]


def _credential_order(db: _Db) -> tuple[sa.ColumnElement[Any], ...]:
    """Newest first, ties by serial number then issuer: a total order, the same in every store."""
    c = s.subject_credentials
    return (c.c.seen_at.desc(), db.text_key(c.c.serial_number), db.text_key(c.c.issuer))


def _properties_order(db: _Db) -> tuple[sa.ColumnElement[Any], ...]:
    """Newest first, ties by the canonical text of the properties (unique per subject)."""
    p = s.subject_instance_properties
    return (p.c.seen_at.desc(), db.text_key(p.c.properties))


def _trim(
    conn: Connection,
    table: sa.Table,
    key: sa.Column[Any],
    order: Sequence[sa.ColumnElement[Any]],
    subject_id: str,
    keep: int,
) -> None:
    """Keep the first ``keep`` rows of one subject in ``table`` by ``order`` (the listing's)."""
    stale = [
        k
        for (k,) in conn.execute(
            sa.select(key).where(table.c.subject_id == subject_id).order_by(*order).offset(keep)
        )
    ]
    if stale:
        conn.execute(sa.delete(table).where(table.c.subject_id == subject_id, key.in_(stale)))


class _SqlAccessKeys:
    def __init__(self, db: _Db) -> None:
        self._db = db

    @staticmethod
    def _record(r: RowMapping) -> AccessKey:
        return AccessKey(
            access_key_id=r["access_key_id"],
            secret_access_key=r["secret_access_key"],
            principal_arn=r["principal_arn"],
            user_name=r["user_name"],
            status=r["status"],
            created_at=r["created_at"],
        )

    def add(self, key: AccessKey) -> None:
        """Insert a new key (KeyError if the id exists)."""
        _aware(key)
        try:
            with self._db.write() as conn:
                conn.execute(sa.insert(s.access_keys).values(**dataclasses.asdict(key)))
        except IntegrityError as exc:
            raise KeyError(key.access_key_id) from exc

    def get(self, access_key_id: str) -> AccessKey | None:
        """The key, or None."""
        t = s.access_keys
        with self._db.read() as conn:
            row = (
                conn.execute(sa.select(t).where(t.c.access_key_id == access_key_id))
                .mappings()
                .first()
            )
        return None if row is None else self._record(row)

    def set_status(self, access_key_id: str, status: str) -> bool:
        """Set the key's status."""
        t = s.access_keys
        with self._db.write(bump=False) as conn:
            current = conn.execute(
                sa.select(t.c.status).where(t.c.access_key_id == access_key_id)
            ).first()
            if current is None:
                return False
            if current.status != status:
                conn.execute(
                    sa.update(t).where(t.c.access_key_id == access_key_id).values(status=status)
                )
                self._db.bump(conn)
            return True

    def remove(self, access_key_id: str) -> bool:
        """Delete the key."""
        t = s.access_keys
        with self._db.write(bump=False) as conn:
            result = conn.execute(sa.delete(t).where(t.c.access_key_id == access_key_id))
            if result.rowcount != 1:
                return False
            self._db.bump(conn)
            return True

    def list_for_principal(self, principal_arn: str) -> list[AccessKey]:
        """The keys of one principal, by id."""
        t = s.access_keys
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(t.c.principal_arn == principal_arn)
                .order_by(self._db.text_key(t.c.access_key_id))
            ).mappings()
            return [self._record(r) for r in rows]


class _SqlSettings:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def get(self, name: str) -> str | None:
        """The value, or None."""
        t = s.settings
        with self._db.read() as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar()
        return None if value is None else str(value)

    def put(self, name: str, value: str) -> None:
        """Set the value."""
        t = s.settings
        with self._db.write(bump=False) as conn:
            if conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar() != value:
                upsert(conn, t, [{"name": name, "value": value}], ["name"])
                self._db.bump(conn)


class _SqlSecrets:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def get(self, name: str) -> bytes | None:
        """The secret, or None."""
        t = s.secrets
        with self._db.read() as conn:
            value = conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar()
        return None if value is None else bytes(value)

    def put(self, name: str, value: bytes) -> None:
        """Set the secret."""
        t = s.secrets
        with self._db.write(bump=False) as conn:
            stored = conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar()
            if stored is None or bytes(stored) != value:
                upsert(conn, t, [{"name": name, "value": bytes(value)}], ["name"])
                self._db.bump(conn)

    def get_or_create(self, name: str, value: bytes) -> bytes:
        """The stored secret; store ``value`` first if there is none (first writer wins)."""
        existing = self.get(name)
        if existing is not None:
            return existing
        try:
            with self._db.write() as conn:
                conn.execute(sa.insert(s.secrets).values(name=name, value=bytes(value)))
        except IntegrityError:
            pass  # another node won the race; read its value below
        stored = self.get(name)
        if stored is None:  # pragma: no cover - only if someone deletes it in between
            raise RuntimeError(f"secret {name} vanished")
        return stored

    def put_if(self, name: str, expected: bytes | None, value: bytes) -> bool:
        """Store ``value`` only if the secret still holds ``expected`` (None: is absent).

        One conditional statement: on PostgreSQL a concurrent UPDATE of the row waits for the
        first to commit and then re-checks its WHERE against the new value (READ COMMITTED), so
        exactly one of two racing writers with the same ``expected`` succeeds.
        """
        t = s.secrets
        try:
            with self._db.write(bump=False) as conn:
                if expected is None:
                    conn.execute(sa.insert(t).values(name=name, value=bytes(value)))
                    self._db.bump(conn)
                    return True
                result = conn.execute(
                    sa.update(t)
                    .where(t.c.name == name, t.c.value == bytes(expected))
                    .values(value=bytes(value))
                )
                if result.rowcount != 1:
                    return False
                if bytes(expected) != value:
                    self._db.bump(conn)
                return True
        except IntegrityError:
            return False


class SqlStore(SqlIamStore):
    """The store on an SQL database (see :func:`open_store`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        db = _Db(engine)
        self._db = db
        self._trust_anchors: _SqlRepository[TrustAnchor] = _SqlRepository(
            db, s.trust_anchors, _anchor_row, _anchor_record
        )
        self._profiles: _SqlRepository[Profile] = _SqlRepository(
            db, s.profiles, _profile_row, _profile_record
        )
        self._crls: _SqlRepository[Crl] = _SqlRepository(db, s.crls, _crl_row, _crl_record)
        self._tags = _SqlTags(db)
        self._subjects = _SqlSubjects(db)
        self._access_keys = _SqlAccessKeys(db)
        self._settings = _SqlSettings(db)
        self._secrets = _SqlSecrets(db)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for health checks and change listeners)."""
        return self._engine

    @property
    def trust_anchors(self) -> _SqlRepository[TrustAnchor]:
        """Trust anchors."""
        return self._trust_anchors

    @property
    def profiles(self) -> _SqlRepository[Profile]:
        """Profiles."""
        return self._profiles

    @property
    def crls(self) -> _SqlRepository[Crl]:
        """CRLs."""
        return self._crls

    @property
    def tags(self) -> _SqlTags:
        """Resource tags."""
        return self._tags

    @property
    def subjects(self) -> _SqlSubjects:
        """Subjects."""
        return self._subjects

    @property
    def access_keys(self) -> _SqlAccessKeys:
        """Access keys."""
        return self._access_keys

    @property
    def settings(self) -> _SqlSettings:
        """Named settings."""
        return self._settings

    @property
    def secrets(self) -> _SqlSecrets:
        """Named secrets."""
        return self._secrets

    def config_version(self) -> int:
        """The shared configuration version."""
        with self._db.read() as conn:
            return int(
                conn.execute(
                    sa.select(s.config_version.c.version).where(s.config_version.c.id == 1)
                ).scalar_one()
            )

    def close(self) -> None:
        """Release the connection pool."""
        self._engine.dispose()


_upgrade_lock = threading.Lock()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@functools.cache
def _head_revision() -> str | None:
    # The migration scripts ship inside the package, so their head cannot change while we run.
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade_schema(engine: Engine) -> None:
    """Run ``alembic upgrade head`` on ``engine`` with a configuration built in code."""
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == _head_revision():
            return
    config = _alembic_config()
    with _upgrade_lock, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialize migrations of nodes starting together (key: "elsewhere" in ASCII).
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7308604897068081765)"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run during a write; busy_timeout waits for the writer instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_store(database_url: str, *, echo: bool = False) -> SqlStore:
    """Connect to ``database_url``, bring the schema to the latest version, and return the store.

    ``sqlite:///path/to/file.db`` (WAL mode) or ``postgresql+psycopg://user:pw@host/db``.
    ``sqlite://`` (memory) works for tests and lives as long as the store.
    """
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        if not memory and url.database is not None:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            echo=echo,
            poolclass=StaticPool if memory else None,
            connect_args={"check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, echo=echo, pool_pre_ping=True)
    upgrade_schema(engine)
    return SqlStore(engine)
