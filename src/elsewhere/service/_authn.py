"""Authentication of SigV4 (HMAC) signed calls: who is calling.

The order of checks follows AWS (reference aws-protocols.md §4.6): parse the signature, check the
request time, check the credential scope, look the key up, compare the signature. An unknown key
and a wrong signature take the same work, so timing does not tell them apart.

Derived signing keys are kept in a :class:`SigningKeyCache` (four HMACs saved per call). An
unknown or inactive key goes through the same cache under the id it claims, with the decoy
secret, so a key that exists and one that does not miss and hit alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from elsewhere.cache import BoundedCache
from elsewhere.errors import IncompleteSignature, UnrecognizedClient
from elsewhere.sigv4 import (
    UNSIGNED_PAYLOAD,
    CredentialScope,
    HttpRequest,
    SignedRequest,
    check_request_time,
    check_scope,
    derive_signing_key,
    verify_hmac_signature,
)

__all__ = ["AccessKeySecret", "Authenticator", "Principal", "SecretLookup", "SigningKeyCache"]

PrincipalKind = Literal["root", "user", "assumed-role"]

# A fixed secret used to spend the same work on an unknown key as on a known one.
_DECOY_SECRET = "elsewhere-decoy-secret-key-0000000000000"  # noqa: S105 - not a credential
# IAM's AccessKeyIdType pattern. Anything else is an unknown key without asking the store (a
# presigned X-Amz-Credential can carry %00, which PostgreSQL text cannot even hold).
_ACCESS_KEY_ID = re.compile(r"\w+")


# Services whose clients may sign for any region (global services reached by endpoint URL).
_ANY_REGION = frozenset({"iam", "sts"})


# IAM's AccessKeyIdType allows 16 to 128 characters; a longer claimed id is never cached, so an
# attacker cannot fill the cache with large keys (and such an id is known not to exist anyway).
_MAX_CACHED_KEY_ID = 128
# Session tokens are about 500 characters; one swollen by a large session policy (up to 8192) is
# derived every time rather than held, which keeps the cache's memory bound small.
_MAX_CACHED_TOKEN = 2048
# What one entry costs beyond its id and material: the key tuple, region and service names, the
# 32-byte signing key and the cache's slot.
_ENTRY_BYTES = 400


class SigningKeyCache:
    """Derived SigV4 signing keys, kept no longer than their scope's day allows, and bounded.

    A signing key depends only on the secret and the scope's date, region and service (AWS
    General Reference, "Signature Version 4 signing process": the derived key may be cached).
    Bound: keys of at most three scope dates, the UTC yesterday, today and tomorrow of the
    ``now`` last seen (the only dates a request inside the ±5 min window can carry; an older
    presigned date is derived each time, uncached), and at most ``max_per_date`` keys and
    ``max_per_date`` KiB (estimated) per date, the oldest dropped first (one bounded cache per
    date). The first call on a new UTC day drops the dates that left the window, and with them
    whatever their entries held: nothing outlives the day after its date.
    Entries are keyed by the access key id as claimed and the secret's SHA-256 (or, for a
    verified session, its token), so the cache holds no secret, and a caller can route an
    unknown id through the same cache (with a decoy secret) and miss or hit as a real one would.
    """

    def __init__(self, *, max_per_date: int = 4096) -> None:
        if max_per_date < 1:
            raise ValueError("max_per_date must be at least 1")
        self._max = max_per_date
        self._lock = threading.Lock()
        self._day = -1  # proleptic ordinal of the UTC date the window is centred on
        self._window: frozenset[str] = frozenset()
        self._dates: dict[str, BoundedCache[tuple[str, str, str, str, str], bytes]] = {}

    def __len__(self) -> int:
        """How many keys are held, over every date."""
        with self._lock:
            return sum(len(keys) for keys in self._dates.values())

    def entries(self) -> list[tuple[tuple[str, str, str, str, str], bytes | None]]:
        """What is held (keys and signing keys), for inspection."""
        with self._lock:
            dates = list(self._dates.values())
        return [(entry, keys.get(entry)) for keys in dates for entry in keys.oldest_first()]

    def signing_key(
        self,
        access_key_id: str,
        secret_access_key: str,
        scope: CredentialScope,
        *,
        now: dt.datetime,
    ) -> bytes:
        """The signing key of ``secret_access_key`` for ``scope``, derived once and kept.

        The entry is keyed by the secret's SHA-256, so the cache never holds a long-term secret,
        only signing keys, which SigV4 confines to one date, region and service.
        """
        fingerprint = hashlib.sha256(secret_access_key.encode("utf-8")).hexdigest()
        return self._signing_key(access_key_id, fingerprint, lambda: secret_access_key, scope, now)

    def session_signing_key(
        self,
        access_key_id: str,
        session_token: str,
        secret: Callable[[], str],
        scope: CredentialScope,
        *,
        now: dt.datetime,
    ) -> bytes:
        """The signing key of a *verified* temporary credential pair, kept by id and token.

        Call it only once the pair has been verified (``tokens.verify_credential_pair``): the
        secret is then a function of the id and the token (``tokens.derive_secret_access_key``),
        so ``secret`` is called on a miss only, and the cache holds the token, not the secret.
        """
        return self._signing_key(access_key_id, session_token, secret, scope, now)

    def _signing_key(
        self,
        access_key_id: str,
        material: str,
        secret: Callable[[], str],
        scope: CredentialScope,
        now: dt.datetime,
    ) -> bytes:
        day = (now if now.tzinfo is dt.UTC else now.astimezone(dt.UTC)).toordinal()
        entry = (access_key_id, material, scope.region, scope.service, scope.terminator)
        with self._lock:
            if day != self._day:
                self._move_window(day)
            keys = self._dates.get(scope.date)
            key = keys.get(entry) if keys is not None else None
        if key is not None:
            return key
        key = derive_signing_key(secret(), scope)
        if (
            scope.date not in self._window
            or len(access_key_id) > _MAX_CACHED_KEY_ID
            or len(material) > _MAX_CACHED_TOKEN
        ):
            return key
        with self._lock:
            keys = self._dates.get(scope.date)
            if keys is None:
                keys = self._dates[scope.date] = BoundedCache(
                    max_entries=self._max, max_weight=self._max * 1024
                )
        # The entry's strings and the 32-byte key, beyond a fixed cost for the tuple and slot.
        keys.put(entry, key, weight=_ENTRY_BYTES + len(access_key_id) + len(material))
        return key

    def _move_window(self, day: int) -> None:
        self._day = day
        last = dt.date.max.toordinal()
        dates = [dt.date.fromordinal(o) for o in (day - 1, day, day + 1) if 1 <= o <= last]
        self._window = frozenset(f"{d.year:04d}{d.month:02d}{d.day:02d}" for d in dates)
        for date in [d for d in self._dates if d not in self._window]:
            del self._dates[date]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    arn: str
    account: str
    kind: PrincipalKind
    user_id: str
    name: str
    access_key_id: str


@dataclass(frozen=True)
class AccessKeySecret:
    """What authentication needs to know of a long-term access key."""

    access_key_id: str
    secret_access_key: str
    principal: Principal
    active: bool


class SecretLookup(Protocol):
    """Finds the secret of a long-term access key."""

    def __call__(self, access_key_id: str) -> AccessKeySecret | None:
        """The key's record, or None when unknown."""
        ...


