"""Fixed AWS limits and defaults of the rolesanywhere control plane.

Sources: the botocore ``rolesanywhere`` model (constraints) and rolesanywhere-protocol.md
§5.2, §6.4, §6.5 (documented defaults and quotas). Configurable quotas live in the service's
settings; these are the facts those settings default to.
"""

from __future__ import annotations

from elsewhere.domain._records import AttributeMapping, NotificationSetting

__all__ = [
    "DEFAULT_ATTRIBUTE_MAPPINGS",
    "DEFAULT_DURATION_SECONDS",
    "DEFAULT_NOTIFICATION_SETTINGS",
    "DEFAULT_NOTIFICATION_THRESHOLD_DAYS",
    "MAX_CERTIFICATES_PER_ANCHOR",
    "MAX_CRLS_PER_ANCHOR",
    "MAX_DURATION_SECONDS",
    "MAX_PROFILES",
    "MAX_TRUST_ANCHORS",
    "MIN_DURATION_SECONDS",
    "SERVICE_PRINCIPAL",
]

#: Profile session duration (CreateProfile model: 900..43200, doc default 3600).
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43200
DEFAULT_DURATION_SECONDS = 3600

#: Quotas, "IAM Roles Anywhere quotas" (reference §6.5).
MAX_TRUST_ANCHORS = 50
MAX_PROFILES = 250
MAX_CRLS_PER_ANCHOR = 2
MAX_CERTIFICATES_PER_ANCHOR = 2

#: ``configuredBy`` of settings nobody changed (reference §6.4).
SERVICE_PRINCIPAL = "rolesanywhere.amazonaws.com"
DEFAULT_NOTIFICATION_THRESHOLD_DAYS = 45

#: Both events enabled, 45 days, channel ALL (reference §6.4).
DEFAULT_NOTIFICATION_SETTINGS: tuple[NotificationSetting, ...] = tuple(
    NotificationSetting(
        event=event,
        enabled=True,
        threshold=DEFAULT_NOTIFICATION_THRESHOLD_DAYS,
        channel="ALL",
        configured_by=SERVICE_PRINCIPAL,
    )
    for event in ("CA_CERTIFICATE_EXPIRY", "END_ENTITY_CERTIFICATE_EXPIRY")
)

#: The mapping every new profile starts with (reference §5.2).
DEFAULT_ATTRIBUTE_MAPPINGS: tuple[AttributeMapping, ...] = (
    AttributeMapping("x509Issuer", ("*",)),
    AttributeMapping("x509SAN", ("DNS", "URI", "Name/*")),
    AttributeMapping("x509Subject", ("*",)),
)
