"""Keys made once per test session (RSA generation is slow) and the times the tests use."""

from __future__ import annotations

import datetime as dt
import functools

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from elsewhere.oidc import PrivateKey

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MASTER = b"m" * 32


@functools.cache
def rsa_key(n: int) -> PrivateKey:
    """The ``n``-th RSA-2048 test key."""
    del n  # one key per index, kept for the session
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(n: int) -> PrivateKey:
    """The ``n``-th P-384 test key."""
    del n
    return ec.generate_private_key(ec.SECP384R1())


def key_for(alg: str, n: int) -> PrivateKey:
    """The ``n``-th test key of the kind ``alg`` signs with."""
    return rsa_key(n) if alg == "RS256" else ec_key(n)
