"""The key ring that seals session tokens and derives temporary secrets.

Each ring key is 32 random bytes with a numeric id. Sealing uses the newest *active* key; opening
accepts any key still in the ring, whatever its state, so rotating (add a key, retire the old one)
never breaks sessions that are still alive. Removing a key ends every session sealed with it.

The ring is stored as one opaque blob sealed under a master key from configuration with
AES-256-SIV (RFC 5297), a deterministic AEAD: sealing needs no nonce, so it stays a pure
function, and a repeated seal of the same ring only reveals that the ring did not change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from elsewhere.cache import BoundedCache
from elsewhere.errors import InternalError
from elsewhere.tokens._codec import DecodeError, Reader, Writer

if TYPE_CHECKING:
    from elsewhere.tokens._claims import SessionClaims

__all__ = [
    "KEY_SIZE",
    "MAX_KEY_ID",
    "KeyRing",
    "KeyRingError",
    "KeyState",
    "RingKey",
    "build_key_ring",
    "format_key_ring",
    "open_key_ring",
    "parse_key_ring",
    "seal_key_ring",
]

KEY_SIZE = 32
MAX_KEY_ID = 0xFFFF_FFFF

_RING_MAGIC = b"EWKR"
_RING_FORMAT = 1
_SEALED_MAGIC = b"EWKS"
_SEALED_FORMAT = 1
_MAX_RING_KEYS = 1024

# HKDF "info" labels keep the per-purpose keys independent (RFC 5869 §3.2).
_INFO_AEAD = b"elsewhere/tokens/v1/session-token-aead"
_INFO_SECRET = b"elsewhere/tokens/v1/secret-access-key"
_INFO_MASTER = b"elsewhere/tokens/v1/key-ring-siv"


class KeyRingError(InternalError):
    """The stored key ring does not open (wrong master key, corrupt blob) or is unusable."""


class KeyState(StrEnum):
    """Whether a ring key may seal new tokens (``active``) or only open old ones (``retired``)."""

    ACTIVE = "active"
    RETIRED = "retired"



_STATE_CODES = {KeyState.ACTIVE: 1, KeyState.RETIRED: 2}
_STATES_BY_CODE = {code: state for state, code in _STATE_CODES.items()}


def _hkdf(key: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key of the ring; ``repr`` never shows the key bytes."""

    key_id: int
    key: bytes = field(repr=False)
    created_at: dt.datetime
    state: KeyState = KeyState.ACTIVE

    def __post_init__(self) -> None:
        """Check the id range, key size and the timezone of ``created_at``."""
        if not 0 <= self.key_id <= MAX_KEY_ID:
            raise ValueError("key_id must fit in 32 bits")
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"ring keys are {KEY_SIZE} bytes")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        object.__setattr__(self, "key", bytes(self.key))
        object.__setattr__(self, "created_at", self.created_at.astimezone(dt.UTC))
        object.__setattr__(self, "state", KeyState(self.state))


