"""The packed policy size stand-in and its 100 % limit."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.errors import PackedPolicyTooLarge
from elsewhere.tokens import packed_policy_size, validate_packed_policy_size
from elsewhere.tokens._packed import _compact_json

_DOC_TAGS = (
    ("x509Subject/CN", "Alice"),
    ("x509Issuer/C", "US"),
    ("x509Issuer/O", "Amazon"),
    ("x509Issuer/OU", "IAM"),
    ("x509Issuer/ST", "Washington"),
    ("x509Issuer/L", "Seattle"),
    ("x509Issuer/CN", "RolesAnywhere"),
    ("x509SAN/DNS", "example.com"),
    ("x509SAN/URI", "spiffe://example.com/workload/alice"),
    ("x509SAN/Name/CN", "Alice"),
)
_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}'
)


def test_nothing_is_zero_percent() -> None:
    """No policy, no ARNs and no tags pack to 0 %."""
    assert packed_policy_size(None, (), ()) == 0
    assert packed_policy_size("", [], []) == 0


def test_documented_certificate_tags_are_small() -> None:
    """The ten tags of AWS's attribute-mapping example use about a tenth of the budget."""
    assert 5 <= packed_policy_size(None, (), _DOC_TAGS) <= 15


def test_whitespace_outside_strings_does_not_count() -> None:
    """Pretty-printing a policy does not change its packed size; spaces inside strings do."""
    pretty = _POLICY.replace(", ", ",\n    ").replace("{", "{\n  ")
    assert packed_policy_size(pretty, (), ()) == packed_policy_size(_POLICY, (), ())
    assert _compact_json('{"Sid": "x y"}') == '{"Sid":"x y"}'


def test_escaped_quotes_keep_string_state() -> None:
    """A backslash-escaped quote does not end a string, so the spaces after it count."""
    a = '{"Sid": "a\\" b   c"}'
    b = '{"Sid": "a\\"b   c"}'
    assert _compact_json(a) == '{"Sid":"a\\" b   c"}'
    assert _compact_json(b) == '{"Sid":"a\\"b   c"}'


def test_random_tags_overflow_and_fail() -> None:
    """Fifty incompressible tags of maximum length are far above 100 % and are refused."""
    rng = random.Random(3)
    tags = [(rng.randbytes(64).hex(), rng.randbytes(128).hex()) for _ in range(50)]
    size = packed_policy_size(None, (), tags)
    assert size > 100
    with pytest.raises(PackedPolicyTooLarge) as info:
        validate_packed_policy_size(None, (), tags)
    assert info.value.message == (
        f"Packed policy consumes {size}% of allotted space, please use smaller policy."
    )
    assert info.value.code == "PackedPolicyTooLarge"
    assert info.value.status == 400


def test_validate_returns_the_size_when_it_fits() -> None:
    """Within the budget the check returns the percentage."""
    arns = ["arn:aws:iam::123456789012:policy/ReadOnly"]
    size = validate_packed_policy_size(_POLICY, arns, _DOC_TAGS)
    assert 0 < size <= 100
    assert size == packed_policy_size(_POLICY, arns, _DOC_TAGS)


_tag = st.tuples(st.text(max_size=20), st.text(max_size=40))


@given(
    policy=st.none() | st.text(max_size=300),
    arns=st.lists(st.text(max_size=50), max_size=3),
    tags=st.lists(_tag, max_size=8),
    extra=_tag,
)
def test_size_is_positive_once_anything_is_present(
    policy: str | None, arns: list[str], tags: list[tuple[str, str]], extra: tuple[str, str]
) -> None:
    """The size is a non-negative integer, and positive as soon as anything is present."""
    size = packed_policy_size(policy, arns, [*tags, extra])
    assert isinstance(size, int)
    assert size >= 1
    assert packed_policy_size(policy, arns, tags) >= 0
