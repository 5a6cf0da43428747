"""Resource identifiers: lowercase 36-character UUIDs (rolesanywhere model shape ``Uuid``)."""

from __future__ import annotations

import re

__all__ = ["is_uuid"]

_UUID = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a lowercase hyphenated UUID."""
    return _UUID.fullmatch(text) is not None
