"""Trusted identity propagation in session tokens: sealed with the claims, read back, and absent
without changing the bytes of sessions that have none."""

from __future__ import annotations

import pytest

from elsewhere.tokens import KeyRing, issue_credentials, open_session
from elsewhere.tokens._claims import decode_static_claims, encode_static_claims
from elsewhere.tokens._codec import DecodeError

from .conftest import T0, make_claims

ORIGIN = {
    "origin_subject": "workload-01",
    "origin_subject_type": "workload",
    "origin_issuer": "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/t",
}


def test_origin_identity_round_trips_through_a_token(ring: KeyRing) -> None:
    """A session with an origin identity opens with the same three values."""
    claims = make_claims(**ORIGIN)
    creds = issue_credentials(
        claims, ring, access_key_random=lambda n: b"\x01" * n, nonce=b"n" * 12
    )
    opened = open_session(creds.session_token, ring, now=T0)
    assert (opened.origin_subject, opened.origin_subject_type, opened.origin_issuer) == (
        ORIGIN["origin_subject"],
        ORIGIN["origin_subject_type"],
        ORIGIN["origin_issuer"],
    )


def test_session_without_origin_keeps_format_2() -> None:
    """Claims without TIP encode as before (format 2), so existing tokens and sizes stay."""
    plain = encode_static_claims(make_claims())
    assert plain[0] == 2
    assert decode_static_claims(plain)[-3:] == (None, None, None)
    with_origin = encode_static_claims(make_claims(**ORIGIN))
    assert with_origin[0] == 3
    # The same fields in the same bytes, the three origin fields appended.
    assert with_origin[1:].startswith(plain[1:])
    assert len(with_origin) > len(plain)


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("ok/subject-only", {"origin_subject": "w"}),
        ("ok/type-only", {"origin_subject_type": "user"}),
        ("ok/all", ORIGIN),
    ],
)
def test_any_origin_field_is_kept(case: str, changes: dict[str, str]) -> None:
    """Whichever of the three fields is set survives encoding; the others stay None."""
    claims = make_claims(**changes)
    decoded = decode_static_claims(encode_static_claims(claims))
    assert decoded[-3:] == (
        changes.get("origin_subject"),
        changes.get("origin_subject_type"),
        changes.get("origin_issuer"),
    )


def test_unknown_claims_format_is_refused() -> None:
    """A static section of a format this build does not know does not decode."""
    data = bytearray(encode_static_claims(make_claims(**ORIGIN)))
    data[0] = 4
    with pytest.raises(DecodeError):
        decode_static_claims(bytes(data))
