"""A small, strict binary encoding for token payloads and key rings (never pickle).

Unsigned integers are LEB128 varints; signed ones are zigzag varints; strings are a varint byte
length followed by UTF-8; an optional string is encoded as ``length + 1`` with ``0`` for absent.
Datetimes are microseconds since the Unix epoch in UTC. The reader rejects overlong varints,
invalid UTF-8, truncation and trailing bytes, so each value has exactly one encoding.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["DecodeError", "Reader", "Writer", "from_micros", "to_micros"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_VARINT_BYTES = 10


class DecodeError(ValueError):
    """Bytes that are not a valid encoding; callers turn it into their own error."""


def to_micros(when: dt.datetime) -> int:
    """Microseconds from the epoch to the aware datetime ``when``."""
    if when.tzinfo is None:
        raise ValueError("datetimes in tokens must be timezone-aware")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> dt.datetime:
    """The UTC datetime ``micros`` microseconds after the epoch."""
    try:
        return _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError as exc:
        raise DecodeError("datetime out of range") from exc


class Writer:
    """Appends encoded values to a buffer."""

    def __init__(self) -> None:
        self._out = bytearray()

    def uint(self, value: int) -> None:
        """An unsigned LEB128 varint."""
        if 0 <= value < 0x80:  # almost every length and count: one byte
            self._out.append(value)
            return
        if value < 0:
            raise ValueError("uint must be non-negative")
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                self._out.append(byte | 0x80)
            else:
                self._out.append(byte)
                return

    def sint(self, value: int) -> None:
        """A signed integer, zigzag-encoded."""
        self.uint((value << 1) if value >= 0 else ((-value) << 1) - 1)

    def raw(self, data: bytes) -> None:
        """Bytes with no length prefix (fixed-size fields)."""
        self._out += data

    def blob(self, data: bytes) -> None:
        """Bytes with a varint length prefix."""
        self.uint(len(data))
        self._out += data

    def text(self, value: str) -> None:
        """A UTF-8 string with a varint length prefix."""
        self.blob(value.encode("utf-8"))

    def optional_text(self, value: str | None) -> None:
        """An optional string: ``0`` for absent, else ``len + 1`` and the UTF-8 bytes."""
        if value is None:
            self.uint(0)
            return
        data = value.encode("utf-8")
        self.uint(len(data) + 1)
        self._out += data

    def texts(self, values: tuple[str, ...]) -> None:
        """A counted sequence of strings."""
        self.uint(len(values))
        for value in values:
            self.text(value)

    def when(self, value: dt.datetime) -> None:
        """An aware datetime as signed microseconds since the epoch."""
        self.sint(to_micros(value))

    def getvalue(self) -> bytes:
        """Everything written so far."""
        return bytes(self._out)


class Reader:
    """Reads values written by :class:`Writer`; every failure is a :class:`DecodeError`."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def uint(self) -> int:
        """An unsigned LEB128 varint (canonical form only)."""
        # Fast path: almost every length and count fits in one byte.
        pos = self._pos
        if pos < len(self._data) and self._data[pos] < 0x80:
            self._pos = pos + 1
            return self._data[pos]
        return self._uint_long()

    def _uint_long(self) -> int:
        result = 0
        for index in range(_MAX_VARINT_BYTES):
            if self._pos >= len(self._data):
                raise DecodeError("truncated varint")
            byte = self._data[self._pos]
            self._pos += 1
            result |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                if byte == 0 and index > 0:
                    raise DecodeError("overlong varint")
                return result
        raise DecodeError("varint too long")

    def sint(self) -> int:
        """A zigzag-encoded signed integer."""
        value = self.uint()
        return (value >> 1) if not value & 1 else -((value + 1) >> 1)

    def raw(self, size: int) -> bytes:
        """Exactly ``size`` bytes."""
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise DecodeError("truncated field")
        data = self._data[self._pos : end]
        self._pos = end
        return data

    def text(self) -> str:
        """A length-prefixed UTF-8 string."""
        size = self.uint()
        end = self._pos + size
        if end > len(self._data):
            raise DecodeError("truncated field")
        try:
            value = self._data[self._pos : end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("invalid UTF-8") from exc
        self._pos = end
        return value

    def optional_text(self) -> str | None:
        """An optional string (see :meth:`Writer.optional_text`)."""
        size = self.uint()
        if size == 0:
            return None
        return _utf8(self.raw(size - 1))

    def texts(self, limit: int) -> tuple[str, ...]:
        """A counted sequence of at most ``limit`` strings."""
        count = self.uint()
        if count > limit:
            raise DecodeError("too many items")
        return tuple(self.text() for _ in range(count))

    def when(self) -> dt.datetime:
        """A datetime written by :meth:`Writer.when`."""
        return from_micros(self.sint())

    def end(self) -> None:
        """Fail unless every byte was consumed."""
        if self._pos != len(self._data):
            raise DecodeError("trailing bytes")


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("invalid UTF-8") from exc
