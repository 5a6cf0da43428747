"""IAM check-then-write races on two nodes: AWS's answers, and nothing left dangling afterwards.

Two ``IamService`` instances over two stores on one database (SQLite file, PostgreSQL), or one
memory store, run the operations at the same moment on threads: DeletePolicy against the calls
that make a policy used (attachments, permissions boundaries), CreatePolicy/CreateRole/CreateUser
of one name, and concurrent Tag*/Update* calls that used to rewrite a whole record.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from elsewhere.domain._iam import MAX_ATTACHED_POLICIES, MAX_TAGS
from elsewhere.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    NoSuchEntity,
)
from elsewhere.service._iam import IamService
from tests.unit.service._races import call, outcome
from tests.unit.storage._races import race

ROUNDS = 16
DOC = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
    '"Resource":"*"}]}'
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ATTACHED = "Cannot delete a policy attached to entities."


def _policy(iam: IamService, name: str, path: str = "/") -> str:
    """Create a managed policy; its ARN."""
    out = call(iam, "CreatePolicy", PolicyName=name, PolicyDocument=DOC, Path=path)
    return str(out["Policy"]["Arn"])


def _owners(iam: IamService) -> None:
    """Create the role ``app`` and the user ``app``."""
    call(iam, "CreateRole", RoleName="app", AssumeRolePolicyDocument=TRUST)
    call(iam, "CreateUser", UserName="app")


def _assert_nothing_dangles(iam: IamService) -> None:
    """No attachment or permissions boundary of any role or user names a missing policy."""
    store = iam._store
    for kind, owners in (("role", store.list_roles()), ("user", store.list_users())):
        for owner in owners:
            for arn in store.list_attached_policy_arns(kind, owner.name):
                assert store.get_managed_policy(arn) is not None, (kind, owner.name, arn)
            boundary = owner.permissions_boundary_arn
            assert boundary is None or store.get_managed_policy(boundary) is not None, boundary
    details = call(iam, "GetAccountAuthorizationDetails")
    listed = {p["Arn"] for p in details["Policies"]}
    for detail in details["RoleDetailList"] + details["UserDetailList"]:
        boundary = detail.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        assert boundary is None or boundary in listed


def _assert_delete_or_use(deleted: object, used: object, refusal: str) -> None:
    """Exactly one of DeletePolicy and the call that uses the policy succeeded, as AWS answers."""
    if deleted == {}:
        assert isinstance(used, NoSuchEntity)
        assert used.message == refusal
    else:
        assert used == {}
        assert isinstance(deleted, DeleteConflict)
        assert deleted.message == ATTACHED


def test_delete_policy_against_attach(services: tuple[Any, Any]) -> None:
    """DeletePolicy racing AttachRolePolicy/AttachUserPolicy: DeleteConflict or NoSuchEntity."""
    one, two = services
    _owners(one)
    for n in range(ROUNDS):
        kind = ("Role", "User")[n % 2]
        arn = _policy(one, f"p{n}")
        deleted, attached = race(
            outcome(one, "DeletePolicy", PolicyArn=arn),
            outcome(two, f"Attach{kind}Policy", **{f"{kind}Name": "app", "PolicyArn": arn}),
        )
        _assert_delete_or_use(
            deleted, attached, f"Policy {arn} does not exist or is not attachable."
        )
        listed = call(two, f"ListAttached{kind}Policies", **{f"{kind}Name": "app"})
        assert [p["PolicyArn"] for p in listed["AttachedPolicies"]] == (
            [] if deleted == {} else [arn]
        )
        assert len(two._store.list_attached_policy_arns(kind.lower(), "app")) == len(
            listed["AttachedPolicies"]
        )
        _assert_nothing_dangles(two)
        if deleted != {}:
            call(one, f"Detach{kind}Policy", **{f"{kind}Name": "app", "PolicyArn": arn})
            call(one, "DeletePolicy", PolicyArn=arn)


def test_delete_policy_against_put_boundary(services: tuple[Any, Any]) -> None:
    """DeletePolicy racing Put{Role,User}PermissionsBoundary: DeleteConflict or NoSuchEntity."""
    one, two = services
    _owners(one)
    for n in range(ROUNDS):
        kind = ("Role", "User")[n % 2]
        arn = _policy(one, f"b{n}")
        deleted, put = race(
            outcome(one, "DeletePolicy", PolicyArn=arn),
            outcome(
                two,
                f"Put{kind}PermissionsBoundary",
                **{f"{kind}Name": "app", "PermissionsBoundary": arn},
            ),
        )
        _assert_delete_or_use(
            deleted, put, f"Scope ARN: {arn} does not exist or is not attachable."
        )
        got = call(two, f"Get{kind}", **{f"{kind}Name": "app"})[kind]
        assert got.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == (
            None if deleted == {} else arn
        )
        _assert_nothing_dangles(two)
        if deleted != {}:
            call(one, f"Delete{kind}PermissionsBoundary", **{f"{kind}Name": "app"})
            call(one, "DeletePolicy", PolicyArn=arn)


def test_delete_policy_against_create_with_boundary(services: tuple[Any, Any]) -> None:
    """DeletePolicy racing CreateRole/CreateUser with that boundary: one of them is refused."""
    one, two = services
    for n in range(ROUNDS):
        kind = ("Role", "User")[n % 2]
        arn = _policy(one, f"c{n}")
        extra = {"AssumeRolePolicyDocument": TRUST} if kind == "Role" else {}
        deleted, created = race(
            outcome(one, "DeletePolicy", PolicyArn=arn),
            outcome(
                two,
                f"Create{kind}",
                **{f"{kind}Name": f"o{n}", "PermissionsBoundary": arn, **extra},
            ),
        )
        if deleted == {}:
            assert isinstance(created, NoSuchEntity)
            assert created.message == f"Scope ARN: {arn} does not exist or is not attachable."
            with pytest.raises(NoSuchEntity):
                call(two, f"Get{kind}", **{f"{kind}Name": f"o{n}"})
        else:
            assert isinstance(created, dict)
            assert isinstance(deleted, DeleteConflict)
            assert deleted.message == ATTACHED
        _assert_nothing_dangles(two)


def test_attachments_for_the_last_slot(services: tuple[Any, Any]) -> None:
    """Two AttachRolePolicy calls for the last of ten slots: one succeeds, one LimitExceeded."""
    one, two = services
    _owners(one)
    for n in range(MAX_ATTACHED_POLICIES - 1):
        call(one, "AttachRolePolicy", RoleName="app", PolicyArn=_policy(one, f"a{n}"))
    for n in range(ROUNDS // 2):
        first, second = _policy(one, f"x{n}"), _policy(one, f"y{n}")
        results = race(
            outcome(one, "AttachRolePolicy", RoleName="app", PolicyArn=first),
            outcome(two, "AttachRolePolicy", RoleName="app", PolicyArn=second),
        )
        refused = [r for r in results if isinstance(r, LimitExceeded)]
        assert len(refused) == 1
        assert (
            refused[0].message
            == f"Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}"
        )
        listed = call(two, "ListAttachedRolePolicies", RoleName="app")["AttachedPolicies"]
        assert len(listed) == MAX_ATTACHED_POLICIES
        winner = first if results[0] == {} else second
        call(one, "DetachRolePolicy", RoleName="app", PolicyArn=winner)


@pytest.mark.parametrize("paths", [("/", "/"), ("/a/", "/b/")], ids=["same-path", "two-paths"])
def test_create_policy_with_one_name(services: tuple[Any, Any], paths: tuple[str, str]) -> None:
    """Two CreatePolicy calls of one name: one succeeds, one EntityAlreadyExists."""
    one, two = services
    for n in range(ROUNDS):
        name = f"dup{n}"
        results = race(
            outcome(one, "CreatePolicy", PolicyName=name, PolicyDocument=DOC, Path=paths[0]),
            outcome(two, "CreatePolicy", PolicyName=name, PolicyDocument=DOC, Path=paths[1]),
        )
        refused = [r for r in results if isinstance(r, EntityAlreadyExists)]
        assert len(refused) == 1
        assert refused[0].message == (
            f"A policy called {name} already exists. Duplicate names are not allowed."
        )
        names = [p["PolicyName"] for p in call(two, "ListPolicies")["Policies"]]
        assert names.count(name) == 1


def test_create_role_and_user_with_one_name(services: tuple[Any, Any]) -> None:
    """Two CreateRole (CreateUser) calls of one name in two cases: one EntityAlreadyExists."""
    one, two = services
    for n in range(ROUNDS):
        if n % 2:
            results = race(
                outcome(one, "CreateRole", RoleName=f"r{n}", AssumeRolePolicyDocument=TRUST),
                outcome(two, "CreateRole", RoleName=f"R{n}", AssumeRolePolicyDocument=TRUST),
            )
            message = "Role with name {} already exists."
        else:
            results = race(
                outcome(one, "CreateUser", UserName=f"u{n}"),
                outcome(two, "CreateUser", UserName=f"U{n}"),
            )
            message = "User with name {} already exists."
        refused = [(i, r) for i, r in enumerate(results) if isinstance(r, EntityAlreadyExists)]
        assert len(refused) == 1
        i, error = refused[0]
        assert error.message == message.format(
            ("r", "R")[i] + str(n) if n % 2 else ("u", "U")[i] + str(n)
        )
    assert len(call(one, "ListRoles")["Roles"]) == ROUNDS // 2
    assert len(call(one, "ListUsers")["Users"]) == ROUNDS // 2


_TAGGED = {
    "Role": ("TagRole", "ListRoleTags", {"RoleName": "app"}),
    "User": ("TagUser", "ListUserTags", {"UserName": "app"}),
}


def _tag_target(one: IamService, kind: str) -> tuple[str, str, dict[str, str]]:
    """(tag operation, list operation, identifying members) of the raced role, user or policy."""
    if kind == "Policy":
        arn = call(one, "ListPolicies")["Policies"][0]["Arn"]
        return "TagPolicy", "ListPolicyTags", {"PolicyArn": arn}
    return _TAGGED[kind]


def test_concurrent_tags_both_land(services: tuple[Any, Any]) -> None:
    """TagRole/TagUser/TagPolicy with different keys at once: both tags are kept."""
    one, two = services
    _owners(one)
    _policy(one, "tagged")
    for n in range(ROUNDS):
        tag, listing, who = _tag_target(one, ("Role", "User", "Policy")[n % 3])
        results = race(
            outcome(one, tag, Tags=[{"Key": f"a{n}", "Value": "1"}], **who),
            outcome(two, tag, Tags=[{"Key": f"b{n}", "Value": "2"}], **who),
        )
        assert results == [{}, {}]
        keys = {t["Key"] for t in call(two, listing, **who)["Tags"]}
        assert {f"a{n}", f"b{n}"} <= keys


def test_concurrent_tags_hold_the_quota(services: tuple[Any, Any]) -> None:
    """Two Tag* calls for the last of 50 tags: one succeeds, one LimitExceeded; 50 stay."""
    one, two = services
    _owners(one)
    _policy(one, "tagged")
    kinds = ("Role", "User", "Policy")
    for kind in kinds:
        tag, _, who = _tag_target(one, kind)
        for start in range(0, MAX_TAGS - 1, 10):
            batch = [{"Key": f"k{i}", "Value": "v"} for i in range(start, min(start + 10, 49))]
            call(one, tag, Tags=batch, **who)
    for n in range(ROUNDS // 2):
        kind = kinds[n % 3]
        tag, listing, who = _tag_target(one, kind)
        results = race(
            outcome(one, tag, Tags=[{"Key": f"a{n}", "Value": "1"}], **who),
            outcome(two, tag, Tags=[{"Key": f"b{n}", "Value": "2"}], **who),
        )
        refused = [r for r in results if isinstance(r, LimitExceeded)]
        assert len(refused) == 1
        assert refused[0].message == f"Cannot exceed quota for TagsPer{kind}: {MAX_TAGS}"
        tags = call(two, listing, **who, MaxItems=1000)["Tags"]
        assert len(tags) == MAX_TAGS
        winner = f"a{n}" if results[0] == {} else f"b{n}"
        call(one, "Un" + tag[0].lower() + tag[1:], TagKeys=[winner], **who)


def test_tag_and_update_role_both_land(services: tuple[Any, Any]) -> None:
    """TagRole racing UpdateRoleDescription and PutRolePermissionsBoundary: every change kept."""
    one, two = services
    _owners(one)
    boundary = _policy(one, "boundary")
    for n in range(ROUNDS):
        race(
            outcome(one, "TagRole", RoleName="app", Tags=[{"Key": f"t{n}", "Value": "v"}]),
            outcome(two, "UpdateRoleDescription", RoleName="app", Description=f"d{n}"),
            outcome(
                two, "PutUserPermissionsBoundary", UserName="app", PermissionsBoundary=boundary
            ),
            outcome(one, "TagUser", UserName="app", Tags=[{"Key": f"u{n}", "Value": "v"}]),
        )
        role = call(two, "GetRole", RoleName="app")["Role"]
        assert role["Description"] == f"d{n}"
        assert f"t{n}" in {t["Key"] for t in role["Tags"]}
        user = call(one, "GetUser", UserName="app")["User"]
        assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
        assert f"u{n}" in {t["Key"] for t in user["Tags"]}
        call(one, "DeleteUserPermissionsBoundary", UserName="app")


def test_delete_owner_against_attach_and_put_policy(services: tuple[Any, Any]) -> None:
    """DeleteRole/DeleteUser racing Attach*Policy/Put*Policy: DeleteConflict or NoSuchEntity."""
    one, two = services
    arn = _policy(one, "shared")
    for n in range(ROUNDS):
        kind = ("Role", "User")[n % 2]
        name = f"o{n}"
        who = {f"{kind}Name": name}
        create = {"AssumeRolePolicyDocument": TRUST} if kind == "Role" else {}
        call(one, f"Create{kind}", **who, **create)
        if n % 4 < 2:
            give = outcome(two, f"Attach{kind}Policy", PolicyArn=arn, **who)
            conflict = "Cannot delete entity, must detach all policies first."
        else:
            give = outcome(two, f"Put{kind}Policy", PolicyName="inline", PolicyDocument=DOC, **who)
            conflict = "Cannot delete entity, must delete policies first."
        deleted, given = race(outcome(one, f"Delete{kind}", **who), give)
        if deleted == {}:
            assert isinstance(given, NoSuchEntity)
            assert given.message == f"The {kind.lower()} with name {name} cannot be found."
            # A new role or user of the same name inherits nothing from the deleted one.
            call(two, f"Create{kind}", **who, **create)
            assert call(one, f"ListAttached{kind}Policies", **who)["AttachedPolicies"] == []
            assert call(one, f"List{kind}Policies", **who)["PolicyNames"] == []
        else:
            assert given == {}
            assert isinstance(deleted, DeleteConflict)
            assert deleted.message == conflict
    _assert_nothing_dangles(one)


def _sized(sid: str, size: int) -> str:
    """An identity policy of about ``size`` characters (whitespace aside), its Sid ``sid``."""
    resources = [f"arn:aws:s3:::bucket-{sid}-{i:04d}/*" for i in range(size // 36)]
    statement = {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_inline_policies_for_the_size_quota(services: tuple[Any, Any]) -> None:
    """Two PutUserPolicy calls that fit alone but not together: one LimitExceeded."""
    one, two = services
    _owners(one)
    for _ in range(ROUNDS // 2):
        results = race(
            outcome(
                one,
                "PutUserPolicy",
                UserName="app",
                PolicyName="a",
                PolicyDocument=_sized("A", 1200),
            ),
            outcome(
                two,
                "PutUserPolicy",
                UserName="app",
                PolicyName="b",
                PolicyDocument=_sized("B", 1200),
            ),
        )
        refused = [r for r in results if isinstance(r, LimitExceeded)]
        assert len(refused) == 1
        assert refused[0].message == "Maximum policy size of 2048 bytes exceeded for user app"
        names = call(two, "ListUserPolicies", UserName="app")["PolicyNames"]
        assert len(names) == 1
        call(one, "DeleteUserPolicy", UserName="app", PolicyName=names[0])
