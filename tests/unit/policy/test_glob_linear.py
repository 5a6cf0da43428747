"""Wildcard matching is exact glob semantics and never backtracks for long."""

from __future__ import annotations

import fnmatch
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.policy import PolicyKind, PolicySet, RequestContext, evaluate, parse_policy

_PATTERN = st.text(alphabet="ab*?", max_size=10)
_VALUE = st.text(alphabet="ab", max_size=14)


def _string_like(pattern: str, value: str) -> bool:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:UserAgent": pattern}},
            }
        ],
    }
    policy = parse_policy(json.dumps(doc), kind=PolicyKind.IDENTITY)
    request = RequestContext(action="s3:GetObject", resource="*", keys={"aws:UserAgent": value})
    return evaluate(request, PolicySet(identity=(policy,))).result == "allowed"


def _resource_like(pattern: str, value: str) -> bool:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{pattern}"}
        ],
    }
    policy = parse_policy(json.dumps(doc), kind=PolicyKind.IDENTITY)
    request = RequestContext(action="s3:GetObject", resource=f"arn:aws:s3:::{value}")
    return evaluate(request, PolicySet(identity=(policy,))).result == "allowed"


@settings(max_examples=300, deadline=None)
@given(_PATTERN, _VALUE)
def test_string_like_is_glob(pattern: str, value: str) -> None:
    """StringLike agrees with a reference glob matcher on every pattern of * and ?."""
    if not pattern:
        return
    assert _string_like(pattern, value) == fnmatch.fnmatchcase(value, pattern)


@settings(max_examples=300, deadline=None)
@given(_PATTERN, _VALUE)
def test_resource_part_is_glob(pattern: str, value: str) -> None:
    """The resource part of an ARN pattern matches as a glob."""
    if not pattern or not value:
        return
    assert _resource_like(pattern, value) == fnmatch.fnmatchcase(value, pattern)


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(lambda: _string_like("*a*a*a*a*a*a*a*a*b", "a" * 5000), id="fail/string-like"),
        pytest.param(lambda: _resource_like("*a*a*a*a*a*a*a*a*b", "a" * 5000), id="fail/resource"),
    ],
)
def test_pathological_patterns_answer(check: object) -> None:
    """Patterns that make a backtracking matcher run for hours answer at once (no ReDoS)."""
    assert callable(check)
    assert check() is False
