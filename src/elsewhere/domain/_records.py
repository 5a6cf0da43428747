"""Frozen records of the rolesanywhere control plane and of the admin access keys.

Field names are Python spellings; the wire spellings (``trustAnchorArn`` ...) live in the service's
rendering and in ``protocol``. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CERTIFICATE_FIELDS",
    "NOTIFICATION_CHANNELS",
    "NOTIFICATION_EVENTS",
    "SOURCE_TYPES",
    "AccessKey",
    "AttributeMapping",
    "AuthenticationRecord",
    "CredentialSummary",
    "Crl",
    "InstanceProperty",
    "NotificationSetting",
    "Profile",
    "Subject",
    "Tag",
    "TipConfiguration",
    "TrustAnchor",
    "TrustAnchorSource",
]

#: TrustAnchorType enum of the botocore model.
SOURCE_TYPES = ("AWS_ACM_PCA", "CERTIFICATE_BUNDLE", "SELF_SIGNED_REPOSITORY")
#: NotificationEvent enum of the botocore model.
NOTIFICATION_EVENTS = ("CA_CERTIFICATE_EXPIRY", "END_ENTITY_CERTIFICATE_EXPIRY")
#: NotificationChannel enum of the current botocore model (only ``ALL``).
NOTIFICATION_CHANNELS = ("ALL",)
#: CertificateField enum of the botocore model.
CERTIFICATE_FIELDS = ("x509Subject", "x509Issuer", "x509SAN")


@dataclass(frozen=True, slots=True)
class Tag:
    """One resource tag."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class TrustAnchorSource:
    """Where a trust anchor's CA certificates come from (exactly one of the data fields is set)."""

    source_type: str
    x509_certificate_data: str | None = None
    acm_pca_arn: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationSetting:
    """One notification setting of a trust anchor; ``configured_by`` says who set it."""

    event: str
    enabled: bool
    threshold: int | None
    channel: str | None
    configured_by: str | None


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """A trust anchor: the CA certificates that workload certificates must chain to."""

    id: str
    arn: str
    name: str
    source: TrustAnchorSource
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    notification_settings: tuple[NotificationSetting, ...] = ()
    crl_dp_revocation_enabled: bool = False
    alias_name: str | None = None
    previous_alias_name: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    """Which attributes of one certificate field become principal tags (reference §5.2)."""

    certificate_field: str
    specifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TipConfiguration:
    """Trusted identity propagation settings of a profile (acted on by CreateSession)."""

    status: str
    subject_type: str | None = None
    subject_source: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile: the roles a session may assume and the limits put on it."""

    id: str
    arn: str
    name: str
    enabled: bool
    created_by: str
    role_arns: tuple[str, ...]
    managed_policy_arns: tuple[str, ...]
    duration_seconds: int
    accept_role_session_name: bool
    require_instance_properties: bool
    attribute_mappings: tuple[AttributeMapping, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    session_policy: str | None = None
    alias_name: str | None = None
    previous_alias_name: str | None = None
    tip_configuration: TipConfiguration | None = None


@dataclass(frozen=True, slots=True)
class Crl:
    """An imported certificate revocation list, attached to one trust anchor."""

    id: str
    arn: str
    name: str
    enabled: bool
    crl_data: bytes
    trust_anchor_arn: str
    created_at: dt.datetime
    updated_at: dt.datetime
    alias_name: str | None = None
    previous_alias_name: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialSummary:
    """One certificate seen under a subject."""

    seen_at: dt.datetime
    serial_number: str
    issuer: str
    enabled: bool
    x509_certificate_data: str
    failed: bool


@dataclass(frozen=True, slots=True)
class InstanceProperty:
    """Instance properties sent with one CreateSession request."""

    seen_at: dt.datetime
    properties: Mapping[str, str]
    failed: bool


@dataclass(frozen=True, slots=True)
class Subject:
    """A distinct X.509 subject that has authenticated (reference §6.3).

    Listings carry empty ``credentials`` and ``instance_properties``; a single get fills them.
    """

    id: str
    arn: str
    x509_subject: str
    enabled: bool
    last_seen_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    credentials: tuple[CredentialSummary, ...] = ()
    instance_properties: tuple[InstanceProperty, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthenticationRecord:
    """One CreateSession attempt to fold into the subject records.

    ``new_subject_id``/``new_subject_arn`` are used only when the subject is seen the first time.
    """

    x509_subject: str
    seen_at: dt.datetime
    serial_number: str
    issuer: str
    x509_certificate_data: str
    failed: bool
    new_subject_id: str
    new_subject_arn: str
    instance_properties: Mapping[str, str] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A long-term (admin or IAM user) access key. ``status`` is ``Active`` or ``Inactive``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal_arn: str
    user_name: str
    status: str
    created_at: dt.datetime
