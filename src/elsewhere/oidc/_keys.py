"""The issuer's signing keys and whether outbound federation is on, as one sealed value.

Every key's life is a function of times stored with it, so every replica holding the same state
agrees on what it publishes and what signs, whatever the moment it learned of the state:

- a key is **published** (in the JWKS) from the moment it is stored;
- it **signs** from ``activates_at`` until a newer key of its algorithm activates. A rotation
  stores new keys with ``activates_at`` in the future (by default one JWKS cache lifetime), so a
  relying party that cached the JWKS just before the rotation fetches the new key before any
  token names it;
- once superseded it is **retired**: still published until every token it can have signed has
  expired (its successor's activation plus :data:`MAX_TOKEN_LIFETIME`), then **expired** and
  dropped from the JWKS and, at the next change of the state, from the store.

The state is stored as compact JSON (private keys as PKCS#8 DER) sealed under the master key with
AES-256-SIV (RFC 5297), as the session-token key ring is, under a key derived for this purpose
only (HKDF "info", RFC 5869 §3.2).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from elsewhere.errors import InternalError
from elsewhere.oidc._jose import (
    ALGORITHMS,
    PrivateKey,
    check_key_algorithm,
    key_id,
    public_jwk,
)

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "Federation",
    "IssuerState",
    "IssuerStateError",
    "KeyPhase",
    "SigningKey",
    "build_signing_key",
    "format_issuer_state",
    "open_issuer_state",
    "parse_issuer_state",
    "seal_issuer_state",
]

#: The longest a token can live: GetWebIdentityToken's DurationSeconds maximum (STS model,
#: webIdentityTokenDurationSecondsType). A retired key stays published this long after it
#: stopped signing.
MAX_TOKEN_LIFETIME: Final = dt.timedelta(seconds=3600)

_FORMAT = 1
_SEALED_HEADER = b"EWIS\x01"
_INFO_MASTER = b"elsewhere/oidc/v1/issuer-state-siv"
_MAX_KEYS = 64


class IssuerStateError(InternalError):
    """The stored issuer state does not open (wrong master key, corrupt blob)."""


class Federation(StrEnum):
    """Outbound web identity federation of the account: never turned on, on, or turned off."""

    NEVER = "never"
    ENABLED = "enabled"
    DISABLED = "disabled"


class KeyPhase(StrEnum):
    """Where a signing key is in its life at a given moment (see the module docstring)."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"
    EXPIRED = "expired"


