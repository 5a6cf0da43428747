"""`elsewhere verify-certificate` gives CreateSession's answer, case for case.

Every case of the enterprise PKI table (tests/unit/x509/test_enterprise_pki.py) runs twice: as a
CreateSession against a trust anchor made with CreateTrustAnchor and CRLs imported with ImportCrl
(signer certificates travelling in crlData after the CRL), and as verify-certificate with the
same bundle, chain and CRL files. Both must accept, or both refuse with the same reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere import pki
from elsewhere.cli import _verify
from elsewhere.errors import AccessDenied
from tests.unit.x509 import enterprise as e
from tests.unit.x509 import test_enterprise_pki as table

from .conftest import World, session_request

CASES = {**table.OK, **table.FAIL}


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _crl_files(case: table.Case) -> list[bytes]:
    """Each CRL as PEM; the signer certificates travel after the first one."""
    files = [c.public_bytes(serialization.Encoding.PEM) for c in case.crls]
    if files:
        files[0] += "".join(_pem(s) for s in case.signers).encode()
    return files


def _create_session(world: World, case: table.Case) -> tuple[bool, str]:
    world.clock.set(e.NOW)
    anchor = world.add_anchor(pki.quick_chain(e.NOW), pem="".join(_pem(a) for a in case.anchors))
    for position, data in enumerate(_crl_files(case)):
        world.cp.handle(
            "ImportCrl",
            {"name": f"crl{position}", "crlData": data, "trustAnchorArn": anchor, "enabled": True},
            "root",
        )
    role = world.add_role("parity")
    profile = world.add_profile([role])
    chain = pki.Chain(
        root=case.anchors[0],
        root_key=pki.cached_key("p256", "root"),
        intermediate=None,
        intermediate_key=None,
        leaf=case.leaf,
        leaf_key=pki.cached_key("p256", "leaf"),
    )
    request = session_request(
        chain,
        anchor=anchor,
        profile=profile,
        role=role,
        now=e.NOW,
        intermediates=case.intermediates,
    )
    try:
        response = world.call(request)
    except AccessDenied as refusal:
        # Any other refusal text (a bad signature, say) would make the comparison meaningless.
        message = refusal.message
        if message != "Untrusted signing certificate":
            pytest.fail(f"{message}: {refusal.reason}")
        return False, refusal.reason
    assert response.status == 201
    return True, ""


def _verify_certificate(tmp_path: Path, case: table.Case) -> tuple[bool, str]:
    @click.group()
    def root() -> None:
        """Test root."""

    _verify.register(root)
    (tmp_path / "anchor.pem").write_text("".join(_pem(a) for a in case.anchors))
    (tmp_path / "leaf.pem").write_text(_pem(case.leaf))
    args = ["verify-certificate", "--trust-anchor-bundle", str(tmp_path / "anchor.pem")]
    if case.intermediates:
        (tmp_path / "chain.pem").write_text("".join(_pem(c) for c in case.intermediates))
        args += ["--intermediates", str(tmp_path / "chain.pem")]
    for position, data in enumerate(_crl_files(case)):
        path = tmp_path / f"crl{position}.pem"
        path.write_bytes(data)
        args += ["--crl", str(path)]
    args += ["--at", e.NOW.isoformat(), "--json", str(tmp_path / "leaf.pem")]
    result = CliRunner().invoke(root, args)
    assert result.exit_code in (0, 1), result.output
    answer = json.loads(result.output)
    return bool(answer["accepted"]), str(answer.get("reason", ""))


@pytest.mark.parametrize("name", sorted(CASES))
def test_verify_certificate_answers_as_create_session(
    name: str, world: World, tmp_path: Path
) -> None:
    """ok/ and fail/ cases: the same acceptance, and the same reason when refused."""
    case, _ = CASES[name]()
    session = _create_session(world, case)
    offline = _verify_certificate(tmp_path, case)
    assert offline == session
    assert session[0] == name.startswith("ok/")
