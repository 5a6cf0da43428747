"""Prepared sessions: the static claims packed once, issued many times, opened as before."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hmac
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.errors import ExpiredToken, PackedPolicyTooLarge, UnrecognizedClient
from elsewhere.tokens import (
    MAX_SESSION_TOKEN_LENGTH,
    KeyRing,
    PreparedSession,
    SessionClaims,
    _keyring,
    build_key_ring,
    derive_secret_access_key,
    issue_credentials,
    issue_prepared_credentials,
    open_session,
    prepare_session,
    seal_session,
    verify_credential_pair,
)
from elsewhere.tokens._claims import (
    STATIC_FIELDS,
    assemble_claims,
    decode_static_claims,
    encode_static_claims,
    static_claims,
)
from elsewhere.tokens._codec import DecodeError
from elsewhere.tokens._ids import _access_key_tail, _base32_tail
from elsewhere.tokens._session import _b64decode

from .conftest import T0, claims_strategy, make_claims

NONCE = b"\x07" * 12
AKR = b"\x5a" * 10
LATER = T0 + dt.timedelta(days=3)
LATER_END = LATER + dt.timedelta(hours=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _micros(when: dt.datetime) -> bytes:
    micros = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return micros.to_bytes(8, "big", signed=True)


def _seal_plaintext(ring: KeyRing, plain: bytes) -> str:
    """Seal arbitrary plaintext with ring key 1, as only a holder of the ring key could."""
    header = b"\x02" + (1).to_bytes(4, "big")
    derived = ring.derived(1)
    assert derived is not None
    return _b64(header + NONCE + derived.aead.encrypt(NONCE, plain, header))


def _issue(prepared: PreparedSession, ring: KeyRing, seed: int = 1) -> tuple[str, str, str]:
    creds = issue_prepared_credentials(
        prepared,
        ring,
        issued_at=LATER,
        expires_at=LATER_END,
        access_key_random=bytes([seed]) * 10,
        nonce=bytes([seed]) * 12,
    )
    return creds.access_key_id, creds.secret_access_key, creds.session_token


@settings(max_examples=60)
@given(
    claims=claims_strategy(),
    akr=st.binary(min_size=10, max_size=10),
    nonce=st.binary(min_size=12, max_size=12),
)
def test_prepared_and_unprepared_issue_the_same_credentials(
    claims: SessionClaims, akr: bytes, nonce: bytes
) -> None:
    """For any claims and randomness, both paths give identical credentials and claims back."""
    ring = build_key_ring(b"k" * 32, created_at=T0)
    plain = issue_credentials(claims, ring, access_key_random=akr, nonce=nonce)
    prepared = issue_prepared_credentials(
        prepare_session(claims),
        ring,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
        access_key_random=akr,
        nonce=nonce,
    )
    assert prepared == plain
    opened = verify_credential_pair(
        prepared.access_key_id, prepared.session_token, ring, now=claims.issued_at
    )
    assert opened == claims
    # A second open is answered from the ring's memo of static sections: still equal.
    assert open_session(prepared.session_token, ring, now=claims.issued_at) == claims
    secret = derive_secret_access_key(prepared.access_key_id, prepared.session_token, ring)
    assert secret == prepared.secret_access_key


def test_prepared_times_are_those_of_the_issue(ring: KeyRing) -> None:
    """The times inside the prepared claims are ignored; each issue seals its own."""
    claims = make_claims()
    key_id, _, token = _issue(prepare_session(claims), ring)
    opened = verify_credential_pair(key_id, token, ring, now=LATER)
    assert opened == dataclasses.replace(claims, issued_at=LATER, expires_at=LATER_END)


def test_issue_normalises_times_to_utc(ring: KeyRing) -> None:
    """Aware times in another zone are sealed and returned in UTC; naive times are refused."""
    plus2 = dt.timezone(dt.timedelta(hours=2))
    prepared = prepare_session(make_claims())
    creds = issue_prepared_credentials(
        prepared,
        ring,
        issued_at=LATER.astimezone(plus2),
        expires_at=LATER_END.astimezone(plus2),
        access_key_random=AKR,
        nonce=NONCE,
    )
    assert creds.expiration == LATER_END
    assert creds.expiration.tzinfo is dt.UTC
    opened = open_session(creds.session_token, ring, now=LATER)
    assert opened.issued_at.tzinfo is dt.UTC
    assert opened.expires_at == LATER_END
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_prepared_credentials(
            prepared,
            ring,
            issued_at=dt.datetime(2026, 1, 1),
            expires_at=LATER_END,
            access_key_random=AKR,
            nonce=NONCE,
        )


def test_one_prepared_session_issues_distinct_credentials(ring: KeyRing) -> None:
    """Issues from one prepared session differ in key id, secret and token, and do not pair."""
    prepared = prepare_session(make_claims())
    a = _issue(prepared, ring, 1)
    b = _issue(prepared, ring, 2)
    assert len({a[0], b[0]}) == len({a[1], b[1]}) == len({a[2], b[2]}) == 2
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(a[0], b[2], ring, now=LATER)


def test_prepared_session_value_semantics() -> None:
    """A prepared session is immutable, equal by its claims and hides the packed bytes."""
    claims = make_claims()
    prepared = prepare_session(claims)
    assert prepared == PreparedSession(claims)
    assert prepared.claims is claims
    assert "_static" not in repr(prepared)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prepared.claims = claims  # type: ignore[misc]


def test_static_section_is_deflated_only_when_smaller() -> None:
    """Repetitive claims are stored DEFLATEd; tiny ones stay raw (form byte 1 or 0)."""
    big = prepare_session(make_claims(session_policy='{"Statement": []}' * 20))
    # Random printable ASCII with no repeats to find: DEFLATE cannot code it in fewer bytes.
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(0x21, 0x7F)]
    words = iter("".join(rng.choice(alphabet) for _ in range(8)) for _ in range(20))
    tiny = prepare_session(
        SessionClaims(
            **{name: next(words) for name in ("account", "role_arn", "role_id", "role_name")},
            role_path=next(words),
            session_name=next(words),
            issued_at=T0,
            expires_at=T0,
            source=next(words),
            source_identity=next(words),
            principal_tags=((next(words), next(words)),),
            transitive_tag_keys=(next(words),),
            session_policy=next(words),
            managed_policy_arns=(next(words),),
            chain_depth=5,
            certificate_serial=next(words),
            certificate_subject=next(words),
            certificate_issuer=next(words),
        )
    )
    assert big.static_size < len(encode_static_claims(big.claims))
    assert tiny.static_size == len(encode_static_claims(tiny.claims)) + 1
    ring = build_key_ring(b"k" * 32, created_at=T0)
    for prepared in (big, tiny):
        key_id, _, token = _issue(prepared, ring)
        opened = verify_credential_pair(key_id, token, ring, now=LATER)
        assert opened == dataclasses.replace(prepared.claims, issued_at=LATER, expires_at=LATER_END)


def test_token_length_is_predicted_exactly(ring: KeyRing) -> None:
    """The size checked before sealing is the length of the token that comes out."""
    for size in range(0, 300, 7):
        prepared = prepare_session(make_claims(session_policy="x" * size))
        token = _issue(prepared, ring)[2]
        sealed_bytes = 5 + 12 + 16 + 1 + 20 + 16 + prepared.static_size
        assert len(token) == (4 * sealed_bytes + 2) // 3


def test_size_limit_holds_on_the_prepared_path(ring: KeyRing) -> None:
    """Near the limit every issued token fits, the largest is within a byte of it, others fail."""
    rng = random.Random(3)
    noise = base64.b64encode(rng.randbytes(9000)).decode()
    # Find a policy length close to the limit cheaply, then scan every length after it.
    issued: list[int] = []
    refused: list[int] = []
    for length in range(4000, 12000, 100):
        try:
            _issue(prepare_session(make_claims(session_policy=noise[:length])), ring)
            issued.append(length)
        except PackedPolicyTooLarge:
            refused.append(length)
    assert issued
    assert refused
    best = 0
    for length in range(max(issued), max(issued) + 100):
        prepared = prepare_session(make_claims(session_policy=noise[:length]))
        try:
            token = _issue(prepared, ring)[2]
        except PackedPolicyTooLarge:
            continue
        assert len(token) <= MAX_SESSION_TOKEN_LENGTH
        best = max(best, len(token))
    assert best >= MAX_SESSION_TOKEN_LENGTH - 3


def test_oversized_prepared_session_is_refused_at_issue(ring: KeyRing) -> None:
    """Preparing never raises for size; issuing an oversized session raises before sealing."""
    noise = base64.b64encode(random.Random(1).randbytes(9000)).decode()
    prepared = prepare_session(make_claims(session_policy=noise))
    with pytest.raises(PackedPolicyTooLarge):
        _issue(prepared, ring)


def test_any_bit_flip_of_a_prepared_token_is_unrecognized(ring: KeyRing) -> None:
    """Flipping any bit of a prepared token fails the pair check and the open."""
    key_id, _, token = _issue(prepare_session(make_claims()), ring)
    data = _unb64(token)
    for index in range(len(data)):
        for bit in (0x01, 0x10, 0x80):
            tampered = bytearray(data)
            tampered[index] ^= bit
            with pytest.raises(UnrecognizedClient):
                verify_credential_pair(key_id, _b64(bytes(tampered)), ring, now=LATER)


def test_truncated_or_extended_prepared_tokens_are_unrecognized(ring: KeyRing) -> None:
    """Every prefix of a prepared token, and the token with a byte added, is refused."""
    key_id, _, token = _issue(prepare_session(make_claims()), ring)
    data = _unb64(token)
    for size in range(len(data)):
        with pytest.raises(UnrecognizedClient):
            verify_credential_pair(key_id, _b64(data[:size]), ring, now=LATER)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(key_id, _b64(data + b"\x00"), ring, now=LATER)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(key_id, token[:-1], ring, now=LATER)


def test_prepared_expiry_boundary(ring: KeyRing) -> None:
    """A prepared token is valid strictly before its issue's expires_at."""
    key_id, _, token = _issue(prepare_session(make_claims()), ring)
    tick = dt.timedelta(microseconds=1)
    assert verify_credential_pair(key_id, token, ring, now=LATER_END - tick)
    with pytest.raises(ExpiredToken):
        verify_credential_pair(key_id, token, ring, now=LATER_END)
    with pytest.raises(ExpiredToken):
        open_session(token, ring, now=LATER_END + dt.timedelta(days=1))


