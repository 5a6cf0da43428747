"""The SQL schema (SQLAlchemy Core), as the latest migration leaves it.

Only portable types: no SQLite-only or PostgreSQL-only SQL. Nested values (notification settings,
attribute mappings, role lists, IAM tags) are JSON text, read and written only by this package.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

__all__ = [
    "UtcDateTime",
    "access_keys",
    "config_version",
    "crls",
    "iam_attachments",
    "iam_inline_policies",
    "iam_policies",
    "iam_policy_versions",
    "iam_roles",
    "iam_users",
    "metadata",
    "profiles",
    "resource_tags",
    "secrets",
    "settings",
    "subject_credentials",
    "subject_instance_properties",
    "subjects",
    "trust_anchors",
]


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine.

    SQLite has no time zones: values are stored as naive UTC and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Normalize to UTC (naive for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


metadata = MetaData()

#: One row (id 1) whose ``version`` grows on every configuration write.
config_version = Table(
    "config_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

trust_anchors = Table(
    "trust_anchors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("arn", String(1011), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("x509_certificate_data", Text),
    Column("acm_pca_arn", Text),
    Column("enabled", Boolean, nullable=False),
    Column("crl_dp_revocation_enabled", Boolean, nullable=False),
    Column("notification_settings", Text, nullable=False),
    # Unique: an alias names one resource of its type in the account and Region this store
    # serves, even when two replicas take it at once (NULLs, no alias, are never equal).
    Column("alias_name", String(256), index=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("arn", String(1011), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("role_arns", Text, nullable=False),
    Column("managed_policy_arns", Text, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("accept_role_session_name", Boolean, nullable=False),
    Column("require_instance_properties", Boolean, nullable=False),
    Column("attribute_mappings", Text, nullable=False),
    Column("session_policy", Text),
    # Unique: an alias names one resource of its type in the account and Region this store
    # serves, even when two replicas take it at once (NULLs, no alias, are never equal).
    Column("alias_name", String(256), index=True, unique=True),
    Column("tip_configuration", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

crls = Table(
    "crls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("arn", String(1011), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("crl_data", LargeBinary, nullable=False),
    Column("trust_anchor_arn", String(1011), nullable=False, index=True),
    # Unique: an alias names one resource of its type in the account and Region this store
    # serves, even when two replicas take it at once (NULLs, no alias, are never equal).
    Column("alias_name", String(256), index=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

resource_tags = Table(
    "resource_tags",
    metadata,
    Column("resource_arn", String(1011), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("arn", String(1011), nullable=False),
    # SHA-256 of the subject string: a fixed-size unique key whatever the DN's length.
    Column("x509_subject_hash", String(64), nullable=False, unique=True),
    Column("x509_subject", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

subject_credentials = Table(
    "subject_credentials",
    metadata,
    Column(
        "subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    ),
    # SHA-256 of issuer and serial number.
    Column("credential_key", String(64), primary_key=True),
    Column("serial_number", String(128), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("x509_certificate_data", Text, nullable=False),
    Column("failed", Boolean, nullable=False),
)

subject_instance_properties = Table(
    "subject_instance_properties",
    metadata,
    Column(
        "subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    ),
    # SHA-256 of the canonical JSON of the properties.
    Column("properties_key", String(64), primary_key=True),
    Column("properties", Text, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("failed", Boolean, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("secret_access_key", Text, nullable=False),
    Column("principal_arn", String(2048), nullable=False, index=True),
    Column("user_name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# --- IAM (migrations 0002 and 0003) -----------------------------------------------------

iam_roles = Table(
    "iam_roles",
    metadata,
    Column("name_key", String(64), primary_key=True),
    Column("role_id", String(128), nullable=False, unique=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String(1000), nullable=False),
    Column("max_session_duration", Integer, nullable=False),
    Column("permissions_boundary_arn", String(2048)),
    Column("tags", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

iam_users = Table(
    "iam_users",
    metadata,
    Column("name_key", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False, unique=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("permissions_boundary_arn", String(2048)),
    Column("tags", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

iam_policies = Table(
    "iam_policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("policy_id", String(128), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("default_version_id", String(32), nullable=False),
    Column("tags", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The highest version number ever given (migration 0003): IAM never reuses a version id.
    Column("version_counter", Integer, nullable=False, server_default="1"),
)

iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("policy_arn", String(2048), primary_key=True),
    Column("version_id", String(32), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("owner_kind", String(8), primary_key=True),
    Column("owner_key", String(64), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
)

iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("owner_kind", String(8), primary_key=True),
    Column("owner_key", String(64), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True, index=True),
)
