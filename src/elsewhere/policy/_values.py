"""Typed readings of condition values: numbers, dates, booleans, IP networks, binary.

Sources: IAM User Guide "IAM JSON policy elements: Condition operators" (numeric: integer or
decimal; date: W3C profile of ISO 8601 or epoch seconds; IP: CIDR per RFC 4632; binary: base64).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
# W3C NOTE-datetime profiles, with the leniency AWS's "legacy parser" shows at save time
# (lower-case t/z, missing zone, up to 9 fractional digits, +hh offsets) [OBS, moto].
_DATE_RE = re.compile(
    r"^(-?\d{4,9})-(\d{2})(?:-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH_RE = re.compile(r"^\d{1,19}$")
_YEAR_RE = re.compile(r"^(\d{4})$")


@functools.lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    """An integer or decimal, or None."""
    if not _NUMBER_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> Decimal | None:
    """Seconds since the epoch of an ISO 8601 date-time or an epoch value, or None (cached).

    A value containing ``-`` is read as ISO 8601 (zone-less values are UTC); digits alone are
    epoch seconds (so a bare ``YYYY`` is an epoch number, as AWS reads it) [OBS, PMapper, moto].
    """
    m = _DATE_RE.match(text)
    if m is None:
        if _EPOCH_RE.match(text):
            value = int(text)
            return Decimal(value) if value < 2**63 else None
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset >= timedelta(hours=24):
            return None
        dt = dt.replace(tzinfo=timezone(sign * offset))
    seconds = Decimal(int(dt.timestamp()))
    if frac:
        seconds += Decimal("0." + frac)
    return seconds


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` in any case, or None."""
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return None


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR block or bare address (``/32`` or ``/128``), host bits allowed, or None."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IPv4 or IPv6 address, or None."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def parse_binary(text: str) -> bytes | None:
    """Base64-decoded bytes, or None."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
