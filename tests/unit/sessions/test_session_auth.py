"""Session credentials: token verification, STS GetCallerIdentity and AssumeRole, authorization."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

import elsewhere.service._session_auth as session_auth
from elsewhere.domain import Tag
from elsewhere.errors import (
    AccessDenied,
    ExpiredToken,
    InvalidSignature,
    UnrecognizedClient,
    ValidationError,
)
from elsewhere.pki import quick_chain
from elsewhere.policy import ALLOWED, EXPLICIT_DENY, RequestContext, evaluate
from elsewhere.service._authn import Principal, SigningKeyCache
from elsewhere.service._iam import IamService
from elsewhere.service._session_auth import (
    SessionPrincipal,
    SessionResolver,
    policy_principal,
    session_context_keys,
    session_policies,
)
from elsewhere.service._sts import StsService
from elsewhere.sigv4 import HttpRequest, parse_signed_request, sign_hmac_request
from elsewhere.tokens import derive_secret_access_key

from .conftest import ACCOUNT, NOW, REGION, World, session_request

ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "root", ACCOUNT, "root", "AKIAROOT")
OPS = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/ops",
    account=ACCOUNT,
    kind="user",
    user_id="AIDAEXAMPLEEXAMPLE001",
    name="ops",
    access_key_id="AKIAEXAMPLEEXAMPLE01",
)


def _credentials(world: World, **profile: Any) -> tuple[str, dict[str, str]]:
    chain = quick_chain(NOW, "p256")
    role = world.add_role("app-" + str(len(world.store.list_roles())))
    anchor = world.add_anchor(chain)
    arn = world.add_profile([role], **profile)
    response = world.call(session_request(chain, anchor=anchor, profile=arn, role=role))
    creds: dict[str, str] = json.loads(response.body)["credentialSet"][0]["credentials"]
    return role, creds


def _sts_request(creds: dict[str, str], *, token: str | None = None) -> HttpRequest:
    unsigned = HttpRequest(
        "POST",
        "/",
        "",
        (
            ("Host", "127.0.0.1:8080"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Security-Token", token or creds["sessionToken"]),
        ),
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    return sign_hmac_request(
        unsigned,
        access_key_id=creds["accessKeyId"],
        secret_access_key=creds["secretAccessKey"],
        region=REGION,
        service="sts",
        now=NOW,
    )


def _resolve(world: World, request: HttpRequest, now: dt.datetime = NOW) -> SessionPrincipal:
    return SessionResolver(world.snapshots)(request, parse_signed_request(request), now)


def test_ok_session_resolves_to_assumed_role(world: World) -> None:
    """Valid temporary credentials resolve to the session principal."""
    role, creds = _credentials(world)
    principal = _resolve(world, _sts_request(creds))
    assert principal.kind == "assumed-role"
    assert principal.arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.split('/')[-1]}/")
    assert principal.claims is not None
    assert principal.claims.role_arn == role
    out = StsService(world.snapshots, world.clock).get_caller_identity(principal)
    assert out == {"UserId": principal.user_id, "Account": ACCOUNT, "Arn": principal.arn}


def test_fail_expired_token(world: World) -> None:
    """A genuine token past its expiry: ExpiredToken."""
    _, creds = _credentials(world)
    with pytest.raises(ExpiredToken):
        _resolve(world, _sts_request(creds), NOW + dt.timedelta(hours=2))


def test_fail_tampered_token(world: World) -> None:
    """A token changed by one character: InvalidClientTokenId."""
    _, creds = _credentials(world)
    token = creds["sessionToken"]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    with pytest.raises(UnrecognizedClient):
        _resolve(world, _sts_request(creds, token=flipped))


def test_fail_token_of_another_session(world: World) -> None:
    """One session's key id with another session's token: InvalidClientTokenId."""
    _, first = _credentials(world)
    _, second = _credentials(world)
    with pytest.raises(UnrecognizedClient):
        _resolve(world, _sts_request({**first, "sessionToken": second["sessionToken"]}))


def test_fail_wrong_secret(world: World) -> None:
    """A signature made with another secret: SignatureDoesNotMatch."""
    _, creds = _credentials(world)
    with pytest.raises(InvalidSignature):
        _resolve(world, _sts_request({**creds, "secretAccessKey": "x" * 40}))


def _allow_all(world: World, role_name: str) -> None:
    world.store.put_inline_policy(
        "role",
        role_name,
        "all",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )


def test_fail_session_of_deleted_role(world: World) -> None:
    """A genuine session whose role has been deleted: InvalidClientTokenId."""
    role, creds = _credentials(world)
    world.store.remove_role(role.split("/")[-1])
    with pytest.raises(UnrecognizedClient) as err:
        _resolve(world, _sts_request(creds))
    assert "no longer exists" in err.value.reason


def test_fail_session_of_role_recreated_under_same_name(world: World) -> None:
    """A role deleted and created again under its name is another role: the old session's
    token is refused, and its claims grant nothing even where they are still held."""
    role, creds = _credentials(world)
    held = _resolve(world, _sts_request(creds))
    name = role.split("/")[-1]
    world.store.remove_role(name)
    assert world.add_role(name) == role
    _allow_all(world, name)
    with pytest.raises(UnrecognizedClient):
        _resolve(world, _sts_request(creds))
    assert held.claims is not None
    snapshot = world.snapshots.current()
    assert session_auth.session_role(held.claims, snapshot) is None
    assert session_policies(held.claims, snapshot).identity == ()


def test_ok_session_of_unchanged_role_keeps_its_role(world: World) -> None:
    """A session whose role still exists under the same id resolves, with the role's policies."""
    role, creds = _credentials(world)
    _allow_all(world, role.split("/")[-1])
    principal = _resolve(world, _sts_request(creds))
    assert principal.claims is not None
    assert len(session_policies(principal.claims, world.snapshots.current()).identity) == 1


