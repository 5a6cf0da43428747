"""IAM: a per-policy version counter, so version ids are never reused (v1, v2, ... as IAM does).

Written out by hand (not generated from ``_iam``) so that it never changes once released.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``iam_policies.version_counter``."""
    op.add_column(
        "iam_policies",
        sa.Column("version_counter", sa.Integer, nullable=False, server_default="1"),
    )


def downgrade() -> None:
    """Drop ``iam_policies.version_counter``."""
    with op.batch_alter_table("iam_policies") as batch:
        batch.drop_column("version_counter")
