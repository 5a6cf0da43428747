"""An in-process CreateSession world: memory store, control plane, roles, key ring, fixed clock."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

from elsewhere.clock import FixedClock
from elsewhere.domain import Tag
from elsewhere.domain._iam import Role
from elsewhere.errors import ElsewhereError
from elsewhere.pki import Chain
from elsewhere.protocol import Response
from elsewhere.service import ControlPlane, SubjectRecorder
from elsewhere.service._sessions import CreateSessionHandler, SessionSettings
from elsewhere.service._snapshot import (
    SnapshotProvider,
    StoreRoleSource,
    load_or_create_key_ring,
)
from elsewhere.sigv4 import HttpRequest, parse_signed_request, sign_x509_request
from elsewhere.storage import MemoryStore

ACCOUNT = "123456789012"
REGION = "us-east-1"
CALLER = f"arn:aws:iam::{ACCOUNT}:root"
NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)
HOST = "127.0.0.1:8080"
MASTER_KEY = bytes(range(32))

TRUST_SERVICE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }
    ],
}


def trust_with(condition: dict[str, Any]) -> dict[str, Any]:
    """The service trust policy with a Condition block."""
    statement = dict(TRUST_SERVICE["Statement"][0])  # type: ignore[index]
    statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@dataclass
class World:
    """Everything one CreateSession test needs."""

    store: MemoryStore
    cp: ControlPlane
    clock: FixedClock
    snapshots: SnapshotProvider
    handler: CreateSessionHandler
    recorder: SubjectRecorder
    roles: dict[str, str] = field(default_factory=dict)

    def add_role(
        self,
        name: str,
        trust: dict[str, Any] | None = None,
        *,
        max_session_duration: int = 3600,
        path: str = "/",
    ) -> str:
        """Create a role in the IAM store and return its ARN."""
        arn = f"arn:aws:iam::{ACCOUNT}:role{path}{name}"
        self.store.add_role(
            Role(
                role_id="AROA" + os.urandom(8).hex().upper()[:17],
                arn=arn,
                name=name,
                path=path,
                assume_role_policy=json.dumps(trust or TRUST_SERVICE),
                description="",
                max_session_duration=max_session_duration,
                permissions_boundary_arn=None,
                tags=(Tag("team", "blue"),),
                created_at=self.clock.now(),
            )
        )
        return arn

    def add_anchor(self, chain: Chain, *, pem: str | None = None, enabled: bool = True) -> str:
        """A CERTIFICATE_BUNDLE trust anchor holding the chain's root (or ``pem``)."""
        out = self.cp.handle(
            "CreateTrustAnchor",
            {
                "name": "ta-" + os.urandom(4).hex(),
                "enabled": enabled,
                "source": {
                    "sourceType": "CERTIFICATE_BUNDLE",
                    "sourceData": {"x509CertificateData": pem or chain.anchor_pem},
                },
            },
            CALLER,
        )
        return str(out["trustAnchor"]["trustAnchorArn"])

    def add_profile(self, role_arns: list[str], **extra: Any) -> str:
        """An enabled profile for ``role_arns``."""
        params = {"name": "p-" + os.urandom(4).hex(), "roleArns": role_arns, "enabled": True}
        params.update(extra)
        out = self.cp.handle("CreateProfile", params, CALLER)
        return str(out["profile"]["profileArn"])

    def call(self, request: HttpRequest) -> Response:
        """Run the handler on a signed request as the gateway would."""
        signed = parse_signed_request(request)
        return self.handler(request, signed, "192.0.2.10", True)

    def call_status(self, request: HttpRequest) -> int:
        """The status of the answer to ``request`` (an error's as the gateway sends it)."""
        try:
            return self.call(request).status
        except ElsewhereError as exc:
            return exc.status_for("json")


def session_request(
    chain: Chain,
    *,
    anchor: str,
    profile: str,
    role: str,
    form: str = "query",
    body: dict[str, Any] | None = None,
    now: dt.datetime = NOW,
    extra_headers: tuple[tuple[str, str], ...] = (),
    intermediates: tuple[Any, ...] | None = None,
) -> HttpRequest:
    """A CreateSession request signed with the chain's leaf, in the helper or Python form."""
    payload: dict[str, Any] = {"durationSeconds": 3600}
    if form == "body":
        payload = {"profileArn": profile, "roleArn": role, "trustAnchorArn": anchor}
    payload.update(body or {})
    if form == "query":
        query = "&".join(
            f"{k}={quote(v, safe='')}"
            for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
        )
        ctype = "application/json"
    else:
        query = ""
        ctype = "application/x-amz-json-1.0"
    raw = json.dumps(payload, separators=(",", ":")).encode()
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        query,
        (("Host", HOST), ("Content-Type", ctype), *extra_headers),
        raw,
    )
    return sign_x509_request(
        unsigned,
        certificate=chain.leaf,
        private_key=chain.leaf_key,  # type: ignore[arg-type]
        region=REGION,
        now=now,
        intermediates=chain.intermediates if intermediates is None else intermediates,
    )


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh in-memory world with the clock at NOW."""
    store = MemoryStore()
    clock = FixedClock(NOW)
    cp = ControlPlane(store, clock, account_id=ACCOUNT, region=REGION)
    load_or_create_key_ring(store.secrets, MASTER_KEY, now=NOW)
    snapshots = SnapshotProvider(
        store,
        StoreRoleSource(store),
        master_key=MASTER_KEY,
        refresh_interval=0,
        background=False,
    )
    recorder = SubjectRecorder(store.subjects, account_id=ACCOUNT, region=REGION, background=False)
    handler = CreateSessionHandler(
        snapshots,
        clock,
        settings=SessionSettings(account_id=ACCOUNT, region=REGION),
        recorder=recorder,
    )
    yield World(store, cp, clock, snapshots, handler, recorder)
    recorder.close()
    snapshots.close()
