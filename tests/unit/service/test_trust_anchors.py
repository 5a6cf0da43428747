"""Trust anchor operations: Create, Get, Update, Delete, Enable, Disable, List."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere import pki
from elsewhere.clock import FixedClock
from elsewhere.domain import is_uuid
from elsewhere.errors import ResourceNotFound, TooManyTags, ValidationError
from elsewhere.service import ControlPlane
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, T0, make_ca, pem_of
from tests.unit.x509.test_key_sizes import PublicOnly, rsa_public


def bundle(pem: str) -> dict[str, Any]:
    """A CERTIFICATE_BUNDLE source."""
    return {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pem}}


def create(cp: ControlPlane, pem: str, **extra: Any) -> dict[str, Any]:
    """CreateTrustAnchor and return the detail."""
    out = cp.handle("CreateTrustAnchor", {"name": "a", "source": bundle(pem), **extra}, CALLER)
    detail: dict[str, Any] = out["trustAnchor"]
    return detail


def test_create_returns_the_detail(cp: ControlPlane, ca_pem: str) -> None:
    """A new anchor has a UUID, its ARN, the caller's source, timestamps and default settings."""
    detail = create(cp, ca_pem, tags=[{"key": "team", "value": "ops"}])
    assert is_uuid(detail["trustAnchorId"])
    assert detail["trustAnchorArn"] == (
        f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:trust-anchor/{detail['trustAnchorId']}"
    )
    assert detail["name"] == "a"
    assert detail["source"] == bundle(ca_pem)
    assert detail["createdAt"] == detail["updatedAt"] == T0
    assert detail["crlDpRevocationEnabled"] is False
    assert detail["notificationSettings"] == [
        {
            "enabled": True,
            "event": event,
            "threshold": 45,
            "channel": "ALL",
            "configuredBy": "rolesanywhere.amazonaws.com",
        }
        for event in ("CA_CERTIFICATE_EXPIRY", "END_ENTITY_CERTIFICATE_EXPIRY")
    ]
    tags = cp.handle("ListTagsForResource", {"resourceArn": detail["trustAnchorArn"]}, CALLER)
    assert tags == {"tags": [{"key": "team", "value": "ops"}]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({}, False, id="ok/omitted-is-disabled"),
        pytest.param({"enabled": True}, True, id="ok/true"),
        pytest.param({"enabled": False}, False, id="ok/false"),
    ],
)
def test_create_enabled(
    cp: ControlPlane, ca_pem: str, given: dict[str, Any], expected: bool
) -> None:
    """``enabled`` defaults to false (decision) and is kept when given."""
    assert create(cp, ca_pem, **given)["enabled"] is expected


def test_create_enabled_default_is_a_setting(
    make_cp: Callable[..., ControlPlane], ca_pem: str
) -> None:
    """``enabled_by_default`` flips the default."""
    assert create(make_cp(enabled_by_default=True), ca_pem)["enabled"] is True


def test_create_with_notification_settings(cp: ControlPlane, ca_pem: str) -> None:
    """Given settings override the defaults and are marked as configured by the account."""
    detail = create(
        cp,
        ca_pem,
        notificationSettings=[
            {"enabled": False, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 10, "channel": "ALL"}
        ],
    )
    by_event = {s["event"]: s for s in detail["notificationSettings"]}
    assert by_event["CA_CERTIFICATE_EXPIRY"] == {
        "enabled": False,
        "event": "CA_CERTIFICATE_EXPIRY",
        "threshold": 10,
        "channel": "ALL",
        "configuredBy": ACCOUNT,
    }
    assert by_event["END_ENTITY_CERTIFICATE_EXPIRY"]["configuredBy"] == (
        "rolesanywhere.amazonaws.com"
    )


def test_create_two_certificates_is_allowed(cp: ControlPlane, ca_pem: str) -> None:
    """The quota allows two CA certificates per anchor."""
    second, _ = make_ca("Second CA")
    detail = create(cp, ca_pem + pem_of(second))
    assert detail["source"]["sourceData"]["x509CertificateData"].count("BEGIN CERTIFICATE") == 2


def test_create_three_certificates_needs_the_setting(
    make_cp: Callable[..., ControlPlane], ca_pem: str
) -> None:
    """A third certificate is refused by default and accepted when the setting allows it."""
    pem = ca_pem + pem_of(make_ca("B")[0], make_ca("C")[0])
    with pytest.raises(ValidationError):
        create(make_cp(), pem)
    assert create(make_cp(max_certificates_per_anchor=3), pem)["name"] == "a"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(bundle("not a certificate"), id="fail/not-pem"),
        pytest.param(
            bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            id="fail/garbage-der",
        ),
        pytest.param(
            {
                "sourceType": "AWS_ACM_PCA",
                "sourceData": {"acmPcaArn": f"arn:aws:acm-pca:{REGION}:{ACCOUNT}:ca/x"},
            },
            id="fail/acm-pca-unsupported",
        ),
        pytest.param(
            {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {}}, id="fail/no-source-data"
        ),
        pytest.param(
            {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"acmPcaArn": "arn:x"}},
            id="fail/bundle-without-pem",
        ),
        pytest.param(
            {"sourceType": "WHATEVER", "sourceData": {"x509CertificateData": "x"}},
            id="fail/source-type",
        ),
    ],
)
def test_create_refuses_bad_sources(cp: ControlPlane, source: dict[str, Any]) -> None:
    """Sources that cannot be used are refused with a ValidationException."""
    with pytest.raises(ValidationError):
        cp.handle("CreateTrustAnchor", {"name": "a", "source": source}, CALLER)
    assert cp.handle("ListTrustAnchors", {}, CALLER)["trustAnchors"] == []


