"""What a compiled policy weighs in a cache: the estimate every policy cache shares.

Measured on CPython 3.11 (the deep size of ``policy.parse_policy``'s result): a compiled policy
keeps about 20 bytes per character of its JSON text alive, plus about 8 KiB whatever its size
(statement objects, compiled patterns, the text itself). The estimate rounds both up.
"""

from __future__ import annotations

__all__ = ["policy_weight"]

_OVERHEAD = 8 * 1024
_PER_CHARACTER = 24


def policy_weight(*texts: str | None) -> int:
    """Estimated bytes of the policies compiled from ``texts`` (None for a missing one)."""
    return sum(_OVERHEAD + _PER_CHARACTER * len(text) for text in texts if text is not None)
