"""AWS's published Python library ``iam-rolesanywhere-session`` against a real elsewhere server.

The library (PyPI ``iam-rolesanywhere-session``, 3.0.0) sends the three ARNs in the JSON body with
``Content-Type: application/x-amz-json-1.0``, signs with botocore's SigV4 machinery and always
calls ``https://<endpoint>/sessions``, so the server here speaks HTTPS with a test CA. The setup
reuses the quickstart's building blocks.
"""

from __future__ import annotations

import datetime as dt
import gc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from elsewhere.pki import Chain, issue_certificate, quick_chain
from elsewhere.quickstart import (
    ensure_ca,
    ensure_profile,
    ensure_role,
    ensure_trust_anchor,
    ensure_workload_certificate,
)
from elsewhere.x509 import default_session_name
from tests.conftest import ServerProcess, start_server

rolesanywhere_session = pytest.importorskip("iam_rolesanywhere_session")

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)


@dataclass(frozen=True)
class TlsServer:
    """An HTTPS elsewhere server and the CA bundle that verifies it."""

    server: ServerProcess
    ca_bundle: Path

    @property
    def host(self) -> str:
        """The library's ``endpoint``: a host and port, no scheme (it always uses https)."""
        return f"127.0.0.1:{self.server.port}"

    def client(self, service: str) -> Any:
        """An admin boto3 client that trusts the server's TLS certificate."""
        return self.server.client(service, verify=str(self.ca_bundle))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """One HTTPS server for this module."""
    directory = tmp_path_factory.mktemp("aws-python-session")
    tls_ca = quick_chain(NOW, "p256")
    tls = issue_certificate(
        tls_ca.root_ca,
        now=NOW,
        subject="CN=localhost",
        sans=["dns:localhost", "ip:127.0.0.1"],
        extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
    )
    (directory / "tls.pem").write_bytes(tls.certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        tls.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "tls-ca.pem").write_text(tls_ca.anchor_pem)
    handle = start_server(
        directory / "data",
        args=(
            "--tls-certificate",
            str(directory / "tls.pem"),
            "--tls-key",
            str(directory / "tls.key"),
        ),
        scheme="https",
    )
    yield TlsServer(handle, directory / "tls-ca.pem")
    handle.stop()


@dataclass(frozen=True)
class Workload:
    """ARNs that let one certificate assume one role, and the certificate's files or bytes."""

    anchor: str
    profile: str
    role: str
    role_name: str
    certificate: str | bytes
    private_key: str | bytes
    chain: str | bytes | None = None


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _setup(tls: TlsServer, ca_pem: bytes, cn: str, **profile: Any) -> tuple[str, str, str, str]:
    """Trust anchor, CN-bound role and profile through the quickstart's building blocks."""
    ra, iam = tls.client("rolesanywhere"), tls.client("iam")
    name = _name("pysession")
    anchor, _ = ensure_trust_anchor(ra, name, ca_pem)
    role, _ = ensure_role(iam, name, cn, anchor)
    if profile:
        created = ra.create_profile(name=name, roleArns=[role], enabled=True, **profile)
        profile_arn = created["profile"]["profileArn"]
    else:
        profile_arn, _ = ensure_profile(ra, name, role)
    ra.close()
    iam.close()
    return anchor, profile_arn, role, name


@pytest.fixture(scope="module")
def quickstart_workload(
    tls_server: TlsServer, tmp_path_factory: pytest.TempPathFactory
) -> Workload:
    """The quickstart's own CA and P-256 workload certificate, given to the library as paths."""
    directory = tmp_path_factory.mktemp("pysession-qs")
    store, _ = ensure_ca(directory, now=NOW)
    certificate, key, _ = ensure_workload_certificate(store, directory, "py-workload", now=NOW)
    anchor, profile, role, name = _setup(
        tls_server, (directory / "ca.pem").read_bytes(), "py-workload"
    )
    return Workload(anchor, profile, role, name, str(certificate), str(key))


def _chain_workload(tls: TlsServer, chain: Chain, cn: str, **profile: Any) -> Workload:
    anchor, profile_arn, role, name = _setup(tls, chain.anchor_pem.encode(), cn, **profile)
    return Workload(
        anchor,
        profile_arn,
        role,
        name,
        chain.leaf_pem.encode(),
        chain.leaf_key_pem.encode(),
        chain.chain_pem.encode() or None,
    )


def _caller(tls: TlsServer, workload: Workload, **kwargs: Any) -> str:
    """GetCallerIdentity through the library's boto3 session."""
    library = rolesanywhere_session.IAMRolesAnywhereSession(
        profile_arn=workload.profile,
        role_arn=workload.role,
        trust_anchor_arn=workload.anchor,
        certificate=workload.certificate,
        private_key=workload.private_key,
        certificate_chain=workload.chain,
        region=tls.server.region,
        endpoint=tls.host,
        verify=str(tls.ca_bundle),
        **kwargs,
    )
    sts = library.get_session().client("sts", endpoint_url=tls.server.endpoint)
    try:
        return str(sts.get_caller_identity()["Arn"])
    finally:
        sts.close()
        library._session.close()
        del library, sts


