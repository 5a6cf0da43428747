"""IAM: roles, users, customer managed policies with versions, inline policies, attachments.

Written out by hand (not generated from ``_iam``) so that it never changes once released.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from elsewhere.storage._schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the IAM tables."""
    op.create_table(
        "iam_roles",
        sa.Column("name_key", sa.String(64), primary_key=True),
        sa.Column("role_id", sa.String(128), nullable=False, unique=True),
        sa.Column("arn", sa.String(2048), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("assume_role_policy", sa.Text, nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("max_session_duration", sa.Integer, nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(2048)),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "iam_users",
        sa.Column("name_key", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False, unique=True),
        sa.Column("arn", sa.String(2048), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(2048)),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "iam_policies",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("policy_id", sa.String(128), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("default_version_id", sa.String(32), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "iam_policy_versions",
        sa.Column("policy_arn", sa.String(2048), primary_key=True),
        sa.Column("version_id", sa.String(32), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("owner_kind", sa.String(8), primary_key=True),
        sa.Column("owner_key", sa.String(64), primary_key=True),
        sa.Column("policy_name", sa.String(128), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("owner_kind", sa.String(8), primary_key=True),
        sa.Column("owner_key", sa.String(64), primary_key=True),
        sa.Column("policy_arn", sa.String(2048), primary_key=True),
    )
    op.create_index("ix_iam_attachments_policy_arn", "iam_attachments", ["policy_arn"])


def downgrade() -> None:
    """Drop the IAM tables."""
    for table in (
        "iam_attachments",
        "iam_inline_policies",
        "iam_policy_versions",
        "iam_policies",
        "iam_users",
        "iam_roles",
    ):
        op.drop_table(table)