class Authenticator:
    """Verifies SigV4 signatures and returns the calling principal."""

    def __init__(
        self,
        lookup: SecretLookup,
        *,
        region: str,
        session_resolver: Callable[[HttpRequest, SignedRequest, dt.datetime], Principal]
        | None = None,
        signing_keys: SigningKeyCache | None = None,
    ) -> None:
        self._lookup = lookup
        self._region = region
        self._session_resolver = session_resolver
        self._signing_keys = SigningKeyCache() if signing_keys is None else signing_keys

    def authenticate(
        self, request: HttpRequest, signed: SignedRequest, *, service: str, now: dt.datetime
    ) -> Principal:
        """Verify ``signed`` for ``service`` and return the caller; raises an auth error."""
        check_request_time(signed, now)
        if signed.payload_hash == UNSIGNED_PAYLOAD and request.body:
            # An unsigned payload is for presigned URLs and bodiless calls; a control-plane body
            # must be covered by the signature, or it could be changed in flight.
            raise IncompleteSignature(
                "UNSIGNED-PAYLOAD is not accepted for a request with a body; sign the payload.",
            )
        # rolesanywhere and execute-api are regional; IAM and STS clients sign with whatever
        # region they are configured with when an endpoint URL is given (aws-protocols.md §5.1).
        check_scope(
            signed, service=service, region=None if service in _ANY_REGION else self._region
        )
        if signed.security_token is not None:
            if self._session_resolver is None:
                raise UnrecognizedClient(reason="session tokens are not accepted here")
            return self._session_resolver(request, signed, now)
        key_id = signed.credential
        record = self._lookup(key_id) if _ACCESS_KEY_ID.fullmatch(key_id) else None
        if record is None or not record.active:
            # Same work as a real comparison (the signing key too: looked up in the cache under
            # the claimed id, derived on a miss), then the same answer as a bad key.
            with contextlib.suppress(Exception):  # the outcome is irrelevant by design
                decoy_key = self._signing_keys.signing_key(
                    key_id, _DECOY_SECRET, signed.scope, now=now
                )
                verify_hmac_signature(request, signed, signing_key=decoy_key)
            state = "unknown" if record is None else "inactive"
            raise UnrecognizedClient(reason=f"{state} access key {signed.credential}")
        signing_key = self._signing_keys.signing_key(
            key_id, record.secret_access_key, signed.scope, now=now
        )
        verify_hmac_signature(request, signed, signing_key=signing_key)
        return record.principal
