"""Text that no store can hold, refused wherever caller input arrives.

Two kinds of character cannot be written by every store elsewhere runs on:

- NUL (U+0000): PostgreSQL's ``text`` type refuses it ("invalid byte sequence for encoding
  UTF8: 0x00", PostgreSQL docs, "Character Set Support"), and so do its ``json``/``jsonb`` escapes.
- Lone UTF-16 surrogates (U+D800..U+DFFF): a JSON ``"\\ud800"`` escape carries one, but no UTF-8
  encoder (RFC 3629 §3) writes it, so neither the SQLite nor the PostgreSQL driver can bind it.
  ``json.loads`` joins a high and a low surrogate escape into one character, so a surrogate left
  in a decoded string is always unpaired.

Accepted once, such a value was stored (escaped inside a JSON column) and later broke every read
that used it: the configuration snapshot could no longer be rebuilt, which froze revocation. The
protocol layer refuses it for every string member of every operation; CreateSession, which is
parsed by hand, refuses it in its own members.
"""

from __future__ import annotations

import re

__all__ = [
    "NUL_CONSTRAINT",
    "SURROGATE_CONSTRAINT",
    "printable_text",
    "unstorable_constraints",
]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: The validation constraint texts of the two refusals (no AWS text is known for either; these
#: follow the Coral grammar, aws-protocols.md §3.3).
NUL_CONSTRAINT = "Member must not contain the null character"
SURROGATE_CONSTRAINT = "Member must not contain unpaired UTF-16 surrogates"


def unstorable_constraints(text: str) -> tuple[str, ...]:
    """The constraint texts ``text`` breaks because a store cannot hold it; empty when it can."""
    if _UNSTORABLE.search(text) is None:
        return ()  # the common case: one scan
    found = []
    if "\x00" in text:
        found.append(NUL_CONSTRAINT)
    if _SURROGATE.search(text) is not None:
        found.append(SURROGATE_CONSTRAINT)
    return tuple(found)


def printable_text(text: str) -> str:
    """``text`` with each lone surrogate shown as U+FFFD, so it can be echoed, logged, encoded."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
