"""Access keys on two nodes: the per-user quota holds and no key outlives its user.

CreateAccessKey checks the quota (2 per user) and the user's existence in the transaction that
writes the key, holding the user's row; DeleteUser checks for keys in the transaction that
deletes the user. Without that, a key created while its user was deleted would survive, and a
later user of the same name (so the same ARN) would inherit it.
"""

from __future__ import annotations

from typing import Any

from elsewhere.errors import DeleteConflict, LimitExceeded, NoSuchEntity
from elsewhere.service._iam import MAX_ACCESS_KEYS_PER_USER
from tests.unit.service._races import call, outcome
from tests.unit.service.test_iam_races import ROUNDS
from tests.unit.storage._races import race


def test_create_access_key_for_the_last_slot(services: tuple[Any, Any]) -> None:
    """Two CreateAccessKey calls for the last slot: one key, one LimitExceeded."""
    one, two = services
    call(one, "CreateUser", UserName="dev")
    for _ in range(ROUNDS // 2):
        first = call(one, "CreateAccessKey", UserName="dev")["AccessKey"]["AccessKeyId"]
        results = race(
            outcome(one, "CreateAccessKey", UserName="dev"),
            outcome(two, "CreateAccessKey", UserName="dev"),
        )
        refused = [r for r in results if isinstance(r, LimitExceeded)]
        assert len(refused) == 1, results
        assert refused[0].message == (
            f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
        )
        listed = call(two, "ListAccessKeys", UserName="dev")["AccessKeyMetadata"]
        assert len(listed) == MAX_ACCESS_KEYS_PER_USER
        for key in listed:
            call(one, "DeleteAccessKey", UserName="dev", AccessKeyId=key["AccessKeyId"])
        assert first in {k["AccessKeyId"] for k in listed}


def test_delete_user_against_create_access_key(services: tuple[Any, Any]) -> None:
    """DeleteUser racing CreateAccessKey: either the key exists and the delete is refused, or
    the user is gone and the key was never written; a new user of that name has no key."""
    one, two = services
    for n in range(ROUNDS):
        name = f"u{n}"
        call(one, "CreateUser", UserName=name)
        deleted, created = race(
            outcome(one, "DeleteUser", UserName=name),
            outcome(two, "CreateAccessKey", UserName=name),
        )
        if deleted == {}:
            assert isinstance(created, NoSuchEntity), created
        else:
            assert isinstance(deleted, DeleteConflict), deleted
            assert deleted.message == "Cannot delete entity, must delete access keys first."
            assert isinstance(created, dict)
            key_id = created["AccessKey"]["AccessKeyId"]
            call(one, "DeleteAccessKey", UserName=name, AccessKeyId=key_id)
            call(one, "DeleteUser", UserName=name)
        call(two, "CreateUser", UserName=name)
        assert call(one, "ListAccessKeys", UserName=name)["AccessKeyMetadata"] == []
