"""CRL operations: Import, Get, Update, Delete, Enable, Disable, List."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere.clock import FixedClock
from elsewhere.domain import is_uuid
from elsewhere.errors import ResourceNotFound, ValidationError
from elsewhere.service import ControlPlane
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, T0, make_ca, make_crl


def import_crl(
    cp: ControlPlane, anchor: dict[str, Any], data: bytes, **extra: Any
) -> dict[str, Any]:
    """ImportCrl and return the detail."""
    out = cp.handle(
        "ImportCrl",
        {"name": "c", "crlData": data, "trustAnchorArn": anchor["trustAnchorArn"], **extra},
        CALLER,
    )
    detail: dict[str, Any] = out["crl"]
    return detail


def test_import(cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes) -> None:
    """An imported CRL keeps its bytes and names its anchor."""
    detail = import_crl(cp, anchor, crl_der, enabled=True)
    assert is_uuid(detail["crlId"])
    assert detail == {
        "crlId": detail["crlId"],
        "crlArn": f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:crl/{detail['crlId']}",
        "name": "c",
        "enabled": True,
        "crlData": crl_der,
        "trustAnchorArn": anchor["trustAnchorArn"],
        "createdAt": T0,
        "updatedAt": T0,
    }
    assert cp.handle("GetCrl", {"crlId": detail["crlId"]}, CALLER) == {"crl": detail}
    assert cp.handle("GetCrl", {"crlId": detail["crlArn"]}, CALLER) == {"crl": detail}


def test_import_pem(cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes) -> None:
    """A PEM CRL is accepted too."""
    pem = x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)
    assert import_crl(cp, anchor, pem)["crlData"] == pem


def test_import_defaults_to_disabled(
    cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes
) -> None:
    """``enabled`` omitted is false (decision)."""
    assert import_crl(cp, anchor, crl_der)["enabled"] is False


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not a crl", id="fail/garbage"),
        pytest.param(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", id="fail/pem"),
    ],
)
def test_import_refuses_garbage(cp: ControlPlane, anchor: dict[str, Any], data: bytes) -> None:
    """CRL data must parse."""
    with pytest.raises(ValidationError):
        import_crl(cp, anchor, data)


def test_import_for_unknown_anchor_is_404(cp: ControlPlane, crl_der: bytes) -> None:
    """The trust anchor named by the ARN must exist."""
    missing = "00000000-0000-4000-8000-000000000000"
    arn = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:trust-anchor/{missing}"
    with pytest.raises(ResourceNotFound):
        cp.handle("ImportCrl", {"name": "c", "crlData": crl_der, "trustAnchorArn": arn}, CALLER)


def test_quota_per_anchor(
    make_cp: Callable[..., ControlPlane], anchor: dict[str, Any], crl_der: bytes, ca_pem: str
) -> None:
    """Two CRLs per anchor; a third is refused; another anchor has its own allowance."""
    cp = make_cp()
    import_crl(cp, anchor, crl_der)
    import_crl(cp, anchor, crl_der)
    with pytest.raises(ValidationError, match="maximum"):
        import_crl(cp, anchor, crl_der)
    other = cp.handle(
        "CreateTrustAnchor",
        {
            "name": "b",
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": ca_pem},
            },
        },
        CALLER,
    )["trustAnchor"]
    assert import_crl(cp, other, crl_der)["trustAnchorArn"] == other["trustAnchorArn"]


def test_update(
    cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes, clock: FixedClock
) -> None:
    """Update replaces the name and the data."""
    detail = import_crl(cp, anchor, crl_der)
    clock.advance(dt.timedelta(days=1))
    cert, key = make_ca("Other")
    newer = make_crl(cert, key, 1, 2, 3)
    out = cp.handle(
        "UpdateCrl", {"crlId": detail["crlId"], "name": "new", "crlData": newer}, CALLER
    )["crl"]
    assert out == {
        **detail,
        "name": "new",
        "crlData": newer,
        "updatedAt": T0 + dt.timedelta(days=1),
    }
    with pytest.raises(ValidationError):
        cp.handle("UpdateCrl", {"crlId": detail["crlId"], "crlData": b"junk"}, CALLER)
    assert cp.handle("GetCrl", {"crlId": detail["crlId"]}, CALLER) == {"crl": out}


def test_enable_disable_delete(cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes) -> None:
    """Enable, Disable, and Delete (which returns the CRL)."""
    detail = import_crl(cp, anchor, crl_der)
    ident = {"crlId": detail["crlId"]}
    assert cp.handle("EnableCrl", ident, CALLER)["crl"]["enabled"] is True
    disabled = cp.handle("DisableCrl", ident, CALLER)["crl"]
    assert disabled["enabled"] is False
    assert cp.handle("DeleteCrl", ident, CALLER) == {"crl": disabled}
    with pytest.raises(ResourceNotFound):
        cp.handle("GetCrl", ident, CALLER)


@pytest.mark.parametrize(
    "operation", ["GetCrl", "UpdateCrl", "DeleteCrl", "EnableCrl", "DisableCrl"]
)
def test_unknown_crl_is_404(cp: ControlPlane, operation: str) -> None:
    """Operations on a CRL that does not exist answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle(operation, {"crlId": "00000000-0000-4000-8000-000000000000"}, CALLER)


def test_list(cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes) -> None:
    """ListCrls pages through the CRLs."""
    ids = {import_crl(cp, anchor, crl_der)["crlId"] for _ in range(2)}
    first = cp.handle("ListCrls", {"pageSize": 1}, CALLER)
    second = cp.handle("ListCrls", {"pageSize": 1, "nextToken": first["nextToken"]}, CALLER)
    assert "nextToken" not in second
    assert {c["crlId"] for c in first["crls"] + second["crls"]} == ids


def _pem_crl_with(crl_der: bytes, *certs: x509.Certificate) -> bytes:
    pem = x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)
    return pem + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def test_import_crl_with_its_signer_certificates(
    cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes
) -> None:
    """ok/: a PEM CRL followed by its signer's certificate is taken, and kept byte for byte."""
    signer, _ = make_ca("CRL signer")
    data = _pem_crl_with(crl_der, signer)
    detail = import_crl(cp, anchor, data, enabled=True)
    assert detail["crlData"] == data


@pytest.mark.parametrize(
    ("name", "tail", "needle"),
    [
        (
            "fail/certificate-that-does-not-parse",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "crlData holds a certificate that does not parse",
        ),
        ("fail/too-many-certificates", None, "crlData holds 6 certificates besides the CRL"),
    ],
)
def test_import_crl_refuses_bad_signer_certificates(
    cp: ControlPlane,
    anchor: dict[str, Any],
    crl_der: bytes,
    name: str,
    tail: bytes | None,
    needle: str,
) -> None:
    """A certificate in crlData that does not parse, or too many of them, is a ValidationError."""
    signer, _ = make_ca("CRL signer")
    data = (
        _pem_crl_with(crl_der) + tail if tail is not None else _pem_crl_with(crl_der, *[signer] * 6)
    )
    with pytest.raises(ValidationError) as info:
        import_crl(cp, anchor, data)
    assert needle in info.value.message, name
