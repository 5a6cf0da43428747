"""Session token throughput: sealing (issue) and opening (verify) per second."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Iterator

from elsewhere.tokens import SessionClaims, build_key_ring, open_session, seal_session

_ROUNDS = 5
_PER_ROUND = 2000


def _claims(now: dt.datetime) -> SessionClaims:
    """A typical Roles Anywhere session: ten certificate tags, source identity, no policy."""
    tags = tuple((f"x509Issuer/{rdn}", f"value-{rdn}") for rdn in ("C", "O", "OU", "ST", "L"))
    tags += (("x509Subject/CN", "workload-01"), ("x509SAN/DNS", "workload-01.example.com"))
    return SessionClaims(
        account="123456789012",
        role_arn="arn:aws:iam::123456789012:role/Deploy",
        role_id="AROA3XFRBF535PLBIFPI4",
        role_name="Deploy",
        role_path="/",
        session_name="0f3c2a9d8e7b6c5a4f3e2d1c0b9a8f7e",
        issued_at=now,
        expires_at=now + dt.timedelta(hours=1),
        source="arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-1",
        source_identity="CN=workload-01",
        principal_tags=tags,
        certificate_serial="0123",
    )


def _rate(step: object, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        step()  # type: ignore[operator]
    return count / (time.perf_counter() - start)


def run() -> Iterator[tuple[str, float, str]]:
    """Yield the median seal and open rates over several rounds."""
    now = dt.datetime.now(dt.UTC)
    ring = build_key_ring(os.urandom(32), created_at=now)
    claims = _claims(now)
    nonce = os.urandom(12)
    token = seal_session(claims, ring, nonce=nonce)
    seal_rates = [
        _rate(lambda: seal_session(claims, ring, nonce=nonce), _PER_ROUND) for _ in range(_ROUNDS)
    ]
    open_rates = [
        _rate(lambda: open_session(token, ring, now=now), _PER_ROUND) for _ in range(_ROUNDS)
    ]
    yield ("tokens.seal.per_second", statistics.median(seal_rates), "ops/s")
    yield ("tokens.open.per_second", statistics.median(open_rates), "ops/s")
