"""Session token throughput: issuing (prepared and not), sealing and opening, per CPU-second.

Rates are operations per second of this process's CPU time (``time.process_time``), the median
over several rounds, so other load on a shared machine moves them less than wall time would.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Callable, Iterator

from elsewhere.tokens import (
    SessionClaims,
    build_key_ring,
    issue_credentials,
    issue_prepared_credentials,
    open_session,
    prepare_session,
    seal_session,
    verify_credential_pair,
)

_ROUNDS = 7
_PER_ROUND = 2000


def _claims(now: dt.datetime) -> SessionClaims:
    """A typical Roles Anywhere session: seven certificate tags, source identity, no policy."""
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


def _rate(step: Callable[[], object], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        step()
    return count / max(time.process_time() - start, 1e-9)


def _median_rate(step: Callable[[], object]) -> float:
    return statistics.median(_rate(step, _PER_ROUND) for _ in range(_ROUNDS))


def run() -> Iterator[tuple[str, float, str]]:
    """Yield the median prepare, issue, seal and open rates over several rounds.

    ``prepare`` is the encoding and compression of the static claims (what an unremembered
    session costs on top of an issue); ``issue`` and ``seal`` repeat one session, so the ring
    remembers its packed claims, as ``issue_prepared`` gets them from the prepared session.
    """
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(hours=1)
    ring = build_key_ring(os.urandom(32), created_at=now)
    claims = _claims(now)
    prepared = prepare_session(claims)
    nonce = os.urandom(12)
    creds = issue_credentials(claims, ring, access_key_random=os.urandom, nonce=nonce)
    token = creds.session_token

    def issue() -> object:
        return issue_credentials(claims, ring, access_key_random=os.urandom, nonce=nonce)

    def issue_prepared() -> object:
        return issue_prepared_credentials(
            prepared,
            ring,
            issued_at=now,
            expires_at=expires,
            access_key_random=os.urandom,
            nonce=nonce,
        )

    def open_new_token() -> object:
        # A token not opened before, of a session whose static claims the ring has seen.
        ring.plains.clear()
        return open_session(token, ring, now=now)

    def open_cold() -> object:
        # A token of a session the ring has not seen: the full inflate and parse.
        ring.plains.clear()
        ring.opened.clear()
        return open_session(token, ring, now=now)

    yield ("tokens.prepare.per_second", _median_rate(lambda: prepare_session(claims)), "ops/s")
    yield ("tokens.issue.per_second", _median_rate(issue), "ops/s")
    yield ("tokens.issue_prepared.per_second", _median_rate(issue_prepared), "ops/s")
    yield (
        "tokens.seal.per_second",
        _median_rate(lambda: seal_session(claims, ring, nonce=nonce)),
        "ops/s",
    )
    yield (
        "tokens.open.per_second",
        _median_rate(lambda: open_session(token, ring, now=now)),
        "ops/s",
    )
    yield ("tokens.open_new_token.per_second", _median_rate(open_new_token), "ops/s")
    yield ("tokens.open_cold.per_second", _median_rate(open_cold), "ops/s")
    yield (
        "tokens.verify_pair.per_second",
        _median_rate(lambda: verify_credential_pair(creds.access_key_id, token, ring, now=now)),
        "ops/s",
    )
