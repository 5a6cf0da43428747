"""``INSERT ... ON CONFLICT DO UPDATE`` on SQLite and PostgreSQL, one statement.

Delete-then-insert is not safe with several replicas on PostgreSQL: under READ COMMITTED two
transactions can both delete nothing and then collide on the primary key (a UniqueViolation
where the caller expected "last writer wins"). One atomic upsert has no such window. SQLite has
the same syntax since 3.24 (https://www.sqlite.org/lang_upsert.html); PostgreSQL since 9.5
(https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__ = ["upsert"]


def upsert(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``; where a row with the same ``keys`` exists, overwrite its other columns.

    The rows must not repeat a key among themselves (PostgreSQL refuses to update a row twice).
    """
    if not rows:
        return
    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)
