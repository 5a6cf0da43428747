"""Sealed session tokens and the temporary credentials built on them.

A session token is stateless (DESIGN.md "Session tokens are stateless"): every claim the server
needs later is inside it, encrypted and authenticated with a ring key, so any node verifies it
without a database read.

Binary layout, then unpadded URL-safe base64 (RFC 4648 §5)::

    version (1 byte, 0x02) | ring key id (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag

The AEAD is AES-256-GCM-SIV (RFC 8452) under a key derived from the ring key; the version byte
and key id are the associated data, so neither can be swapped. GCM-SIV rather than plain GCM
because the nonce comes from the caller: a repeated nonce reveals only that two plaintexts were
equal instead of the authentication key (RFC 8452 §1).

The plaintext puts what changes on every issue first, at fixed places, and the rest after it::

    key id length (1 byte: 0 for none, else 1 + the UTF-8 length, below 0x80)
    | bound access key id (UTF-8)
    | issued_at | expires_at (8 bytes each: signed big-endian microseconds since the epoch, UTC)
    | static section: form (1 byte: 0 raw, 1 raw DEFLATE, RFC 1951) | static claims

The static claims (``_claims.encode_static_claims``: everything but the two times) repeat for
every session of a workload, so :func:`prepare_session` encodes and compresses them once and
:func:`issue_prepared_credentials` only writes the 37 bytes in front (an ``ASIA`` id and the
times) and encrypts. The section is DEFLATEd only when that makes it smaller. Version 1 tokens
(claims and times in one compressed body) are no longer read.

The ring remembers, in small bounded memos that live and die with it, results that are pure
functions of their input: the packed static section of claims it sealed (so
:func:`issue_credentials` of a repeated session costs little more than a prepared issue), the
decoded static claims of static sections it opened, and what whole plaintexts decoded to.
Only plaintexts that passed the AEAD check are ever looked up or remembered, so every token is
still base64-checked and authenticated on every open; the memos spare only the re-parsing.

The secret access key is never stored: it is HMAC-SHA-256 over a label, the access key id, a
NUL and the token, keyed with a second key derived from the same ring key, truncated to the 30
bytes that make AWS's 40-character secrets.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hmac
import struct
import zlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from elsewhere.errors import ExpiredToken, PackedPolicyTooLarge, UnrecognizedClient
from elsewhere.tokens._claims import (
    SessionClaims,
    StaticClaims,
    assemble_claims,
    decode_static_claims,
    encode_static_claims,
    static_claims,
)
from elsewhere.tokens._codec import DecodeError, to_micros
from elsewhere.tokens._ids import (
    IdPrefix,
    RandomSource,
    new_access_key_id,
    validate_access_key_id,
)
from elsewhere.tokens._keyring import KeyRing, _Derived

__all__ = [
    "MAX_SESSION_TOKEN_LENGTH",
    "NONCE_SIZE",
    "TOKEN_VERSION",
    "Credentials",
    "PreparedSession",
    "derive_secret_access_key",
    "issue_credentials",
    "issue_prepared_credentials",
    "open_session",
    "prepare_session",
    "seal_session",
    "verify_credential_pair",
]

TOKEN_VERSION = 2
NONCE_SIZE = 12
#: The longest token accepted, checked before any decoding. 8 KiB keeps a token well inside the
#: usual 16 KiB header budget of HTTP servers while leaving room for a full 100 % packed policy.
MAX_SESSION_TOKEN_LENGTH = 8192
# Bound on the inflated static claims, against decompression bombs from a holder of a ring key.
_MAX_PLAINTEXT = 128 * 1024
# Static sections inflating past this are not remembered by the ring (they are rare and large).
_MAX_REMEMBERED = 16 * 1024
# Whole plaintexts longer than this are not remembered (typical sessions are under 1 KiB).
_MAX_REMEMBERED_PLAIN = 2048
# Tokens longer than this are not remembered by their text (typical tokens are under 1 KiB).
_MAX_REMEMBERED_TOKEN = 2048
# What one memo entry costs beyond the bytes it holds: its dict slot, tuples and objects.
_MEMO_ENTRY = 512

_VERSION_BYTE = bytes([TOKEN_VERSION])
_HEADER_SIZE = 1 + 4
_TAG_SIZE = 16
_MIN_TOKEN_BYTES = _HEADER_SIZE + NONCE_SIZE + _TAG_SIZE
_FORM_RAW = 0
_FORM_DEFLATE = 1
# The key id length byte is a single-byte varint, so one spelling per id.
_MAX_KEY_ID_BYTES = 0x7E
_TIMES = struct.Struct(">qq")
_TIMES_SIZE = _TIMES.size
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_SECRET_LABEL = b"elsewhere/tokens/v2/secret\x00"
_SECRET_BYTES = 30

# Base64url (RFC 4648 §5) through binascii's strict standard-alphabet decoder: '-' and '_' are
# mapped to '+' and '/', and a real '+', '/' or '=' in the text to '!', which strict mode refuses.
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"", b"==", b"=")
_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_VALUES = bytes(
    _B64URL_ALPHABET.index(c) if c in _B64URL_ALPHABET else 0 for c in range(256)
)
# Bits of the last character below the last whole byte, by ``len % 4`` (RFC 4648 §3.5: they
# must be zero, so each byte string has exactly one spelling).
_SPARE_BITS = (0, 0, 0x0F, 0x03)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials as handed to a client; ``repr`` hides the secret and the token."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: dt.datetime


def _pack_body(body: bytes) -> bytes:
    """A static section: its form byte, then ``body``, DEFLATEd when that is smaller."""
    # A 4 KiB window and small memLevel: tokens are a few KiB at most, and allocating the default
    # 256 KiB of deflate state would cost more than everything else in sealing put together.
    packer = zlib.compressobj(6, zlib.DEFLATED, -12, 4)
    packed = packer.compress(body) + packer.flush()
    if len(packed) < len(body):
        return bytes([_FORM_DEFLATE]) + packed
    return bytes([_FORM_RAW]) + body


def _pack_static(claims: SessionClaims) -> bytes:
    """The static section of ``claims``."""
    return _pack_body(encode_static_claims(claims))


def _packed_static(claims: SessionClaims, ring: KeyRing) -> bytes:
    """:func:`_pack_static`, remembered by the ring for claims whose static values repeat."""
    key = static_claims(claims)
    memo = ring.packed
    static = memo.get(key)
    if static is None:
        body = encode_static_claims(claims)
        static = _pack_body(body)
        # The memo keeps the claims' values alive: only those of ordinary size are remembered,
        # each weighed by the values (about the encoded body, as Python strings) and the pack.
        if len(body) <= _MAX_REMEMBERED:
            memo.put(key, static, weight=_MEMO_ENTRY + 2 * len(body) + len(static))
    return static


@dataclass(frozen=True, slots=True)
class PreparedSession:
    """Claims with their static section (all but the times) encoded and compressed once.

    Build it with :func:`prepare_session` (or ``PreparedSession(claims)``) and issue any number
    of sessions from it with :func:`issue_prepared_credentials`. The times inside ``claims`` are
    not sealed: every issue passes its own ``issued_at`` and ``expires_at``.
    """

    claims: SessionClaims
    _static: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Encode and compress the static claims."""
        object.__setattr__(self, "_static", _pack_static(self.claims))

    @property
    def static_size(self) -> int:
        """Bytes of the sealed static section (after compression, with its form byte)."""
        return len(self._static)


