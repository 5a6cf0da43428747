"""The OIDC issuer of outbound web identity federation: keys, documents and signed tokens (pure).

No I/O, no clock, no ambient randomness: callers pass ``now`` and the private keys (generated
outside the core). Keys and the federation switch live in one :class:`IssuerState`, sealed under
the master key; the documents and tokens are functions of that state and the time.
"""

from __future__ import annotations

from elsewhere.oidc._claims import (
    CLAIMS_NAMESPACE,
    MAX_PAYLOAD_BYTES,
    TokenClaims,
    build_token_claims,
    origin_subject_problem,
    scope_problem,
)
from elsewhere.oidc._documents import (
    DISCOVERY_PATH,
    JWKS_PATH,
    build_discovery_document,
    build_jwks,
    validate_issuer_url,
)
from elsewhere.oidc._jose import (
    ALGORITHMS,
    PrivateKey,
    b64url,
    b64url_decode,
    check_key_algorithm,
    encode_json,
    jwk_thumbprint,
    key_id,
    public_jwk,
    sign_jwt,
)
from elsewhere.oidc._keys import (
    MAX_TOKEN_LIFETIME,
    Federation,
    IssuerState,
    IssuerStateError,
    KeyPhase,
    SigningKey,
    build_signing_key,
    format_issuer_state,
    open_issuer_state,
    parse_issuer_state,
    seal_issuer_state,
)

__all__ = [
    "ALGORITHMS",
    "CLAIMS_NAMESPACE",
    "DISCOVERY_PATH",
    "JWKS_PATH",
    "MAX_PAYLOAD_BYTES",
    "MAX_TOKEN_LIFETIME",
    "Federation",
    "IssuerState",
    "IssuerStateError",
    "KeyPhase",
    "PrivateKey",
    "SigningKey",
    "TokenClaims",
    "b64url",
    "b64url_decode",
    "build_discovery_document",
    "build_jwks",
    "build_signing_key",
    "build_token_claims",
    "check_key_algorithm",
    "encode_json",
    "format_issuer_state",
    "jwk_thumbprint",
    "key_id",
    "open_issuer_state",
    "origin_subject_problem",
    "parse_issuer_state",
    "public_jwk",
    "scope_problem",
    "seal_issuer_state",
    "sign_jwt",
    "validate_issuer_url",
]
