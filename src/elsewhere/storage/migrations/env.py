"""Alembic environment: runs on the connection that ``open_store`` passes in ``attributes``."""

from __future__ import annotations

from alembic import context

from elsewhere.storage._schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
