"""Scalar encodings shared by the JSON and query protocols (aws-protocols.md §1.4, §2.1, §2.3)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import math
import re

__all__ = [
    "decode_blob",
    "encode_blob",
    "format_iso8601",
    "format_timestamp",
    "parse_float_text",
    "parse_int_text",
    "parse_timestamp",
]

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)
_INT = re.compile(r"[+-]?[0-9]{1,20}", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def parse_int_text(text: str) -> int:
    """A decimal integer as botocore writes it; raises ValueError otherwise."""
    if _INT.fullmatch(text) is None:
        raise ValueError("not an integer")
    return int(text)


def parse_float_text(text: str) -> float:
    """A decimal float, or ``NaN``/``Infinity``/``-Infinity``; raises ValueError otherwise."""
    word = _FLOAT_WORDS.get(text)
    if word is not None:
        return word
    if len(text) > 64 or _FLOAT.fullmatch(text) is None:
        raise ValueError("not a number")
    return float(text)


def _from_epoch(value: float) -> dt.datetime:
    """An aware UTC datetime from epoch seconds."""
    if not math.isfinite(value):
        raise ValueError("not a finite epoch")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError("epoch out of range") from exc


def parse_timestamp(value: str | float, fmt: str | None) -> dt.datetime:
    """A wire timestamp in any of AWS's three forms (ISO 8601, RFC 822, epoch) → aware UTC.

    Like botocore's own ``parse_timestamp`` we accept every form regardless of ``fmt``: the
    format only decides what we *emit*.
    """
    if isinstance(value, bool):
        raise ValueError("boolean is not a timestamp")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text = value.strip()
    m = _ISO.fullmatch(text)
    if m is not None:
        year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
        frac = m.group(7) or ""
        micro = int((frac + "000000")[:6]) if frac else 0
        if m.group(9):
            offset = dt.timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
            tz = dt.timezone(offset if m.group(9) == "+" else -offset)
        else:
            tz = dt.UTC
        stamp = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        return _in_utc(stamp)
    if text and (text[0].isdigit() or text[0] in "+-."):
        return _from_epoch(parse_float_text(text))
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError("not a timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return _in_utc(parsed)


def _in_utc(stamp: dt.datetime) -> dt.datetime:
    """An aware datetime moved to UTC; ValueError when that leaves years 1..9999."""
    try:
        return stamp.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("timestamp out of range") from exc


def _utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def format_iso8601(value: dt.datetime) -> str:
    """``2024-01-01T00:00:00Z``, with ``.ffffff`` when there are microseconds."""
    v = _utc(value)
    if v.microsecond:
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return v.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_timestamp(value: dt.datetime, fmt: str) -> str | int | float:
    """``value`` in the model's ``timestampFormat`` (iso8601, unixtimestamp or rfc822)."""
    if fmt == "iso8601":
        return format_iso8601(value)
    v = _utc(value)
    if fmt == "rfc822":
        return email.utils.format_datetime(v, usegmt=True)
    epoch = v.timestamp()
    return int(epoch) if epoch.is_integer() else round(epoch, 6)


def decode_blob(text: str) -> bytes:
    """Standard padded base64 → bytes; raises ValueError on anything else."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64") from exc


def encode_blob(value: bytes) -> str:
    """Bytes → standard padded base64 text."""
    return base64.b64encode(value).decode("ascii")