def _session(world: World) -> tuple[str, SessionPrincipal]:
    role, creds = _credentials(world)
    return role, _resolve(world, _sts_request(creds))


def _target(world: World, trusted: str) -> str:
    return world.add_role(
        "target-" + str(len(world.store.list_roles())),
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                }
            ],
        },
        max_session_duration=43200,
    )


def test_ok_role_chaining_keeps_source_identity(world: World) -> None:
    """AssumeRole from a session: chained session, source identity kept, one hour at most."""
    role, principal = _session(world)
    target = _target(world, role)
    sts = StsService(world.snapshots, world.clock)
    out = sts.assume_role({"RoleArn": target, "RoleSessionName": "hop"}, principal)
    assert out["AssumedRoleUser"]["Arn"].endswith(f"/{target.split('/')[-1]}/hop")
    assert out["SourceIdentity"] == "CN=elsewhere-test-workload"
    assert out["Credentials"]["Expiration"] == NOW + dt.timedelta(hours=1)
    with pytest.raises(ValidationError, match="1 hour session limit"):
        sts.assume_role(
            {"RoleArn": target, "RoleSessionName": "x", "DurationSeconds": 7200}, principal
        )
    with pytest.raises(AccessDenied):
        sts.assume_role(
            {"RoleArn": target, "RoleSessionName": "x", "SourceIdentity": "other"}, principal
        )


def test_fail_policy_arn_descriptor_without_arn(world: World) -> None:
    """A PolicyArns entry without its arn (the model allows one) is a ValidationError."""
    role, principal = _session(world)
    target = _target(world, role)
    sts = StsService(world.snapshots, world.clock)
    with pytest.raises(ValidationError, match=r"'policyArns\.1\.member\.arn'.*must not be null"):
        sts.assume_role(
            {"RoleArn": target, "RoleSessionName": "hop", "PolicyArns": [{}]}, principal
        )


def test_ok_transitive_tags_follow_the_chain(world: World) -> None:
    """Transitive session tags are carried into the next session; a clash is refused."""
    root_role = world.add_role(
        "chain-start",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": OPS.arn},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        },
    )
    sts = StsService(world.snapshots, world.clock)
    first = sts.assume_role(
        {
            "RoleArn": root_role,
            "RoleSessionName": "one",
            "Tags": [{"Key": "team", "Value": "red"}, {"Key": "tmp", "Value": "x"}],
            "TransitiveTagKeys": ["team"],
        },
        OPS,
    )
    creds = {
        "accessKeyId": first["Credentials"]["AccessKeyId"],
        "secretAccessKey": first["Credentials"]["SecretAccessKey"],
        "sessionToken": first["Credentials"]["SessionToken"],
    }
    principal = _resolve(world, _sts_request(creds))
    target = _target(world, root_role)
    second = sts.assume_role({"RoleArn": target, "RoleSessionName": "two"}, principal)
    chained = _resolve(
        world,
        _sts_request(
            {
                "accessKeyId": second["Credentials"]["AccessKeyId"],
                "secretAccessKey": second["Credentials"]["SecretAccessKey"],
                "sessionToken": second["Credentials"]["SessionToken"],
            }
        ),
    )
    assert chained.claims is not None
    assert chained.claims.principal_tags == (("team", "red"),)
    assert chained.claims.chain_depth == 1
    with pytest.raises(ValidationError):
        sts.assume_role(
            {
                "RoleArn": target,
                "RoleSessionName": "three",
                "Tags": [{"Key": "Team", "Value": "blue"}],
            },
            principal,
        )


