"""The bounded cache: its bounds always hold, and it returns only what was put and not dropped."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from elsewhere.cache import BoundedCache

KEYS = st.integers(min_value=0, max_value=12)
WEIGHTS = st.integers(min_value=0, max_value=40)
TIMES = st.integers(min_value=0, max_value=20)


class _Reference:
    """The same cache written the plain way, as the specification of the real one."""

    def __init__(self, max_entries: int, max_weight: int | None, max_entry: int | None, lru: bool):
        """Empty."""
        self.max_entries, self.max_weight, self.max_entry, self.lru = (
            max_entries,
            max_weight,
            max_entry,
            lru,
        )
        self.entries: OrderedDict[int, tuple[str, int, int | None]] = OrderedDict()

    def weight(self) -> int:
        """The sum of the weights kept."""
        return sum(w for _, w, _ in self.entries.values())

    def put(self, key: int, value: str, weight: int, expires: int | None) -> None:
        """Replace, then drop the oldest until within bounds."""
        self.entries.pop(key, None)
        limit = self.max_entry if self.max_entry is not None else self.max_weight
        if self.max_weight is not None and limit is not None:
            limit = min(limit, self.max_weight)
        if limit is not None and weight > limit:
            return
        self.entries[key] = (value, weight, expires)
        while len(self.entries) > self.max_entries or (
            self.max_weight is not None and self.weight() > self.max_weight
        ):
            self.entries.popitem(last=False)

    def get(self, key: int, now: int | None) -> str | None:
        """The live value, touched when LRU."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[2] is not None and (now is None or now >= entry[2]):
            if now is not None:
                del self.entries[key]
            return None
        if self.lru:
            self.entries.move_to_end(key)
        return entry[0]


class CacheMachine(RuleBasedStateMachine):
    """Random puts, gets, pops and clears against the reference."""

    def __init__(self) -> None:
        """No cache until ``setup`` chooses its bounds."""
        super().__init__()
        self.cache: BoundedCache[int, str] | None = None
        self.ref: _Reference | None = None
        self.counter = 0

    @precondition(lambda self: self.cache is None)
    @rule(
        max_entries=st.integers(min_value=1, max_value=8),
        max_weight=st.none() | st.integers(min_value=1, max_value=100),
        max_entry=st.none() | st.integers(min_value=0, max_value=60),
        lru=st.booleans(),
    )
    def setup(
        self, max_entries: int, max_weight: int | None, max_entry: int | None, lru: bool
    ) -> None:
        """A cache with random bounds."""
        self.cache = BoundedCache(
            max_entries=max_entries, max_weight=max_weight, max_entry_weight=max_entry, lru=lru
        )
        self.ref = _Reference(max_entries, max_weight, max_entry, lru)

    @precondition(lambda self: self.cache is not None)
    @rule(key=KEYS, weight=WEIGHTS, expires=st.none() | TIMES)
    def put(self, key: int, weight: int, expires: int | None) -> None:
        """Put a fresh value; it is returned, and kept unless it is too heavy on its own."""
        assert self.cache is not None
        assert self.ref is not None
        self.counter += 1
        value = f"v{self.counter}"
        assert self.cache.put(key, value, weight=weight, expires=expires) == value
        self.ref.put(key, value, weight, expires)

    @precondition(lambda self: self.cache is not None)
    @rule(key=KEYS, now=st.none() | TIMES)
    def get(self, key: int, now: int | None) -> None:
        """A lookup answers as the reference does."""
        assert self.cache is not None
        assert self.ref is not None
        assert self.cache.get(key, now) == self.ref.get(key, now)

    @precondition(lambda self: self.cache is not None)
    @rule(key=KEYS)
    def pop(self, key: int) -> None:
        """Popping returns what was kept and forgets it."""
        assert self.cache is not None
        assert self.ref is not None
        entry = self.ref.entries.pop(key, None)
        assert self.cache.pop(key) == (entry[0] if entry else None)

    @precondition(lambda self: self.cache is not None)
    @rule()
    def clear(self) -> None:
        """Clearing empties."""
        assert self.cache is not None
        assert self.ref is not None
        self.cache.clear()
        self.ref.entries.clear()

    @invariant()
    def bounds_hold(self) -> None:
        """Entries and weight never pass their bounds; the weight is the sum of the entries'."""
        if self.cache is None or self.ref is None:
            return
        assert len(self.cache) <= self.cache.max_entries
        if self.cache.max_weight is not None:
            assert self.cache.weight <= self.cache.max_weight
        assert self.cache.weight == self.ref.weight()
        assert self.cache.oldest_first() == list(self.ref.entries)


