"""Rewrite the ``AWS`` principal values of a policy document, leaving the rest of its text as is.

IAM stores the users and roles a trust policy names by their unique ids (``AIDA…``, ``AROA…``)
and shows their ARNs again while they exist; once a principal is deleted, the policy shows the
raw id (IAM User Guide, "Policy elements: Principal", IAM roles and users; "IAM identifiers",
unique ids). :func:`rewrite_principals` is the one text operation both directions need: it
replaces chosen values in ``Principal``/``NotPrincipal`` ``AWS`` members and keeps every other
byte of the document (whitespace, member order, escapes), so a document round-trips exactly.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Callable, Iterator
from typing import Any, Final

__all__ = ["principal_values", "rewrite_principals"]


class _Literal(str):
    """A decoded JSON string that remembers the offsets of its literal (quotes included)."""

    start: int
    end: int


class _Members(list[tuple[str, Any]]):
    """A JSON object as its member pairs (telling objects apart from arrays)."""


def _make_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder(object_pairs_hook=_Members)
    # scanstring is undocumented but stable since Python 2.7; typeshed does not list it.
    scan: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

    def parse_string(text: str, end: int, strict: bool) -> tuple[_Literal, int]:
        value, after = scan(text, end, strict)
        literal = _Literal(value)
        literal.start, literal.end = end - 1, after
        return literal, after

    # The pure-Python scanner reads values through ``parse_string`` (member names are read
    # directly), so every string *value* comes back as a _Literal with its place in the text.
    decoder.parse_string = parse_string  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


_DECODER: Final = _make_decoder()


def _members(value: object, name: str) -> Iterator[object]:
    if isinstance(value, _Members):
        for key, member in value:
            if key == name:
                yield member


def _literals(text: str) -> Iterator[_Literal]:
    """Every string literal under ``Statement[*].(Not)Principal.AWS``, in document order."""
    try:
        document = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return
    for statements in _members(document, "Statement"):
        items = statements if type(statements) is list else [statements]
        for statement in items:
            for name in ("Principal", "NotPrincipal"):
                for principal in _members(statement, name):
                    for aws in _members(principal, "AWS"):
                        values = aws if type(aws) is list else [aws]
                        yield from (v for v in values if isinstance(v, _Literal))


def principal_values(text: str) -> list[str]:
    """The ``AWS`` principal values of the document's statements (none if it is not JSON)."""
    return [str(literal) for literal in _literals(text)]


def rewrite_principals(text: str, replace: Callable[[str], str | None]) -> str:
    """``text`` with each ``AWS`` principal value ``v`` replaced by ``replace(v)`` unless None.

    Only string values of ``AWS`` members of a statement's ``Principal`` or ``NotPrincipal`` are
    offered; ``Service``, ``Federated``, conditions and everything else are never touched. A new
    value is written as a JSON string (ASCII, escaped as ``json.dumps`` does); the text around
    it is kept byte for byte. Text that is not JSON is returned unchanged.
    """
    pieces: list[str] = []
    done = 0
    for literal in sorted(_literals(text), key=lambda found: found.start):
        new = replace(str(literal))
        if new is None or new == literal:
            continue
        pieces.append(text[done : literal.start])
        pieces.append(json.dumps(new))
        done = literal.end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
