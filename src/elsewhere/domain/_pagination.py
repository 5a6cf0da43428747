"""Opaque, tamper-evident pagination tokens.

A token names the listing it belongs to (``scope``) and the last key returned (``after``). It is
``base64url(payload) "." base64url(HMAC-SHA256(key, payload)[:16])``; anything that does not
verify is refused, so a caller cannot steer a listing by editing a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from elsewhere.errors import ValidationError

__all__ = ["InvalidPageTokenError", "format_page_token", "parse_page_token"]

_MAC_BYTES = 16


class InvalidPageTokenError(ValidationError):
    """A ``nextToken`` that this server did not issue for this listing."""

    default_message = "Invalid pagination token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Unused low bits of the last character would let two texts decode alike; only the
    # canonical spelling is ours.
    if _b64(data) != text:
        raise ValueError("non-canonical base64url")
    return data


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _mac(key: bytes, payload: bytes) -> bytes:
    digest = hmac.new(key, b"elsewhere-page-token\x00" + payload, hashlib.sha256).digest()
    return digest[:_MAC_BYTES]


def format_page_token(key: bytes, scope: str, after: str) -> str:
    """A token that resumes listing ``scope`` after key ``after``."""
    payload = json.dumps({"s": scope, "a": after}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def parse_page_token(key: bytes, scope: str, token: str) -> str:
    """The ``after`` key of ``token``; raise :class:`InvalidPageTokenError` if it is not ours."""
    try:
        body, _, tag = token.partition(".")
        payload = _unb64(body)
        mac = _unb64(tag)
    except (ValueError, binascii.Error) as exc:
        raise InvalidPageTokenError(reason=f"undecodable token: {exc}") from None
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidPageTokenError(reason="token MAC does not verify")
    # The MAC verified, so the payload is ours: a decode failure here would be our own bug.
    data = json.loads(payload)
    if data.get("s") != scope or not isinstance(data.get("a"), str):
        raise InvalidPageTokenError(reason="token belongs to another listing")
    return str(data["a"])
