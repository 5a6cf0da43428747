"""Aliases: unique per resource type (a unique index), and ``previous_alias_name`` not stored.

The model's ``aliasName``: "The alias name must be unique among resources of the same type in
your account and Region." A store serves one account and Region, so a unique index on each
table's ``alias_name`` is that rule, held by the database even when two replicas set one alias at
the same moment. ``previousAliasName`` is returned "only in the response to an update request that
changed or removed an existing alias", so it is no longer kept with the resource.

A database written before this revision could hold one alias on two resources (two replicas
racing past the old check). The earliest created keeps it; the others lose it, and each is named
in a warning, since the index cannot be built otherwise.

Written out by hand (not generated from ``_schema``) so that it never changes once released.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("trust_anchors", "profiles", "crls")

_log = logging.getLogger("elsewhere.storage")


def _free_duplicate_aliases(table_name: str) -> None:
    """Keep each alias on the earliest created record of ``table_name`` only."""
    table = sa.table(
        table_name,
        sa.column("id", sa.String),
        sa.column("arn", sa.String),
        sa.column("alias_name", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(table.c.id, table.c.arn, table.c.alias_name)
        .where(table.c.alias_name.is_not(None))
        .order_by(table.c.created_at, table.c.id)
    ).all()
    holders: dict[str, str] = {}
    for record_id, arn, alias in rows:
        if alias not in holders:
            holders[alias] = arn
            continue
        _log.warning(
            "alias %r of %s removed: %s, created earlier, holds it (aliases are unique)",
            alias,
            arn,
            holders[alias],
        )
        conn.execute(sa.update(table).where(table.c.id == record_id).values(alias_name=None))


def upgrade() -> None:
    """Make ``alias_name`` unique per table and drop ``previous_alias_name``."""
    for table in _TABLES:
        _free_duplicate_aliases(table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("previous_alias_name")
        op.create_index(f"ix_{table}_alias_name", table, ["alias_name"], unique=True)


def downgrade() -> None:
    """Drop the unique indexes and bring back the (empty) ``previous_alias_name`` columns."""
    for table in _TABLES:
        op.drop_index(f"ix_{table}_alias_name", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("previous_alias_name", sa.String(256)))
