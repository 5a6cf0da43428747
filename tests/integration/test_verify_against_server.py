"""``elsewhere verify-certificate --trust-anchor-arn`` against a running server's trust anchor."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import quick_chain
from tests.conftest import ELSEWHERE, ServerProcess

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)


def _verify(server: ServerProcess, arn: str, leaf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ELSEWHERE,
            "verify-certificate",
            "--trust-anchor-arn",
            arn,
            "--endpoint",
            server.endpoint,
            "--json",
            str(leaf),
        ],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_server_anchor_enabled_revoked_disabled(server: ServerProcess, tmp_path: Path) -> None:
    """Accepted while trusted; refused once a CRL revokes the leaf; refused when disabled."""
    ra = server.client("rolesanywhere")
    chain = quick_chain(NOW, "p256")
    anchor = ra.create_trust_anchor(
        name=f"v-{uuid.uuid4().hex[:8]}",
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(chain.leaf_pem)

    ok = _verify(server, anchor["trustAnchorArn"], leaf)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["accepted"] is True

    crl = chain.crl([chain.leaf.serial_number], now=NOW).public_bytes(serialization.Encoding.DER)
    ra.import_crl(name="v", crlData=crl, trustAnchorArn=anchor["trustAnchorArn"], enabled=True)
    revoked = _verify(server, anchor["trustAnchorArn"], leaf)
    assert revoked.returncode == 1
    answer = json.loads(revoked.stdout)
    assert answer["message"] == "Untrusted signing certificate"
    assert "revoked" in answer["reason"]

    ra.disable_trust_anchor(trustAnchorId=anchor["trustAnchorId"])
    disabled = _verify(server, anchor["trustAnchorArn"], leaf)
    assert disabled.returncode == 1
    assert "disabled" in json.loads(disabled.stdout)["reason"]


def test_unknown_anchor_is_a_usage_error(server: ServerProcess, tmp_path: Path) -> None:
    """An anchor the server does not have is exit status 2 with the server's answer."""
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(quick_chain(NOW, "p256").leaf_pem)
    arn = f"arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/{uuid.uuid4()}"
    result = _verify(server, arn, leaf)
    assert result.returncode == 2
    assert "ResourceNotFoundException" in result.stderr
