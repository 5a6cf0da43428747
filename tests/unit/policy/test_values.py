"""Typed value readings, context entries and matching corner cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from elsewhere.errors import InvalidInput
from elsewhere.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    ContextValue,
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
    parse_context_entry,
    parse_policy,
)
from elsewhere.policy._values import parse_date, parse_number

EPOCH_2026 = Decimal(1767225600)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", EPOCH_2026),
        ("2026-01-01t00:00:00z", EPOCH_2026),
        ("2026-01-01T00:00:00", EPOCH_2026),
        ("2026-01-01T01:00:00+01:00", EPOCH_2026),
        ("2026-01-01T01:00:00+01", EPOCH_2026),
        ("2025-12-31T23:00-01:00", EPOCH_2026),
        ("2026-01-01", EPOCH_2026),
        ("2026-01", EPOCH_2026),
        ("2026-01-01T00:00:00.5Z", EPOCH_2026 + Decimal("0.5")),
        ("1767225600", EPOCH_2026),
        ("2026", Decimal(2026)),
    ],
)
def test_ok_dates(text: str, expected: Decimal) -> None:
    """W3C ISO 8601 profiles and epoch seconds read as the same instant (OPERATORS page)."""
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-01-01T25:00Z", "", "1e9"])
def test_fail_dates(text: str) -> None:
    """Unparseable dates read as None (never match; refused at save time)."""
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "ok"),
    [("10", True), ("-1.5", True), (".5", True), ("1e3", False), ("abc", False), ("", False)],
)
def test_numbers(text: str, ok: bool) -> None:
    """Numeric operators take integers and decimals only."""
    assert (parse_number(text) is not None) is ok


def test_context_entry_types() -> None:
    """SimulateCustomPolicy context entries are validated per ContextKeyType."""
    name, value = parse_context_entry("AWS:SourceIp", ["203.0.113.1"], "ip")
    assert name == "aws:sourceip"
    assert value == ContextValue(("203.0.113.1",), False, "ip")
    _, tags = parse_context_entry("aws:TagKeys", ["a", "b"], "stringList")
    assert tags.is_list
    for bad in [
        ("k", ["x"], "numeric"),
        ("k", ["1", "2"], "numeric"),
        ("k", ["maybe"], "boolean"),
        ("k", ["300.1.1.1"], "ip"),
        ("k", ["!!"], "binary"),
        ("k", ["soon"], "date"),
        ("k", ["x"], "strange"),
    ]:
        with pytest.raises(InvalidInput):
            parse_context_entry(*bad)


def test_context_value_of_plain_values() -> None:
    """Plain Python values become typed context values."""
    assert ContextValue.of(True) == ContextValue(("true",), False, "boolean")
    assert ContextValue.of(5) == ContextValue(("5",), False, "numeric")
    assert ContextValue.of(b"A") == ContextValue(("QQ==",), False, "binary")
    assert ContextValue.of(["a"]) == ContextValue(("a",), True, "stringList")


ACCT = "111122223333"
OTHER = "444455556666"


def _rbp(text: str) -> PolicySet:
    return PolicySet(
        identity=(
            parse_policy(
                '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}',
                kind=PolicyKind.IDENTITY,
            ),
        ),
        resource=parse_policy(text, kind=PolicyKind.RESOURCE),
    )


def test_notprincipal_cross_account_needs_account_listed() -> None:
    """NotPrincipal page: a cross-account principal is excluded only with its account listed."""
    user = Principal(arn=f"arn:aws:iam::{OTHER}:user/u", account=OTHER)
    req = RequestContext("s3:GetObject", "arn:aws:s3:::b/k", principal=user, resource_account=ACCT)
    only_user = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*",'
        '"Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":["' + user.arn + '"]},'
        '"Action":"*","Resource":"*"}]}'
    )
    assert evaluate(req, _rbp(only_user)).result == EXPLICIT_DENY
    with_account = only_user.replace(f'"{user.arn}"]', f'"{user.arn}","arn:aws:iam::{OTHER}:root"]')
    assert evaluate(req, _rbp(with_account)).result == ALLOWED


def test_set_operator_empty_string_is_no_values() -> None:
    """For set operators an empty string is an empty set (MULTI page: empty set / null)."""
    ps = PolicySet(
        identity=(
            parse_policy(
                '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",'
                '"Resource":"*","Condition":{"ForAllValues:StringEquals":{"k:k":"a"}}}}',
                kind=PolicyKind.IDENTITY,
            ),
        )
    )
    req = RequestContext("s3:GetObject", keys={"k:k": ""})
    assert evaluate(req, ps).result == ALLOWED


def test_unique_id_in_trust_policy_matches_only_that_entity() -> None:
    """Trust policies store unique ids; a recreated user with a new id does not match."""
    trust = parse_policy(
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow",'
        '"Principal":{"AWS":"AIDACKCEVSQ6C2EXAMPLE"},"Action":"sts:AssumeRole"}}',
        kind=PolicyKind.TRUST,
    )
    role = f"arn:aws:iam::{ACCT}:role/r"
    same = Principal(f"arn:aws:iam::{ACCT}:user/u", ACCT, unique_id="AIDACKCEVSQ6C2EXAMPLE")
    new = Principal(f"arn:aws:iam::{ACCT}:user/u", ACCT, unique_id="AIDAOTHERNEWIDEXAMPLE")
    ps = PolicySet(resource=trust)
    assert evaluate(RequestContext("sts:AssumeRole", role, principal=same), ps).allowed
    assert not evaluate(RequestContext("sts:AssumeRole", role, principal=new), ps).allowed
