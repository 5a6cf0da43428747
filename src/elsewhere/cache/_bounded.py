"""One bounded cache for every memo in elsewhere: bounded in entries and in (estimated) bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A map that holds at most ``max_entries`` entries and ``max_weight`` units of weight.

    Each entry carries a weight that the caller gives (elsewhere weighs entries in estimated
    bytes of what the entry keeps alive) and, optionally, a time at which it expires. When an
    entry would push the cache over either bound, the oldest entries leave first: by insertion
    order, or by last use when ``lru`` is set. An entry heavier than ``max_entry_weight`` is not
    kept at all. The cache never reads a clock: an entry that expires is put with ``expires`` and
    looked up with ``now`` (any comparable values, such as seconds or datetimes); at or after
    ``expires`` it is gone, and a lookup without ``now`` never returns an entry that can expire.

    Safe to share between threads. Lookups take no lock unless ``lru`` is set or the entry has
    expired (one dict read, atomic in CPython); changes take one lock, so the bounds always hold.
    """

    __slots__ = (
        "_entries",
        "_lock",
        "_lru",
        "_max_entries",
        "_max_entry_weight",
        "_max_weight",
        "_weight",
    )

    def __init__(
        self,
        *,
        max_entries: int,
        max_weight: int | None = None,
        max_entry_weight: int | None = None,
        lru: bool = False,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if max_weight is not None and max_weight < 1:
            raise ValueError("max_weight must be at least 1")
        self._max_entries = max_entries
        self._max_weight = max_weight
        limit = max_weight if max_entry_weight is None else max_entry_weight
        if max_weight is not None and limit is not None:
            limit = min(limit, max_weight)
        self._max_entry_weight = limit
        self._lru = lru
        # key -> (value, weight, expires or None)
        self._entries: OrderedDict[K, tuple[V, int, Any]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------------------------

    def get(self, key: K, now: Any = None) -> V | None:
        """The value kept for ``key``, or None when there is none (or it has expired at ``now``)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires = entry[2]
        if expires is None and not self._lru:  # the common case, first
            return entry[0]
        if expires is not None and (now is None or now >= expires):
            if now is not None:
                self._drop(key, entry)
            return None
        if self._lru:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
        return entry[0]

    def __contains__(self, key: object) -> bool:
        """Whether an entry is kept for ``key`` (expired or not)."""
        return key in self._entries

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._entries)

    @property
    def weight(self) -> int:
        """The total weight of the entries kept."""
        return self._weight

    @property
    def max_entries(self) -> int:
        """The bound on entries."""
        return self._max_entries

    @property
    def max_weight(self) -> int | None:
        """The bound on total weight (None: entries only)."""
        return self._max_weight

    def oldest_first(self) -> list[K]:
        """The keys kept, oldest first (a copy)."""
        with self._lock:
            return list(self._entries)

    # -- changing -------------------------------------------------------------------------------

    def put(self, key: K, value: V, *, weight: int = 1, expires: Any = None) -> V:
        """Keep ``value`` for ``key`` (replacing what was kept) within the bounds; return it.

        An entry heavier than ``max_entry_weight`` is not kept (and any older entry for ``key`` is
        dropped, so a lookup never returns a value that was replaced).
        """
        if weight < 0:
            raise ValueError("weight must not be negative")
        with self._lock:
            entries = self._entries
            old = entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if self._max_entry_weight is not None and weight > self._max_entry_weight:
                return value
            # Room first, then the entry: the bounds hold at every moment, even for a reader
            # that takes no lock.
            max_weight = self._max_weight
            while entries and (
                len(entries) >= self._max_entries
                or (max_weight is not None and self._weight + weight > max_weight)
            ):
                _, dropped = entries.popitem(last=False)
                self._weight -= dropped[1]
            entries[key] = (value, weight, expires)
            self._weight += weight
        return value

    def pop(self, key: K) -> V | None:
        """Forget ``key``; the value that was kept, or None."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return None
            self._weight -= entry[1]
            return entry[0]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def _drop(self, key: K, entry: tuple[V, int, Any]) -> None:
        with self._lock:
            if self._entries.get(key) is entry:
                del self._entries[key]
                self._weight -= entry[1]