def prepare_session(claims: SessionClaims) -> PreparedSession:
    """Encode and compress the static part of ``claims`` once, for many issues.

    The result is immutable and may be shared between threads and kept as long as the claims
    hold (same role, session name, tags, policies, certificate). ``claims.issued_at`` and
    ``claims.expires_at`` are ignored when issuing. It does not check the token size: a
    session too large for a token raises :class:`PackedPolicyTooLarge` when issued.
    """
    return PreparedSession(claims)


def _b64decode(text: str) -> bytes:
    """Strict unpadded URL-safe base64: one accepted spelling per byte string."""
    remainder = len(text) % 4
    if remainder == 1:
        raise DecodeError("not base64url")
    try:
        raw = text.encode("ascii")
        data = binascii.a2b_base64(
            raw.translate(_FROM_URLSAFE) + _PADDING[remainder], strict_mode=True
        )
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise DecodeError("not base64url") from exc
    if remainder and _B64URL_VALUES[raw[-1]] & _SPARE_BITS[remainder]:
        raise DecodeError("non-canonical base64url")
    return data


def _micros(when: dt.datetime, name: str) -> int:
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return to_micros(when)


def _key_id_field(access_key_id: str | None) -> bytes:
    if access_key_id is None:
        return b"\x00"
    data = access_key_id.encode("utf-8")
    if len(data) > _MAX_KEY_ID_BYTES:
        raise ValueError(f"an access key id bound to a token is at most {_MAX_KEY_ID_BYTES} bytes")
    return bytes([len(data) + 1]) + data


