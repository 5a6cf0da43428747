"""IAM policy-version operations racing on two nodes: AWS's answers, and no 500 afterwards.

Two ``IamService`` instances over two stores on one database (SQLite file, PostgreSQL), or one
memory store, run the operations at the same moment on threads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from elsewhere.domain._iam import MAX_POLICY_VERSIONS
from elsewhere.errors import DeleteConflict, LimitExceeded, NoSuchEntity
from elsewhere.service._iam import IamService
from elsewhere.storage import MemoryStore
from tests.unit.service._races import call, outcome
from tests.unit.storage._races import race

ROUNDS = 20


def _doc(n: int) -> str:
    """A distinct, valid identity policy per ``n``."""
    return (
        f'{{"Version":"2012-10-17","Statement":[{{"Sid":"S{n}","Effect":"Allow",'
        '"Action":"s3:GetObject","Resource":"*"}]}'
    )


def _policy(iam: IamService) -> str:
    """Create a managed policy; its ARN."""
    return str(
        call(iam, "CreatePolicy", PolicyName="raced", PolicyDocument=_doc(1))["Policy"]["Arn"]
    )


def test_set_default_against_delete_version(services: tuple[Any, Any]) -> None:
    """SetDefaultPolicyVersion(v) racing DeletePolicyVersion(v): one wins, one gets an AWS error."""
    one, two = services
    arn = _policy(one)
    for n in range(ROUNDS):
        vid = call(one, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=_doc(n + 2))[
            "PolicyVersion"
        ]["VersionId"]
        set_result, delete_result = race(
            outcome(one, "SetDefaultPolicyVersion", PolicyArn=arn, VersionId=vid),
            outcome(two, "DeletePolicyVersion", PolicyArn=arn, VersionId=vid),
        )
        policy = call(two, "GetPolicy", PolicyArn=arn)["Policy"]
        got = call(two, "GetPolicyVersion", PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        assert got["PolicyVersion"]["IsDefaultVersion"]
        if set_result == {}:
            assert isinstance(delete_result, DeleteConflict)
            assert delete_result.message == "Cannot delete the default version of a policy."
            assert policy["DefaultVersionId"] == vid
        else:
            assert delete_result == {}
            assert isinstance(set_result, NoSuchEntity)
            assert set_result.message == (
                f"Policy {arn} version {vid} does not exist or is not attachable."
            )
            assert policy["DefaultVersionId"] != vid
        details = call(one, "GetAccountAuthorizationDetails", Filter=["LocalManagedPolicy"])
        assert [p["Arn"] for p in details["Policies"]] == [arn]
        for v in call(one, "ListPolicyVersions", PolicyArn=arn)["Versions"]:
            if not v["IsDefaultVersion"]:
                call(one, "DeletePolicyVersion", PolicyArn=arn, VersionId=v["VersionId"])


def test_create_version_for_the_last_slot(services: tuple[Any, Any]) -> None:
    """Two CreatePolicyVersion calls for the last of five slots: one succeeds, one LimitExceeded."""
    one, two = services
    arn = _policy(one)
    for n in range(MAX_POLICY_VERSIONS - 2):
        call(one, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=_doc(n + 2))
    for n in range(ROUNDS // 2):
        results = race(
            outcome(one, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=_doc(100 + 2 * n)),
            outcome(two, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=_doc(101 + 2 * n)),
        )
        assert sum(isinstance(r, LimitExceeded) for r in results) == 1
        assert sum(isinstance(r, dict) for r in results) == 1
        versions = call(two, "ListPolicyVersions", PolicyArn=arn)["Versions"]
        assert len(versions) == MAX_POLICY_VERSIONS
        oldest = next(v for v in reversed(versions) if not v["IsDefaultVersion"])
        call(one, "DeletePolicyVersion", PolicyArn=arn, VersionId=oldest["VersionId"])


def test_delete_version_errors(services: tuple[Any, Any]) -> None:
    """DeletePolicyVersion: the default is a DeleteConflict, an unknown version NoSuchEntity."""
    one, _ = services
    arn = _policy(one)
    with pytest.raises(DeleteConflict, match=r"^Cannot delete the default version of a policy\.$"):
        call(one, "DeletePolicyVersion", PolicyArn=arn, VersionId="v1")
    with pytest.raises(NoSuchEntity, match="version v7 does not exist or is not attachable"):
        call(one, "DeletePolicyVersion", PolicyArn=arn, VersionId="v7")
    with pytest.raises(NoSuchEntity, match="version v7 does not exist or is not attachable"):
        call(one, "SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v7")
    with pytest.raises(NoSuchEntity, match=r"^Policy .*:policy/none was not found\.$"):
        call(
            one, "SetDefaultPolicyVersion", PolicyArn=arn[: -len("raced")] + "none", VersionId="v1"
        )


def test_a_policy_with_a_missing_default_is_not_a_500(services: tuple[Any, Any]) -> None:
    """A default naming a deleted version reads as NoSuchEntity; SetDefaultPolicyVersion repairs."""
    one, two = services
    arn = _policy(one)
    call(one, "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=_doc(2))
    store = one._store
    if isinstance(store, MemoryStore):
        iam = store._iam
        iam.policies[arn] = dataclasses.replace(iam.policies[arn], default_version_id="v9")
    else:
        import sqlalchemy as sa

        from elsewhere.storage._schema import iam_policies

        with store.engine.begin() as conn:
            conn.execute(
                sa.update(iam_policies)
                .where(iam_policies.c.arn == arn)
                .values(default_version_id="v9")
            )
    with pytest.raises(NoSuchEntity):
        call(two, "GetPolicy", PolicyArn=arn)
    details = call(two, "GetAccountAuthorizationDetails", Filter=["LocalManagedPolicy"])
    assert details["Policies"] == []
    call(two, "SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v2")
    assert call(one, "GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