@dataclass(frozen=True, slots=True)
class _Derived:
    """The per-purpose subkeys of one ring key, and what sealing needs precomputed."""

    key_id: int
    aead: AESGCMSIV
    secret_key: bytes = field(repr=False)
    #: ``key_id`` as the 4 big-endian bytes of a token header.
    id_bytes: bytes = b""
    #: HMAC-SHA-256 under ``secret_key`` with its two key blocks already hashed (RFC 2104 §4):
    #: the inner and outer SHA-256 states, to be copied, never updated in place.
    secret_mac: tuple[hashlib._Hash, hashlib._Hash] | None = field(default=None, repr=False)

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA-256 of ``message`` under ``secret_key``, from the precomputed states.

        Equal to ``hmac.digest(secret_key, message, "sha256")``; copying the two hashed key
        blocks saves the two compressions HMAC spends on the key at every call.
        """
        if self.secret_mac is None:  # pragma: no cover - the ring always precomputes them
            return hmac.digest(self.secret_key, message, "sha256")
        inner_state, outer_state = self.secret_mac
        inner = inner_state.copy()
        inner.update(message)
        outer = outer_state.copy()
        outer.update(inner.digest())
        return outer.digest()


def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """The SHA-256 states after absorbing ``K xor ipad`` and ``K xor opad`` (RFC 2104 §2)."""
    block = key.ljust(64, b"\x00")  # keys of 32 bytes are shorter than the 64-byte block
    return (
        hashlib.sha256(bytes(b ^ 0x36 for b in block)),
        hashlib.sha256(bytes(b ^ 0x5C for b in block)),
    )


# Bounds of the memos of sealed and opened tokens, per ring (KeyRing.packed, .opened, .plains,
# .tokens): entries, and estimated bytes (each entry weighed by tokens._session from the sizes of
# the claims it keeps alive).
_PACKED_LIMIT = 1024
_OPENED_LIMIT = 1024
_PLAINS_LIMIT = 2048
_TOKENS_LIMIT = 2048
_PACKED_BYTES = 8 * 1024 * 1024
_OPENED_BYTES = 8 * 1024 * 1024
_PLAINS_BYTES = 4 * 1024 * 1024
_TOKENS_BYTES = 4 * 1024 * 1024


def _memo(entries: int, weight: int) -> BoundedCache[Any, Any]:
    return BoundedCache(max_entries=entries, max_weight=weight)


@dataclass(frozen=True)
class KeyRing:
    """An immutable set of ring keys; the rotation methods return new rings.

    A ring also carries, for the session token code, its keys' derived subkeys and three
    bounded memos of pure results (:attr:`packed`, :attr:`opened`, :attr:`plains`,
    :attr:`tokens`); none is part of its value (equality, hash, repr), and a new ring starts
    with empty memos.
    """

    keys: tuple[RingKey, ...]
    _derived: dict[int, _Derived] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _packed: BoundedCache[tuple[object, ...], bytes] = field(
        init=False,
        repr=False,
        compare=False,
        default_factory=lambda: _memo(_PACKED_LIMIT, _PACKED_BYTES),
    )
    _opened: BoundedCache[bytes, tuple[object, ...]] = field(
        init=False,
        repr=False,
        compare=False,
        default_factory=lambda: _memo(_OPENED_LIMIT, _OPENED_BYTES),
    )
    _plains: BoundedCache[bytes, tuple[str | None, SessionClaims]] = field(
        init=False,
        repr=False,
        compare=False,
        default_factory=lambda: _memo(_PLAINS_LIMIT, _PLAINS_BYTES),
    )
    _tokens: BoundedCache[str, tuple[str | None, SessionClaims]] = field(
        init=False,
        repr=False,
        compare=False,
        default_factory=lambda: _memo(_TOKENS_LIMIT, _TOKENS_BYTES),
    )

    def __post_init__(self) -> None:
        """Refuse duplicate ids and derive the per-purpose subkeys once."""
        keys = tuple(self.keys)
        object.__setattr__(self, "keys", keys)
        if len(keys) > _MAX_RING_KEYS:
            raise ValueError("too many keys in the ring")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate key id in the ring")
        # Deriving once per ring keeps HKDF off the per-token path.
        for k in keys:
            secret_key = _hkdf(k.key, _INFO_SECRET)
            self._derived[k.key_id] = _Derived(
                key_id=k.key_id,
                id_bytes=k.key_id.to_bytes(4, "big"),
                aead=AESGCMSIV(_hkdf(k.key, _INFO_AEAD)),
                secret_key=secret_key,
                secret_mac=_hmac_states(secret_key),
            )

    @cached_property
    def current(self) -> RingKey:
        """The key that seals new tokens: the newest active one (ties: highest id).

        Computed once per ring (rings are immutable), as every sealed token asks for it.
        """
        active = [k for k in self.keys if k.state is KeyState.ACTIVE]
        if not active:
            raise KeyRingError(reason="the key ring has no active key")
        return max(active, key=lambda k: (k.created_at, k.key_id))

    def get(self, key_id: int) -> RingKey | None:
        """The key with ``key_id``, or None when the ring no longer holds it."""
        for k in self.keys:
            if k.key_id == key_id:
                return k
        return None

    def derived(self, key_id: int) -> _Derived | None:
        """Internal: the derived AEAD and secret-derivation keys of ``key_id``."""
        return self._derived.get(key_id)

    @cached_property
    def sealing(self) -> _Derived:
        """Internal: the derived keys of :attr:`current`, looked up once per ring."""
        return self._derived[self.current.key_id]

    @property
    def packed(self) -> BoundedCache[tuple[object, ...], bytes]:
        """Internal: the packed static section of recently sealed claims, by their static values.

        Packing is a pure function of the values, so :func:`issue_credentials` and
        :func:`seal_session` of a repeated session skip the encoding and compression as
        ``prepare_session`` does. Bounded (:data:`_PACKED_LIMIT` entries, :data:`_PACKED_BYTES`),
        new with every ring.
        """
        return self._packed

    @property
    def opened(self) -> BoundedCache[bytes, tuple[object, ...]]:
        """Internal: decoded static claims of tokens this ring has opened, by their bytes.

        Decoding is a pure function of the authenticated plaintext, so remembering it changes
        no outcome; it spares the inflate and parse for a session's every later call. Bounded
        (:data:`_OPENED_LIMIT` entries, :data:`_OPENED_BYTES`), and new with every ring.
        """
        return self._opened

    @property
    def plains(self) -> BoundedCache[bytes, tuple[str | None, SessionClaims]]:
        """Internal: what whole authenticated plaintexts decoded to, by their bytes.

        A session's every call presents the same token, so after the first open only the
        base64 and the AEAD check are paid again. The same reasoning as :attr:`opened`.
        """
        return self._plains

    @property
    def tokens(self) -> BoundedCache[str, tuple[str | None, SessionClaims]]:
        """Internal: what whole tokens this ring has authenticated decoded to, by their text.

        The AEAD check is a pure function of the token and the ring: a token that passed it
        once passes it again with the same plaintext. So a session's later calls (the
        authorizer sees one per request of the service behind it) skip the base64 and the AEAD
        too. Only tokens that passed are remembered, so a forged one is checked every time.
        Bounded (:data:`_TOKENS_LIMIT` entries, :data:`_TOKENS_BYTES`), and new with every ring.
        """
        return self._tokens

    def add(self, key: bytes, *, created_at: dt.datetime) -> KeyRing:
        """A ring with a new active key (id one above the highest), which seals from now on."""
        next_id = max((k.key_id for k in self.keys), default=0) + 1
        return KeyRing((*self.keys, RingKey(next_id, key, created_at, KeyState.ACTIVE)))

    def rotate(self, key: bytes, *, created_at: dt.datetime) -> KeyRing:
        """Add ``key`` as the new active key and retire every other key (they still open)."""
        retired = tuple(RingKey(k.key_id, k.key, k.created_at, KeyState.RETIRED) for k in self.keys)
        return KeyRing(retired).add(key, created_at=created_at)

    def retire(self, key_id: int) -> KeyRing:
        """A ring where ``key_id`` no longer seals but still opens."""
        self._require(key_id)
        return KeyRing(
            tuple(
                RingKey(k.key_id, k.key, k.created_at, KeyState.RETIRED)
                if k.key_id == key_id
                else k
                for k in self.keys
            )
        )

    def remove(self, key_id: int) -> KeyRing:
        """A ring without ``key_id``: every token sealed with it stops opening."""
        self._require(key_id)
        return KeyRing(tuple(k for k in self.keys if k.key_id != key_id))

    def prune(self, *, created_before: dt.datetime) -> KeyRing:
        """Drop retired keys created before ``created_before`` (older than any live session)."""
        return KeyRing(
            tuple(
                k for k in self.keys if k.state is KeyState.ACTIVE or k.created_at >= created_before
            )
        )

    def _require(self, key_id: int) -> None:
        if self.get(key_id) is None:
            raise KeyError(key_id)


def build_key_ring(key: bytes, *, created_at: dt.datetime) -> KeyRing:
    """A new ring holding one active key (id 1)."""
    return KeyRing((RingKey(1, key, created_at, KeyState.ACTIVE),))


def format_key_ring(ring: KeyRing) -> bytes:
    """The plain binary form of ``ring`` (contains the keys: seal it before storing)."""
    out = Writer()
    out.raw(_RING_MAGIC)
    out.uint(_RING_FORMAT)
    out.uint(len(ring.keys))
    for k in ring.keys:
        out.uint(k.key_id)
        out.when(k.created_at)
        out.uint(_STATE_CODES[k.state])
        out.raw(k.key)
    return out.getvalue()


def parse_key_ring(data: bytes) -> KeyRing:
    """Read a ring written by :func:`format_key_ring`; raises :class:`KeyRingError`."""
    try:
        reader = Reader(data)
        if reader.raw(len(_RING_MAGIC)) != _RING_MAGIC or reader.uint() != _RING_FORMAT:
            raise DecodeError("not a key ring")
        count = reader.uint()
        if count > _MAX_RING_KEYS:
            raise DecodeError("too many keys")
        keys = []
        for _ in range(count):
            key_id = reader.uint()
            created_at = reader.when()
            state = _STATES_BY_CODE.get(reader.uint())
            if state is None:
                raise DecodeError("unknown key state")
            keys.append(RingKey(key_id, reader.raw(KEY_SIZE), created_at, state))
        reader.end()
        return KeyRing(tuple(keys))
    except (DecodeError, ValueError) as exc:
        raise KeyRingError(reason=f"key ring does not parse: {exc}") from exc


def _master_siv(master_key: bytes) -> AESSIV:
    if len(master_key) < KEY_SIZE:
        raise KeyRingError(reason=f"the master key must be at least {KEY_SIZE} bytes")
    # AES-256-SIV takes a 64-byte key (two AES-256 halves, RFC 5297 §2.2).
    return AESSIV(_hkdf(master_key, _INFO_MASTER, 64))


def seal_key_ring(ring: KeyRing, master_key: bytes) -> bytes:
    """``ring`` encrypted and authenticated under ``master_key``, as an opaque blob."""
    header = _SEALED_MAGIC + bytes([_SEALED_FORMAT])
    return header + _master_siv(master_key).encrypt(format_key_ring(ring), [header])


def open_key_ring(blob: bytes, master_key: bytes) -> KeyRing:
    """The ring sealed in ``blob``; raises :class:`KeyRingError` on a wrong key or tampering."""
    header = _SEALED_MAGIC + bytes([_SEALED_FORMAT])
    if not blob.startswith(header):
        raise KeyRingError(reason="not a sealed key ring")
    try:
        plain = _master_siv(master_key).decrypt(blob[len(header) :], [header])
    except InvalidTag as exc:
        raise KeyRingError(reason="the key ring does not open with this master key") from exc
    return parse_key_ring(plain)
