"""The two documents a relying party fetches from an issuer: discovery metadata and the JWKS.

OpenID Connect Discovery 1.0 §4: the metadata lives at ``<issuer>/.well-known/openid-configuration``
and names the JWKS (RFC 7517 §5) in ``jwks_uri``; elsewhere serves it at
``<issuer>/.well-known/jwks.json``, the path AWS's issuers use (IAM API Reference,
EnableOutboundWebIdentityFederation, ``IssuerIdentifier``). The issuer signs tokens for machines
and has no authorization endpoint, as Kubernetes' service-account issuer has none; every
relying party named in the README accepts that.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final
from urllib.parse import urlsplit

from elsewhere.oidc._jose import ALGORITHMS
from elsewhere.oidc._keys import IssuerState

__all__ = [
    "DISCOVERY_PATH",
    "JWKS_PATH",
    "build_discovery_document",
    "build_jwks",
    "validate_issuer_url",
]

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
JWKS_PATH: Final = "/.well-known/jwks.json"

#: The claims elsewhere's tokens can carry (GetWebIdentityToken; the README lists them).
_CLAIMS: Final = (
    "aud",
    "exp",
    "https://sts.amazonaws.com/",
    "iat",
    "iss",
    "jti",
    "scope",
    "sub",
    "subject_mode",
)


def validate_issuer_url(url: str) -> str:
    """``url`` as an issuer identifier, or ``ValueError`` saying why it cannot be one.

    OpenID Connect Discovery 1.0 §3 ("issuer"): a URL with scheme, host and optional path, no
    query or fragment. ``http`` is allowed for a loopback or private setup; AWS and Azure fetch
    only ``https`` issuers (README, recipes). A trailing ``/`` is dropped, so ``iss`` and the
    document URLs are written one way.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValueError(f"{url!r}: an issuer URL has no query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r}: an issuer URL carries no user information")
    return url.rstrip("/")


def build_discovery_document(issuer: str) -> dict[str, Any]:
    """The OpenID Provider metadata of ``issuer`` (OpenID Connect Discovery 1.0 §3)."""
    return {
        "issuer": issuer,
        "jwks_uri": issuer + JWKS_PATH,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "claims_supported": list(_CLAIMS),
    }


def build_jwks(state: IssuerState, now: dt.datetime) -> dict[str, Any]:
    """The JWK Set at ``now``: every key pending, signing, or retired with live tokens."""
    return {"keys": [key.jwk() for key in state.published(now)]}