def test_rotation_with_a_prepared_session(ring: KeyRing) -> None:
    """A prepared session does not depend on the ring: after rotation it seals with the new key,
    and tokens from the old key still open and still derive their secret."""
    prepared = prepare_session(make_claims())
    old_id, old_secret, old_token = _issue(prepared, ring, 1)
    rotated = ring.rotate(b"n" * 32, created_at=T0)
    new_id, _, new_token = _issue(prepared, rotated, 2)
    assert _unb64(old_token)[1:5] == (1).to_bytes(4, "big")
    assert _unb64(new_token)[1:5] == (2).to_bytes(4, "big")
    assert verify_credential_pair(old_id, old_token, rotated, now=LATER)
    assert derive_secret_access_key(old_id, old_token, rotated) == old_secret
    assert verify_credential_pair(new_id, new_token, rotated, now=LATER)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(new_id, new_token, ring, now=LATER)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(old_id, old_token, rotated.remove(1), now=LATER)


def test_opened_static_sections_are_remembered_per_ring(ring: KeyRing) -> None:
    """Tokens of one prepared session share one memo entry; a new ring starts empty."""
    prepared = prepare_session(make_claims())
    tokens = [_issue(prepared, ring, seed)[2] for seed in (1, 2, 3)]
    assert len(ring.opened) == 0
    for token in tokens:
        open_session(token, ring, now=LATER)
    assert len(ring.opened) == 1
    other = prepare_session(make_claims(session_name="other"))
    open_session(_issue(other, ring)[2], ring, now=LATER)
    assert len(ring.opened) == 2
    assert len(ring.rotate(b"n" * 32, created_at=T0).opened) == 0


