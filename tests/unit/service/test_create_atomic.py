"""A create that carries tags is all or nothing: the record and its tags are one transaction.

The store is made to fail when the tags are written (as a server killed between the two writes
would); the create must then leave nothing behind, on every SQL store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from elsewhere.clock import FixedClock
from elsewhere.service import ControlPlane, Store
from elsewhere.service._authn import Principal
from elsewhere.service._iam import IamService
from tests.unit.service.conftest import ACCOUNT, CALLER, ROLE

IAM_ROOT = Principal(
    arn=CALLER, account=ACCOUNT, kind="root", user_id=ACCOUNT, name="root", access_key_id="AKIA"
)


class InjectedWriteFailure(Exception):
    """The failure injected into a write."""


@contextmanager
def failing_tag_writes(store: Store) -> Iterator[None]:
    """Make every statement that writes the resource_tags table fail, on ``store``'s engine."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "resource_tags" in statement and statement.lstrip().upper().startswith("INSERT"):
            raise InjectedWriteFailure(statement)

    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)


TAGS = [{"key": "team", "value": "blue"}]


def _creates(ca_pem: str, crl_der: bytes) -> list[tuple[str, str, Callable[[ControlPlane], Any]]]:
    """(case, listing operation, create call) for each create that takes tags."""

    def anchor(cp: ControlPlane) -> Any:
        source = {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": ca_pem}}
        return cp.handle("CreateTrustAnchor", {"name": "a", "source": source, "tags": TAGS}, CALLER)

    def profile(cp: ControlPlane) -> Any:
        return cp.handle("CreateProfile", {"name": "p", "roleArns": [ROLE], "tags": TAGS}, CALLER)

    def crl(cp: ControlPlane) -> Any:
        source = {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": ca_pem}}
        made = cp.handle("CreateTrustAnchor", {"name": "a", "source": source}, CALLER)
        arn = made["trustAnchor"]["trustAnchorArn"]
        return cp.handle(
            "ImportCrl",
            {"name": "c", "crlData": crl_der, "trustAnchorArn": arn, "tags": TAGS},
            CALLER,
        )

    return [
        ("fail/create-trust-anchor", "ListTrustAnchors", anchor),
        ("fail/create-profile", "ListProfiles", profile),
        ("fail/import-crl", "ListCrls", crl),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["trust-anchor", "profile", "crl"])
def test_a_failed_tag_write_leaves_no_record(
    store: Store, cp: ControlPlane, ca_pem: str, crl_der: bytes, index: int
) -> None:
    """The tags' write fails: the create raises and no record (and no tag) is left."""
    if not hasattr(store, "engine"):
        pytest.skip("the in-memory store has no transaction to interrupt")
    case, listing, create = _creates(ca_pem, crl_der)[index]
    key = {"ListTrustAnchors": "trustAnchors", "ListProfiles": "profiles", "ListCrls": "crls"}
    before = len(cp.handle(listing, {}, CALLER)[key[listing]])
    with failing_tag_writes(store), pytest.raises(InjectedWriteFailure):
        create(cp)
    assert len(cp.handle(listing, {}, CALLER)[key[listing]]) == before, case


@pytest.mark.parametrize("index", [0, 1, 2], ids=["trust-anchor", "profile", "crl"])
def test_a_create_keeps_its_tags(
    store: Store, cp: ControlPlane, ca_pem: str, crl_der: bytes, index: int
) -> None:
    """ok/ without a failure, the record and its tags are both there."""
    _, _, create = _creates(ca_pem, crl_der)[index]
    (resource,) = create(cp).values()
    arn = resource.get("crlArn") or resource.get("profileArn") or resource["trustAnchorArn"]
    listed = cp.handle("ListTagsForResource", {"resourceArn": arn}, CALLER)
    assert listed["tags"] == TAGS


@contextmanager
def failing_inserts(store: Store, table: str) -> Iterator[None]:
    """Make every INSERT into ``table`` fail, on ``store``'s engine."""
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = statement.lstrip().upper()
        if text.startswith("INSERT") and f"INTO {table.upper()} " in text:
            raise InjectedWriteFailure(statement)

    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)


def test_iam_create_policy_is_one_transaction(store: Store, clock: FixedClock) -> None:
    """CreatePolicy writes the policy (its tags in its row) and its first version together."""
    if not hasattr(store, "engine"):
        pytest.skip("the in-memory store has no transaction to interrupt")
    iam = IamService(store, clock, account_id=ACCOUNT)
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    )
    params = {"PolicyName": "p", "PolicyDocument": document, "Tags": [{"Key": "k", "Value": "v"}]}
    with failing_inserts(store, "iam_policy_versions"), pytest.raises(InjectedWriteFailure):
        iam.handle("CreatePolicy", params, IAM_ROOT)
    assert iam.handle("ListPolicies", {"Scope": "Local"}, IAM_ROOT)["Policies"] == []
    made = iam.handle("CreatePolicy", params, IAM_ROOT)["Policy"]
    assert made["Tags"] == [{"Key": "k", "Value": "v"}]