def test_acm_pca_message_is_clear(cp: ControlPlane) -> None:
    """The refusal of AWS_ACM_PCA says so."""
    source = {"sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": "arn:aws:acm-pca:x"}}
    with pytest.raises(ValidationError, match="AWS_ACM_PCA"):
        cp.handle("CreateTrustAnchor", {"name": "a", "source": source}, CALLER)


def test_create_quota(make_cp: Callable[..., ControlPlane], ca_pem: str) -> None:
    """The trust anchor quota is enforced."""
    cp = make_cp(max_trust_anchors=2)
    create(cp, ca_pem)
    create(cp, ca_pem)
    with pytest.raises(ValidationError, match="maximum"):
        create(cp, ca_pem)


def test_create_too_many_tags(make_cp: Callable[..., ControlPlane], ca_pem: str) -> None:
    """More tags than the per-resource limit is TooManyTagsException."""
    tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    with pytest.raises(TooManyTags):
        create(make_cp(), ca_pem, tags=tags)
    assert create(make_cp(), ca_pem, tags=tags[:50])["name"] == "a"


def test_get_by_id_and_by_arn(cp: ControlPlane, anchor: dict[str, Any]) -> None:
    """An anchor can be named by its id or its ARN."""
    for ident in (anchor["trustAnchorId"], anchor["trustAnchorArn"]):
        assert cp.handle("GetTrustAnchor", {"trustAnchorId": ident}, CALLER) == {
            "trustAnchor": anchor
        }


