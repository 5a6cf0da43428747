"""Properties of IAM identifiers and pagination (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.domain._iam import format_iam_arn, split_iam_arn
from elsewhere.service._iam import _page

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789+=,.@_-", min_size=1, max_size=64)
PATHS = st.lists(st.text(alphabet="abcxyz019_-", min_size=1, max_size=8), max_size=4).map(
    lambda parts: "/" + "".join(p + "/" for p in parts)
)


@given(kind=st.sampled_from(["role", "user", "policy"]), path=PATHS, name=NAMES)
def test_iam_arn_round_trip(kind: str, path: str, name: str) -> None:
    """An entity ARN splits back into its partition, account, kind, path and name."""
    arn = format_iam_arn("aws", "123456789012", kind, path, name)
    assert split_iam_arn(arn) == ("aws", "123456789012", kind, path, name)


@settings(max_examples=60)
@given(
    names=st.lists(NAMES, unique_by=str.lower, max_size=40).map(lambda n: sorted(n, key=str.lower)),
    max_items=st.integers(min_value=1, max_value=12),
)
def test_marker_pagination_visits_each_item_once(names: list[str], max_items: int) -> None:
    """Following Marker until IsTruncated is false returns every item once, in order."""
    seen: list[str] = []
    params: dict[str, Any] = {"MaxItems": max_items}
    for _ in range(len(names) + 2):
        chunk, meta = _page(names, params, str.lower)
        assert len(chunk) <= max_items
        seen += chunk
        if not meta["IsTruncated"]:
            break
        params["Marker"] = meta["Marker"]
    assert seen == names
