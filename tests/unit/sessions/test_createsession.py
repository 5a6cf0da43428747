"""CreateSession in process: both request forms, the 201 shape, credentials, subjects."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import quick_chain
from elsewhere.sigv4 import HttpRequest
from elsewhere.tokens import verify_credential_pair
from elsewhere.x509 import UntrustedCertificate

from .conftest import ACCOUNT, NOW, REGION, World, session_request

ASIA = re.compile(r"^ASIA[A-Z2-7]{16}$")


def _body(world: World, request: HttpRequest) -> dict[str, Any]:
    response = world.call(request)
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers
    out: dict[str, Any] = json.loads(response.body)
    return out


@pytest.mark.parametrize(
    ("key_type", "with_intermediate", "form"),
    [
        ("rsa2048", False, "query"),
        ("rsa2048", True, "body"),
        ("p256", False, "body"),
        ("p256", True, "query"),
        ("p384", True, "query"),
        ("p384", False, "body"),
    ],
)
def test_ok_issues_credentials(
    world: World, key_type: str, with_intermediate: bool, form: str
) -> None:
    """A trusted leaf gets the exact 201 shape of reference §2.2 in either request form."""
    chain = quick_chain(NOW, key_type, with_intermediate)
    role = world.add_role("workload-" + key_type)
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    body = _body(
        world, session_request(chain, anchor=anchor, profile=profile, role=role, form=form)
    )
    assert set(body) == {"credentialSet", "subjectArn"}
    (entry,) = body["credentialSet"]
    assert set(entry) == {
        "assumedRoleUser",
        "credentials",
        "packedPolicySize",
        "roleArn",
        "sourceIdentity",
    }
    serial_hex = format(chain.leaf.serial_number, "x")
    serial_hex = serial_hex if len(serial_hex) % 2 == 0 else "0" + serial_hex
    assert entry["assumedRoleUser"]["arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/workload-{key_type}/{serial_hex}"
    )
    assert re.fullmatch(r"AROA[A-Z0-9]+:" + serial_hex, entry["assumedRoleUser"]["assumedRoleId"])
    creds = entry["credentials"]
    assert ASIA.match(creds["accessKeyId"])
    assert creds["expiration"] == "2026-11-28T13:00:00Z"
    assert len(creds["secretAccessKey"]) == 40
    assert entry["roleArn"] == role
    assert entry["sourceIdentity"] == "CN=elsewhere-test-workload"
    assert isinstance(entry["packedPolicySize"], int)
    assert re.fullmatch(
        rf"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:subject/[0-9a-f-]{{36}}", body["subjectArn"]
    )
    ring = world.snapshots.current().ring
    assert ring is not None
    claims = verify_credential_pair(
        creds["accessKeyId"], creds["sessionToken"], ring, now=NOW + dt.timedelta(minutes=1)
    )
    assert claims.role_arn == role
    assert claims.source == anchor
    assert ("x509Subject/CN", "elsewhere-test-workload") in claims.principal_tags


def test_ok_intermediate_only_in_anchor(world: World) -> None:
    """An anchor holding the intermediate CA alone trusts leaves it issued, with no chain sent."""
    chain = quick_chain(NOW, "p256", True)
    assert chain.intermediate is not None
    from cryptography.hazmat.primitives import serialization

    pem = chain.intermediate.public_bytes(serialization.Encoding.PEM).decode()
    role = world.add_role("mid")
    anchor = world.add_anchor(chain, pem=pem)
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role, intermediates=())
    assert world.call(request).status == 201


def test_ok_duration_is_min_of_profile_and_request(world: World) -> None:
    """Duration = min(profile, request) (reference §4.3 step 5)."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("dur", max_session_duration=43200)
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role], durationSeconds=7200)
    body = _body(
        world,
        session_request(
            chain, anchor=anchor, profile=profile, role=role, body={"durationSeconds": 43200}
        ),
    )
    assert body["credentialSet"][0]["credentials"]["expiration"] == "2026-11-28T14:00:00Z"
    body = _body(
        world,
        session_request(
            chain, anchor=anchor, profile=profile, role=role, body={"durationSeconds": 900}
        ),
    )
    assert body["credentialSet"][0]["credentials"]["expiration"] == "2026-11-28T12:15:00Z"


def test_ok_role_session_name_when_profile_accepts(world: World) -> None:
    """A custom roleSessionName names the session when the profile accepts it."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("named")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role], acceptRoleSessionName=True)
    body = _body(
        world,
        session_request(
            chain, anchor=anchor, profile=profile, role=role, body={"roleSessionName": "web-1"}
        ),
    )
    assert body["credentialSet"][0]["assumedRoleUser"]["arn"].endswith("/named/web-1")


def test_ok_extra_signed_headers(world: World) -> None:
    """amz-sdk-* and x-amz-content-sha256 headers signed by newer helpers are accepted."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("sdk")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    raw = b'{"durationSeconds":3600}'
    import hashlib

    request = session_request(
        chain,
        anchor=anchor,
        profile=profile,
        role=role,
        extra_headers=(
            ("Amz-Sdk-Invocation-Id", "0b0e7f4c-1111-2222-3333-444455556666"),
            ("Amz-Sdk-Request", "attempt=1; max=3"),
            ("X-Amz-Content-Sha256", hashlib.sha256(raw).hexdigest()),
        ),
    )
    assert "amz-sdk-request" in request.header("authorization")  # type: ignore[operator]
    assert world.call(request).status == 201


