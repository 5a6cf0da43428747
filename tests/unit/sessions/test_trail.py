"""What CreateSession tells its audit record: the trail it fills, and each refusal's class."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from elsewhere.errors import ElsewhereError
from elsewhere.pki import quick_chain
from elsewhere.service import REFUSAL_CLASSES, SessionTrail
from elsewhere.sigv4 import HttpRequest, parse_signed_request
from elsewhere.x509 import format_subject_dn

from .conftest import NOW, World, session_request, trust_with


def _run(world: World, request: HttpRequest) -> tuple[SessionTrail, Any]:
    """Run CreateSession with a trail; the trail and the answer (or the error)."""
    trail = SessionTrail()
    try:
        signed = parse_signed_request(request)
        answer: Any = world.handler(request, signed, "192.0.2.10", True, trail)
    except ElsewhereError as exc:
        answer = exc
    return trail, answer


def test_granted_trail(world: World) -> None:
    """A granted session's trail names the certificate, anchor, profile, role, session and key."""
    chain = quick_chain(NOW, "p256", True)
    role = world.add_role("trail-ok")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    trail, answer = _run(world, session_request(chain, anchor=anchor, profile=profile, role=role))
    assert answer.status == 201
    (entry,) = json.loads(answer.body)["credentialSet"]
    assert trail.x509_subject == format_subject_dn(chain.leaf.subject)
    assert trail.x509_issuer == format_subject_dn(chain.leaf.issuer)
    assert trail.serial_number == str(chain.leaf.serial_number)
    assert (trail.trust_anchor_arn, trail.profile_arn, trail.role_arn) == (anchor, profile, role)
    assert trail.duration_seconds == 3600
    assert trail.role_session_name == entry["assumedRoleUser"]["arn"].rsplit("/", 1)[1]
    assert trail.source_identity == entry["sourceIdentity"]
    assert trail.access_key_id == entry["credentials"]["accessKeyId"]
    assert trail.expiration == entry["credentials"]["expiration"]
    assert trail.assumed_role_arn == entry["assumedRoleUser"]["arn"]
    assert trail.assumed_role_id == entry["assumedRoleUser"]["assumedRoleId"]
    assert trail.packed_policy_size == entry["packedPolicySize"]
    assert trail.subject_arn == json.loads(answer.body)["subjectArn"]
    assert trail.refusal is None
    held = json.dumps(dataclasses.asdict(trail), default=str)
    assert entry["credentials"]["secretAccessKey"] not in held
    assert entry["credentials"]["sessionToken"] not in held


def _expired(chain: Any, anchor: str, profile: str, role: str) -> HttpRequest:
    return session_request(
        chain, anchor=anchor, profile=profile, role=role, now=NOW - dt.timedelta(hours=1)
    )


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("fail/skewed-signature", "signature"),
        ("fail/unknown-anchor", "untrusted_certificate"),
        ("fail/role-not-in-profile", "profile"),
        ("fail/disabled-profile", "profile"),
        ("fail/unknown-role", "role"),
        ("fail/trust-policy", "trust_policy"),
        ("fail/duration-above-role-maximum", "role"),
        ("fail/bad-duration", "invalid_request"),
    ],
)
def test_refusal_class(world: World, case: str, refusal: str) -> None:
    """Each refusal fills the trail up to where it stopped and names its class."""
    chain = quick_chain(NOW, "p256")
    role = world.add_role("trail-" + case.split("/")[1])
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    body: dict[str, Any] = {}
    if case == "fail/skewed-signature":
        request = _expired(chain, anchor, profile, role)
    else:
        if case == "fail/unknown-anchor":
            anchor = anchor[:-4] + "0000"
        elif case == "fail/role-not-in-profile":
            profile = world.add_profile([world.add_role("trail-other")])
        elif case == "fail/disabled-profile":
            profile = world.add_profile([role], enabled=False)
        elif case == "fail/unknown-role":
            role = role + "-gone"
            profile = world.add_profile([role])
        elif case == "fail/trust-policy":
            role = world.add_role(
                "trail-cond", trust_with({"StringEquals": {"aws:SourceIp": "198.51.100.1"}})
            )
            profile = world.add_profile([role])
        elif case == "fail/duration-above-role-maximum":
            role = world.add_role("trail-short", max_session_duration=3600)
            profile = world.add_profile([role], durationSeconds=7200)
            body = {"durationSeconds": 7200}
        elif case == "fail/bad-duration":
            body = {"durationSeconds": 10}
        request = session_request(chain, anchor=anchor, profile=profile, role=role, body=body)
    trail, answer = _run(world, request)
    assert isinstance(answer, ElsewhereError)
    assert trail.refusal == refusal
    assert refusal in REFUSAL_CLASSES
    assert trail.access_key_id is None
    if refusal in ("signature", "invalid_request"):
        # Nothing past a failed signature or unreadable input is named.
        assert trail.trust_anchor_arn is None
    else:
        assert trail.x509_subject == format_subject_dn(chain.leaf.subject)
        assert trail.trust_anchor_arn == anchor
        assert trail.role_arn == role
