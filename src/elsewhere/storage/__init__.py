"""Persistence: an in-memory store and the SQL store (SQLite default, PostgreSQL)."""

from elsewhere.storage._memory import MemoryStore

__all__ = ["MemoryStore"]
