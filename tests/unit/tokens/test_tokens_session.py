"""Sealed session tokens: round trips, tampering, rings, expiry, rotation and size limits."""

from __future__ import annotations

import base64
import datetime as dt
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.errors import ExpiredToken, PackedPolicyTooLarge, UnrecognizedClient
from elsewhere.tokens import (
    MAX_SESSION_TOKEN_LENGTH,
    KeyRing,
    SessionClaims,
    build_key_ring,
    open_session,
    seal_session,
    validate_packed_policy_size,
)

from .conftest import T0, claims_strategy, make_claims

NONCE = b"\x01" * 12
NOW = T0 + dt.timedelta(minutes=5)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@settings(max_examples=75)
@given(claims=claims_strategy(), nonce=st.binary(min_size=12, max_size=12))
def test_round_trip(claims: SessionClaims, nonce: bytes) -> None:
    """Whatever the claims, opening a sealed token gives them back unchanged."""
    ring = build_key_ring(b"k" * 32, created_at=T0)
    token = seal_session(claims, ring, nonce=nonce)
    assert open_session(token, ring, now=claims.issued_at) == claims


def test_token_is_unpadded_urlsafe_base64(claims: SessionClaims, ring: KeyRing) -> None:
    """Tokens use only the URL-safe base64 alphabet and carry no padding."""
    token = seal_session(claims, ring, nonce=NONCE)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_claims_are_not_readable_in_the_token(ring: KeyRing) -> None:
    """The token is encrypted: no claim appears in its bytes."""
    token = seal_session(make_claims(session_name="very-visible-session"), ring, nonce=NONCE)
    assert b"very-visible" not in _unb64(token)


def test_derived_properties(claims: SessionClaims) -> None:
    """Session ARN omits the role path; assumed role id is ROLE-ID:SESSION (reference §7.3)."""
    assert claims.session_arn == (
        "arn:aws:sts::123456789012:assumed-role/Deploy/0f3c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
    )
    assert claims.assumed_role_id == "AROAEXAMPLEEXAMPLE234:0f3c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
    assert not claims.is_chained
    assert make_claims(chain_depth=1).is_chained
    china = make_claims(role_arn="arn:aws-cn:iam::123456789012:role/R")
    assert china.session_arn.startswith("arn:aws-cn:sts::")


def test_claims_normalise_times_to_utc() -> None:
    """Aware times in any zone are stored as UTC; naive times are refused."""
    plus2 = dt.timezone(dt.timedelta(hours=2))
    claims = make_claims(issued_at=T0.astimezone(plus2))
    assert claims.issued_at.tzinfo is dt.UTC
    assert claims.issued_at == T0
    with pytest.raises(ValueError, match="timezone-aware"):
        make_claims(expires_at=dt.datetime(2026, 1, 1))


def test_any_tampered_byte_is_unrecognized(claims: SessionClaims, ring: KeyRing) -> None:
    """Flipping any bit in any byte of the token gives UnrecognizedClient."""
    data = _unb64(seal_session(claims, ring, nonce=NONCE))
    for index in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[index] ^= bit
            with pytest.raises(UnrecognizedClient):
                open_session(_b64(bytes(tampered)), ring, now=NOW)


def test_truncated_and_extended_tokens_are_unrecognized(
    claims: SessionClaims, ring: KeyRing
) -> None:
    """Cutting bytes off or appending bytes breaks the token."""
    data = _unb64(seal_session(claims, ring, nonce=NONCE))
    for size in range(len(data)):
        with pytest.raises(UnrecognizedClient):
            open_session(_b64(data[:size]), ring, now=NOW)
    with pytest.raises(UnrecognizedClient):
        open_session(_b64(data + b"\x00"), ring, now=NOW)


