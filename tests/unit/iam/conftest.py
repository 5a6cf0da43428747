"""Fixtures for the IAM unit tests: a memory store, a fixed clock and the service."""

from __future__ import annotations

import datetime as dt

import pytest

from elsewhere.clock import FixedClock
from elsewhere.service._authn import Principal
from elsewhere.service._iam import IamService
from elsewhere.storage import MemoryStore

ACCOUNT = "123456789012"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "root", ACCOUNT, "root", "AKIAROOT")
TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"rolesanywhere.amazonaws.com"},'
    '"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}'
)
ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@pytest.fixture
def store() -> MemoryStore:
    """An empty memory store."""
    return MemoryStore()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at T0."""
    return FixedClock(T0)


@pytest.fixture
def iam(store: MemoryStore, clock: FixedClock) -> IamService:
    """The IAM service over the memory store (secrets sealed as "sealed:<secret>")."""
    return IamService(
        store,
        clock,
        account_id=ACCOUNT,
        seal_secret=lambda secret, ctx: f"sealed:{ctx}:{secret}",
        open_secret=lambda sealed, ctx: sealed.removeprefix(f"sealed:{ctx}:"),
    )
