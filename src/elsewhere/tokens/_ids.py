"""AWS-style identifiers: access key ids, unique ids and long-term secret access keys.

Formats follow the IAM "Unique identifiers" page (reference iam-policy-evaluation.md §7.3): a
four-letter prefix names the kind (``AKIA`` long-term access key, ``ASIA`` temporary access key,
``AROA`` role, ...). Access key ids are 20 characters (prefix + 16), as in the documented example
``AKIAIOSFODNN7EXAMPLE``; unique ids are 21 characters (prefix + 17), as in
``AIDAJQABLZS4A3QDU576Q``. We generate the tail from the RFC 4648 base32 alphabet (``A-Z2-7``),
which is what AWS's own ids look like; validation accepts ``A-Z0-9`` because documented AWS
examples (``AKIAI44QH8DHBEXAMPLE``) use digits outside base32.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from enum import StrEnum

from elsewhere.errors import UnrecognizedClient, ValidationError

__all__ = [
    "ACCESS_KEY_ID_LENGTH",
    "SECRET_ACCESS_KEY_LENGTH",
    "UNIQUE_ID_LENGTH",
    "IdPrefix",
    "RandomSource",
    "new_access_key_id",
    "new_secret_access_key",
    "new_unique_id",
    "take_random",
    "validate_access_key_id",
    "validate_secret_access_key",
    "validate_unique_id",
]

#: Randomness as a parameter: either a function returning ``n`` random bytes (``os.urandom``,
#: ``secrets.token_bytes``) or the exact bytes to use.
RandomSource = Callable[[int], bytes] | bytes

ACCESS_KEY_ID_LENGTH = 20
UNIQUE_ID_LENGTH = 21
SECRET_ACCESS_KEY_LENGTH = 40

_UNIQUE_ID_TAIL = UNIQUE_ID_LENGTH - 4
# 30 random bytes are exactly 40 base64 characters, the length of an AWS secret access key.
_SECRET_BYTES = 30

_ACCESS_KEY_RE = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
_UNIQUE_ID_RE = re.compile(r"A[A-Z]{3}[A-Z0-9]{17}")
_SECRET_RE = re.compile(r"[A-Za-z0-9+/]{40}")


class IdPrefix(StrEnum):
    """The documented four-letter prefixes of AWS identifiers (IAM "Unique identifiers")."""

    ACCESS_KEY = "AKIA"
    TEMPORARY_ACCESS_KEY = "ASIA"
    USER = "AIDA"
    ROLE = "AROA"
    GROUP = "AGPA"
    MANAGED_POLICY = "ANPA"
    MANAGED_POLICY_VERSION = "ANVA"
    INSTANCE_PROFILE = "AIPA"
    PUBLIC_KEY = "APKA"
    CERTIFICATE = "ASCA"
    BEARER_TOKEN = "ABIA"  # noqa: S105 - an id prefix, not a secret
    CONTEXT_CREDENTIAL = "ACCA"


_ACCESS_KEY_KINDS = frozenset({IdPrefix.ACCESS_KEY, IdPrefix.TEMPORARY_ACCESS_KEY})


def take_random(random: RandomSource, size: int) -> bytes:
    """Return exactly ``size`` bytes from ``random`` (a callable or the bytes themselves)."""
    data = random(size) if callable(random) else random
    if len(data) != size:
        raise ValueError(f"need exactly {size} random bytes, got {len(data)}")
    return bytes(data)


def _base32_tail(data: bytes, length: int) -> str:
    """The first ``length`` base32 characters of ``data`` (5 bits each, most significant first)."""
    if 5 * length > 8 * len(data):
        raise ValueError("not enough random bytes for the id")
    # RFC 4648 §6 base32 reads the bits most significant first, in this alphabet.
    return base64.b32encode(data)[:length].decode("ascii")


_BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Every pair of base32 characters, indexed by the 10 bits they spell.
_BASE32_PAIRS = tuple(a + b for a in _BASE32_ALPHABET for b in _BASE32_ALPHABET)


def _access_key_tail(data: bytes) -> str:
    """The 16 base32 characters of 10 bytes: the same text as ``_base32_tail(data, 16)``.

    80 bits are exactly 16 characters (RFC 4648 §6, no padding), read here as eight 10-bit
    pairs from a table: this runs on every issued session, and ``base64.b32encode`` is slower.
    """
    n = int.from_bytes(data, "big")
    p = _BASE32_PAIRS
    return (
        p[n >> 70]
        + p[n >> 60 & 0x3FF]
        + p[n >> 50 & 0x3FF]
        + p[n >> 40 & 0x3FF]
        + p[n >> 30 & 0x3FF]
        + p[n >> 20 & 0x3FF]
        + p[n >> 10 & 0x3FF]
        + p[n & 0x3FF]
    )


def new_access_key_id(kind: IdPrefix | str, random: RandomSource) -> str:
    """A new access key id (``AKIA``/``ASIA`` + 16 base32 characters) from 10 random bytes."""
    prefix = kind if type(kind) is IdPrefix else IdPrefix(kind)
    if prefix not in _ACCESS_KEY_KINDS:
        raise ValueError(f"{prefix.value} is not an access key id prefix")
    return prefix.value + _access_key_tail(take_random(random, 10))


def new_unique_id(kind: IdPrefix | str, random: RandomSource) -> str:
    """A new unique id (prefix + 17 base32 characters, 21 in all) from 11 random bytes."""
    prefix = IdPrefix(kind)
    if prefix in _ACCESS_KEY_KINDS:
        raise ValueError("access key ids are made by new_access_key_id")
    return prefix.value + _base32_tail(take_random(random, 11), _UNIQUE_ID_TAIL)


def new_secret_access_key(random: RandomSource) -> str:
    """A new long-term secret access key: 40 base64 characters from 30 random bytes."""
    return base64.b64encode(take_random(random, _SECRET_BYTES)).decode("ascii")


def validate_access_key_id(value: str, *, kind: IdPrefix | str | None = None) -> str:
    """Return ``value`` if it is a well-formed access key id (of ``kind``), else raise.

    Raises :class:`UnrecognizedClient`: a malformed key id on a request is an unknown client.
    """
    if not isinstance(value, str) or _ACCESS_KEY_RE.fullmatch(value) is None:
        raise UnrecognizedClient(reason="malformed access key id")
    if kind is not None:
        # Every session-authenticated call checks its key id: skip the enum lookup when given one.
        prefix = kind.value if type(kind) is IdPrefix else IdPrefix(kind).value
        if not value.startswith(prefix):
            raise UnrecognizedClient(reason=f"access key id is not of kind {prefix}")
    return value


def validate_unique_id(value: str, *, kind: IdPrefix | str | None = None) -> str:
    """Return ``value`` if it is a well-formed unique id (of ``kind``); else ValidationError."""
    if not isinstance(value, str) or _UNIQUE_ID_RE.fullmatch(value) is None:
        raise ValidationError("Invalid unique id.", reason=f"malformed unique id {value!r}")
    if value[:4] in _ACCESS_KEY_KINDS:
        raise ValidationError("Invalid unique id.", reason="an access key id is not a unique id")
    if kind is not None and not value.startswith(IdPrefix(kind).value):
        raise ValidationError("Invalid unique id.", reason=f"unique id is not of kind {kind}")
    return value


def validate_secret_access_key(value: str) -> str:
    """Return ``value`` if it looks like an AWS secret access key (40 base64 characters)."""
    if not isinstance(value, str) or _SECRET_RE.fullmatch(value) is None:
        raise ValidationError("Invalid secret access key.", reason="malformed secret access key")
    return value
