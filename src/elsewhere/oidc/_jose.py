"""The JOSE pieces an OIDC issuer needs: base64url, public JWKs, thumbprints and signed JWTs.

Only what elsewhere issues: JWS compact serialization (RFC 7515 §7.1) with ``RS256``
(RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) and ``ES384`` (ECDSA on P-384 with SHA-384,
RFC 7518 §3.4, the signature as the fixed-width ``R || S``, not DER). Verification is the relying
party's job; the tests check these tokens with an independent JWT library.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = [
    "ALGORITHMS",
    "PrivateKey",
    "b64url",
    "b64url_decode",
    "check_key_algorithm",
    "encode_json",
    "jwk_thumbprint",
    "key_id",
    "public_jwk",
    "sign_jwt",
]

#: The JWS algorithms elsewhere signs with (those of STS GetWebIdentityToken's jwtAlgorithmType).
ALGORITHMS: Final = ("RS256", "ES384")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_ES384_COORDINATE = 48  # bytes of a P-384 coordinate or signature half (RFC 7518 §3.4)


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2, "Base64url Encoding")."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``; ``ValueError`` when it is not that."""
    if "=" in text or not text.isascii():
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_json(value: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, keys in the order given (a JWT's header and claim set)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _uint(value: int, size: int | None = None) -> str:
    """A JWK integer: big-endian, no leading zero bytes unless ``size`` fixes the width."""
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def _required_members(key: PrivateKey) -> dict[str, str]:
    """The members RFC 7638 §3.2 hashes, for ``key``'s public half."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {"e": _uint(numbers.e), "kty": "RSA", "n": _uint(numbers.n)}
    if isinstance(key.curve, ec.SECP384R1):
        point = key.public_key().public_numbers()
        return {
            "crv": "P-384",
            "kty": "EC",
            "x": _uint(point.x, _ES384_COORDINATE),
            "y": _uint(point.y, _ES384_COORDINATE),
        }
    raise ValueError(f"unsupported signing key curve {key.curve.name}")


#: The members of each key type that its thumbprint hashes (RFC 7638 §3.2).
_THUMBPRINT_MEMBERS: Final = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: elsewhere's key id.

    Derived from the key alone, so every replica and every export names a key the same way.
    Only the required members count, in lexicographic order, without whitespace (§3.1-3.3).
    """
    names = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if names is None:
        raise ValueError(f"no thumbprint for key type {jwk.get('kty')!r}")
    canonical = json.dumps({name: jwk[name] for name in names}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def key_id(key: PrivateKey) -> str:
    """The key id of ``key``: the thumbprint of its public JWK."""
    return jwk_thumbprint(_required_members(key))


def public_jwk(key: PrivateKey, *, alg: str, kid: str) -> dict[str, str]:
    """The public JWK of ``key`` (RFC 7517 §4, RFC 7518 §6) for a JWKS document."""
    check_key_algorithm(key, alg)
    return {**_required_members(key), "kid": kid, "alg": alg, "use": "sig"}


def check_key_algorithm(key: PrivateKey, alg: str) -> None:
    """Raise ``ValueError`` unless ``key`` is the kind of key ``alg`` signs with."""
    if alg == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ValueError("RS256 needs an RSA key of at least 2048 bits (RFC 7518 §3.3)")
    elif alg == "ES384":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP384R1
        ):
            raise ValueError("ES384 needs a P-384 key (RFC 7518 §3.4)")
    else:
        raise ValueError(f"unsupported JWS algorithm {alg!r}")


def sign_jwt(claims: Mapping[str, Any], *, key: PrivateKey, alg: str, kid: str) -> str:
    """``claims`` as a signed JWT in compact serialization (RFC 7519 §7.1, RFC 7515 §7.1)."""
    check_key_algorithm(key, alg)
    header = {"alg": alg, "kid": kid, "typ": "JWT"}
    signing_input = f"{b64url(encode_json(header))}.{b64url(encode_json(claims))}"
    data = signing_input.encode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA384())))
        signature = r.to_bytes(_ES384_COORDINATE, "big") + s.to_bytes(_ES384_COORDINATE, "big")
    return f"{signing_input}.{b64url(signature)}"