def _refusal(tls: TlsServer, workload: Workload, **kwargs: Any) -> tuple[int, str]:
    """The library's CredentialsRetrievalError as (HTTP status, message)."""
    try:
        arn = _caller(tls, workload, **kwargs)
    except rolesanywhere_session.CredentialsRetrievalError as exc:
        refusal = (exc.status_code, exc.message)
    else:
        pytest.fail(f"CreateSession was not refused: {arn}")
    # The library leaves its refused response's connection checked out of the urllib3 pool;
    # dropping the traceback frees it, so the server's graceful shutdown has nothing to wait for.
    gc.collect()
    return refusal


def test_quickstart_certificate_files(tls_server: TlsServer, quickstart_workload: Workload) -> None:
    """ok/p256-files: the quickstart's certificate and key paths give the assumed-role ARN."""
    arn = _caller(tls_server, quickstart_workload)
    assert arn.startswith(
        f"arn:aws:sts::{tls_server.server.account_id}:assumed-role/{quickstart_workload.role_name}/"
    )


def test_rsa_with_intermediate(tls_server: TlsServer) -> None:
    """ok/rsa-chain: an RSA leaf under an intermediate sent in X-Amz-X509-Chain (PEM bytes)."""
    chain = quick_chain(NOW, "rsa2048", True, subject="CN=py-rsa")
    workload = _chain_workload(tls_server, chain, "py-rsa")
    arn = _caller(tls_server, workload)
    # AWS's default session name is the leaf's serial in lowercase hex.
    # The default session name is the serial in hex, padded to an even number of digits.
    assert arn.endswith(f":assumed-role/{workload.role_name}/{default_session_name(chain.leaf)}")


def test_p384_leaf_signed_with_sha384(tls_server: TlsServer) -> None:
    """ok/p384: the library names the algorithm AWS4-X509-ECDSA-SHA384 and still signs SHA-256."""
    chain = quick_chain(NOW, "p384", subject="CN=py-p384")
    assert chain.leaf.signature_hash_algorithm is not None
    assert chain.leaf.signature_hash_algorithm.name == "sha384"
    workload = _chain_workload(tls_server, chain, "py-p384")
    assert f":assumed-role/{workload.role_name}/" in _caller(tls_server, workload)


def test_role_session_name(tls_server: TlsServer) -> None:
    """ok/role-session-name: a profile that accepts it names the session as asked."""
    chain = quick_chain(NOW, "p256", subject="CN=py-named")
    workload = _chain_workload(tls_server, chain, "py-named", acceptRoleSessionName=True)
    arn = _caller(tls_server, workload, role_session_name="from-python")
    assert arn.endswith(f":assumed-role/{workload.role_name}/from-python")


def test_refused_role_session_name(tls_server: TlsServer) -> None:
    """fail/role-session-name: a profile that does not accept it answers AWS's message."""
    chain = quick_chain(NOW, "p256", subject="CN=py-unnamed")
    workload = _chain_workload(tls_server, chain, "py-unnamed")
    refusal = _refusal(tls_server, workload, role_session_name="from-python")
    assert refusal == (403, "Not authorized to set roleSessionName")


def test_disabled_profile_is_refused(tls_server: TlsServer) -> None:
    """fail/profile-disabled: AWS's 403 text reaches the library's CredentialsRetrievalError."""
    chain = quick_chain(NOW, "p256", subject="CN=py-disabled")
    workload = _chain_workload(tls_server, chain, "py-disabled")
    assert f":assumed-role/{workload.role_name}/" in _caller(tls_server, workload)
    ra = tls_server.client("rolesanywhere")
    ra.disable_profile(profileId=workload.profile.rsplit("/", 1)[1])
    ra.close()
    refusal = _refusal(tls_server, workload)
    assert refusal == (403, f"Unable to assume role for {workload.role}.")


def test_untrusted_certificate_is_refused(tls_server: TlsServer) -> None:
    """fail/untrusted: a leaf from another CA is 'Untrusted signing certificate'."""
    chain = quick_chain(NOW, "p256", subject="CN=py-foreign")
    workload = _chain_workload(tls_server, chain, "py-foreign")
    stranger = quick_chain(NOW, "p256", subject="CN=py-foreign", key_slot="stranger")
    foreign = Workload(
        workload.anchor,
        workload.profile,
        workload.role,
        workload.role_name,
        stranger.leaf_pem.encode(),
        stranger.leaf_key_pem.encode(),
    )
    assert _refusal(tls_server, foreign) == (403, "Untrusted signing certificate")


def test_instance_properties(tls_server: TlsServer, quickstart_workload: Workload) -> None:
    """ok/instance-properties: the optional ``instanceProperties`` member is accepted."""
    arn = _caller(tls_server, quickstart_workload, instance_properties={"host": "ci-runner-01"})
    assert f":assumed-role/{quickstart_workload.role_name}/" in arn