def test_wrong_ring_is_unrecognized(claims: SessionClaims, ring: KeyRing) -> None:
    """A ring holding a different key under the same id does not open the token."""
    token = seal_session(claims, ring, nonce=NONCE)
    other = build_key_ring(b"x" * 32, created_at=T0)
    with pytest.raises(UnrecognizedClient):
        open_session(token, other, now=NOW)


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("fail/empty", ""),
        ("fail/standard-base64-alphabet", "AQAAAAH+xXai/kDbnQ8K"),
        ("fail/padding", "AQAAAAE="),
        ("fail/space", "AQAA AAE"),
        ("fail/one-char-remainder", "AQAAA"),
        ("fail/non-canonical-trailing-bits", "AB"),
        ("fail/non-ascii", "AQAAAAÉ"),
        ("fail/old-version-1", _b64(b"\x01" + b"\x00\x00\x00\x01" + b"\x00" * 40)),
        ("fail/unknown-version-3", _b64(b"\x03" + b"\x00\x00\x00\x01" + b"\x00" * 40)),
        ("fail/unknown-key-id", _b64(b"\x02" + b"\x00\x00\x00\x09" + b"\x00" * 40)),
        ("fail/forged-with-known-key-id", _b64(b"\x02" + b"\x00\x00\x00\x01" + b"\x00" * 40)),
        ("fail/non-canonical-spare-bits", _b64(b"\x02\x00\x00\x00\x01" + b"\x00" * 41)[:-1] + "B"),
    ],
)
def test_malformed_tokens_are_unrecognized(name: str, token: str, ring: KeyRing) -> None:
    """Malformed tokens are refused without a hint of which check failed."""
    with pytest.raises(UnrecognizedClient) as info:
        open_session(token, ring, now=NOW)
    assert info.value.message == "The security token included in the request is invalid."


@given(st.text(max_size=300))
def test_arbitrary_text_is_unrecognized(token: str) -> None:
    """No string that was not sealed by the ring opens; nothing but UnrecognizedClient escapes."""
    ring = build_key_ring(b"k" * 32, created_at=T0)
    with pytest.raises(UnrecognizedClient):
        open_session(token, ring, now=NOW)


def test_oversized_token_is_refused_before_decoding(ring: KeyRing) -> None:
    """A token above the size limit is refused even if it would otherwise decode."""
    with pytest.raises(UnrecognizedClient) as info:
        open_session("A" * (MAX_SESSION_TOKEN_LENGTH + 1), ring, now=NOW)
    assert "too long" in info.value.reason


def test_expiry_boundary(claims: SessionClaims, ring: KeyRing) -> None:
    """A token is valid strictly before ``expires_at``; at that instant it has expired."""
    token = seal_session(claims, ring, nonce=NONCE)
    tick = dt.timedelta(microseconds=1)
    assert open_session(token, ring, now=claims.expires_at - tick) == claims
    with pytest.raises(ExpiredToken):
        open_session(token, ring, now=claims.expires_at)
    with pytest.raises(ExpiredToken):
        open_session(token, ring, now=claims.expires_at + dt.timedelta(days=400))


def test_forged_expired_token_says_invalid_not_expired(
    claims: SessionClaims, ring: KeyRing
) -> None:
    """Authenticity is checked before expiry, so a forgery never learns it 'expired'."""
    data = bytearray(_unb64(seal_session(claims, ring, nonce=NONCE)))
    data[-1] ^= 1
    with pytest.raises(UnrecognizedClient):
        open_session(_b64(bytes(data)), ring, now=claims.expires_at + dt.timedelta(days=1))


def test_rotation_keeps_live_sessions(claims: SessionClaims, ring: KeyRing) -> None:
    """A token sealed before rotation still opens; new tokens use the new key."""
    old_token = seal_session(claims, ring, nonce=NONCE)
    rotated = ring.rotate(b"n" * 32, created_at=T0)
    assert open_session(old_token, rotated, now=NOW) == claims
    new_token = seal_session(claims, rotated, nonce=NONCE)
    assert _unb64(new_token)[1:5] == (2).to_bytes(4, "big")
    assert _unb64(old_token)[1:5] == (1).to_bytes(4, "big")
    # The old ring never learnt the new key.
    with pytest.raises(UnrecognizedClient):
        open_session(new_token, ring, now=NOW)


def test_retired_key_opens_removed_key_does_not(claims: SessionClaims, ring: KeyRing) -> None:
    """Retiring a key keeps its tokens valid; removing it ends them."""
    token = seal_session(claims, ring, nonce=NONCE)
    grown = ring.add(b"n" * 32, created_at=T0)
    assert open_session(token, grown.retire(1), now=NOW) == claims
    with pytest.raises(UnrecognizedClient):
        open_session(token, grown.remove(1), now=NOW)