def test_unprepared_issues_remember_the_packed_static_section(ring: KeyRing) -> None:
    """issue_credentials packs a repeated session once: later times reuse it, a change does not."""
    first = make_claims()
    again = make_claims(issued_at=LATER, expires_at=LATER_END)
    a = issue_credentials(first, ring, access_key_random=AKR, nonce=NONCE)
    assert len(ring.packed) == 1
    b = issue_credentials(again, ring, access_key_random=AKR, nonce=NONCE)
    assert len(ring.packed) == 1
    # The remembered section is the one prepare_session packs: the tokens are identical.
    c = issue_prepared_credentials(
        prepare_session(first),
        build_key_ring(bytes(range(32)), created_at=T0 - dt.timedelta(days=1)),
        issued_at=LATER,
        expires_at=LATER_END,
        access_key_random=AKR,
        nonce=NONCE,
    )
    assert b == c
    assert open_session(a.session_token, ring, now=T0) == first
    assert open_session(b.session_token, ring, now=LATER) == again
    seal_session(make_claims(principal_tags=(("k", "v"),)), ring, nonce=NONCE)
    assert len(ring.packed) == 2
    seal_session(make_claims(session_policy="a" * 40_000), ring, nonce=NONCE)
    assert len(ring.packed) == 2


def test_opened_tokens_are_remembered_whole(ring: KeyRing) -> None:
    """A token opened again is answered from the ring's memo, with the same claims and checks."""
    key_id, _, token = _issue(prepare_session(make_claims()), ring)
    first = verify_credential_pair(key_id, token, ring, now=LATER)
    assert len(ring.plains) == 1
    assert verify_credential_pair(key_id, token, ring, now=LATER) == first
    assert len(ring.plains) == 1
    # The memo never bypasses the pair, expiry or authentication checks.
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair("ASIA" + "A" * 16, token, ring, now=LATER)
    with pytest.raises(ExpiredToken):
        verify_credential_pair(key_id, token, ring, now=LATER_END)
    data = bytearray(_unb64(token))
    data[-1] ^= 1
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(key_id, _b64(bytes(data)), ring, now=LATER)
    assert len(ring.plains) == 1


