"""The canonical request and the string to sign, shared by HMAC and X.509 SigV4.

Sources: AWS General Reference, "Create a canonical request for Signature Version 4"; botocore
``auth.py`` (``SigV4Auth.canonical_request``) and ``utils.py`` (``remove_dot_segments``), whose
behaviour the server must reproduce because botocore is the client most of our callers use.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote_to_bytes

from elsewhere.sigv4._model import CredentialScope, HttpRequest

__all__ = [
    "EMPTY_SHA256",
    "canonical_header_value",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "encode_query_component",
    "hashed_canonical_request",
    "remove_dot_segments",
    "string_to_sign",
]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# RFC 3986 §2.3 unreserved characters; everything else is percent-encoded (uppercase hex).
_UNRESERVED = "-_.~"
# A component already in canonical form: unreserved characters and uppercase %XX escapes, none
# of which stands for an unreserved character (those would be decoded). Most clients send exactly
# this, so the decode/re-encode round trip can be skipped.
_CANONICAL_CHARS = re.compile(r"[A-Za-z0-9\-_.~%]*")
_NOT_CANONICAL_ESCAPE = re.compile(
    r"%(?![0-9A-F]{2})|%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)"
)


_PRESIGN_EXCLUDED = frozenset({"X-Amz-Signature"})


def remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` and collapse empty segments, as botocore does.

    RFC 3986 §5.2.4 plus AWS's rule that consecutive slashes collapse; a trailing slash is kept
    when something is left, and the leading slash is kept if the input had one.
    """
    if not path:
        return ""
    kept: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and kept else ""
    return first + "/".join(kept) + last


def canonical_uri(raw_path: str, *, normalize_path: bool = True) -> str:
    """The canonical URI of a path as received on the wire.

    Non-S3 services percent-encode the *received* (already encoded) path once more, so labels end
    up double-encoded (``a%20b`` -> ``a%2520b``), after dot-segment removal (botocore
    ``SigV4Auth._normalize_url_path``). ``normalize_path=False`` keeps the segments as they are
    (S3 style, as in aws-c-auth's ``normalize: false`` vectors); elsewhere itself never uses it.
    """
    path = raw_path or "/"
    if normalize_path:
        path = remove_dot_segments(path) or "/"
    return quote(path, safe="/~")


def encode_query_component(text: str | bytes) -> str:
    """RFC 3986 percent-encoding of a query key or value (space is ``%20``, never ``+``)."""
    return quote(text, safe=_UNRESERVED)


def _decode_query_component(text: str) -> bytes:
    # Percent-decode without turning '+' into a space: SigV4 clients encode space as %20 and a
    # literal '+' as %2B, so a raw '+' on the wire is a plus (aws-protocols.md §4.2).
    return unquote_to_bytes(text)


def _canonical_component(text: str) -> str:
    if _CANONICAL_CHARS.fullmatch(text) and (
        "%" not in text or _NOT_CANONICAL_ESCAPE.search(text) is None
    ):
        return text
    return encode_query_component(_decode_query_component(text))


def canonical_query_string(raw_query: str, *, exclude: frozenset[str] = frozenset()) -> str:
    """The canonical query string of a raw query.

    Each key and value is percent-decoded and re-encoded with the RFC 3986 unreserved set, the
    pairs are sorted by (key, value) in byte order and joined with ``&``; a key without ``=``
    becomes ``key=``; empty pieces are skipped. Keys in ``exclude`` (decoded form) are dropped,
    e.g. ``X-Amz-Signature`` of a presigned request.
    """
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if exclude and _decode_query_component(key).decode("utf-8", "replace") in exclude:
            continue
        pairs.append((_canonical_component(key), _canonical_component(value)))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


# Below this length splitting is as cheap as proving there is nothing to split.
_LONG_HEADER_VALUE = 64


def canonical_header_value(value: str) -> str:
    """A header value trimmed, with every run of whitespace (folded lines too) made one space."""
    # Long values (session tokens, X.509 chains) are base64 and hold no whitespace at all. For
    # ASCII text the whitespace str.split() knows is exactly these ten characters, and a
    # memchr per character is several times cheaper than splitting kilobytes into one piece.
    if (
        len(value) > _LONG_HEADER_VALUE
        and value.isascii()
        and " " not in value
        and "\t" not in value
        and "\n" not in value
        and "\r" not in value
        and "\x0b" not in value
        and "\x0c" not in value
        and "\x1c" not in value
        and "\x1d" not in value
        and "\x1e" not in value
        and "\x1f" not in value
    ):
        return value
    return " ".join(value.split())


def canonical_headers(request: HttpRequest, signed_headers: tuple[str, ...]) -> str:
    """The canonical header block: one ``name:value\\n`` line per signed header, in the order given.

    Repeated headers are joined with ``,`` in the order received (SigV4 spec; botocore
    ``canonical_headers``).
    """
    index = request._index()
    lines = []
    for name in signed_headers:
        lname = name if name.islower() else name.lower()
        values = index.get(lname)
        if values is None:
            lines.append(f"{lname}:\n")
        elif len(values) == 1:
            lines.append(f"{lname}:{canonical_header_value(values[0])}\n")
        else:
            lines.append(f"{lname}:{','.join(canonical_header_value(v) for v in values)}\n")
    return "".join(lines)


def canonical_request(
    request: HttpRequest,
    signed_headers: tuple[str, ...],
    payload_hash: str,
    *,
    presigned: bool = False,
    normalize_path: bool = True,
    exclude_query: frozenset[str] = frozenset(),
) -> str:
    """The SigV4 canonical request of ``request`` over ``signed_headers`` (order kept as given).

    For a presigned request ``X-Amz-Signature`` is left out of the canonical query string.
    """
    exclude = exclude_query | _PRESIGN_EXCLUDED if presigned else exclude_query
    method = request.method
    raw_path = request.raw_path
    raw_query = request.raw_query
    signed_names = ";".join(signed_headers)
    return "\n".join(
        (
            method if method.isupper() else method.upper(),
            # Most calls (every query-protocol call) go to "/", already canonical.
            "/" if raw_path == "/" else canonical_uri(raw_path, normalize_path=normalize_path),
            canonical_query_string(raw_query, exclude=exclude) if raw_query else "",
            canonical_headers(request, signed_headers),
            signed_names if signed_names.islower() else signed_names.lower(),
            payload_hash,
        )
    )


def hashed_canonical_request(creq: str) -> str:
    """Hex SHA-256 of the canonical request's UTF-8 bytes."""
    return hashlib.sha256(creq.encode("utf-8")).hexdigest()


def string_to_sign(
    algorithm: str, amz_date: str, scope: CredentialScope, canonical_request: str
) -> str:
    """The SigV4 string to sign: algorithm, date, scope and the hashed canonical request."""
    return "\n".join(
        [algorithm, amz_date, scope.format(), hashed_canonical_request(canonical_request)]
    )
