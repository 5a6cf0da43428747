"""Temporary credentials: ASIA key ids bound to tokens, secrets derived from the ring."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.errors import ExpiredToken, UnrecognizedClient
from elsewhere.tokens import (
    Credentials,
    KeyRing,
    SessionClaims,
    build_key_ring,
    derive_secret_access_key,
    issue_credentials,
    seal_session,
    validate_access_key_id,
    validate_secret_access_key,
    verify_credential_pair,
)

from .conftest import T0, make_claims

NOW = T0 + dt.timedelta(minutes=5)


def _issue(claims: SessionClaims, ring: KeyRing, seed: int) -> Credentials:
    return issue_credentials(
        claims, ring, access_key_random=bytes([seed]) * 10, nonce=bytes([seed]) * 12
    )


def test_issued_credentials_have_aws_shapes(claims: SessionClaims, ring: KeyRing) -> None:
    """The key id is ASIA + 16, the secret 40 base64 characters, the expiry the claims'."""
    creds = _issue(claims, ring, 1)
    assert validate_access_key_id(creds.access_key_id, kind="ASIA")
    assert validate_secret_access_key(creds.secret_access_key)
    assert creds.expiration == claims.expires_at


def test_pair_verifies_and_secret_is_recomputed(claims: SessionClaims, ring: KeyRing) -> None:
    """A server holding only the ring verifies the pair and recomputes the same secret."""
    creds = _issue(claims, ring, 1)
    assert verify_credential_pair(creds.access_key_id, creds.session_token, ring, now=NOW) == claims
    secret = derive_secret_access_key(creds.access_key_id, creds.session_token, ring)
    assert secret == creds.secret_access_key


@settings(max_examples=25)
@given(akr=st.binary(min_size=10, max_size=10), nonce=st.binary(min_size=12, max_size=12))
def test_secret_is_derived_the_same_everywhere(akr: bytes, nonce: bytes) -> None:
    """For any randomness, a second ring object built from the stored key derives the secret."""
    key = b"s" * 32
    claims = make_claims()
    creds = issue_credentials(
        claims, build_key_ring(key, created_at=T0), access_key_random=akr, nonce=nonce
    )
    other_node = build_key_ring(key, created_at=T0)
    assert (
        derive_secret_access_key(creds.access_key_id, creds.session_token, other_node)
        == creds.secret_access_key
    )


def test_key_id_of_one_session_with_token_of_another_fails(ring: KeyRing) -> None:
    """Pairing session A's access key id with session B's token is an unrecognized client."""
    a = _issue(make_claims(session_name="a"), ring, 1)
    b = _issue(make_claims(session_name="b"), ring, 2)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(a.access_key_id, b.session_token, ring, now=NOW)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(b.access_key_id, a.session_token, ring, now=NOW)


def test_secrets_differ_per_key_id_and_token(ring: KeyRing) -> None:
    """The derived secret depends on both the key id and the token."""
    a = _issue(make_claims(), ring, 1)
    b = _issue(make_claims(), ring, 2)
    assert a.secret_access_key != b.secret_access_key
    assert derive_secret_access_key(a.access_key_id, b.session_token, ring) not in (
        a.secret_access_key,
        b.secret_access_key,
    )


def test_token_without_bound_key_id_fails(claims: SessionClaims, ring: KeyRing) -> None:
    """A token sealed without an access key id cannot authenticate any key id."""
    token = seal_session(claims, ring, nonce=b"\x00" * 12)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair("ASIAAAAAAAAAAAAAAAAA", token, ring, now=NOW)


@pytest.mark.parametrize(
    ("name", "access_key_id"),
    [
        ("fail/long-term-prefix", "AKIA{tail}"),
        ("fail/lowercase", "asia{tail}"),
        ("fail/truncated", "ASIA{tail}"),
    ],
)
def test_malformed_key_ids_fail(
    name: str, access_key_id: str, claims: SessionClaims, ring: KeyRing
) -> None:
    """Only a well-formed ASIA id can pair with a token."""
    creds = _issue(claims, ring, 1)
    tail = creds.access_key_id[4:]
    value = access_key_id.format(tail=tail[:-1] if name == "fail/truncated" else tail)
    with pytest.raises(UnrecognizedClient):
        verify_credential_pair(value, creds.session_token, ring, now=NOW)


def test_expired_pair_raises_expired_token(claims: SessionClaims, ring: KeyRing) -> None:
    """A genuine pair past its expiry is an expired token."""
    creds = _issue(claims, ring, 1)
    with pytest.raises(ExpiredToken):
        verify_credential_pair(
            creds.access_key_id, creds.session_token, ring, now=claims.expires_at
        )


def test_rotation_keeps_secrets_derivable(claims: SessionClaims, ring: KeyRing) -> None:
    """After rotation the secret is derived with the token's own (retired) key."""
    creds = _issue(claims, ring, 1)
    rotated = ring.rotate(b"n" * 32, created_at=T0)
    assert verify_credential_pair(creds.access_key_id, creds.session_token, rotated, now=NOW)
    assert (
        derive_secret_access_key(creds.access_key_id, creds.session_token, rotated)
        == creds.secret_access_key
    )
    with pytest.raises(UnrecognizedClient):
        derive_secret_access_key(creds.access_key_id, creds.session_token, rotated.remove(1))


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("fail/empty", ""),
        ("fail/short", "AgAA"),
        ("fail/old-version-1", "AQAAAAEA"),
        ("fail/unknown-version-3", "AwAAAAEA"),
        ("fail/unknown-key", "AgAAAAkA"),
        ("fail/not-base64url", "AgAAAA+A"),
        ("fail/too-long", "A" * 9000),
    ],
)
def test_derive_refuses_malformed_tokens(name: str, token: str, ring: KeyRing) -> None:
    """Deriving a secret needs a token naming a key the ring holds."""
    with pytest.raises(UnrecognizedClient):
        derive_secret_access_key("ASIAAAAAAAAAAAAAAAAA", token, ring)


def test_repr_hides_secret_and_token(claims: SessionClaims, ring: KeyRing) -> None:
    """Credentials never print their secret or token."""
    creds = _issue(claims, ring, 1)
    shown = repr(creds)
    assert creds.access_key_id in shown
    assert creds.secret_access_key not in shown
    assert creds.session_token not in shown