def test_huge_static_sections_are_not_remembered(ring: KeyRing) -> None:
    """A static section inflating past the memo bound opens but is not kept."""
    prepared = prepare_session(make_claims(session_policy="a" * 40_000))
    token = _issue(prepared, ring)[2]
    assert open_session(token, ring, now=LATER).session_policy == "a" * 40_000
    assert len(ring.opened) == 0
    assert len(ring.plains) == 0


def test_memos_are_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ring's memos of opened tokens stay within their byte bounds, whatever tokens come."""
    monkeypatch.setattr(_keyring, "_OPENED_BYTES", 40_000)
    monkeypatch.setattr(_keyring, "_PLAINS_BYTES", 20_000)
    ring = build_key_ring(b"k" * 32, created_at=T0)
    tokens = []
    for index in range(40):
        # Distinct session names and a large session tag: each token's claims are their own.
        claims = make_claims(
            session_name=f"s{index}", principal_tags=(("blob", f"{index}-" + "x" * 200),)
        )
        tokens.append(_issue(prepare_session(claims), ring)[2])
    for token in tokens:
        open_session(token, ring, now=LATER)
    for memo in (ring.opened, ring.plains):
        assert memo.max_weight is not None
        assert 0 < memo.weight <= memo.max_weight
        assert 0 < len(memo) < len(tokens)
    # What was forgotten still opens, from scratch.
    assert open_session(tokens[0], ring, now=LATER).session_name == "s0"


def _static(claims: SessionClaims | None = None) -> bytes:
    return b"\x00" + encode_static_claims(claims or make_claims())


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("fail/empty", b""),
        ("fail/no-times", b"\x00"),
        ("fail/short-times", b"\x00" + _micros(T0) + b"\x00" * 7),
        ("fail/no-static", b"\x00" + _micros(T0) * 2),
        ("fail/key-id-past-end", b"\x30ASIA"),
        ("fail/key-id-length-not-one-byte", b"\x80\x01" + b"A" * 200),
        ("fail/key-id-bad-utf8", b"\x03\xc3\x28" + _micros(T0) * 2 + _static()),
        ("fail/unknown-form", b"\x00" + _micros(T0) * 2 + b"\x02" + _static()[1:]),
        ("fail/trailing-byte", b"\x00" + _micros(T0) * 2 + _static() + b"\x00"),
        ("fail/truncated-static", b"\x00" + _micros(T0) * 2 + _static()[:-1]),
        ("fail/old-claims-format", b"\x00" + _micros(T0) * 2 + b"\x00\x01" + _static()[2:]),
        ("fail/bad-deflate", b"\x00" + _micros(T0) * 2 + b"\x01\xff\xff\xff"),
        ("fail/time-out-of-range", b"\x00" + b"\x7f" + b"\xff" * 7 + _micros(T0) + _static()),
    ],
)
def test_authentic_but_malformed_plaintexts_are_unrecognized(
    name: str, plain: bytes, ring: KeyRing
) -> None:
    """A ring-key holder's malformed payloads are refused like forgeries, never half-read."""
    with pytest.raises(UnrecognizedClient) as info:
        open_session(_seal_plaintext(ring, plain), ring, now=T0)
    assert "does not decode" in info.value.reason


def test_deflate_with_trailing_garbage_is_unrecognized(ring: KeyRing) -> None:
    """Bytes after the end of the DEFLATE stream are refused."""
    packer = zlib.compressobj(wbits=-15)
    body = packer.compress(encode_static_claims(make_claims())) + packer.flush()
    for tail in (b"", b"\x00"):
        times = _micros(T0) + _micros(LATER_END)
        token = _seal_plaintext(ring, b"\x00" + times + b"\x01" + body + tail)
        if tail:
            with pytest.raises(UnrecognizedClient):
                open_session(token, ring, now=T0)
        else:
            assert open_session(token, ring, now=T0).session_name == make_claims().session_name


