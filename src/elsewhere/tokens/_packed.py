"""STS's ``PackedPolicySize``: how much of the session budget the policies and tags use.

AWS compresses the inline session policy, the managed policy ARNs and the session tags into a
packed binary with its own limit, and reports the share used as a percentage; above 100 % the call
fails with ``PackedPolicyTooLarge`` (reference iam-policy-evaluation.md §7.5). The packing is not
public, so elsewhere uses a documented stand-in:

1. the policy text with JSON whitespace outside strings removed (whitespace never counts toward
   IAM policy sizes, §1.6), each managed policy ARN, and each tag as ``key=value``, in the given
   order, joined by NUL characters and encoded as UTF-8;
2. compressed with raw DEFLATE (RFC 1951) at level 9;
3. ``ceil(100 * compressed_bytes / PACKED_POLICY_BUDGET)`` with a budget of 2,048 bytes; nothing
   at all is 0 %.

A certificate's dozen ``x509*`` tags come to about 10 %, like AWS's documented example response;
a 2,048-character session policy to about 10-40 %, depending on how repetitive it is. Whether a
tag is transitive does not change the size, as in AWS.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from elsewhere.errors import PackedPolicyTooLarge

__all__ = ["PACKED_POLICY_BUDGET", "packed_policy_size", "validate_packed_policy_size"]

PACKED_POLICY_BUDGET = 2048


def _compact_json(text: str) -> str:
    """``text`` without whitespace outside JSON strings (invalid JSON is kept as it is)."""
    out: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char in " \t\r\n":
            continue
        else:
            out.append(char)
            in_string = char == '"'
    return "".join(out)


def packed_policy_size(
    session_policy: str | None,
    managed_policy_arns: Iterable[str],
    tags: Iterable[tuple[str, str]],
) -> int:
    """The packed size of a session's policies and tags, as a percentage of the budget."""
    parts: list[str] = []
    if session_policy:
        parts.append(_compact_json(session_policy))
    parts.extend(managed_policy_arns)
    parts.extend(f"{key}={value}" for key, value in tags)
    if not parts:
        return 0
    data = "\x00".join(parts).encode("utf-8")
    # memLevel 1: the inputs are a few KiB at most, and zlib's default hash table (memLevel 8)
    # costs more to set up than the whole compression of a typical session (~100 µs vs ~20 µs).
    packer = zlib.compressobj(level=9, wbits=-15, memLevel=1)
    size = len(packer.compress(data) + packer.flush())
    return -(-100 * size // PACKED_POLICY_BUDGET)


def validate_packed_policy_size(
    session_policy: str | None,
    managed_policy_arns: Iterable[str],
    tags: Iterable[tuple[str, str]],
) -> int:
    """The packed size if it is at most 100 %, else raise :class:`PackedPolicyTooLarge`."""
    percent = packed_policy_size(session_policy, managed_policy_arns, tags)
    if percent > 100:
        # The message observed from STS (reference §7.5).
        raise PackedPolicyTooLarge(
            f"Packed policy consumes {percent}% of allotted space, please use smaller policy.",
            reason=f"packed size {percent}% over the budget of {PACKED_POLICY_BUDGET} bytes",
        )
    return percent
