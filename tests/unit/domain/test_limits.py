"""Documented defaults of the control plane."""

from __future__ import annotations

from elsewhere.domain import (
    DEFAULT_ATTRIBUTE_MAPPINGS,
    DEFAULT_NOTIFICATION_SETTINGS,
    SERVICE_PRINCIPAL,
    AttributeMapping,
    is_uuid,
)


def test_default_attribute_mappings_match_the_reference() -> None:
    """Reference §5.2: issuer *, SAN DNS/URI/Name/*, subject *."""
    assert (
        AttributeMapping("x509Issuer", ("*",)),
        AttributeMapping("x509SAN", ("DNS", "URI", "Name/*")),
        AttributeMapping("x509Subject", ("*",)),
    ) == DEFAULT_ATTRIBUTE_MAPPINGS


def test_default_notification_settings_match_the_reference() -> None:
    """Reference §6.4: both events enabled, 45 days, channel ALL, set by the service."""
    assert {s.event for s in DEFAULT_NOTIFICATION_SETTINGS} == {
        "CA_CERTIFICATE_EXPIRY",
        "END_ENTITY_CERTIFICATE_EXPIRY",
    }
    for setting in DEFAULT_NOTIFICATION_SETTINGS:
        assert setting.enabled
        assert setting.threshold == 45
        assert setting.channel == "ALL"
        assert setting.configured_by == SERVICE_PRINCIPAL == "rolesanywhere.amazonaws.com"


def test_is_uuid() -> None:
    """Only lowercase hyphenated 36-character UUIDs count."""
    assert is_uuid("0f3a8d1e-7b2c-4e5f-9a6b-1c2d3e4f5a6b")
    assert not is_uuid("0F3A8D1E-7B2C-4E5F-9A6B-1C2D3E4F5A6B")
    assert not is_uuid("0f3a8d1e7b2c4e5f9a6b1c2d3e4f5a6b")
    assert not is_uuid("arn:aws:rolesanywhere:us-east-1:123456789012:profile/x")
