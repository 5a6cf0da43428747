"""Initial schema: rolesanywhere resources, tags, subjects, access keys, settings, secrets.

Written out by hand (not generated from ``_schema``) so that it never changes once released.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from elsewhere.storage._schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of the first release."""
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table(
            "config_version", sa.column("id", sa.Integer), sa.column("version", sa.BigInteger)
        ),
        [{"id": 1, "version": 0}],
    )
    op.create_table(
        "trust_anchors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("arn", sa.String(1011), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("x509_certificate_data", sa.Text),
        sa.Column("acm_pca_arn", sa.Text),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("crl_dp_revocation_enabled", sa.Boolean, nullable=False),
        sa.Column("notification_settings", sa.Text, nullable=False),
        sa.Column("alias_name", sa.String(256)),
        sa.Column("previous_alias_name", sa.String(256)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("arn", sa.String(1011), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("role_arns", sa.Text, nullable=False),
        sa.Column("managed_policy_arns", sa.Text, nullable=False),
        sa.Column("duration_seconds", sa.Integer, nullable=False),
        sa.Column("accept_role_session_name", sa.Boolean, nullable=False),
        sa.Column("require_instance_properties", sa.Boolean, nullable=False),
        sa.Column("attribute_mappings", sa.Text, nullable=False),
        sa.Column("session_policy", sa.Text),
        sa.Column("alias_name", sa.String(256)),
        sa.Column("previous_alias_name", sa.String(256)),
        sa.Column("tip_configuration", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "crls",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("arn", sa.String(1011), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("crl_data", sa.LargeBinary, nullable=False),
        sa.Column("trust_anchor_arn", sa.String(1011), nullable=False),
        sa.Column("alias_name", sa.String(256)),
        sa.Column("previous_alias_name", sa.String(256)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_crls_trust_anchor_arn", "crls", ["trust_anchor_arn"])
    op.create_table(
        "resource_tags",
        sa.Column("resource_arn", sa.String(1011), primary_key=True),
        sa.Column("tag_key", sa.String(128), primary_key=True),
        sa.Column("tag_value", sa.String(256), nullable=False),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("arn", sa.String(1011), nullable=False),
        sa.Column("x509_subject_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("x509_subject", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "subject_credentials",
        sa.Column(
            "subject_id",
            sa.String(36),
            sa.ForeignKey("subjects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("credential_key", sa.String(64), primary_key=True),
        sa.Column("serial_number", sa.String(128), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("seen_at", UtcDateTime, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("x509_certificate_data", sa.Text, nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "subject_instance_properties",
        sa.Column(
            "subject_id",
            sa.String(36),
            sa.ForeignKey("subjects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("properties_key", sa.String(64), primary_key=True),
        sa.Column("properties", sa.Text, nullable=False),
        sa.Column("seen_at", UtcDateTime, nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), primary_key=True),
        sa.Column("secret_access_key", sa.Text, nullable=False),
        sa.Column("principal_arn", sa.String(2048), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_access_keys_principal_arn", "access_keys", ["principal_arn"])
    op.create_table(
        "settings",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Drop everything."""
    for table in (
        "secrets",
        "settings",
        "access_keys",
        "subject_instance_properties",
        "subject_credentials",
        "subjects",
        "resource_tags",
        "crls",
        "profiles",
        "trust_anchors",
        "config_version",
    ):
        op.drop_table(table)
