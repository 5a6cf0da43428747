"""PutNotificationSettings and ResetNotificationSettings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from elsewhere.clock import FixedClock
from elsewhere.errors import ResourceNotFound
from elsewhere.service import ControlPlane
from tests.unit.service.conftest import ACCOUNT, CALLER, T0

SERVICE = "rolesanywhere.amazonaws.com"


def settings_of(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """event -> NotificationSettingDetail of a TrustAnchorDetail response."""
    return {s["event"]: s for s in out["trustAnchor"]["notificationSettings"]}


def test_put_then_reset(cp: ControlPlane, anchor: dict[str, Any], clock: FixedClock) -> None:
    """Put sets values as the account; Reset brings back the service's default."""
    clock.advance(dt.timedelta(minutes=1))
    ident = anchor["trustAnchorId"]
    out = cp.handle(
        "PutNotificationSettings",
        {
            "trustAnchorId": ident,
            "notificationSettings": [
                {"enabled": True, "event": "END_ENTITY_CERTIFICATE_EXPIRY", "threshold": 7}
            ],
        },
        CALLER,
    )
    assert out["trustAnchor"]["updatedAt"] == T0 + dt.timedelta(minutes=1)
    assert settings_of(out)["END_ENTITY_CERTIFICATE_EXPIRY"] == {
        "enabled": True,
        "event": "END_ENTITY_CERTIFICATE_EXPIRY",
        "threshold": 7,
        "channel": "ALL",
        "configuredBy": ACCOUNT,
    }
    assert settings_of(out)["CA_CERTIFICATE_EXPIRY"]["configuredBy"] == SERVICE
    assert cp.handle("GetTrustAnchor", {"trustAnchorId": ident}, CALLER) == out

    reset = cp.handle(
        "ResetNotificationSettings",
        {
            "trustAnchorId": ident,
            "notificationSettingKeys": [{"event": "END_ENTITY_CERTIFICATE_EXPIRY"}],
        },
        CALLER,
    )
    assert reset["trustAnchor"]["notificationSettings"] == anchor["notificationSettings"]


def test_put_disable_keeps_threshold(cp: ControlPlane, anchor: dict[str, Any]) -> None:
    """Disabling without a threshold keeps the current threshold (decision)."""
    out = cp.handle(
        "PutNotificationSettings",
        {
            "trustAnchorId": anchor["trustAnchorId"],
            "notificationSettings": [
                {"enabled": False, "event": "CA_CERTIFICATE_EXPIRY", "channel": "ALL"}
            ],
        },
        CALLER,
    )
    setting = settings_of(out)["CA_CERTIFICATE_EXPIRY"]
    assert (setting["enabled"], setting["threshold"], setting["configuredBy"]) == (
        False,
        45,
        ACCOUNT,
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        pytest.param(
            "PutNotificationSettings",
            {"notificationSettings": [{"enabled": True, "event": "CA_CERTIFICATE_EXPIRY"}]},
            id="fail/put",
        ),
        pytest.param(
            "ResetNotificationSettings",
            {"notificationSettingKeys": [{"event": "CA_CERTIFICATE_EXPIRY"}]},
            id="fail/reset",
        ),
    ],
)
def test_unknown_anchor_is_404(cp: ControlPlane, operation: str, params: dict[str, Any]) -> None:
    """Notification settings of a missing anchor answer ResourceNotFoundException."""
    with pytest.raises(ResourceNotFound):
        cp.handle(
            operation, {"trustAnchorId": "00000000-0000-4000-8000-000000000000", **params}, CALLER
        )
