"""Sealed session tokens and the temporary credentials built on them.

A session token is stateless (DESIGN.md "Session tokens are stateless"): every claim the server
needs later is inside it, encrypted and authenticated with a ring key, so any node verifies it
without a database read.

Binary layout, then unpadded URL-safe base64 (RFC 4648 §5)::

    version (1 byte, 0x01) | ring key id (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag

The AEAD is AES-256-GCM-SIV (RFC 8452) under a key derived from the ring key; the version byte
and key id are the associated data, so neither can be swapped. GCM-SIV rather than plain GCM
because the nonce comes from the caller: a repeated nonce reveals only that two plaintexts were
equal instead of the authentication key (RFC 8452 §1). The plaintext is one flag byte (0 raw,
1 raw DEFLATE), then the bound access key id and the claims (``_claims.encode_claims``).

The secret access key is never stored: it is HMAC-SHA-256 over the access key id and a digest of
the token, keyed with a second key derived from the same ring key, truncated to the 30 bytes that
make AWS's 40-character secrets.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from elsewhere.errors import ExpiredToken, PackedPolicyTooLarge, UnrecognizedClient
from elsewhere.tokens._claims import SessionClaims, decode_claims, encode_claims
from elsewhere.tokens._codec import DecodeError, Reader, Writer
from elsewhere.tokens._ids import (
    IdPrefix,
    RandomSource,
    new_access_key_id,
    validate_access_key_id,
)
from elsewhere.tokens._keyring import KeyRing

__all__ = [
    "MAX_SESSION_TOKEN_LENGTH",
    "NONCE_SIZE",
    "TOKEN_VERSION",
    "Credentials",
    "derive_secret_access_key",
    "issue_credentials",
    "open_session",
    "seal_session",
    "verify_credential_pair",
]

TOKEN_VERSION = 1
NONCE_SIZE = 12
#: The longest token accepted, checked before any decoding. 8 KiB keeps a token well inside the
#: usual 16 KiB header budget of HTTP servers while leaving room for a full 100 % packed policy.
MAX_SESSION_TOKEN_LENGTH = 8192
# Bound on the decompressed plaintext, against decompression bombs from a holder of a ring key.
_MAX_PLAINTEXT = 128 * 1024

_HEADER_SIZE = 1 + 4
_TAG_SIZE = 16
_MIN_TOKEN_BYTES = _HEADER_SIZE + NONCE_SIZE + _TAG_SIZE
_FLAG_RAW = 0
_FLAG_DEFLATE = 1
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
_SECRET_LABEL = b"elsewhere/tokens/v1/secret\x00"
_SECRET_BYTES = 30


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials as handed to a client; ``repr`` hides the secret and the token."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: dt.datetime


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded URL-safe base64: one accepted spelling per byte string."""
    if _B64URL_RE.fullmatch(text) is None or len(text) % 4 == 1:
        raise DecodeError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("not base64url") from exc
    if _b64encode(data) != text:
        raise DecodeError("non-canonical base64url")
    return data


def _header(key_id: int) -> bytes:
    return bytes([TOKEN_VERSION]) + key_id.to_bytes(4, "big")


def _pack(access_key_id: str | None, claims: SessionClaims) -> bytes:
    out = Writer()
    out.optional_text(access_key_id)
    body = out.getvalue() + encode_claims(claims)
    # A 4 KiB window and small memLevel: tokens are a few KiB at most, and allocating the default
    # 256 KiB of deflate state would cost more than everything else in sealing put together.
    packer = zlib.compressobj(6, zlib.DEFLATED, -12, 4)
    packed = packer.compress(body) + packer.flush()
    if len(packed) < len(body):
        return bytes([_FLAG_DEFLATE]) + packed
    return bytes([_FLAG_RAW]) + body


