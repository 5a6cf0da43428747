"""Records to the output-shape dicts of the botocore ``rolesanywhere`` model (member names as-is).

Members whose value is None are left out, as AWS does (aws-protocols.md §1.6).
"""

from __future__ import annotations

from typing import Any

from elsewhere.domain import (
    AttributeMapping,
    CredentialSummary,
    Crl,
    InstanceProperty,
    NotificationSetting,
    Profile,
    Subject,
    Tag,
    TipConfiguration,
    TrustAnchor,
    TrustAnchorSource,
    alias_arn_of,
)

__all__ = [
    "render_crl",
    "render_profile",
    "render_subject_detail",
    "render_subject_summary",
    "render_tags",
    "render_trust_anchor",
]


def _alias_arn(arn: str, alias: str | None) -> str | None:
    return None if alias is None else alias_arn_of(arn, alias)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _source(source: TrustAnchorSource) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if source.x509_certificate_data is not None:
        data["x509CertificateData"] = source.x509_certificate_data
    if source.acm_pca_arn is not None:
        data["acmPcaArn"] = source.acm_pca_arn
    return {"sourceType": source.source_type, "sourceData": data}


def _notification(setting: NotificationSetting) -> dict[str, Any]:
    return _compact(
        {
            "enabled": setting.enabled,
            "event": setting.event,
            "threshold": setting.threshold,
            "channel": setting.channel,
            "configuredBy": setting.configured_by,
        }
    )


def render_trust_anchor(anchor: TrustAnchor) -> dict[str, Any]:
    """A ``TrustAnchorDetail``."""
    return _compact(
        {
            "trustAnchorId": anchor.id,
            "trustAnchorArn": anchor.arn,
            "name": anchor.name,
            "source": _source(anchor.source),
            "enabled": anchor.enabled,
            "crlDpRevocationEnabled": anchor.crl_dp_revocation_enabled,
            "createdAt": anchor.created_at,
            "updatedAt": anchor.updated_at,
            "notificationSettings": [_notification(s) for s in anchor.notification_settings],
            "aliasName": anchor.alias_name,
            "aliasArn": _alias_arn(anchor.arn, anchor.alias_name),
            "previousAliasName": anchor.previous_alias_name,
        }
    )


def _mapping(mapping: AttributeMapping) -> dict[str, Any]:
    return {
        "certificateField": mapping.certificate_field,
        "mappingRules": [{"specifier": s} for s in mapping.specifiers],
    }


def _tip(tip: TipConfiguration | None) -> dict[str, Any] | None:
    if tip is None:
        return None
    return _compact(
        {"status": tip.status, "subjectType": tip.subject_type, "subjectSource": tip.subject_source}
    )


def render_profile(profile: Profile) -> dict[str, Any]:
    """A ``ProfileDetail``."""
    return _compact(
        {
            "profileId": profile.id,
            "profileArn": profile.arn,
            "name": profile.name,
            "requireInstanceProperties": profile.require_instance_properties,
            "enabled": profile.enabled,
            "createdBy": profile.created_by,
            "sessionPolicy": profile.session_policy,
            "roleArns": list(profile.role_arns),
            "managedPolicyArns": list(profile.managed_policy_arns),
            "createdAt": profile.created_at,
            "updatedAt": profile.updated_at,
            "durationSeconds": profile.duration_seconds,
            "acceptRoleSessionName": profile.accept_role_session_name,
            "attributeMappings": [_mapping(m) for m in profile.attribute_mappings],
            "aliasName": profile.alias_name,
            "aliasArn": _alias_arn(profile.arn, profile.alias_name),
            "tipConfiguration": _tip(profile.tip_configuration),
            "previousAliasName": profile.previous_alias_name,
        }
    )


def render_crl(crl: Crl) -> dict[str, Any]:
    """A ``CrlDetail`` (``crlData`` as bytes; the protocol layer base64-encodes it)."""
    return _compact(
        {
            "crlId": crl.id,
            "crlArn": crl.arn,
            "name": crl.name,
            "enabled": crl.enabled,
            "crlData": crl.crl_data,
            "trustAnchorArn": crl.trust_anchor_arn,
            "createdAt": crl.created_at,
            "updatedAt": crl.updated_at,
            "aliasName": crl.alias_name,
            "aliasArn": _alias_arn(crl.arn, crl.alias_name),
            "previousAliasName": crl.previous_alias_name,
        }
    )


def render_subject_summary(subject: Subject) -> dict[str, Any]:
    """A ``SubjectSummary``."""
    return {
        "subjectArn": subject.arn,
        "subjectId": subject.id,
        "enabled": subject.enabled,
        "x509Subject": subject.x509_subject,
        "lastSeenAt": subject.last_seen_at,
        "createdAt": subject.created_at,
        "updatedAt": subject.updated_at,
    }


def _credential(cred: CredentialSummary) -> dict[str, Any]:
    return {
        "seenAt": cred.seen_at,
        "serialNumber": cred.serial_number,
        "issuer": cred.issuer,
        "enabled": cred.enabled,
        "x509CertificateData": cred.x509_certificate_data,
        "failed": cred.failed,
    }


def _instance_property(prop: InstanceProperty) -> dict[str, Any]:
    return {"seenAt": prop.seen_at, "properties": dict(prop.properties), "failed": prop.failed}


def render_subject_detail(subject: Subject) -> dict[str, Any]:
    """A ``SubjectDetail``."""
    return {
        **render_subject_summary(subject),
        "credentials": [_credential(c) for c in subject.credentials],
        "instanceProperties": [_instance_property(p) for p in subject.instance_properties],
    }


def render_tags(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    """A ``TagList``."""
    return [{"key": t.key, "value": t.value} for t in tags]
