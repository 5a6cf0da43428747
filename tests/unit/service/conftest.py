"""Fixtures for the control-plane tests: stores (memory and SQLite), a clock, real certificates."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from elsewhere.clock import FixedClock
from elsewhere.service import ControlPlane, ControlPlaneSettings, Store
from elsewhere.service._iam import IamService
from elsewhere.storage import MemoryStore, open_store
from tests.unit.service._races import T0 as RACE_T0
from tests.unit.storage._postgres import empty_postgres_store, needs_postgres
from tests.unit.storage._races import NODE_KINDS, two_nodes

ACCOUNT = "123456789012"
REGION = "us-east-1"
CALLER = f"arn:aws:iam::{ACCOUNT}:root"
T0 = dt.datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=dt.UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workload"


def make_ca(name: str = "Test Root CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA certificate and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def pem_of(*certs: x509.Certificate) -> str:
    """The PEM text of certificates, concatenated."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def make_crl(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, *serials: int) -> bytes:
    """A DER CRL issued by ``cert`` revoking ``serials``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(T0 - dt.timedelta(hours=1))
        .next_update(T0 + dt.timedelta(days=7))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(T0 - dt.timedelta(hours=2))
            .build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="session")
def ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """One CA for the whole session (key generation is the slow part)."""
    return make_ca()


@pytest.fixture(scope="session")
def ca_pem(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> str:
    """The CA certificate as PEM."""
    return pem_of(ca[0])


@pytest.fixture(scope="session")
def crl_der(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> bytes:
    """A CRL of the session CA revoking serial 1234."""
    return make_crl(ca[0], ca[1], 1234)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "elsewhere.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=needs_postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    """Each service test runs on the in-memory fake, a real SQLite file and (if set) PostgreSQL."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "postgres":
        made = empty_postgres_store(request)
    else:
        path = tmp_path / "elsewhere.db"
        shutil.copyfile(sqlite_template, path)
        made = open_store(f"sqlite:///{path}")
    yield made
    made.close()


@pytest.fixture
def clock() -> FixedClock:
    """A clock set to T0."""
    return FixedClock(T0)


@pytest.fixture
def make_cp(store: Store, clock: FixedClock) -> Callable[..., ControlPlane]:
    """Build a control plane over the test store, with optional settings."""

    def build(**settings: Any) -> ControlPlane:
        return ControlPlane(
            store,
            clock,
            account_id=ACCOUNT,
            region=REGION,
            settings=ControlPlaneSettings(**settings),
        )

    return build


@pytest.fixture
def cp(make_cp: Callable[..., ControlPlane]) -> ControlPlane:
    """A control plane with AWS's defaults."""
    return make_cp()


@pytest.fixture
def anchor(cp: ControlPlane, ca_pem: str) -> dict[str, Any]:
    """An enabled trust anchor (its TrustAnchorDetail)."""
    out = cp.handle(
        "CreateTrustAnchor",
        {
            "name": "anchor",
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": ca_pem},
            },
            "enabled": True,
        },
        CALLER,
    )
    detail: dict[str, Any] = out["trustAnchor"]
    return detail


@pytest.fixture
def profile(cp: ControlPlane) -> dict[str, Any]:
    """An enabled profile (its ProfileDetail)."""
    out = cp.handle(
        "CreateProfile", {"name": "profile", "roleArns": [ROLE], "enabled": True}, CALLER
    )
    detail: dict[str, Any] = out["profile"]
    return detail


@pytest.fixture(params=NODE_KINDS)
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Two IAM services sharing one database, as two replicas (race tests)."""
    clock = FixedClock(RACE_T0)
    with two_nodes(request, tmp_path) as (one, two):
        yield IamService(one, clock, account_id=ACCOUNT), IamService(two, clock, account_id=ACCOUNT)
