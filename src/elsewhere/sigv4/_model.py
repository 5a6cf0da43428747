"""The values SigV4 works on: a request as received, a credential scope, a parsed signature."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Self

__all__ = ["BodyWithheldRequest", "CredentialScope", "HttpRequest", "SignedRequest"]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request exactly as it arrived on the wire (or as a client is about to send it)."""

    method: str
    raw_path: str  # percent-encoded path exactly as received, without the query
    raw_query: str  # raw query string as received, '' if none
    headers: tuple[tuple[str, str], ...]  # (name, value) as received; duplicates allowed
    body: bytes

    @classmethod
    def indexed(
        cls,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        index: dict[str, list[str]],
    ) -> Self:
        """A request whose header index its caller built while reading the headers.

        ``index`` maps each lower-cased name to its values in the order received and must
        describe ``headers`` exactly; the request keeps it instead of building its own.
        """
        request = cls(method, raw_path, raw_query, headers, body)
        request.__dict__["_by_name"] = index
        return request

    def _index(self) -> dict[str, list[str]]:
        # Built on first lookup and kept in the instance dict (the fields stay frozen):
        # verification asks for a dozen headers, and a scan that folds every name each time
        # costs more than the whole canonical request. Not a functools.cached_property: its
        # per-access lock cost as much as the lookups it saved.
        index: dict[str, list[str]] | None = self.__dict__.get("_by_name")
        if index is None:
            index = {}
            for n, v in self.headers:
                # ASGI servers hand header names over lower-cased already.
                key = n if n.islower() else n.lower()
                values = index.get(key)
                if values is None:
                    index[key] = [v]
                else:
                    values.append(v)
            self.__dict__["_by_name"] = index
        return index

    def _body_sha256(self) -> str:
        # Parsing (the payload hash of an unsigned body) and verification (the declared hash
        # against the body) both need the body's hash; it is computed once per request.
        digest: str | None = self.__dict__.get("_body_hash")
        if digest is None:
            # Most requests carry no body (every GET a proxy asks about): its hash is a constant.
            digest = hashlib.sha256(self.body).hexdigest() if self.body else _EMPTY_SHA256
            self.__dict__["_body_hash"] = digest
        return digest

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in the order received."""
        index = self._index()
        values = index.get(name)
        if values is None:
            values = index.get(name.lower(), [])
        return list(values)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        index = self._index()
        values = index.get(name)
        if values is None:
            values = index.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True)
class BodyWithheldRequest(HttpRequest):
    """A request seen without its body: a proxy asked about it and kept the body to itself.

    nginx's ``auth_request`` sends the authorizer the request's line and headers only. The
    signature still covers the payload hash the client declared in ``X-Amz-Content-SHA256``, so
    that declaration stands in for the body's hash; without one, the body is taken to be empty
    (a signature over a body then does not verify). Nothing here shows that the body the
    upstream receives has the declared hash: the upstream has to compare them itself, or the
    proxy has to forward the body. ``body`` is always empty.
    """

    def __post_init__(self) -> None:
        """Refuse a body: a request that has one is an :class:`HttpRequest`."""
        if self.body:
            raise ValueError("a BodyWithheldRequest carries no body")

    def _body_sha256(self) -> str:
        declared = self.header("x-amz-content-sha256")
        return _EMPTY_SHA256 if declared is None else declared.strip().lower()


@dataclass(frozen=True)
class CredentialScope:
    """The ``<date>/<region>/<service>/<terminator>`` part of a SigV4 credential."""

    date: str
    region: str
    service: str
    terminator: str

    def format(self) -> str:
        """The scope as it appears in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class SignedRequest:
    """The parsed parts of a SigV4 signature, from the header form or the presigned-query form."""

    algorithm: str
    credential: str  # access key id, or for X.509 the leaf's serial number in decimal
    scope: CredentialScope
    amz_date: str  # compact ISO-8601 (YYYYMMDDTHHMMSSZ), as used in the string to sign
    timestamp: dt.datetime  # amz_date as a timezone-aware UTC datetime
    signed_headers: tuple[str, ...]  # as the client listed them (order and text kept)
    signature: str
    security_token: str | None
    presigned: bool
    expires: int | None  # X-Amz-Expires of a presigned request
    payload_hash: str  # X-Amz-Content-SHA256 when sent, else the hex SHA-256 of the body
