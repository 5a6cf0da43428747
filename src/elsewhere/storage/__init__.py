"""Persistence: an in-memory store and the SQL store (SQLite default, PostgreSQL)."""

from elsewhere.storage._memory import MemoryStore
from elsewhere.storage._sql import SqlStore, open_store, upgrade_schema

__all__ = ["MemoryStore", "SqlStore", "open_store", "upgrade_schema"]
