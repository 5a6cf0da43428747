"""Authentication of SigV4 (HMAC) signed calls: who is calling.

The order of checks follows AWS (reference aws-protocols.md §4.6): parse the signature, check the
request time, check the credential scope, look the key up, compare the signature. An unknown key
and a wrong signature take the same work, so timing does not tell them apart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from elsewhere.errors import IncompleteSignature, UnrecognizedClient
from elsewhere.sigv4 import (
    UNSIGNED_PAYLOAD,
    HttpRequest,
    SignedRequest,
    check_request_time,
    check_scope,
    verify_hmac_signature,
)

__all__ = ["AccessKeySecret", "Authenticator", "Principal", "SecretLookup"]

PrincipalKind = Literal["root", "user", "assumed-role"]

# A fixed secret used to spend the same work on an unknown key as on a known one.
_DECOY_SECRET = "elsewhere-decoy-secret-key-0000000000000"  # noqa: S105 - not a credential
# IAM's AccessKeyIdType pattern. Anything else is an unknown key without asking the store (a
# presigned X-Amz-Credential can carry %00, which PostgreSQL text cannot even hold).
_ACCESS_KEY_ID = re.compile(r"\w+")


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
    ) -> None:
        self._lookup = lookup
        self._region = region
        self._session_resolver = session_resolver

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
        # rolesanywhere is regional; IAM and STS clients sign with whatever region they are
        # configured with when an endpoint URL is given (aws-protocols.md §5.1).
        check_scope(
            signed, service=service, region=self._region if service == "rolesanywhere" else None
        )
        if signed.security_token is not None:
            if self._session_resolver is None:
                raise UnrecognizedClient(reason="session tokens are not accepted here")
            return self._session_resolver(request, signed, now)
        key_id = signed.credential
        record = self._lookup(key_id) if _ACCESS_KEY_ID.fullmatch(key_id) else None
        if record is None or not record.active:
            # Same work as a real comparison, then the same answer as a bad key.
            with contextlib.suppress(Exception):  # the outcome is irrelevant by design
                verify_hmac_signature(request, signed, _DECOY_SECRET)
            state = "unknown" if record is None else "inactive"
            raise UnrecognizedClient(reason=f"{state} access key {signed.credential}")
        verify_hmac_signature(request, signed, record.secret_access_key)
        return record.principal
