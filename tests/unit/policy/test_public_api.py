"""The package's curated public surface."""

from __future__ import annotations

import elsewhere.policy as policy


def test_all_names_exist_and_are_documented() -> None:
    """Every name in __all__ exists; public classes and functions carry a docstring."""
    for name in policy.__all__:
        obj = getattr(policy, name)
        if callable(obj):
            assert obj.__doc__, name


def test_suggested_entry_points_present() -> None:
    """parse_policy, evaluate and format_access_denied are exported."""
    assert {"parse_policy", "evaluate", "format_access_denied", "PolicySet"} <= set(policy.__all__)
