"""Wildcards, policy variables and ARN-segment patterns, compiled once to regular expressions.

Sources: IAM User Guide, "IAM JSON policy elements: Action" and "...: Resource" (``*`` and ``?``),
"IAM policy elements: Variables and tags" (``${key}``, ``${key, 'default'}``, ``${*}``, ``${?}``,
``${$}``), "IAM JSON policy elements: Condition operators" (ARN operators match the six
colon-delimited components separately).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._context import ContextValue

# A token of a pattern: (kind, text, default).
TEXT: Final = 0  # policy text; ``*`` and ``?`` are wildcards
LITERAL: Final = 1  # characters that must match literally (``${*}`` or a substituted value)
VAR: Final = 2  # ``${key}``: text is the lower-cased key, default the quoted default or None
BAD: Final = 3  # ``${...}`` that is not a valid variable: never resolves

Token = tuple[int, str, str | None]

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
# Inside ``${...}``: a key, optionally ", 'default'" (VARS documents ", "; spaces are optional).
_VAR_BODY_RE = re.compile(r"^\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?$")
_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}


def tokenize(text: str, *, variables: bool) -> tuple[Token, ...]:
    """Split ``text`` into wildcard text, literal characters and variables."""
    if not variables or "${" not in text:
        return ((TEXT, text, None),)
    tokens: list[Token] = []
    pos = 0
    for m in _VAR_RE.finditer(text):
        if m.start() > pos:
            tokens.append((TEXT, text[pos : m.start()], None))
        body = m.group(1)
        if body in _ESCAPES:
            tokens.append((LITERAL, _ESCAPES[body], None))
        else:
            vm = _VAR_BODY_RE.match(body)
            if vm is None:
                tokens.append((BAD, body, None))
            else:
                tokens.append((VAR, vm.group(1).lower(), vm.group(2)))
        pos = m.end()
    if pos < len(text):
        tokens.append((TEXT, text[pos:], None))
    return tuple(tokens)


def has_variables(tokens: Sequence[Token]) -> bool:
    """Whether any token needs the request context to resolve."""
    return any(kind in (VAR, BAD) for kind, _, _ in tokens)


def variable_keys(tokens: Sequence[Token]) -> frozenset[str]:
    """The lower-cased context keys ``tokens`` refer to."""
    return frozenset(text for kind, text, _ in tokens if kind == VAR)


def resolve(tokens: Sequence[Token], keys: Mapping[str, ContextValue]) -> tuple[Token, ...] | None:
    """Substitute variables from ``keys``; None when one cannot be resolved.

    A missing key without a default, a multivalued key, or an invalid ``${...}`` makes the
    pattern match nothing (VARS: "any attempt to match it fails").
    """
    out: list[Token] = []
    for kind, text, default in tokens:
        if kind == VAR:
            value = keys.get(text)
            if value is None or not value.values or value.is_list:
                if default is None:
                    return None
                out.append((LITERAL, default, None))
            else:
                out.append((LITERAL, value.values[0], None))
        elif kind == BAD:
            return None
        else:
            out.append((kind, text, default))
    return tuple(out)


def literal_text(tokens: Sequence[Token]) -> str:
    """Concatenate resolved tokens as plain text (for operators without wildcards)."""
    return "".join(text for _, text, _ in tokens)


def is_plain(tokens: Sequence[Token]) -> bool:
    """Whether resolved ``tokens`` contain no wildcard at all."""
    return all(kind == LITERAL or ("*" not in text and "?" not in text) for kind, text, _ in tokens)


class _Star:
    """A ``*`` wildcard while a template is being built; :func:`_atomize` turns it into regex."""

    __slots__ = ("any_run",)

    def __init__(self, any_run: str) -> None:
        self.any_run = any_run  # ".*" or "[^:]*"


def _glob_text(text: str, star: str, one: str) -> list[str | _Star]:
    out: list[str | _Star] = []
    for ch in text:
        if ch == "*":
            out.append(_Star(star))
        elif ch == "?":
            out.append(one)
        else:
            out.append(re.escape(ch))
    return out


# A compiled pattern template: regex source pieces, with variables left as (key, default)
# placeholders to fill per request, and None for an unresolvable ``${...}``.
Piece = str | tuple[str, str | None] | None
Template = tuple[Piece, ...]
_Building = str | tuple[str, str | None] | None | _Star


def _atomize(pieces: list[_Building]) -> list[Piece]:
    """Make wildcard matching linear: no pattern may make the regex engine backtrack for long.

    ``*a*a*a*b`` as ``.*a.*a.*a.*b`` backtracks exponentially on a long run of ``a`` (a request
    value an attacker controls, such as aws:UserAgent). A glob's middle stars only ever need the
    leftmost place where the text after them matches (the classic wildcard-matching argument:
    any later placement leaves a suffix the next star can absorb), so each star but the last
    becomes a lazy run inside an atomic group, ``(?>.*?text)``, which commits to that place.
    The last star stays greedy; the match is anchored at the end, so it backtracks linearly.
    """
    stars = [i for i, p in enumerate(pieces) if isinstance(p, _Star)]
    out: list[Piece] = []
    open_group = False
    for i, p in enumerate(pieces):
        if isinstance(p, _Star):
            if open_group:
                out.append(")")
                open_group = False
            if i == stars[-1]:
                out.append(p.any_run)
            else:
                out.append("(?>" + p.any_run + "?")
                open_group = True
        else:
            out.append(p)
    if open_group:  # pragma: no cover - the last star never opens a group
        out.append(")")
    return out


def _piece(kind: int, text: str, default: str | None) -> Piece:
    if kind == VAR:
        return (text, default)
    if kind == BAD:
        return None
    return re.escape(text)


def string_template(tokens: Sequence[Token]) -> Template:
    """Template for a StringLike / Action pattern: ``*`` any run, ``?`` one character."""
    pieces: list[_Building] = []
    for kind, text, default in tokens:
        if kind == TEXT:
            pieces.extend(_glob_text(text, ".*", "."))
        else:
            pieces.append(_piece(kind, text, default))
    return _merge(_atomize(pieces))


def string_glob_source(tokens: Sequence[Token]) -> str:
    """Regex source for a pattern without variables."""
    src = render(string_template(tokens), {})
    assert src is not None
    return src


@functools.lru_cache(maxsize=4096)
def arn_template(tokens: tuple[Token, ...], *, fold_prefix: bool, pad: bool) -> Template | None:
    """Template for an ARN pattern matched segment by segment; None if it can never match.

    The first five colons of the policy text separate segments; ``*``/``?`` in the first five
    segments stay inside their segment, in the sixth (resource) they match anything
    (Resource page: "*" may expand across "/" within the resource part). With ``fold_prefix`` the
    arn/partition/service/region/account segments ignore case. A pattern with fewer than six
    segments is padded with ``*`` segments when ``pad`` is set or its text ends with ``*``
    (the newer Resource page: a segment-final ``*`` may expand beyond colon boundaries).
    """
    prefix: list[_Building] = []
    resource: list[_Building] = []
    seps = 0
    cur = prefix
    for kind, text, default in tokens:
        if kind != TEXT:
            cur.append(_piece(kind, text, default))
            continue
        for ch in text:
            if seps < 5:
                if ch == ":":
                    seps += 1
                    cur.append(":")
                    if seps == 5:
                        cur = resource
                elif ch == "*":
                    cur.append(_Star("[^:]*"))
                elif ch == "?":
                    cur.append("[^:]")
                else:
                    cur.append(re.escape(ch))
            elif ch == "*":
                cur.append(_Star(".*"))
            elif ch == "?":
                cur.append(".")
            else:
                cur.append(re.escape(ch))
    if seps < 5:
        last = tokens[-1] if tokens else (TEXT, "", None)
        ends_with_star = last[0] == TEXT and last[1].endswith("*")
        if not (pad or ends_with_star):
            return None
        for _ in range(4 - seps):
            prefix.extend([":", _Star("[^:]*")])
        prefix.append(":")
        resource = [_Star(".*")]
    # Each star of the first five segments cannot cross a colon and the text after it reaches
    # the segment's closing colon, so it has one possible place: atomizing the prefix on its own
    # is exact. The resource part is a glob of its own, anchored at the end of the ARN.
    head = _atomize(prefix) if prefix else []
    if fold_prefix:
        head = ["(?i:", *head, ")"]
    return _merge([*head, *_atomize(resource)])


def _merge(pieces: list[Piece]) -> Template:
    # Join adjacent source strings so rendering is one short join.
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + p
        else:
            out.append(p)
    return tuple(out)


def is_static(template: Template) -> bool:
    """Whether ``template`` needs no request values."""
    return all(isinstance(p, str) for p in template)


def render(template: Template, keys: Mapping[str, ContextValue]) -> str | None:
    """Fill a template's variables from ``keys``; None when one cannot be resolved.

    Substituted values match literally. A missing key without a default, a multivalued key, or
    an invalid ``${...}`` makes the pattern match nothing (VARS: "any attempt to match it fails").
    """
    parts: list[str] = []
    for p in template:
        if isinstance(p, str):
            parts.append(p)
        elif p is None:
            return None
        else:
            value = keys.get(p[0])
            if value is None or not value.values or value.is_list:
                if p[1] is None:
                    return None
                parts.append(re.escape(p[1]))
            else:
                parts.append(re.escape(value.values[0]))
    return "".join(parts)


@functools.lru_cache(maxsize=8192)
def compile_source(source: str) -> re.Pattern[str]:
    """Compile a regex source once; patterns resolved from variables repeat across requests."""
    return re.compile(source, re.DOTALL)
