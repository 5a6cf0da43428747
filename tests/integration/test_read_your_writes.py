"""Read your writes: the node that made a change serves the very next request with it.

A user scripting a setup, or a CI job using elsewhere as its emulator, sends CreateSession right
after CreateProfile (or right after DisableProfile) and must never need a sleep.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from elsewhere.pki import quick_chain
from tests.conftest import ServerProcess
from tests.integration.test_createsession import (
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)

pytestmark = pytest.mark.integration

ROUNDS = 10


def test_create_then_session_at_once(server: ServerProcess) -> None:
    """ok/create: CreateSession sent right after CreateProfile succeeds, every time."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    statuses = []
    for _ in range(ROUNDS):
        profile = make_profile(server, [role])
        answer = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        statuses.append(answer.status_code)
    assert statuses == [201] * ROUNDS


def test_disable_then_session_at_once(server: ServerProcess) -> None:
    """fail/disabled: CreateSession sent right after DisableProfile is refused, every time."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    ra = server.client("rolesanywhere")
    statuses = []
    for _ in range(ROUNDS):
        profile = make_profile(server, [role])
        ra.disable_profile(profileId=profile.rsplit("/", 1)[1])
        answer = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        statuses.append(answer.status_code)
    assert statuses == [403] * ROUNDS


def test_trust_policy_change_applies_at_once(server: ServerProcess) -> None:
    """fail/trust: a trust policy tightened through IAM refuses the next CreateSession."""
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server)
    profile = make_profile(server, [role])
    ok = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
    assert ok.status_code == 201
    deny_all = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
    server.client("iam").update_assume_role_policy(
        RoleName=role.rsplit("/", 1)[1], PolicyDocument=json.dumps(deny_all)
    )
    refused = send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
    )
    assert refused.status_code == 403
