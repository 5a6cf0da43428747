"""Shared fixtures and strategies for the tokens tests."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import strategies as st

from elsewhere.tokens import KeyRing, SessionClaims, build_key_ring

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
ACCOUNT = "123456789012"


def make_claims(**changes: object) -> SessionClaims:
    """A realistic Roles Anywhere session, with ``changes`` applied."""
    fields: dict[str, object] = {
        "account": ACCOUNT,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/team/Deploy",
        "role_id": "AROAEXAMPLEEXAMPLE234",
        "role_name": "Deploy",
        "role_path": "/team/",
        "session_name": "0f3c2a9d8e7b6c5a4f3e2d1c0b9a8f7e",
        "issued_at": T0,
        "expires_at": T0 + dt.timedelta(hours=1),
        "source": f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/ta-1",
        "source_identity": "CN=workload-01",
        "principal_tags": (
            ("x509Subject/CN", "workload-01"),
            ("x509Issuer/CN", "Example CA"),
            ("x509SAN/DNS", "workload-01.example.com"),
        ),
        "certificate_serial": "0123",
        "certificate_subject": "CN=workload-01",
        "certificate_issuer": "CN=Example CA",
    }
    fields.update(changes)
    return SessionClaims(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ring() -> KeyRing:
    """A ring with one active key."""
    return build_key_ring(bytes(range(32)), created_at=T0 - dt.timedelta(days=1))


@pytest.fixture
def claims() -> SessionClaims:
    """A realistic session."""
    return make_claims()


_chars = st.characters(exclude_categories=("Cs",))
_text = st.text(_chars, max_size=40)
_times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.just(dt.UTC),
)


@st.composite
def claims_strategy(draw: st.DrawFn) -> SessionClaims:
    """Arbitrary claims (any text, any order of tags, optional fields absent or present)."""
    issued = draw(_times)
    return SessionClaims(
        account=draw(_text),
        role_arn=draw(_text),
        role_id=draw(_text),
        role_name=draw(_text),
        role_path=draw(_text),
        session_name=draw(_text),
        issued_at=issued,
        expires_at=issued
        + draw(st.timedeltas(dt.timedelta(microseconds=1), dt.timedelta(days=3650))),
        source=draw(_text),
        source_identity=draw(st.none() | _text),
        principal_tags=tuple(draw(st.lists(st.tuples(_text, _text), max_size=5))),
        transitive_tag_keys=tuple(draw(st.lists(_text, max_size=3))),
        session_policy=draw(st.none() | st.text(_chars, max_size=200)),
        managed_policy_arns=tuple(draw(st.lists(_text, max_size=3))),
        chain_depth=draw(st.integers(min_value=0, max_value=10**6)),
        certificate_serial=draw(st.none() | _text),
        certificate_subject=draw(st.none() | _text),
        certificate_issuer=draw(st.none() | _text),
        origin_subject=draw(st.none() | _text),
        origin_subject_type=draw(st.none() | st.sampled_from(["user", "workload"])),
        origin_issuer=draw(st.none() | _text),
    )
