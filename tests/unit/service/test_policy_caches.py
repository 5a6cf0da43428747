"""Caches of compiled policies hold a bounded number of bytes, whatever texts arrive.

Each test swaps in a cache with small bounds of the same kind, so a few policies reach them.
"""

from __future__ import annotations

import json

import pytest

from elsewhere.cache import BoundedCache
from elsewhere.policy import PolicyKind
from elsewhere.service import _session_auth, _simulate


def _policy(index: int, size: int) -> str:
    """A valid identity policy of about ``size`` characters, distinct per ``index``."""
    resources = [f"arn:aws:s3:::bucket-{index}-{i}/*" for i in range(size // 30)]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}],
        }
    )


def test_compiled_simulation_policies_are_bounded_in_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ok/ 12 distinct policies of 2 KB: the cache keeps the newest that fit its bytes."""
    cache: BoundedCache[object, object] = BoundedCache(max_entries=100, max_weight=200_000)
    monkeypatch.setattr(_simulate, "_COMPILED", cache)
    texts = [_policy(index, 2000) for index in range(12)]
    for text in texts:
        _simulate.compile_policy(text, PolicyKind.IDENTITY, "p", stored=False)
    assert 0 < cache.weight <= 200_000
    assert 0 < len(cache) < 12
    assert (texts[-1], PolicyKind.IDENTITY, "p", False) in cache


def test_oversized_simulation_policy_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """fail/ a policy heavier than one entry may be is compiled but not kept."""
    cache: BoundedCache[object, object] = BoundedCache(
        max_entries=100, max_weight=1_000_000, max_entry_weight=100_000
    )
    monkeypatch.setattr(_simulate, "_COMPILED", cache)
    text = _policy(0, 5000)
    assert _simulate.compile_policy(text, PolicyKind.IDENTITY, "p", stored=False).text == text
    assert len(cache) == 0


def test_session_policies_are_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """ok/ distinct session policies, valid or not, stay within the cache's bytes."""
    cache: BoundedCache[object, object] = BoundedCache(max_entries=100, max_weight=200_000)
    monkeypatch.setattr(_session_auth, "_SESSION_POLICIES", cache)
    for index in range(12):
        _session_auth._session_policy(_policy(index, 2000))
    assert _session_auth._session_policy("not json") is None
    assert _session_auth._session_policy("not json") is None
    assert "not json" in cache
    assert 0 < cache.weight <= 200_000
    assert 0 < len(cache) < 13
