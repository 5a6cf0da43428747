"""Fixtures of the client tests: a certificate chain on disk and a fake CreateSession server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.client import SessionParameters
from elsewhere.pki import Chain, quick_chain
from tests.unit.client._fake import FakeCreateSession, FakeServer

ANCHOR = (
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0b1c2d3e-aaaa-bbbb-cccc-000000000001"
)
PROFILE = (
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/0b1c2d3e-aaaa-bbbb-cccc-000000000002"
)
ROLE = "arn:aws:iam::123456789012:role/demo"


@dataclass(frozen=True)
class Files:
    """A chain and the PEM files written for it."""

    chain: Chain
    certificate: Path
    private_key: Path
    intermediates: Path


def write_files(directory: Path, chain: Chain) -> Files:
    """Write the leaf, its key (PKCS#8) and the intermediates as PEM files."""
    certificate = directory / "leaf.pem"
    private_key = directory / "leaf.key"
    intermediates = directory / "chain.pem"
    certificate.write_bytes(chain.leaf.public_bytes(serialization.Encoding.PEM))
    private_key.write_text(chain.leaf_key_pem)
    intermediates.write_text(chain.chain_pem)
    return Files(chain, certificate, private_key, intermediates)


@pytest.fixture
def now() -> dt.datetime:
    """The current time (the fake server and the signer use the real clock)."""
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def files(tmp_path: Path, now: dt.datetime) -> Files:
    """A P-256 chain with an intermediate, written to PEM files."""
    return write_files(tmp_path, quick_chain(now, "p256", with_intermediate=True))


@pytest.fixture
def fake() -> FakeCreateSession:
    """The fake server's state."""
    return FakeCreateSession()


@pytest.fixture
def server(fake: FakeCreateSession) -> Iterator[FakeServer]:
    """A running fake CreateSession server."""
    with FakeServer(fake) as running:
        yield running


@pytest.fixture
def params(server: FakeServer) -> SessionParameters:
    """Session parameters pointing at the fake server."""
    return SessionParameters(
        trust_anchor_arn=ANCHOR, profile_arn=PROFILE, role_arn=ROLE, endpoint=server.url
    )


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen at once in tests (the count and re-signing are what is tested)."""
    monkeypatch.setattr("elsewhere.client._session._BACKOFF_SECONDS", 0.0)
