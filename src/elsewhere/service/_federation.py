"""Outbound web identity federation: the account's switch and the issuer's signing keys.

The IAM operations ``EnableOutboundWebIdentityFederation``, ``DisableOutboundWebIdentityFederation``
and ``GetOutboundWebIdentityFederationInfo`` (IAM API Reference) and the operator's key rotation
all change one stored value, the sealed :class:`~elsewhere.oidc.IssuerState`, by compare-and-set
(``SecretRepository.put_if``): two replicas enabling at once give one success and one
``FeatureEnabled``, and a rotation never loses a key another rotation added. Every write bumps
the store's configuration version, so every replica's snapshot holds the new state within the
refresh bound (DESIGN.md: 1 s).

What AWS leaves unsaid, elsewhere decides: the account is "never enabled" until the first
``Enable``; ``GetOutboundWebIdentityFederationInfo`` answers ``FeatureDisabled`` only then, and
after a ``Disable`` it answers the issuer with ``JwtVendingEnabled`` false (the model lists
``FeatureDisabled`` for it, and a disabled account keeps its issuer so that tokens issued before
stay verifiable: "This operation does not affect tokens that were issued before the feature was
disabled.").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from elsewhere.clock import Clock
from elsewhere.errors import ConflictError, NotFound
from elsewhere.oidc import (
    ALGORITHMS,
    Federation,
    IssuerState,
    PrivateKey,
    build_signing_key,
    open_issuer_state,
    seal_issuer_state,
)
from elsewhere.service._ports import SecretRepository

__all__ = [
    "DEFAULT_ACTIVATION_DELAY",
    "ISSUER_STATE_SECRET",
    "RSA_KEY_BITS",
    "UPDATE_ATTEMPTS",
    "FeatureDisabled",
    "FeatureEnabled",
    "FederationInfo",
    "IssuerStateConflict",
    "KeyGenerator",
    "OutboundFederation",
    "generate_signing_key",
    "load_issuer_state",
    "load_or_create_issuer_state",
    "rotate_signing_keys",
    "update_issuer_state",
]

#: Name of the sealed issuer state in the store's secrets table.
ISSUER_STATE_SECRET: Final = "oidc_issuer_state"  # noqa: S105 - a name, not a secret

#: RSA modulus of new RS256 keys: 2048 bits, the size every relying party in the README accepts
#: (RFC 7518 §3.3 requires at least 2048).
RSA_KEY_BITS: Final = 2048

#: How long a rotated-in key is published before it signs: the JWKS cache lifetime elsewhere
#: announces (``Cache-Control: max-age``), so a relying party that cached the JWKS just before
#: the rotation has fetched it again before a token names the new key.
DEFAULT_ACTIVATION_DELAY: Final = dt.timedelta(seconds=300)

#: How often a change of the issuer state re-reads it after losing a race with another writer.
UPDATE_ATTEMPTS: Final = 10

#: Makes a new private key for a JWS algorithm.
KeyGenerator = Callable[[str], PrivateKey]


class FeatureEnabled(ConflictError):
    """``EnableOutboundWebIdentityFederation`` on an account where it is on (IAM model, 409)."""

    code = "FeatureEnabled"
    status = 409
    default_message = (
        "Outbound identity federation is already enabled for this account. Use "
        "GetOutboundWebIdentityFederationInfo to read the issuer URL."
    )


class FeatureDisabled(NotFound):
    """Disabling, or reading, federation on an account where it is off (IAM model, 404)."""

    code = "FeatureDisabled"
    status = 404
    default_message = "Outbound identity federation is not enabled for this account."


class IssuerStateConflict(ConflictError):
    """Other writers kept changing the issuer state; this change wrote nothing."""

    code = "ConcurrentModification"
    default_message = (
        f"The issuer state changed under {UPDATE_ATTEMPTS} attempts to update it; try again."
    )


def generate_signing_key(alg: str) -> PrivateKey:
    """A new private key for ``alg``: RSA-2048 for RS256, P-384 for ES384."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"unsupported JWS algorithm {alg!r}")


def load_issuer_state(secrets: SecretRepository, master_key: bytes) -> IssuerState | None:
    """The stored issuer state, or None before any server has started on the store."""
    blob = secrets.get(ISSUER_STATE_SECRET)
    return None if blob is None else open_issuer_state(blob, master_key)