def test_handmade_plaintext_matches_the_documented_layout(ring: KeyRing) -> None:
    """A plaintext laid out as the module docstring says opens to the expected claims."""
    claims = make_claims()
    key_id = b"ASIAEXAMPLEEXAMPLE23"
    plain = bytes([len(key_id) + 1]) + key_id + _micros(LATER) + _micros(LATER_END) + _static()
    token = _seal_plaintext(ring, plain)
    opened = verify_credential_pair(key_id.decode(), token, ring, now=LATER)
    assert opened == dataclasses.replace(claims, issued_at=LATER, expires_at=LATER_END)


def test_overlong_bound_access_key_id_is_refused_at_sealing(ring: KeyRing) -> None:
    """The bound key id has a one-byte length; a longer id is a programming error."""
    with pytest.raises(ValueError, match="at most"):
        seal_session(make_claims(), ring, nonce=NONCE, access_key_id="A" * 127)
    token = seal_session(make_claims(), ring, nonce=NONCE, access_key_id="é" * 63)
    assert open_session(token, ring, now=T0 + dt.timedelta(minutes=1)) == make_claims()


@given(st.binary(min_size=10, max_size=10))
def test_access_key_tail_is_base32(data: bytes) -> None:
    """The table-driven access key tail spells the same as RFC 4648 base32."""
    assert _access_key_tail(data) == _base32_tail(data, 16)


@given(key=st.binary(min_size=32, max_size=32), message=st.binary(max_size=600))
def test_precomputed_hmac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    """HMAC from the precomputed key blocks equals the standard library's HMAC-SHA-256."""
    derived = build_key_ring(key, created_at=T0).sealing
    assert derived.mac(message) == hmac.digest(derived.secret_key, message, "sha256")


@given(st.binary(max_size=200))
def test_b64decode_round_trips(data: bytes) -> None:
    """Every byte string's unpadded base64url spelling decodes back to it."""
    assert _b64decode(_b64(data)) == data


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n"))
def test_b64decode_accepts_only_canonical_spellings(text: str) -> None:
    """Whatever text decodes is the one canonical spelling of its bytes."""
    try:
        data = _b64decode(text)
    except DecodeError:
        return
    assert _b64(data) == text


def test_claims_normalise_sequences_of_lists() -> None:
    """Tags given as lists of lists and sequences given as lists are stored as tuples."""
    claims = make_claims(
        principal_tags=[["k", "v"]],
        transitive_tag_keys=["k"],
        managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    )
    assert claims.principal_tags == (("k", "v"),)
    assert claims.transitive_tag_keys == ("k",)
    assert claims.managed_policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    with pytest.raises(ValueError, match="non-negative"):
        make_claims(chain_depth=-1)


def test_static_fields_and_times_are_every_claim() -> None:
    """The static section and the two times together cover every field of the claims."""
    names = [f.name for f in dataclasses.fields(SessionClaims)]
    assert sorted([*STATIC_FIELDS, "issued_at", "expires_at"]) == sorted(names)
    claims = make_claims(transitive_tag_keys=("k",), chain_depth=2)
    rebuilt = assemble_claims(static_claims(claims), claims.issued_at, claims.expires_at)
    assert rebuilt == claims
    assert decode_static_claims(encode_static_claims(claims)) == static_claims(claims)


def test_secret_is_the_documented_hmac(ring: KeyRing) -> None:
    """The secret is base64 of HMAC-SHA-256(label | key id | NUL | token) cut to 30 bytes."""
    key_id, secret, token = _issue(prepare_session(make_claims()), ring)
    derived = ring.derived(1)
    assert derived is not None
    message = b"elsewhere/tokens/v2/secret\x00" + key_id.encode() + b"\x00" + token.encode()
    mac = hmac.digest(derived.secret_key, message, "sha256")
    assert secret == base64.b64encode(mac[:30]).decode()
    assert len(secret) == 40


def test_prepared_issue_needs_a_12_byte_nonce(ring: KeyRing) -> None:
    """A nonce of the wrong size is a programming error on the prepared path too."""
    with pytest.raises(ValueError, match="12 bytes"):
        issue_prepared_credentials(
            prepare_session(make_claims()),
            ring,
            issued_at=LATER,
            expires_at=LATER_END,
            access_key_random=AKR,
            nonce=b"short",
        )