def test_ok_subject_recorded_with_stable_arn(world: World) -> None:
    """Each authentication is recorded under one Subject whose ARN the response gave."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("subj")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    first = _body(world, request)["subjectArn"]
    second = _body(world, request)["subjectArn"]
    assert first == second
    world.recorder.flush()
    subject = world.store.subjects.get(first.rsplit("/", 1)[1])
    assert subject is not None
    assert subject.arn == first
    assert subject.x509_subject == "CN=elsewhere-test-workload,O=elsewhere"
    assert subject.credentials[0].serial_number == str(chain.leaf.serial_number)
    assert subject.credentials[0].failed is False


def test_ok_failure_after_authentication_is_recorded_as_failed(world: World) -> None:
    """A refusal after the certificate was trusted is recorded with failed=true."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("failrec")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([world.add_role("other")])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    from elsewhere.errors import AccessDenied

    with pytest.raises(AccessDenied):
        world.call(request)
    world.recorder.flush()
    (subject,) = world.store.subjects.list_page(None, 10)
    full = world.store.subjects.get(subject.id)
    assert full is not None
    assert full.credentials[0].failed is True


def test_ok_warm_cache_and_snapshot_follow_changes(world: World) -> None:
    """Disabling the profile takes effect on the next snapshot refresh."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("toggle")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    assert world.call(request).status == 201
    world.cp.handle("DisableProfile", {"profileId": profile.rsplit("/", 1)[1]}, "root")
    from elsewhere.errors import AccessDenied

    with pytest.raises(AccessDenied):
        world.call(request)


def _alias(world: World, arn: str, alias: str) -> str:
    """Give the anchor or profile ``arn`` the alias ``alias``; its alias ARN."""
    if ":trust-anchor/" in arn:
        out = world.cp.handle("UpdateTrustAnchor", {"trustAnchorId": arn, "aliasName": alias}, "x")
        return str(out["trustAnchor"].get("aliasArn", ""))
    out = world.cp.handle("UpdateProfile", {"profileId": arn, "aliasName": alias}, "x")
    return str(out["profile"].get("aliasArn", ""))


@pytest.mark.parametrize("form", ["query", "body"])
def test_ok_alias_arns_name_the_anchor_and_profile(world: World, form: str) -> None:
    """trustAnchorArn and profileArn may be alias ARNs; the session names the anchor's own ARN."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("aliased")
    anchor, profile = world.add_anchor(chain), world.add_profile([role])
    anchor_alias, profile_alias = _alias(world, anchor, "prod/ta"), _alias(world, profile, "prod")
    assert anchor_alias == f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/trust-anchor/prod/ta"
    request = session_request(
        chain, anchor=anchor_alias, profile=profile_alias, role=role, form=form
    )
    creds = _body(world, request)["credentialSet"][0]["credentials"]
    ring = world.snapshots.current().ring
    assert ring is not None
    claims = verify_credential_pair(
        creds["accessKeyId"], creds["sessionToken"], ring, now=NOW + dt.timedelta(minutes=1)
    )
    assert claims.source == anchor


def test_ok_alias_arns_follow_the_alias(world: World) -> None:
    """An alias moved to another anchor, or removed, is what the next CreateSession sees."""
    chain, other = quick_chain(NOW, "p256"), quick_chain(NOW, "p256")
    role = world.add_role("moving")
    profile = world.add_profile([role])
    first, second = world.add_anchor(chain), world.add_anchor(other)
    alias = _alias(world, first, "current")

    def status() -> int:
        request = session_request(chain, anchor=alias, profile=profile, role=role)
        return world.call(request).status

    assert status() == 201
    _alias(world, first, "")
    _alias(world, second, "current")  # now names the anchor of another CA
    with pytest.raises(UntrustedCertificate):
        status()
    _alias(world, second, "")
    with pytest.raises(UntrustedCertificate):  # names nothing
        status()


def test_ok_alias_lookup_reads_no_store(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alias ARNs are served from the in-memory snapshot: no repository read per request."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("memory")
    anchor, profile = world.add_anchor(chain), world.add_profile([role])
    anchor_alias, profile_alias = _alias(world, anchor, "a"), _alias(world, profile, "p")
    request = session_request(chain, anchor=anchor_alias, profile=profile_alias, role=role)
    assert world.call(request).status == 201

    def no_read(*_: Any) -> Any:
        raise AssertionError("CreateSession read the store")

    for repo in (world.store.trust_anchors, world.store.profiles, world.store.crls):
        for method in ("get", "get_by_alias", "list_all", "list_page"):
            monkeypatch.setattr(repo, method, no_read)
    again = session_request(
        chain, anchor=anchor_alias, profile=profile_alias, role=role, form="body"
    )
    assert world.call(again).status == 201


def test_fail_stored_crl_that_no_longer_parses_refuses_its_anchor(world: World) -> None:
    """An enabled CRL the server cannot read is never skipped: its anchor refuses (fails closed)."""
    import dataclasses

    from elsewhere.errors import AccessDenied

    chain = quick_chain(NOW, "p256")
    role = world.add_role("unreadable")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    assert world.call(request).status == 201
    crl = chain.crl([], now=NOW).public_bytes(serialization.Encoding.DER)
    out = world.cp.handle(
        "ImportCrl",
        {"name": "c", "crlData": crl, "trustAnchorArn": anchor, "enabled": True},
        "root",
    )
    stored = world.store.crls.get(out["crl"]["crlId"])
    assert stored is not None
    # As if a stricter parser met what an older one had accepted.
    world.store.crls.replace(
        dataclasses.replace(stored, crl_data=b"not a CRL", updated_at=NOW + dt.timedelta(seconds=1))
    )
    with pytest.raises(AccessDenied) as info:
        world.call(request)
    assert info.value.message == "Untrusted signing certificate"
    assert "does not parse, so revocation cannot be checked" in info.value.reason
