"""The bounds of CreateSession's caches and what each entry is reckoned to weigh.

Every cache of the data plane is an ``elsewhere.cache.BoundedCache`` bounded in entries and in
estimated bytes. An entry's weight is an estimate of the memory it keeps alive, from the lengths
of what it holds: measured on CPython 3.11 with cryptography's Rust certificates, a parsed leaf
costs about nine bytes per character of its base64 header plus 2 KiB (its DER, PEM and base64
copies, the parsed certificate and its public key), and a Python string about its length plus
50 bytes. Objects shared with the configuration snapshot (roles, compiled policies) are not
counted; they belong to the snapshot.

Nothing is put in these caches before the request's certificate path has validated (DESIGN.md,
"nothing is cached for a request before its signature has been verified"): an unauthenticated
caller can make the server parse, but not remember.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CACHE_BYTES",
    "MAX_ENTRIES",
    "chain_weight",
    "context_weight",
    "input_weight",
    "leaf_weight",
    "plan_weight",
    "subject_weight",
    "tags_weight",
    "trust_weight",
]

_MIB = 1024 * 1024

#: Entries of each cache.
MAX_ENTRIES = 10_000

#: Estimated bytes each cache may hold.
CACHE_BYTES = {
    "leaves": 24 * _MIB,  # parsed leaf certificates, by X-Amz-X509
    "chains": 8 * _MIB,  # parsed intermediates, by X-Amz-X509-Chain
    "inputs": 4 * _MIB,  # validated query and body
    "subjects": 2 * _MIB,  # subject id and ARN, by subject DN
    "tags": 8 * _MIB,  # principal tags, by certificate and profile
    "plans": 16 * _MIB,  # encoded claims and answer frame, by session plan
    "contexts": 8 * _MIB,  # the trust policy's static context keys
    "trust": 2 * _MIB,  # trust-policy decisions
}

# A parsed certificate: its DER (3/4 of the base64), a PEM copy (4/3 of the DER plus line ends),
# the base64 again, the Rust certificate with its parsed fields and a loaded public key.
_PER_CERT = 2048
_PER_B64_CHAR = 9
# A small Python object (dataclass, tuple, dict entry) and a string beyond its characters.
_OBJECT = 64
_STRING = 56


def _text(parts: Iterable[str | bytes]) -> int:
    return sum(len(part) + _STRING for part in parts)


def leaf_weight(header: str) -> int:
    """A parsed leaf, kept by its ``X-Amz-X509`` value."""
    return _PER_CERT + _PER_B64_CHAR * len(header)


def chain_weight(header: str, certificates: int) -> int:
    """Parsed intermediates, kept by their ``X-Amz-X509-Chain`` value."""
    return _PER_CERT * max(certificates, 1) + _PER_B64_CHAR * len(header)


def input_weight(query: str, body: bytes) -> int:
    """A validated input, kept by its query string and body (which it holds as strings too)."""
    return 8 * _OBJECT + 2 * (len(query) + len(body)) + 6 * _STRING


def subject_weight(subject: str) -> int:
    """A subject's id and ARN, kept by its DN."""
    return 4 * _OBJECT + _text((subject, "x" * 36, "x" * 100))


def tags_weight(tags: Iterable[tuple[str, str]], failed: Iterable[Iterable[str]]) -> int:
    """Mapped principal tags and failures, kept by certificate, profile and version."""
    pairs = [part for pair in tags for part in pair]
    misses = [key for keys in failed for key in keys]
    return 16 * _OBJECT + 2 * _OBJECT * (len(pairs) + len(misses)) + _text((*pairs, *misses))


def plan_weight(head: str, tail: str, packed: int) -> int:
    """A session plan: its answer frame, its claims (about the frame's text again) and their
    packed form."""
    return 24 * _OBJECT + 3 * _text((head, tail)) + packed


def context_weight(values: Iterable[str]) -> int:
    """The static context of a trust evaluation: one wrapped value per key."""
    texts = list(values)
    return 8 * _OBJECT + 5 * _OBJECT * len(texts) + 2 * _text(texts)


def trust_weight(values: Iterable[str]) -> int:
    """A trust decision, kept by policy and the values of the keys it reads."""
    texts = list(values)
    return 6 * _OBJECT + 2 * _OBJECT * len(texts) + _text(texts)