def _utc(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class SigningKey:
    """One signing key; ``repr`` never shows the private key."""

    alg: str
    private_key: PrivateKey = field(repr=False, compare=False)
    created_at: dt.datetime
    activates_at: dt.datetime
    kid: str = ""

    def __post_init__(self) -> None:
        """Check the key fits its algorithm, derive the key id, normalise the times."""
        check_key_algorithm(self.private_key, self.alg)
        object.__setattr__(self, "created_at", _utc("created_at", self.created_at))
        object.__setattr__(self, "activates_at", _utc("activates_at", self.activates_at))
        kid = key_id(self.private_key)
        if self.kid and self.kid != kid:
            raise ValueError("the key id is not the key's thumbprint")
        object.__setattr__(self, "kid", kid)

    def jwk(self) -> dict[str, str]:
        """The public JWK, as the JWKS publishes it."""
        return public_jwk(self.private_key, alg=self.alg, kid=self.kid)


def build_signing_key(
    private_key: PrivateKey, *, alg: str, now: dt.datetime, activates_at: dt.datetime | None = None
) -> SigningKey:
    """A key made at ``now`` that signs from ``activates_at`` (default: at once)."""
    return SigningKey(
        alg=alg, private_key=private_key, created_at=now, activates_at=activates_at or now
    )


def _order(key: SigningKey) -> tuple[dt.datetime, dt.datetime, str]:
    return (key.activates_at, key.created_at, key.kid)


@dataclass(frozen=True)
class IssuerState:
    """The account's federation switch and the issuer's signing keys (immutable)."""

    federation: Federation = Federation.NEVER
    keys: tuple[SigningKey, ...] = ()

    def __post_init__(self) -> None:
        """Refuse duplicate key ids and unbounded rings."""
        object.__setattr__(self, "keys", tuple(sorted(self.keys, key=_order)))
        object.__setattr__(self, "federation", Federation(self.federation))
        kids = [k.kid for k in self.keys]
        if len(set(kids)) != len(kids):
            raise ValueError("duplicate signing key")
        if len(kids) > _MAX_KEYS:
            raise ValueError("too many signing keys")

    @property
    def enabled(self) -> bool:
        """Whether principals may get tokens now."""
        return self.federation is Federation.ENABLED

    def retired_at(self, key: SigningKey) -> dt.datetime | None:
        """When ``key`` stops signing: the activation of the next key of its algorithm."""
        later = [k.activates_at for k in self.keys if k.alg == key.alg and _order(k) > _order(key)]
        return min(later) if later else None

    def phase(self, key: SigningKey, now: dt.datetime) -> KeyPhase:
        """Where ``key`` is in its life at ``now``."""
        if now < key.activates_at:
            return KeyPhase.PENDING
        retired = self.retired_at(key)
        if retired is None or now < retired:
            return KeyPhase.ACTIVE
        if now < retired + MAX_TOKEN_LIFETIME:
            return KeyPhase.RETIRED
        return KeyPhase.EXPIRED

    def signer(self, alg: str, now: dt.datetime) -> SigningKey | None:
        """The key that signs ``alg`` tokens at ``now``, or None when there is none."""
        for key in reversed(self.keys):
            if key.alg == alg and key.activates_at <= now:
                return key
        return None

    def published(self, now: dt.datetime) -> tuple[SigningKey, ...]:
        """The keys the JWKS lists at ``now``: pending, active and retired ones."""
        return tuple(k for k in self.keys if self.phase(k, now) is not KeyPhase.EXPIRED)

    def with_federation(self, federation: Federation) -> IssuerState:
        """The same keys with the switch set."""
        return replace(self, federation=federation)

    def with_keys(self, added: Iterable[SigningKey], *, now: dt.datetime) -> IssuerState:
        """The state with ``added`` stored, and keys expired at ``now`` dropped."""
        grown = IssuerState(self.federation, (*self.keys, *added))
        return IssuerState(grown.federation, grown.published(now))

    def missing_algorithms(self) -> tuple[str, ...]:
        """The algorithms no key signs yet or will sign (a new store has none)."""
        have = {k.alg for k in self.keys}
        return tuple(alg for alg in ALGORITHMS if alg not in have)


# --- the stored form ----------------------------------------------------------------------------


def _when(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse_when(text: object) -> dt.datetime:
    if not isinstance(text, str):
        raise ValueError("a time must be a string")
    return _utc("time", dt.datetime.fromisoformat(text))


def format_issuer_state(state: IssuerState) -> bytes:
    """The plain stored form of ``state`` (holds private keys: seal it before storing)."""
    document: dict[str, Any] = {
        "format": _FORMAT,
        "federation": state.federation.value,
        "keys": [
            {
                "alg": k.alg,
                "kid": k.kid,
                "created_at": _when(k.created_at),
                "activates_at": _when(k.activates_at),
                "pkcs8": base64.b64encode(
                    k.private_key.private_bytes(
                        serialization.Encoding.DER,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                ).decode("ascii"),
            }
            for k in state.keys
        ],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


def parse_issuer_state(data: bytes) -> IssuerState:
    """Read what :func:`format_issuer_state` wrote; raises :class:`IssuerStateError`."""
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError("not an issuer state")
        raw_keys = document["keys"]
        if not isinstance(raw_keys, list) or len(raw_keys) > _MAX_KEYS:
            raise ValueError("bad key list")
        keys = []
        for item in raw_keys:
            der = base64.b64decode(item["pkcs8"], validate=True)
            private_key = serialization.load_der_private_key(der, password=None)
            if not isinstance(private_key, PrivateKey):
                raise ValueError("a signing key is neither RSA nor EC")
            keys.append(
                SigningKey(
                    alg=str(item["alg"]),
                    private_key=private_key,
                    created_at=_parse_when(item["created_at"]),
                    activates_at=_parse_when(item["activates_at"]),
                    kid=str(item["kid"]),
                )
            )
        return IssuerState(Federation(document["federation"]), tuple(keys))
    except (ValueError, KeyError, TypeError) as exc:
        raise IssuerStateError(reason=f"the issuer state does not parse: {exc}") from exc


def _siv(master_key: bytes) -> AESSIV:
    if len(master_key) < 32:
        raise IssuerStateError(reason="the master key must be at least 32 bytes")
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_INFO_MASTER).derive(
        master_key
    )
    return AESSIV(derived)  # AES-256-SIV takes two AES-256 keys (RFC 5297 §2.2)


def seal_issuer_state(state: IssuerState, master_key: bytes) -> bytes:
    """``state`` encrypted and authenticated under ``master_key``."""
    return _SEALED_HEADER + _siv(master_key).encrypt(format_issuer_state(state), [_SEALED_HEADER])


def open_issuer_state(blob: bytes, master_key: bytes) -> IssuerState:
    """The state sealed in ``blob``; :class:`IssuerStateError` on a wrong key or tampering."""
    if not blob.startswith(_SEALED_HEADER):
        raise IssuerStateError(reason="not a sealed issuer state")
    try:
        plain = _siv(master_key).decrypt(blob[len(_SEALED_HEADER) :], [_SEALED_HEADER])
    except InvalidTag as exc:
        raise IssuerStateError(
            reason="the issuer state does not open with this master key"
        ) from exc
    return parse_issuer_state(plain)
