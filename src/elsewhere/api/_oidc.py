"""Outbound federation on the wire: the issuer's public documents, the IAM operations and STS
``GetWebIdentityToken``.

The documents answer ``GET`` and ``HEAD`` without authentication, on every replica, with
``Cache-Control: public, max-age=300`` (the time a rotated-in key is published before it signs,
``service.DEFAULT_ACTIVATION_DELAY``), a strong ``ETag`` derived from the bytes (so every replica
sends the same one) and ``304 Not Modified`` for a matching ``If-None-Match`` (RFC 9110 §13.1.2,
RFC 9111 §5.2.2.1), and ``Access-Control-Allow-Origin: *`` so that browser-based tools can read
them too: they hold nothing but public keys and metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from elsewhere.oidc import DISCOVERY_PATH, JWKS_PATH, b64url
from elsewhere.protocol import Response
from elsewhere.service._authn import Principal
from elsewhere.service._federation import DEFAULT_ACTIVATION_DELAY, OutboundFederation
from elsewhere.service._issuer import IssuerDocuments
from elsewhere.service._web_identity import WebIdentityTokens, parse_web_identity_request

__all__ = [
    "DOCUMENT_MAX_AGE",
    "FEDERATION_OPERATIONS",
    "PublicRoute",
    "federation_handler",
    "issuer_routes",
    "web_identity_handler",
]

#: Seconds relying parties may cache the documents (``Cache-Control: max-age``).
DOCUMENT_MAX_AGE: Final = int(DEFAULT_ACTIVATION_DELAY.total_seconds())

#: The IAM operations of outbound web identity federation.
FEDERATION_OPERATIONS: Final = frozenset(
    {
        "EnableOutboundWebIdentityFederation",
        "DisableOutboundWebIdentityFederation",
        "GetOutboundWebIdentityFederationInfo",
    }
)


@dataclass(frozen=True)
class PublicRoute:
    """A document served to anyone on ``GET``/``HEAD`` of one path, named for the access log."""

    operation: str
    respond: Callable[[Mapping[str, str]], Response]


def _etag(body: bytes) -> str:
    return '"' + b64url(hashlib.sha256(body).digest()[:18]) + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    if if_none_match is None:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def _document(render: Callable[[], bytes]) -> Callable[[Mapping[str, str]], Response]:
    def respond(headers: Mapping[str, str]) -> Response:
        body = render()
        etag = _etag(body)
        cache = (
            ("Cache-Control", f"public, max-age={DOCUMENT_MAX_AGE}"),
            ("ETag", etag),
            ("Access-Control-Allow-Origin", "*"),
        )
        if _matches(headers.get("if-none-match"), etag):
            return Response(304, cache, b"")
        return Response(200, (("Content-Type", "application/json"), *cache), body)

    return respond


def issuer_routes(documents: IssuerDocuments) -> dict[str, PublicRoute]:
    """The paths of the two documents, at the root and under the issuer URL's own path.

    A proxy that publishes elsewhere under a path prefix may pass the prefix on or strip it;
    either way the documents are found.
    """
    discovery = PublicRoute("OpenIDConfiguration", _document(documents.discovery))
    jwks = PublicRoute("JWKS", _document(documents.jwks))
    routes = {DISCOVERY_PATH: discovery, JWKS_PATH: jwks}
    prefix = urlsplit(documents.issuer).path.rstrip("/")
    if prefix:
        routes[prefix + DISCOVERY_PATH] = discovery
        routes[prefix + JWKS_PATH] = jwks
    return routes


def federation_handler(
    federation: OutboundFederation,
) -> Callable[[str, dict[str, Any], Principal], dict[str, Any]]:
    """The IAM operations of :data:`FEDERATION_OPERATIONS`, outputs keyed as the model's."""

    def handle(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        if operation == "EnableOutboundWebIdentityFederation":
            return {"IssuerIdentifier": federation.enable()}
        if operation == "DisableOutboundWebIdentityFederation":
            federation.disable()
            return {}
        if operation != "GetOutboundWebIdentityFederationInfo":
            raise ValueError(f"{operation} is not an outbound federation operation")
        info = federation.info()
        return {"IssuerIdentifier": info.issuer, "JwtVendingEnabled": info.enabled}

    return handle


def web_identity_handler(
    tokens: WebIdentityTokens,
) -> Callable[[str, dict[str, Any], Principal], dict[str, Any]]:
    """STS ``GetWebIdentityToken``, output keyed as the model's."""

    def handle(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        if operation != "GetWebIdentityToken":
            raise ValueError(f"{operation} is not GetWebIdentityToken")
        issued = tokens.issue(parse_web_identity_request(params), caller)
        return {"WebIdentityToken": issued.token, "Expiration": issued.expiration}

    return handle