def _revoke(world: World, role: str, before: dt.datetime) -> None:
    world.store.put_inline_policy(
        "role",
        role.split("/")[-1],
        "AWSRevokeOlderSessions",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["*"],
                        "Resource": ["*"],
                        "Condition": {
                            "DateLessThan": {
                                "aws:TokenIssueTime": before.strftime("%Y-%m-%dT%H:%M:%SZ")
                            }
                        },
                    }
                ],
            }
        ),
    )


def test_fail_token_issue_time_deny_revokes_older_sessions(world: World) -> None:
    """A deny on aws:TokenIssueTime blocks older sessions' calls and their AssumeRole."""
    role, principal = _session(world)
    world.store.put_inline_policy(
        "role",
        role.split("/")[-1],
        "allow-all",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    assert principal.claims is not None
    request = RequestContext(
        action="rolesanywhere:ListProfiles",
        principal=policy_principal(principal.claims),
        keys=session_context_keys(principal.claims),
    )
    assert (
        evaluate(request, session_policies(principal.claims, world.snapshots.current())).result
        == ALLOWED
    )
    target = _target(world, role)
    _revoke(world, role, NOW + dt.timedelta(seconds=1))
    snapshot = world.snapshots.current()
    assert evaluate(request, session_policies(principal.claims, snapshot)).result == EXPLICIT_DENY
    with pytest.raises(AccessDenied):
        StsService(world.snapshots, world.clock).assume_role(
            {"RoleArn": target, "RoleSessionName": "late"}, principal
        )


def test_ok_session_policy_narrows_the_role(world: World) -> None:
    """The profile's session policy narrows what the role allows."""
    session_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    role, creds = _credentials(world, sessionPolicy=session_policy)
    world.store.put_inline_policy(
        "role",
        role.split("/")[-1],
        "allow-all",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    principal = _resolve(world, _sts_request(creds))
    assert principal.claims is not None
    policies = session_policies(principal.claims, world.snapshots.current())

    def decide(action: str) -> str:
        return evaluate(
            RequestContext(
                action=action,
                principal=policy_principal(principal.claims),  # type: ignore[arg-type]
                keys=session_context_keys(principal.claims),  # type: ignore[arg-type]
            ),
            policies,
        ).result

    assert decide("s3:GetObject") == ALLOWED
    assert decide("s3:PutObject") != ALLOWED


def test_ok_session_signing_key_is_cached(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated calls of one session derive its secret and key once; a wrong secret still fails."""
    _, creds = _credentials(world)
    derived: list[str] = []

    def counting(access_key_id: str, token: str, ring: Any) -> str:
        derived.append(access_key_id)
        return derive_secret_access_key(access_key_id, token, ring)

    monkeypatch.setattr(session_auth, "derive_secret_access_key", counting)
    cache = SigningKeyCache()
    resolver = SessionResolver(world.snapshots, signing_keys=cache)
    for _ in range(3):
        request = _sts_request(creds)
        principal = resolver(request, parse_signed_request(request), NOW)
        assert principal.access_key_id == creds["accessKeyId"]
    assert len(cache) == 1
    assert derived == [creds["accessKeyId"]]
    forged = _sts_request({**creds, "secretAccessKey": "x" * 40})
    with pytest.raises(InvalidSignature):
        resolver(forged, parse_signed_request(forged), NOW)
    assert len(cache) == 1


def test_fail_forged_token_never_reaches_the_cache(world: World) -> None:
    """A tampered token is refused before any signing key is derived or kept."""
    _, creds = _credentials(world)
    cache = SigningKeyCache()
    token = creds["sessionToken"]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    request = _sts_request(creds, token=flipped)
    with pytest.raises(UnrecognizedClient):
        SessionResolver(world.snapshots, signing_keys=cache)(
            request, parse_signed_request(request), NOW
        )
    assert len(cache) == 0


def test_ok_sessions_do_not_share_keys(world: World) -> None:
    """Two sessions each get their own entry, and each still verifies with its own secret."""
    _, first = _credentials(world)
    _, second = _credentials(world)
    cache = SigningKeyCache()
    resolver = SessionResolver(world.snapshots, signing_keys=cache)
    for creds in (first, second, first, second):
        request = _sts_request(creds)
        assert (
            resolver(request, parse_signed_request(request), NOW).access_key_id
            == (creds["accessKeyId"])
        )
    assert len(cache) == 2
    crossed = _sts_request({**first, "secretAccessKey": second["secretAccessKey"]})
    with pytest.raises(InvalidSignature):
        resolver(crossed, parse_signed_request(crossed), NOW)


def _iam(world: World) -> IamService:
    return IamService(world.store, world.clock, account_id=ACCOUNT)


def _user_principal(iam: IamService, name: str) -> Principal:
    user = iam.handle("CreateUser", {"UserName": name}, ROOT)["User"]
    return Principal(user["Arn"], ACCOUNT, "user", user["UserId"], name, "AKIAEXAMPLEEXAMPLE02")


def test_fail_trust_naming_a_user_does_not_trust_its_successor(world: World) -> None:
    """A trust policy naming a user trusts that user; once the user is deleted and created again
    under the same name, AssumeRole by the new user is refused."""
    iam = _iam(world)
    alice = _user_principal(iam, "alice")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": alice.arn}, "Action": "sts:*"}],
    }
    role = iam.handle(
        "CreateRole", {"RoleName": "trusting", "AssumeRolePolicyDocument": json.dumps(trust)}, ROOT
    )["Role"]["Arn"]
    sts = StsService(world.snapshots, world.clock)
    sts.assume_role({"RoleArn": role, "RoleSessionName": "first"}, alice)
    iam.handle("DeleteUser", {"UserName": "alice"}, ROOT)
    successor = _user_principal(iam, "alice")
    assert successor.arn == alice.arn
    with pytest.raises(AccessDenied):
        sts.assume_role({"RoleArn": role, "RoleSessionName": "second"}, successor)


def test_fail_trust_naming_a_role_does_not_trust_its_successor(world: World) -> None:
    """A trust policy naming a role trusts that role's sessions; sessions of a role created again
    under the same name are not trusted."""
    first, principal = _session(world)
    name = first.split("/")[-1]
    target = IamService(world.store, world.clock, account_id=ACCOUNT).handle(
        "CreateRole",
        {
            "RoleName": "chained-target",
            "AssumeRolePolicyDocument": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": first},
                            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                        }
                    ],
                }
            ),
        },
        ROOT,
    )["Role"]["Arn"]
    sts = StsService(world.snapshots, world.clock)
    sts.assume_role({"RoleArn": target, "RoleSessionName": "hop"}, principal)
    world.store.remove_role(name)
    world.add_role(name)
    chain = quick_chain(NOW, "p256")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([first])
    answer = world.call(session_request(chain, anchor=anchor, profile=profile, role=first))
    creds = json.loads(answer.body)["credentialSet"][0]["credentials"]
    successor = _resolve(world, _sts_request(creds))
    with pytest.raises(AccessDenied):
        sts.assume_role({"RoleArn": target, "RoleSessionName": "hop"}, successor)


def _principal_tags(keys: dict[str, object]) -> dict[str, object]:
    prefix = "aws:principaltag/"
    return {k[len(prefix) :]: v for k, v in keys.items() if k.lower().startswith(prefix)}


def test_ok_role_tags_are_principal_tags_of_its_sessions(world: World) -> None:
    """A CreateSession session's aws:PrincipalTag/* holds the role's tags and the mapped
    certificate attributes."""
    _, principal = _session(world)
    assert principal.claims is not None
    _, _, keys = session_auth.session_view(principal.claims, world.snapshots.current())
    tags = _principal_tags(keys)
    assert tags["team"] == "blue"  # the role's own tag (World.add_role)
    assert tags["x509Subject/CN"] == "elsewhere-test-workload"


def test_ok_session_tag_overrides_role_tag_of_same_key_any_case(world: World) -> None:
    """An AssumeRole session tag replaces the role tag whose key differs only in case."""
    role = world.add_role(
        "tagged-target",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": OPS.arn},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        },
    )
    out = StsService(world.snapshots, world.clock).assume_role(
        {"RoleArn": role, "RoleSessionName": "tagged", "Tags": [{"Key": "Team", "Value": "red"}]},
        OPS,
    )
    creds = {
        "accessKeyId": out["Credentials"]["AccessKeyId"],
        "secretAccessKey": out["Credentials"]["SecretAccessKey"],
        "sessionToken": out["Credentials"]["SessionToken"],
    }
    principal = _resolve(world, _sts_request(creds))
    assert principal.claims is not None
    _, _, keys = session_auth.session_view(principal.claims, world.snapshots.current())
    assert _principal_tags(keys) == {"Team": "red"}


def test_ok_role_tags_are_read_at_request_time(world: World) -> None:
    """A role tag changed after the session was issued is what the session's next call sees."""
    role, principal = _session(world)
    assert principal.claims is not None
    world.store.update_role(
        role.split("/")[-1], lambda r: dataclasses.replace(r, tags=(Tag("team", "green"),))
    )
    _, _, keys = session_auth.session_view(principal.claims, world.snapshots.current())
    assert _principal_tags(keys)["team"] == "green"