def _unpack(plain: bytes) -> tuple[str | None, SessionClaims]:
    if not plain:
        raise DecodeError("empty payload")
    flag, body = plain[0], plain[1:]
    if flag == _FLAG_DEFLATE:
        unpacker = zlib.decompressobj(wbits=-15)
        try:
            body = unpacker.decompress(body, _MAX_PLAINTEXT)
        except zlib.error as exc:
            raise DecodeError("bad deflate stream") from exc
        if not unpacker.eof or unpacker.unconsumed_tail or unpacker.unused_data:
            raise DecodeError("deflate stream too long or truncated")
    elif flag != _FLAG_RAW:
        raise DecodeError("unknown payload flag")
    reader = Reader(body)
    access_key_id = reader.optional_text()
    claims = decode_claims(reader)
    reader.end()
    return access_key_id, claims


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
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce is {NONCE_SIZE} bytes")
    key = ring.current
    derived = ring.derived(key.key_id)
    if derived is None:  # pragma: no cover - the ring derives a subkey for every key it holds
        raise UnrecognizedClient(reason="ring key without derived keys")
    header = _header(key.key_id)
    sealed = derived.aead.encrypt(bytes(nonce), _pack(access_key_id, claims), header)
    token = _b64encode(header + bytes(nonce) + sealed)
    if len(token) > MAX_SESSION_TOKEN_LENGTH:
        raise PackedPolicyTooLarge(
            "The session is too large to fit in a session token.",
            reason=f"session token would be {len(token)} characters",
        )
    return token


def _open(token: str, ring: KeyRing) -> tuple[str | None, SessionClaims]:
    """Authenticate and decode ``token`` without judging its time."""
    if not isinstance(token, str) or not token:
        raise UnrecognizedClient(reason="empty session token")
    # The size check comes before any decoding, so an oversized header costs nothing.
    if len(token) > MAX_SESSION_TOKEN_LENGTH:
        raise UnrecognizedClient(reason=f"session token of {len(token)} characters is too long")
    try:
        data = _b64decode(token)
    except DecodeError as exc:
        raise UnrecognizedClient(reason="session token is not base64url") from exc
    if len(data) < _MIN_TOKEN_BYTES or data[0] != TOKEN_VERSION:
        raise UnrecognizedClient(reason="session token has an unknown version or is truncated")
    header = data[:_HEADER_SIZE]
    key_id = int.from_bytes(data[1:_HEADER_SIZE], "big")
    derived = ring.derived(key_id)
    if derived is None:
        raise UnrecognizedClient(reason=f"session token sealed with unknown ring key {key_id}")
    nonce = data[_HEADER_SIZE : _HEADER_SIZE + NONCE_SIZE]
    try:
        plain = derived.aead.decrypt(nonce, data[_HEADER_SIZE + NONCE_SIZE :], header)
    except InvalidTag as exc:
        raise UnrecognizedClient(reason="session token fails authentication") from exc
    try:
        return _unpack(plain)
    except (DecodeError, ValueError) as exc:
        # Authentic but undecodable: a format we no longer read, or a bug. Still not a client.
        raise UnrecognizedClient(reason=f"authentic session token does not decode: {exc}") from exc


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
        prefix = base64.urlsafe_b64decode(token[:8]) if len(token) >= 8 else b""
    except (binascii.Error, ValueError) as exc:
        raise UnrecognizedClient(reason="session token is not base64url") from exc
    if len(prefix) < _HEADER_SIZE or prefix[0] != TOKEN_VERSION:
        raise UnrecognizedClient(reason="session token has an unknown version or is truncated")
    derived = ring.derived(int.from_bytes(prefix[1:_HEADER_SIZE], "big"))
    if derived is None:
        raise UnrecognizedClient(reason="session token sealed with an unknown ring key")
    return _secret(derived.secret_key, access_key_id, token)


def _secret(secret_key: bytes, access_key_id: str, token: str) -> str:
    message = (
        _SECRET_LABEL
        + access_key_id.encode("utf-8")
        + b"\x00"
        + hashlib.sha256(token.encode("ascii", "replace")).digest()
    )
    mac = hmac.digest(secret_key, message, "sha256")
    return base64.b64encode(mac[:_SECRET_BYTES]).decode("ascii")


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
    access_key_id = new_access_key_id(IdPrefix.TEMPORARY_ACCESS_KEY, access_key_random)
    token = seal_session(claims, ring, nonce=nonce, access_key_id=access_key_id)
    key = ring.derived(ring.current.key_id)
    if key is None:  # pragma: no cover - the ring derives a subkey for every key it holds
        raise UnrecognizedClient(reason="ring key without derived keys")
    return Credentials(
        access_key_id=access_key_id,
        secret_access_key=_secret(key.secret_key, access_key_id, token),
        session_token=token,
        expiration=claims.expires_at,
    )
