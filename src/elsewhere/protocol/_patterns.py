"""Java-regex text from the service models, compiled for Python's ``re``.

The models' ``pattern`` traits are Java regular expressions matched against the whole value.
Python differs in three ways that matter here (reference aws-protocols.md §3.5): ``\\w``,
``\\d`` and ``\\s`` are Unicode-aware in Python but ASCII-only in Java; ``\\p{L}``-style
classes do not exist in ``re``; and Java's ``.`` also refuses ``\\r``, U+0085, U+2028 and
U+2029. We rewrite those before compiling.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

__all__ = ["compile_java_pattern"]

# Java's predefined classes (java.util.regex.Pattern, "Predefined character classes"): ASCII only.
_ASCII_CLASS = {
    "w": "a-zA-Z0-9_",
    "d": "0-9",
    "s": " \\t\\n\\x0b\\f\\r",
}
# Java's "." excludes every line terminator (Pattern docs, "Line terminators").
_JAVA_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"


@functools.cache
def _all_category_ranges() -> dict[str, str]:
    """Class bodies for every general category (``Lu``) and major class (``L``), from one scan."""
    ranges: dict[str, list[list[int]]] = {}
    category = unicodedata.category
    start = 0
    current = category("\0")
    # Walk runs of equal category, so the per-code-point work is one lookup and one comparison.
    for cp in range(1, sys.maxunicode + 2):
        cat = category(chr(cp)) if cp <= sys.maxunicode else ""
        if cat == current:
            continue
        for name in (current, current[0]):
            spans = ranges.setdefault(name, [])
            if spans and spans[-1][1] == start - 1:
                spans[-1][1] = cp - 1
            else:
                spans.append([start, cp - 1])
        start, current = cp, cat
    return {
        name: "".join(
            f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in spans
        )
        for name, spans in ranges.items()
    }


def _category_ranges(category: str) -> str:
    """Character-class body for a Unicode general category such as ``L`` or ``Nd``."""
    try:
        return _all_category_ranges()[category]
    except KeyError:
        raise ValueError(f"unknown Unicode property: {category!r}") from None


def _translate(pattern: str) -> str:
    """Rewrite the Java-only parts of ``pattern`` into equivalent Python ``re`` syntax."""
    out: list[str] = []
    i = 0
    in_class = False
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt in _ASCII_CLASS:
                body = _ASCII_CLASS[nxt]
                out.append(body if in_class else f"[{body}]")
                i += 2
                continue
            if nxt in "WDS" and not in_class:
                out.append(f"[^{_ASCII_CLASS[nxt.lower()]}]")
                i += 2
                continue
            if nxt in "pP" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.index("}", i + 3)
                name = pattern[i + 3 : end]
                body = _category_ranges(name.removeprefix("Is"))
                if nxt == "P":
                    if in_class:
                        raise ValueError(f"negated property inside a class: {pattern!r}")
                    out.append(f"[^{body}]")
                else:
                    out.append(body if in_class else f"[{body}]")
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A leading "^" and a "]" right after the opening bracket are part of the class.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == ".":
            out.append(_JAVA_DOT)
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.cache
def compile_java_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a model ``pattern`` (Java syntax) for use with ``fullmatch``."""
    return re.compile(_translate(pattern))