TestCacheMachine = CacheMachine.TestCase
TestCacheMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)


@given(
    st.lists(st.tuples(KEYS, WEIGHTS), max_size=60),
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=1, max_value=80),
)
def test_ok_newest_fitting_entry_is_always_kept(
    puts: list[tuple[int, int]], max_entries: int, max_weight: int
) -> None:
    """ok/ right after a put, the entry is there whenever its weight alone fits."""
    cache: BoundedCache[int, int] = BoundedCache(max_entries=max_entries, max_weight=max_weight)
    for i, (key, weight) in enumerate(puts):
        cache.put(key, i, weight=weight)
        assert (cache.get(key) == i) is (weight <= max_weight)


def test_ok_oldest_leaves_first() -> None:
    """ok/ insertion order decides what leaves when full (a lookup does not save an entry)."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.oldest_first() == ["b", "c"]


def test_ok_lru_keeps_what_is_used() -> None:
    """ok/ with lru, a lookup makes an entry the newest."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=2, lru=True)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.oldest_first() == ["a", "c"]


def test_ok_weight_evicts_several() -> None:
    """ok/ one heavy entry pushes out as many old ones as it takes."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=10, max_weight=100)
    for key in "abcd":
        cache.put(key, 0, weight=25)
    cache.put("e", 0, weight=60)
    assert cache.oldest_first() == ["d", "e"]
    assert cache.weight == 85


def test_fail_entry_heavier_than_its_bound_is_not_kept() -> None:
    """fail/ an entry over max_entry_weight is not kept, and drops the value it replaces."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=10, max_entry_weight=5)
    cache.put("a", 1, weight=5)
    assert cache.put("a", 2, weight=6) == 2
    assert cache.get("a") is None
    assert cache.weight == 0


def test_fail_expired_entry_is_gone() -> None:
    """fail/ at or after its expiry an entry is not returned; without a time, never."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=10)
    cache.put("a", 1, expires=100)
    assert cache.get("a", 99) == 1
    assert cache.get("a") is None
    assert cache.get("a", 100) is None
    assert "a" not in cache


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_entries": 0}, "max_entries"),
        ({"max_entries": 1, "max_weight": 0}, "max_weight"),
    ],
    ids=["fail/no-entries", "fail/no-weight"],
)
def test_fail_bad_bounds(kwargs: dict[str, Any], message: str) -> None:
    """fail/ bounds below one are refused."""
    with pytest.raises(ValueError, match=message):
        BoundedCache(**kwargs)


def test_fail_negative_weight() -> None:
    """fail/ a negative weight is refused (it would loosen the bound)."""
    cache: BoundedCache[str, int] = BoundedCache(max_entries=1)
    with pytest.raises(ValueError, match="weight"):
        cache.put("a", 1, weight=-1)


def test_ok_bounds_hold_under_threads() -> None:
    """ok/ threads putting at once never push the cache over its bounds."""
    cache: BoundedCache[tuple[int, int], int] = BoundedCache(max_entries=50, max_weight=500)
    seen: list[tuple[int, int]] = []

    def work(worker: int) -> None:
        for i in range(2000):
            cache.put((worker, i), i, weight=i % 20)
            cache.get((worker, i - 1))
            seen.append((len(cache), cache.weight))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(n <= 50 and w <= 500 for n, w in seen)
    assert cache.weight == sum(i % 20 for (_, i) in cache.oldest_first())
