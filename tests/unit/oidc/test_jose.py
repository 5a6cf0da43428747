"""JOSE pieces: thumbprints (RFC 7638), public JWKs and signed JWTs, checked by PyJWT."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from elsewhere.oidc import (
    b64url,
    b64url_decode,
    check_key_algorithm,
    jwk_thumbprint,
    key_id,
    public_jwk,
    sign_jwt,
    validate_issuer_url,
)

from .conftest import ec_key, key_for, rsa_key

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
    "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
    "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_matches_rfc7638_example() -> None:
    """The RFC's example key hashes to the RFC's thumbprint (optional members ignored)."""
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT


def test_thumbprint_refuses_unknown_key_types() -> None:
    """A key type without required members defined here is a ValueError, not a guess."""
    with pytest.raises(ValueError, match="key type"):
        jwk_thumbprint({"kty": "oct", "k": "AAAA"})


@pytest.mark.parametrize("alg", ["RS256", "ES384"])
def test_key_id_is_the_thumbprint_of_the_public_jwk(alg: str) -> None:
    """The kid a key gets is the thumbprint of the JWK the JWKS publishes for it."""
    key = key_for(alg, 1)
    jwk = public_jwk(key, alg=alg, kid=key_id(key))
    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert jwk["alg"] == alg
    assert jwk["use"] == "sig"
    assert "d" not in jwk
    assert "p" not in jwk


def test_es384_jwk_coordinates_are_fixed_width() -> None:
    """P-384 x and y are 48 bytes each, leading zeros kept (RFC 7518 §6.2.1.2)."""
    key = ec_key(1)
    jwk = public_jwk(key, alg="ES384", kid=key_id(key))
    assert jwk["crv"] == "P-384"
    assert len(b64url_decode(jwk["x"])) == 48
    assert len(b64url_decode(jwk["y"])) == 48


@pytest.mark.parametrize("alg", ["RS256", "ES384"])
def test_signed_jwt_verifies_with_pyjwt(alg: str) -> None:
    """PyJWT, given only the published JWK, verifies the token and reads back the claims."""
    key = key_for(alg, 1)
    kid = key_id(key)
    claims = {"iss": "https://issuer.example", "aud": "bao", "sub": "w", "exp": 4_000_000_000}
    token = sign_jwt(claims, key=key, alg=alg, kid=kid)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": kid, "typ": "JWT"}
    verifier = jwt.PyJWK.from_dict(public_jwk(key, alg=alg, kid=kid))
    assert jwt.decode(token, verifier.key, algorithms=[alg], audience="bao") == claims


def test_es384_signature_is_raw_r_and_s() -> None:
    """An ES384 signature is 96 bytes, R then S (RFC 7518 §3.4), not DER."""
    key = ec_key(1)
    token = sign_jwt({"sub": "x"}, key=key, alg="ES384", kid=key_id(key))
    assert len(b64url_decode(token.rsplit(".", 1)[1])) == 96


@pytest.mark.parametrize("alg", ["RS256", "ES384"])
def test_tampered_jwt_fails_verification(alg: str) -> None:
    """Changing one claim after signing makes PyJWT refuse the token."""
    key = key_for(alg, 1)
    kid = key_id(key)
    token = sign_jwt({"sub": "alice"}, key=key, alg=alg, kid=kid)
    head, _, signature = token.split(".")
    forged = f"{head}.{b64url(json.dumps({'sub': 'mallory'}).encode())}.{signature}"
    verifier = jwt.PyJWK.from_dict(public_jwk(key, alg=alg, kid=kid))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, verifier.key, algorithms=[alg])


@pytest.mark.parametrize(
    ("case", "alg", "key"),
    [
        ("fail/rsa-key-for-es384", "ES384", lambda: rsa_key(1)),
        ("fail/ec-key-for-rs256", "RS256", lambda: ec_key(1)),
        ("fail/p256-key-for-es384", "ES384", lambda: ec.generate_private_key(ec.SECP256R1())),
        (
            "fail/rsa-1024-for-rs256",
            "RS256",
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 - the refusal is the point
        ),
        ("fail/unknown-algorithm", "HS256", lambda: rsa_key(1)),
    ],
)
def test_keys_must_fit_their_algorithm(case: str, alg: str, key: object) -> None:
    """A key of the wrong kind or size for its algorithm is refused before signing."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by case
        check_key_algorithm(key(), alg)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("case", "url", "expected"),
    [
        ("ok/loopback-http", "http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("ok/trailing-slash-dropped", "https://idp.example.com/", "https://idp.example.com"),
        ("ok/path", "https://idp.example.com/elsewhere/", "https://idp.example.com/elsewhere"),
        ("fail/no-scheme", "idp.example.com", None),
        ("fail/ftp", "ftp://idp.example.com", None),
        ("fail/query", "https://idp.example.com/?x=1", None),
        ("fail/fragment", "https://idp.example.com/#x", None),
        ("fail/user-info", "https://me@idp.example.com", None),
        ("fail/no-host", "https:///path", None),
    ],
)
def test_issuer_urls(case: str, url: str, expected: str | None) -> None:
    """An issuer URL is http(s) with a host, no query, fragment or user; one spelling."""
    if expected is None:
        with pytest.raises(ValueError):  # noqa: PT011 - the message names the URL
            validate_issuer_url(url)
    else:
        assert validate_issuer_url(url) == expected


def test_b64url_round_trip_and_refusals() -> None:
    """base64url has no padding and refuses padded or non-ASCII text."""
    assert b64url(b"\xff\xfe") == "__4"
    assert b64url_decode("__4") == b"\xff\xfe"
    for bad in ("__4=", "é"):
        with pytest.raises(ValueError):  # noqa: PT011 - one message
            b64url_decode(bad)