def test_same_nonce_twice_is_not_catastrophic(ring: KeyRing) -> None:
    """With a repeated nonce, different claims still give different, independently valid tokens."""
    a = seal_session(make_claims(session_name="a"), ring, nonce=NONCE)
    b = seal_session(make_claims(session_name="b"), ring, nonce=NONCE)
    assert a != b
    assert open_session(a, ring, now=NOW).session_name == "a"
    assert open_session(b, ring, now=NOW).session_name == "b"


def test_nonce_must_be_12_bytes(claims: SessionClaims, ring: KeyRing) -> None:
    """A nonce of the wrong size is a programming error."""
    with pytest.raises(ValueError, match="12 bytes"):
        seal_session(claims, ring, nonce=b"short")


def test_full_packed_session_fits_in_a_token(ring: KeyRing) -> None:
    """A session near 100 % packed size, with long ARNs and DNs, still fits the size limit."""
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

    def word(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    tags: list[tuple[str, str]] = []
    while True:
        candidate = [*tags, (f"k{len(tags)}/{word(20)}", word(60))]
        try:
            validate_packed_policy_size(None, (), candidate)
        except PackedPolicyTooLarge:
            break
        tags = candidate
    claims = make_claims(
        principal_tags=tuple(tags),
        role_arn="arn:aws:iam::123456789012:role/" + word(64),
        role_path="/" + word(500) + "/",
        certificate_subject="CN=" + word(200),
        certificate_issuer="CN=" + word(200),
    )
    token = seal_session(claims, ring, nonce=NONCE)
    assert len(token) <= MAX_SESSION_TOKEN_LENGTH
    assert open_session(token, ring, now=NOW) == claims


def test_oversized_session_cannot_be_sealed(ring: KeyRing) -> None:
    """A session that would not fit in a token is refused at sealing time."""
    noise = base64.b64encode(random.Random(1).randbytes(9000)).decode()
    with pytest.raises(PackedPolicyTooLarge):
        seal_session(make_claims(session_policy=noise), ring, nonce=NONCE)


def _seal_plaintext(ring: KeyRing, plain: bytes) -> str:
    """Seal arbitrary plaintext with ring key 1, as only a holder of the ring key could."""
    header = b"\x02" + (1).to_bytes(4, "big")
    derived = ring.derived(1)
    assert derived is not None
    return _b64(header + NONCE + derived.aead.encrypt(NONCE, plain, header))


_TIMES = ((T0 - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)).to_bytes(
    8, "big", signed=True
) * 2


def test_decompression_bomb_from_a_key_holder_is_refused(ring: KeyRing) -> None:
    """Even an authentic payload that inflates past the plaintext bound is refused."""
    packer = zlib.compressobj(wbits=-15)
    bomb = b"\x00" + _TIMES + b"\x01" + packer.compress(b"\x00" * (1024 * 1024)) + packer.flush()
    token = _seal_plaintext(ring, bomb)
    assert len(token) <= MAX_SESSION_TOKEN_LENGTH
    with pytest.raises(UnrecognizedClient):
        open_session(token, ring, now=NOW)


def test_remembered_token_does_not_vouch_for_its_variants(
    claims: SessionClaims, ring: KeyRing
) -> None:
    """After a token opened (and was remembered by its text), its tampered copies still fail."""
    token = seal_session(claims, ring, nonce=NONCE)
    assert open_session(token, ring, now=NOW) == claims
    assert ring.tokens.get(token) is not None
    raw = bytearray(_unb64(token))
    raw[-1] ^= 0x01
    with pytest.raises(UnrecognizedClient):
        open_session(_b64(bytes(raw)), ring, now=NOW)
    assert open_session(token, ring, now=NOW) == claims


def test_forged_tokens_are_not_remembered(ring: KeyRing) -> None:
    """Only tokens that pass the AEAD check are remembered by their text."""
    forged = _b64(b"\x02" + bytes(60))
    with pytest.raises(UnrecognizedClient):
        open_session(forged, ring, now=NOW)
    assert ring.tokens.get(forged) is None
    assert len(ring.tokens) == 0


def test_remembered_token_still_expires(claims: SessionClaims, ring: KeyRing) -> None:
    """The memo keeps what a token says, not a verdict: expiry is judged on every open."""
    token = seal_session(claims, ring, nonce=NONCE)
    open_session(token, ring, now=claims.issued_at)
    with pytest.raises(ExpiredToken):
        open_session(token, ring, now=claims.expires_at)
