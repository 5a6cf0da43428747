"""Key types and sizes are judged before any signature: RSA 2048..4096, P-256/P-384/P-521.

Keys outside the rule are made as public keys only (a random odd modulus does for the rule, and
an RSA-8192 private key would take seconds to generate); the CA that issues them is real.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from elsewhere import pki
from elsewhere.errors import ValidationError
from elsewhere.x509 import (
    PathPolicy,
    UntrustedCertificate,
    parse_ca_bundle,
    validate_path,
    validate_public_key,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class PublicOnly:
    """Stands in for a private key where only its public half is used (certificate subjects)."""

    def __init__(self, public: object) -> None:
        """Wrap ``public``."""
        self._public = public

    def public_key(self) -> object:
        """The public key."""
        return self._public


def rsa_public(bits: int, exponent: int = 65537) -> rsa.RSAPublicKey:
    """An RSA public key of exactly ``bits`` bits (a random odd modulus)."""
    modulus = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


KEYS = {
    "ok/rsa2048": lambda: pki.cached_key("rsa2048").public_key(),
    "ok/rsa3072": lambda: rsa_public(3072),
    "ok/rsa4096": lambda: rsa_public(4096),
    "ok/exponent-3": lambda: rsa_public(2048, 3),
    "ok/exponent-64-bits": lambda: rsa_public(2048, (1 << 63) + 1),
    "ok/p256": lambda: pki.cached_key("p256").public_key(),
    "ok/p384": lambda: pki.cached_key("p384").public_key(),
    "ok/p521": lambda: pki.cached_key("p521").public_key(),
    "fail/rsa1024": lambda: pki.cached_key("rsa1024").public_key(),
    "fail/rsa4097": lambda: rsa_public(4097),
    "fail/rsa8192": lambda: rsa_public(8192),
    "fail/rsa16384": lambda: rsa_public(16384),
    "fail/exponent-65-bits": lambda: rsa_public(2048, (1 << 64) + 1),
    "fail/exponent-2047-bits": lambda: rsa_public(2048, (1 << 2046) + 1),
    "fail/secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()).public_key(),
}
REASONS = {
    "fail/rsa1024": "RSA key of 1024 bits, below the minimum of 2048",
    "fail/rsa4097": "RSA key of 4097 bits, above the maximum of 4096",
    "fail/rsa8192": "RSA key of 8192 bits, above the maximum of 4096",
    "fail/rsa16384": "RSA key of 16384 bits, above the maximum of 4096",
    "fail/exponent-65-bits": "public exponent (65 bits)",
    "fail/exponent-2047-bits": "public exponent (2047 bits)",
    "fail/secp256k1": "EC key on curve secp256k1, which is not allowed",
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_key_rule(name: str) -> None:
    """Each key is accepted or refused with a reason that names the rule it breaks."""
    key = KEYS[name]()
    if name.startswith("ok/"):
        validate_public_key(key)
        return
    with pytest.raises(UntrustedCertificate) as caught:
        validate_public_key(key)
    assert REASONS[name] in caught.value.reason


def test_ok_policy_can_widen_the_range() -> None:
    """ok/ the maximum is the policy's: a policy of 8192 bits takes an RSA-8192 key."""
    validate_public_key(rsa_public(8192), PathPolicy(max_rsa_bits=8192))


def _ca_with_key(issuer: pki.CertifiedKey, public: object, name: str) -> x509.Certificate:
    """A CA certificate for ``public``, signed by ``issuer``."""
    return pki.build_intermediate_ca(
        issuer,
        now=NOW,
        subject=f"CN={name}",
        key=PublicOnly(public),  # type: ignore[arg-type]
    ).certificate


def test_fail_bundle_with_an_oversized_key() -> None:
    """fail/ a trust-anchor bundle whose CA has an RSA-8192 key is refused when created."""
    chain = pki.quick_chain(NOW)
    big = _ca_with_key(chain.root_ca, rsa_public(8192), "big CA")
    pem = big.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(ValidationError, match="above the maximum of 4096"):
        parse_ca_bundle(pem)


def test_fail_anchor_with_an_oversized_key() -> None:
    """fail/ an anchor certificate stored with an RSA-8192 key takes no part in any path."""
    chain = pki.quick_chain(NOW)
    big = _ca_with_key(chain.root_ca, rsa_public(8192), "big CA")
    with pytest.raises(UntrustedCertificate) as caught:
        validate_path(chain.leaf, (), (big,), now=NOW)
    assert "has an RSA key of 8192 bits, above the maximum of 4096" in caught.value.reason


def test_ok_good_anchor_beside_an_oversized_one() -> None:
    """ok/ an anchor's other, good certificate still validates the path."""
    chain = pki.quick_chain(NOW)
    big = _ca_with_key(chain.root_ca, rsa_public(8192), "big CA")
    path = validate_path(chain.leaf, (), (big, chain.root), now=NOW)
    assert path.anchor == chain.root


def test_fail_chain_certificate_with_an_oversized_key() -> None:
    """fail/ an intermediate with an RSA-8192 key is left out before its signature is used."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    big = _ca_with_key(chain.root_ca, rsa_public(8192), "big CA")
    assert chain.intermediate is not None
    # The real intermediate's name and issuer, with the oversized key: a path would need it.
    forged = dataclasses.replace(chain, intermediate=big)
    with pytest.raises(UntrustedCertificate) as caught:
        validate_path(forged.leaf, (big,), (chain.root,), now=NOW)
    assert "chain certificate 1 was ignored: it has an RSA key of 8192 bits" in caught.value.reason
