"""Refusing a signature seen before: optional replay protection for the authorizer, per replica.

SigV4 alone lets anyone who captured a signed request send it again, unchanged, for as long as
its date is within the clock-skew window (AWS General Reference, "Elements of an AWS API request
signature": the window protects against replay only after it has passed). A guard remembers
every signature it has let through until that signature could no longer pass the time check, and
refuses a second use.

This is not a cache: forgetting a live entry would let its replay through. So the guard never
evicts an entry before it expires; when it holds ``capacity`` live signatures it refuses new
requests (``TooManyRequests``) until some expire. Only signatures that have verified are
recorded, so only holders of valid credentials can fill it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading

from elsewhere.errors import InvalidSignature, TooManyRequests

__all__ = ["ReplayGuard", "SignatureReplayed"]


class SignatureReplayed(InvalidSignature):
    """The signature has been used before, within its validity window."""

    default_message = "The request signature has been used before."


class ReplayGuard:
    """The signatures let through and still valid, up to ``capacity`` of them.

    Entries are kept by the first 128 bits of the signature (a SHA-256 HMAC in hex; a collision
    of two distinct signatures is a 2**-64 event at 2**32 entries), grouped by the second they
    expire in. Memory is about 120 bytes per entry.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self._by_second: dict[int, list[int]] = {}
        self._seconds: list[int] = []  # a heap of the keys of _by_second

    def __len__(self) -> int:
        """How many signatures are held."""
        with self._lock:
            return len(self._seen)

    @property
    def capacity(self) -> int:
        """The most signatures held at once."""
        return self._capacity

    def admit(self, signature: str, *, valid_until: dt.datetime, now: dt.datetime) -> None:
        """Record ``signature`` until ``valid_until``; raise if it was recorded before.

        Raises :class:`SignatureReplayed` for a second use, and ``TooManyRequests`` when the
        guard already holds ``capacity`` signatures that have not expired.
        """
        try:
            key = int(signature[:32], 16)
        except ValueError:  # a verified signature is hex; anything else is kept by its hash
            key = hash(signature)
        expires = int(valid_until.timestamp()) + 1
        current = int(now.timestamp())
        with self._lock:
            self._expire(current)
            if key in self._seen:
                raise SignatureReplayed(reason="signature seen before within its window")
            if len(self._seen) >= self._capacity:
                raise TooManyRequests(
                    reason=f"replay guard full: {self._capacity} live signatures held"
                )
            self._seen.add(key)
            bucket = self._by_second.get(expires)
            if bucket is None:
                self._by_second[expires] = [key]
                heapq.heappush(self._seconds, expires)
            else:
                bucket.append(key)

    def _expire(self, current: int) -> None:
        seconds = self._seconds
        while seconds and seconds[0] <= current:
            for key in self._by_second.pop(heapq.heappop(seconds)):
                self._seen.discard(key)