def _too_large(size: int) -> PackedPolicyTooLarge:
    return PackedPolicyTooLarge(
        "The session is too large to fit in a session token.",
        reason=f"session token would be {size} characters",
    )


def _seal(
    static: bytes,
    key_id_field: bytes,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    ring: KeyRing,
    nonce: bytes,
) -> bytes:
    """The token as ASCII bytes; raises before encrypting if it would be too long."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce is {NONCE_SIZE} bytes")
    plain_size = len(key_id_field) + _TIMES_SIZE + len(static)
    # Unpadded base64 of n bytes is ceil(4n / 3) characters.
    token_size = (4 * (_MIN_TOKEN_BYTES + plain_size) + 2) // 3
    if token_size > MAX_SESSION_TOKEN_LENGTH:
        raise _too_large(token_size)
    times = _TIMES.pack(_micros(issued_at, "issued_at"), _micros(expires_at, "expires_at"))
    derived = ring.sealing
    header = _VERSION_BYTE + derived.id_bytes
    if type(nonce) is not bytes:
        nonce = bytes(nonce)
    sealed = derived.aead.encrypt(nonce, b"".join((key_id_field, times, static)), header)
    return (
        binascii.b2a_base64(b"".join((header, nonce, sealed)), newline=False)
        .translate(_TO_URLSAFE)
        .rstrip(b"=")
    )


def seal_session(
    claims: SessionClaims,
    ring: KeyRing,
    *,
    nonce: bytes,
    access_key_id: str | None = None,
) -> str:
    """Seal ``claims`` (and the access key id they are bound to) with the ring's current key.

    ``nonce`` is 12 fresh random bytes. Raises :class:`PackedPolicyTooLarge` when the token
    would exceed :data:`MAX_SESSION_TOKEN_LENGTH`.
    """
    return _seal(
        _packed_static(claims, ring),
        _key_id_field(access_key_id),
        claims.issued_at,
        claims.expires_at,
        ring,
        nonce,
    ).decode("ascii")


def _unpack_static(static: bytes) -> tuple[StaticClaims, int]:
    """Decode a static section (form byte, then raw or DEFLATEd claims); also its body size."""
    if not static:
        raise DecodeError("missing static claims")
    form = static[0]
    body = static[1:]
    if form == _FORM_DEFLATE:
        unpacker = zlib.decompressobj(wbits=-15)
        try:
            body = unpacker.decompress(body, _MAX_PLAINTEXT)
        except zlib.error as exc:
            raise DecodeError("bad deflate stream") from exc
        if not unpacker.eof or unpacker.unconsumed_tail or unpacker.unused_data:
            raise DecodeError("deflate stream too long or truncated")
    elif form != _FORM_RAW:
        raise DecodeError("unknown static claims form")
    return decode_static_claims(body), len(body)


def _from_micros(micros: int) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError as exc:
        raise DecodeError("datetime out of range") from exc


def _unpack(plain: bytes, ring: KeyRing) -> tuple[str | None, SessionClaims]:
    """Decode an authenticated plaintext; the ring remembers what recent ones decoded to."""
    plains = ring.plains
    known = plains.get(plain)
    if known is not None:
        return known
    size = len(plain)
    if not size:
        raise DecodeError("empty payload")
    length = plain[0]
    if length == 0:
        access_key_id = None
    elif length <= _MAX_KEY_ID_BYTES + 1 and length <= size:
        try:
            access_key_id = plain[1:length].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("invalid UTF-8") from exc
    else:
        raise DecodeError("bad or truncated access key id")
    start = max(length, 1)
    if size < start + _TIMES_SIZE:
        raise DecodeError("truncated times")
    issued, expires = _TIMES.unpack_from(plain, start)
    static = plain[start + _TIMES_SIZE :]
    opened = ring.opened
    values = opened.get(static)
    remember = True
    if values is None:
        values, body_size = _unpack_static(static)
        remember = body_size <= _MAX_REMEMBERED
        if remember:
            opened.put(static, values, weight=_MEMO_ENTRY + len(static) + 2 * body_size)
    result = access_key_id, assemble_claims(values, _from_micros(issued), _from_micros(expires))
    if remember and size <= _MAX_REMEMBERED_PLAIN:
        # The claims share the decoded values with ``opened``; the rest is the key and the
        # claims object with its derived names.
        plains.put(plain, result, weight=2 * _MEMO_ENTRY + size)
    return result


def _open(token: str, ring: KeyRing) -> tuple[str | None, SessionClaims]:
    """Authenticate and decode ``token`` without judging its time."""
    if not isinstance(token, str) or not token:
        raise UnrecognizedClient(reason="empty session token")
    # The size check comes before any decoding, so an oversized header costs nothing.
    if len(token) > MAX_SESSION_TOKEN_LENGTH:
        raise UnrecognizedClient(reason=f"session token of {len(token)} characters is too long")
    tokens = ring.tokens
    known = tokens.get(token)
    if known is not None:
        return known
    try:
        data = _b64decode(token)
    except DecodeError as exc:
        raise UnrecognizedClient(reason="session token is not base64url") from exc
    if len(data) < _MIN_TOKEN_BYTES or data[0] != TOKEN_VERSION:
        raise UnrecognizedClient(reason="session token has an unknown version or is truncated")
    key_id = int.from_bytes(data[1:_HEADER_SIZE], "big")
    derived = ring.derived(key_id)
    if derived is None:
        raise UnrecognizedClient(reason=f"session token sealed with unknown ring key {key_id}")
    try:
        plain = derived.aead.decrypt(
            data[_HEADER_SIZE : _HEADER_SIZE + NONCE_SIZE],
            data[_HEADER_SIZE + NONCE_SIZE :],
            data[:_HEADER_SIZE],
        )
    except InvalidTag as exc:
        raise UnrecognizedClient(reason="session token fails authentication") from exc
    try:
        result = _unpack(plain, ring)
    except (DecodeError, ValueError) as exc:
        # Authentic but undecodable: a format we no longer read, or a bug. Still not a client.
        raise UnrecognizedClient(reason=f"authentic session token does not decode: {exc}") from exc
    if len(token) <= _MAX_REMEMBERED_TOKEN:
        # The claims are shared with ``plains``; the token text is this entry's own.
        tokens.put(token, result, weight=_MEMO_ENTRY + len(token))
    return result


def _check_time(claims: SessionClaims, now: dt.datetime) -> SessionClaims:
    # Valid strictly before the expiration instant; at ``expires_at`` the token is expired.
    if now >= claims.expires_at:
        raise ExpiredToken(reason=f"session expired at {claims.expires_at.isoformat()}")
    return claims


def open_session(token: str, ring: KeyRing, *, now: dt.datetime) -> SessionClaims:
    """The claims sealed in ``token``.

    Raises :class:`UnrecognizedClient` for anything forged, tampered, truncated, too long or
    sealed with a key the ring no longer holds, and :class:`ExpiredToken` once ``now`` reaches
    ``expires_at``. Authenticity is checked before expiry, so only genuine tokens say "expired".
    """
    _, claims = _open(token, ring)
    return _check_time(claims, now)


def verify_credential_pair(
    access_key_id: str, token: str, ring: KeyRing, *, now: dt.datetime
) -> SessionClaims:
    """The claims of ``token`` if ``access_key_id`` is the one it was issued with, else raise.

    Pairing one session's access key id with another session's token fails with
    :class:`UnrecognizedClient`; an expired pair raises :class:`ExpiredToken`.
    """
    validate_access_key_id(access_key_id, kind=IdPrefix.TEMPORARY_ACCESS_KEY)
    bound, claims = _open(token, ring)
    if bound is None or not hmac.compare_digest(bound.encode(), access_key_id.encode()):
        raise UnrecognizedClient(reason="access key id is not the one bound to the token")
    return _check_time(claims, now)


def derive_secret_access_key(access_key_id: str, token: str, ring: KeyRing) -> str:
    """The secret access key of the pair, recomputed from the ring (nothing stored per session).

    This does not authenticate the token; call :func:`verify_credential_pair` as well. For a
    forged token the result is a value nobody without the ring key can know, so the request's
    signature check fails. Raises :class:`UnrecognizedClient` for a malformed token or unknown key.
    """
    if not isinstance(token, str) or len(token) > MAX_SESSION_TOKEN_LENGTH:
        raise UnrecognizedClient(reason="session token missing or too long")
    try:
        # The first 8 characters decode to 6 bytes, which cover the 5-byte header.
        prefix = _b64decode(token[:8]) if len(token) >= 8 else b""
    except DecodeError as exc:
        raise UnrecognizedClient(reason="session token is not base64url") from exc
    if len(prefix) < _HEADER_SIZE or prefix[0] != TOKEN_VERSION:
        raise UnrecognizedClient(reason="session token has an unknown version or is truncated")
    derived = ring.derived(int.from_bytes(prefix[1:_HEADER_SIZE], "big"))
    if derived is None:
        raise UnrecognizedClient(reason="session token sealed with an unknown ring key")
    return _secret(derived, access_key_id.encode("utf-8"), token.encode("ascii", "replace"))


def _secret(derived: _Derived, access_key_id: bytes, token: bytes) -> str:
    # Access key ids that pass verify_credential_pair hold no NUL and tokens are base64url, so
    # label | id | NUL | token splits one way only.
    mac = derived.mac(b"".join((_SECRET_LABEL, access_key_id, b"\x00", token)))
    return binascii.b2a_base64(mac[:_SECRET_BYTES], newline=False).decode("ascii")


def _issue(
    static: bytes,
    ring: KeyRing,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    access_key_random: RandomSource,
    nonce: bytes,
) -> Credentials:
    access_key_id = new_access_key_id(IdPrefix.TEMPORARY_ACCESS_KEY, access_key_random)
    key_id_bytes = access_key_id.encode("ascii")
    token = _seal(
        static, bytes([len(key_id_bytes) + 1]) + key_id_bytes, issued_at, expires_at, ring, nonce
    )
    if expires_at.tzinfo is not _UTC:
        expires_at = expires_at.astimezone(_UTC)
    return Credentials(
        access_key_id=access_key_id,
        secret_access_key=_secret(ring.sealing, key_id_bytes, token),
        session_token=token.decode("ascii"),
        expiration=expires_at,
    )


def issue_prepared_credentials(
    prepared: PreparedSession,
    ring: KeyRing,
    *,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    access_key_random: RandomSource,
    nonce: bytes,
) -> Credentials:
    """New temporary credentials for ``prepared`` claims issued at ``issued_at``.

    The same result as :func:`issue_credentials` for ``prepared.claims`` with these times and
    randomness, without encoding or compressing the claims again. ``issued_at`` and
    ``expires_at`` are timezone-aware; the token carries them in UTC. Raises
    :class:`PackedPolicyTooLarge` when the token would exceed :data:`MAX_SESSION_TOKEN_LENGTH`.
    """
    return _issue(prepared._static, ring, issued_at, expires_at, access_key_random, nonce)


def issue_credentials(
    claims: SessionClaims,
    ring: KeyRing,
    *,
    access_key_random: RandomSource,
    nonce: bytes,
) -> Credentials:
    """New temporary credentials for ``claims``: an ``ASIA`` key id bound into a sealed token,
    the secret derived from both, and the claims' expiry.
    """
    return _issue(
        _packed_static(claims, ring),
        ring,
        claims.issued_at,
        claims.expires_at,
        access_key_random,
        nonce,
    )
