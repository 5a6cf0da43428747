"""The issuer's public documents, as served: discovery metadata and the JWKS, from the snapshot.

Both are functions of the issuer URL, the issuer state every replica's snapshot holds, and the
time (keys enter and leave the JWKS at times stored with them), so every replica serves the same
bytes at the same moment, and a relying party may fetch them from any of them.
"""

from __future__ import annotations

import json
from typing import Any

from elsewhere.clock import Clock
from elsewhere.oidc import IssuerState, build_discovery_document, build_jwks
from elsewhere.service._snapshot import SnapshotProvider

__all__ = ["IssuerDocuments", "format_document"]


def format_document(document: dict[str, Any]) -> bytes:
    """A document's JSON bytes, written one way everywhere (served, exported)."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


class IssuerDocuments:
    """Renders ``openid-configuration`` and ``jwks.json`` for one issuer URL."""

    def __init__(self, snapshots: SnapshotProvider, clock: Clock, *, issuer: str) -> None:
        self._snapshots = snapshots
        self._clock = clock
        self._issuer = issuer
        self._discovery = format_document(build_discovery_document(issuer))
        # The last JWKS rendered, by the key ids it lists: it changes only when a key enters
        # or leaves, so a request costs one pass over the few keys.
        self._last: tuple[tuple[str, ...], bytes] = ((), b"")

    @property
    def issuer(self) -> str:
        """The issuer URL the documents describe."""
        return self._issuer

    def discovery(self) -> bytes:
        """The OpenID Provider metadata."""
        return self._discovery

    def jwks(self) -> bytes:
        """The JWK Set now: the keys pending, signing, or retired with tokens still alive."""
        state = self._snapshots.current().issuer or IssuerState()
        now = self._clock.now()
        kids = tuple(key.kid for key in state.published(now))
        last_kids, last_body = self._last
        if kids == last_kids and last_body:
            return last_body
        body = format_document(build_jwks(state, now))
        self._last = (kids, body)
        return body
