"""Temporary credentials: AWS-style ids, sealed stateless session tokens and the key ring.

Pure: no I/O, no clock, no ambient randomness. Callers pass ``now``, nonces and random bytes.
"""

from __future__ import annotations

from elsewhere.tokens._claims import SessionClaims
from elsewhere.tokens._ids import (
    ACCESS_KEY_ID_LENGTH,
    SECRET_ACCESS_KEY_LENGTH,
    UNIQUE_ID_LENGTH,
    IdPrefix,
    RandomSource,
    new_access_key_id,
    new_secret_access_key,
    new_unique_id,
    validate_access_key_id,
    validate_secret_access_key,
    validate_unique_id,
)
from elsewhere.tokens._keyring import (
    KEY_SIZE,
    KeyRing,
    KeyRingError,
    KeyState,
    RingKey,
    build_key_ring,
    format_key_ring,
    open_key_ring,
    parse_key_ring,
    seal_key_ring,
)
from elsewhere.tokens._packed import (
    PACKED_POLICY_BUDGET,
    packed_policy_size,
    validate_packed_policy_size,
)
from elsewhere.tokens._session import (
    MAX_SESSION_TOKEN_LENGTH,
    NONCE_SIZE,
    Credentials,
    PreparedSession,
    derive_secret_access_key,
    issue_credentials,
    issue_prepared_credentials,
    open_session,
    prepare_session,
    seal_session,
    verify_credential_pair,
)

__all__ = [
    "ACCESS_KEY_ID_LENGTH",
    "KEY_SIZE",
    "MAX_SESSION_TOKEN_LENGTH",
    "NONCE_SIZE",
    "PACKED_POLICY_BUDGET",
    "SECRET_ACCESS_KEY_LENGTH",
    "UNIQUE_ID_LENGTH",
    "Credentials",
    "IdPrefix",
    "KeyRing",
    "KeyRingError",
    "KeyState",
    "PreparedSession",
    "RandomSource",
    "RingKey",
    "SessionClaims",
    "build_key_ring",
    "derive_secret_access_key",
    "format_key_ring",
    "issue_credentials",
    "issue_prepared_credentials",
    "new_access_key_id",
    "new_secret_access_key",
    "new_unique_id",
    "open_key_ring",
    "open_session",
    "packed_policy_size",
    "parse_key_ring",
    "prepare_session",
    "seal_key_ring",
    "seal_session",
    "validate_access_key_id",
    "validate_packed_policy_size",
    "validate_secret_access_key",
    "validate_unique_id",
    "verify_credential_pair",
]