def update_issuer_state(
    secrets: SecretRepository,
    master_key: bytes,
    change: Callable[[IssuerState], IssuerState],
    *,
    attempts: int = UPDATE_ATTEMPTS,
) -> IssuerState:
    """Apply ``change`` to the stored state by compare-and-set; return the state written.

    ``change`` may raise (``FeatureEnabled``) to refuse; it sees the state as stored (an empty
    one before the first start) and is called again with the newer state after a lost race.
    """
    for _ in range(attempts):
        blob = secrets.get(ISSUER_STATE_SECRET)
        current = IssuerState() if blob is None else open_issuer_state(blob, master_key)
        updated = change(current)
        if secrets.put_if(ISSUER_STATE_SECRET, blob, seal_issuer_state(updated, master_key)):
            return updated
    raise IssuerStateConflict


def load_or_create_issuer_state(
    secrets: SecretRepository,
    master_key: bytes,
    *,
    now: dt.datetime,
    generate: KeyGenerator = generate_signing_key,
) -> IssuerState:
    """The stored state, with a signing key for each algorithm made on the first start.

    Replicas starting together race through :func:`update_issuer_state`: one writes its keys,
    the others find them there and write nothing more.
    """
    existing = load_issuer_state(secrets, master_key)
    if existing is not None and not existing.missing_algorithms():
        return existing

    def add_missing(state: IssuerState) -> IssuerState:
        missing = state.missing_algorithms()
        return state.with_keys(
            (build_signing_key(generate(alg), alg=alg, now=now) for alg in missing), now=now
        )

    return update_issuer_state(secrets, master_key, add_missing)


def rotate_signing_keys(
    secrets: SecretRepository,
    master_key: bytes,
    *,
    now: dt.datetime,
    activation_delay: dt.timedelta = DEFAULT_ACTIVATION_DELAY,
    algorithms: Sequence[str] = ALGORITHMS,
    generate: KeyGenerator = generate_signing_key,
) -> IssuerState:
    """Add a new key per algorithm, signing from ``now + activation_delay``; return the state.

    The keys they replace sign until then and stay published until their last token expires;
    keys whose tokens have all expired are dropped.
    """
    if activation_delay < dt.timedelta(0):
        raise ValueError("the activation delay cannot be negative")
    unknown = [alg for alg in algorithms if alg not in ALGORITHMS]
    if unknown:
        raise ValueError(f"unsupported JWS algorithm {unknown[0]!r}")
    fresh = [
        build_signing_key(generate(alg), alg=alg, now=now, activates_at=now + activation_delay)
        for alg in algorithms
    ]
    return update_issuer_state(secrets, master_key, lambda state: state.with_keys(fresh, now=now))


@dataclass(frozen=True)
class FederationInfo:
    """What ``GetOutboundWebIdentityFederationInfo`` answers."""

    issuer: str
    enabled: bool


class OutboundFederation:
    """The account-level use cases of outbound web identity federation."""

    def __init__(
        self, secrets: SecretRepository, master_key: bytes, clock: Clock, *, issuer: str
    ) -> None:
        self._secrets = secrets
        self._master_key = master_key
        self._clock = clock
        self._issuer = issuer

    @property
    def issuer(self) -> str:
        """The issuer URL relying parties trust (``iss`` of every token)."""
        return self._issuer

    def enable(self) -> str:
        """Turn federation on; the issuer URL. ``FeatureEnabled`` when it is on already."""

        def turn_on(state: IssuerState) -> IssuerState:
            if state.enabled:
                raise FeatureEnabled(reason="outbound federation is already enabled")
            return state.with_federation(Federation.ENABLED)

        update_issuer_state(self._secrets, self._master_key, turn_on)
        return self._issuer

    def disable(self) -> None:
        """Turn federation off. ``FeatureDisabled`` when it is not on."""

        def turn_off(state: IssuerState) -> IssuerState:
            if not state.enabled:
                raise FeatureDisabled(
                    "Outbound identity federation is already disabled for this account.",
                    reason="outbound federation is not enabled",
                )
            return state.with_federation(Federation.DISABLED)

        update_issuer_state(self._secrets, self._master_key, turn_off)

    def info(self) -> FederationInfo:
        """The issuer and whether tokens may be issued; ``FeatureDisabled`` if never enabled."""
        state = load_issuer_state(self._secrets, self._master_key) or IssuerState()
        if state.federation is Federation.NEVER:
            raise FeatureDisabled(reason="outbound federation was never enabled")
        return FederationInfo(issuer=self._issuer, enabled=state.enabled)