@pytest.mark.parametrize(
    "ident",
    [
        pytest.param("00000000-0000-4000-8000-000000000000", id="fail/unknown-id"),
        pytest.param(
            f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:trust-anchor/00000000-0000-4000-8000-000000000000",
            id="fail/unknown-arn",
        ),
        pytest.param(
            f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:profile/00000000-0000-4000-8000-000000000000",
            id="fail/arn-of-other-kind",
        ),
        pytest.param(
            f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/trust-anchor/nope", id="fail/alias"
        ),
    ],
)
@pytest.mark.parametrize(
    "operation",
    [
        "GetTrustAnchor",
        "UpdateTrustAnchor",
        "DeleteTrustAnchor",
        "EnableTrustAnchor",
        "DisableTrustAnchor",
    ],
)
def test_unknown_anchor_is_404(cp: ControlPlane, ident: str, operation: str) -> None:
    """Operations on an anchor that does not exist answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound) as info:
        cp.handle(operation, {"trustAnchorId": ident}, CALLER)
    assert info.value.status == 404
    assert info.value.message == "Resource not found"


def test_anchor_of_another_account_is_404(cp: ControlPlane, anchor: dict[str, Any]) -> None:
    """An ARN naming another account or region does not reach our anchor."""
    other = anchor["trustAnchorArn"].replace(ACCOUNT, "210987654321")
    with pytest.raises(ResourceNotFound):
        cp.handle("GetTrustAnchor", {"trustAnchorId": other}, CALLER)
    other_region = anchor["trustAnchorArn"].replace(REGION, "eu-west-1")
    with pytest.raises(ResourceNotFound):
        cp.handle("GetTrustAnchor", {"trustAnchorId": other_region}, CALLER)


def test_update(cp: ControlPlane, anchor: dict[str, Any], clock: FixedClock) -> None:
    """Update changes the given fields and updatedAt only."""
    clock.advance(dt.timedelta(minutes=5))
    second, _ = make_ca("Replacement CA")
    out = cp.handle(
        "UpdateTrustAnchor",
        {
            "trustAnchorId": anchor["trustAnchorId"],
            "name": "renamed",
            "source": bundle(pem_of(second)),
            "crlDpRevocationEnabled": True,
        },
        CALLER,
    )["trustAnchor"]
    assert out["name"] == "renamed"
    assert out["source"] == bundle(pem_of(second))
    assert out["crlDpRevocationEnabled"] is True
    assert out["createdAt"] == T0
    assert out["updatedAt"] == T0 + dt.timedelta(minutes=5)
    assert out["enabled"] is True
    assert cp.handle("GetTrustAnchor", {"trustAnchorId": anchor["trustAnchorId"]}, CALLER) == {
        "trustAnchor": out
    }


def test_update_refuses_bad_source(cp: ControlPlane, anchor: dict[str, Any]) -> None:
    """A bad source on update is refused and nothing changes."""
    with pytest.raises(ValidationError):
        cp.handle(
            "UpdateTrustAnchor",
            {"trustAnchorId": anchor["trustAnchorId"], "source": bundle("nope")},
            CALLER,
        )
    got = cp.handle("GetTrustAnchor", {"trustAnchorId": anchor["trustAnchorId"]}, CALLER)
    assert got == {"trustAnchor": anchor}


def test_alias(cp: ControlPlane, anchor: dict[str, Any]) -> None:
    """An alias names the anchor through its alias ARN; renaming keeps the previous name."""
    first = cp.handle(
        "UpdateTrustAnchor", {"trustAnchorId": anchor["trustAnchorId"], "aliasName": "one"}, CALLER
    )["trustAnchor"]
    alias_arn = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:alias/trust-anchor/one"
    assert first["aliasArn"] == alias_arn
    got = cp.handle("GetTrustAnchor", {"trustAnchorId": alias_arn}, CALLER)["trustAnchor"]
    assert got["trustAnchorId"] == anchor["trustAnchorId"]
    second = cp.handle(
        "UpdateTrustAnchor", {"trustAnchorId": alias_arn, "aliasName": "two"}, CALLER
    )["trustAnchor"]
    assert (second["aliasName"], second["previousAliasName"]) == ("two", "one")


def test_alias_must_be_unique(cp: ControlPlane, ca_pem: str) -> None:
    """Two anchors cannot share an alias."""
    create(cp, ca_pem, aliasName="shared")
    with pytest.raises(ValidationError):
        create(cp, ca_pem, aliasName="shared")


def test_enable_disable(cp: ControlPlane, anchor: dict[str, Any], clock: FixedClock) -> None:
    """Disable then Enable flip ``enabled`` and move updatedAt."""
    clock.advance(dt.timedelta(seconds=1))
    ident = {"trustAnchorId": anchor["trustAnchorId"]}
    off = cp.handle("DisableTrustAnchor", ident, CALLER)["trustAnchor"]
    assert off["enabled"] is False
    assert off["updatedAt"] == T0 + dt.timedelta(seconds=1)
    assert cp.handle("EnableTrustAnchor", ident, CALLER)["trustAnchor"]["enabled"] is True
    assert cp.handle("GetTrustAnchor", ident, CALLER)["trustAnchor"]["enabled"] is True


def test_delete_returns_the_anchor_and_cascades(
    cp: ControlPlane, anchor: dict[str, Any], crl_der: bytes
) -> None:
    """Delete returns the deleted anchor and removes its CRLs and tags."""
    crl = cp.handle(
        "ImportCrl",
        {"name": "c", "crlData": crl_der, "trustAnchorArn": anchor["trustAnchorArn"]},
        CALLER,
    )["crl"]
    cp.handle(
        "TagResource",
        {"resourceArn": anchor["trustAnchorArn"], "tags": [{"key": "a", "value": "b"}]},
        CALLER,
    )
    ident = {"trustAnchorId": anchor["trustAnchorId"]}
    assert cp.handle("DeleteTrustAnchor", ident, CALLER) == {"trustAnchor": anchor}
    with pytest.raises(ResourceNotFound):
        cp.handle("GetTrustAnchor", ident, CALLER)
    with pytest.raises(ResourceNotFound):
        cp.handle("GetCrl", {"crlId": crl["crlId"]}, CALLER)
    with pytest.raises(ResourceNotFound):
        cp.handle("ListTagsForResource", {"resourceArn": anchor["trustAnchorArn"]}, CALLER)


def test_list_pages(cp: ControlPlane, ca_pem: str) -> None:
    """ListTrustAnchors pages through every anchor exactly once, in a stable order."""
    made = {create(cp, ca_pem)["trustAnchorId"] for _ in range(5)}
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"pageSize": 2}
        if token is not None:
            params["nextToken"] = token
        out = cp.handle("ListTrustAnchors", params, CALLER)
        seen += [a["trustAnchorId"] for a in out["trustAnchors"]]
        pages += 1
        token = out.get("nextToken")
        if token is None:
            break
    assert pages == 3
    assert sorted(seen) == seen
    assert set(seen) == made
    assert len(seen) == 5


def test_create_refuses_a_leaf_certificate(cp: ControlPlane, ca: Any) -> None:
    """A bundle whose certificate is not a CA is refused (elsewhere.x509's check)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(T0 - dt.timedelta(days=1))
        .not_valid_after(T0 + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    with pytest.raises(ValidationError):
        create(cp, pem_of(leaf))


def test_create_refuses_an_oversized_key(cp: ControlPlane) -> None:
    """fail/ a CA with an RSA-8192 key is refused at CreateTrustAnchor, before it is stored."""
    root = pki.quick_chain(T0).root_ca
    big = pki.build_intermediate_ca(
        root,
        now=T0,
        subject="CN=big CA",
        key=PublicOnly(rsa_public(8192)),  # type: ignore[arg-type]
    ).certificate
    pem = big.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(ValidationError, match="above the maximum of 4096"):
        create(cp, pem)
    assert cp.handle("ListTrustAnchors", {}, CALLER)["trustAnchors"] == []
