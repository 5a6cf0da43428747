"""The rolesanywhere control plane: the 30 operations of the botocore ``rolesanywhere`` model.

Inputs arrive as dicts keyed by the model's member names, already checked against the model's
constraints by ``elsewhere.protocol``; outputs are dicts keyed by the output shape's member names.
The typed methods (``create_trust_anchor`` ...) work on domain records and are what the rest of
elsewhere calls; :meth:`ControlPlane.handle` adapts the wire dicts to them.

Facts are from rolesanywhere-protocol.md §5.2 and §6; choices where AWS is silent are marked
"[decision]" and listed in the README.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from elsewhere.clock import Clock
from elsewhere.domain import (
    CERTIFICATE_FIELDS,
    DEFAULT_ATTRIBUTE_MAPPINGS,
    DEFAULT_DURATION_SECONDS,
    DEFAULT_NOTIFICATION_SETTINGS,
    MAX_CERTIFICATES_PER_ANCHOR,
    MAX_CRLS_PER_ANCHOR,
    MAX_DURATION_SECONDS,
    MAX_PROFILES,
    MAX_TRUST_ANCHORS,
    MIN_DURATION_SECONDS,
    NOTIFICATION_EVENTS,
    SOURCE_TYPES,
    AttributeMapping,
    Crl,
    NotificationSetting,
    Profile,
    Subject,
    Tag,
    TipConfiguration,
    TrustAnchor,
    TrustAnchorSource,
    check_alias_name,
    format_page_token,
    format_rolesanywhere_arn,
    is_uuid,
    parse_page_token,
)
from elsewhere.errors import (
    ResourceNotFound,
    TooManyTags,
    UnknownOperation,
    ValidationError,
)
from elsewhere.service._content import (
    SessionPolicyValidator,
    check_ca_bundle,
    check_crl,
    check_managed_policy_arns,
    check_session_policy,
)
from elsewhere.service._ports import Repository, Store
from elsewhere.service._render import (
    render_crl,
    render_profile,
    render_subject_detail,
    render_subject_summary,
    render_tags,
    render_trust_anchor,
)
from elsewhere.service._resources import ResourceFinder

__all__ = ["OPERATIONS", "ControlPlane", "ControlPlaneSettings", "Page"]

#: The name of the secret that keys pagination tokens; shared by every node through the store.
PAGE_TOKEN_SECRET = "rolesanywhere/page-token-key"  # noqa: S105 - a name, not a secret

_RDN_SPECIFIER = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*")

T = TypeVar("T")
R = TypeVar("R", TrustAnchor, Profile, Crl)


@dataclass(frozen=True)
class ControlPlaneSettings:
    """Quotas and defaults of the control plane (AWS values unless noted)."""

    max_trust_anchors: int = MAX_TRUST_ANCHORS
    max_profiles: int = MAX_PROFILES
    max_crls_per_anchor: int = MAX_CRLS_PER_ANCHOR
    max_certificates_per_anchor: int = MAX_CERTIFICATES_PER_ANCHOR
    #: [decision] AWS's general tagging limit of 50 tags per resource; the model lets one request
    #: carry up to 200, so the check is on the resulting set.
    max_tags_per_resource: int = 50
    #: [decision] AWS documents no default or maximum page size; larger requests are capped.
    default_page_size: int = 50
    max_page_size: int = 100
    #: [decision] ``enabled`` omitted on Create*/ImportCrl: AWS is silent (reference §10.10); every
    #: AWS example passes ``--enabled``, which suggests the default is false.
    enabled_by_default: bool = False
    #: The policy engine's grammar check for ``sessionPolicy`` (None: JSON-object check only).
    session_policy_validator: SessionPolicyValidator | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the token for the next, if any."""

    items: list[T]
    next_token: str | None


def _default_id() -> str:
    return str(uuid.uuid4())


class ControlPlane:
    """The rolesanywhere control-plane use cases over a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        account_id: str,
        region: str,
        partition: str = "aws",
        settings: ControlPlaneSettings | None = None,
        new_id: Callable[[], str] = _default_id,
        page_token_key: bytes | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._account = account_id
        self._region = region
        self._partition = partition
        self._settings = settings if settings is not None else ControlPlaneSettings()
        self._new_id = new_id
        self._finder = ResourceFinder(
            store, account_id=account_id, region=region, partition=partition
        )
        self._token_key = (
            page_token_key
            if page_token_key is not None
            else store.secrets.get_or_create(PAGE_TOKEN_SECRET, os.urandom(32))
        )
        self._handlers: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
            "CreateTrustAnchor": self._op_create_trust_anchor,
            "GetTrustAnchor": lambda p, _c: self._anchor_out(
                self.get_trust_anchor(p["trustAnchorId"])
            ),
            "UpdateTrustAnchor": self._op_update_trust_anchor,
            "DeleteTrustAnchor": lambda p, _c: self._anchor_out(
                self.delete_trust_anchor(p["trustAnchorId"])
            ),
            "EnableTrustAnchor": lambda p, _c: self._anchor_out(
                self.set_trust_anchor_enabled(p["trustAnchorId"], True)
            ),
            "DisableTrustAnchor": lambda p, _c: self._anchor_out(
                self.set_trust_anchor_enabled(p["trustAnchorId"], False)
            ),
            "ListTrustAnchors": self._op_list_trust_anchors,
            "CreateProfile": self._op_create_profile,
            "GetProfile": lambda p, _c: self._profile_out(self.get_profile(p["profileId"])),
            "UpdateProfile": self._op_update_profile,
            "DeleteProfile": lambda p, _c: self._profile_out(self.delete_profile(p["profileId"])),
            "EnableProfile": lambda p, _c: self._profile_out(
                self.set_profile_enabled(p["profileId"], True)
            ),
            "DisableProfile": lambda p, _c: self._profile_out(
                self.set_profile_enabled(p["profileId"], False)
            ),
            "ListProfiles": self._op_list_profiles,
            "PutAttributeMapping": self._op_put_attribute_mapping,
            "DeleteAttributeMapping": self._op_delete_attribute_mapping,
            "ImportCrl": self._op_import_crl,
            "GetCrl": lambda p, _c: self._crl_out(self.get_crl(p["crlId"])),
            "UpdateCrl": self._op_update_crl,
            "DeleteCrl": lambda p, _c: self._crl_out(self.delete_crl(p["crlId"])),
            "EnableCrl": lambda p, _c: self._crl_out(self.set_crl_enabled(p["crlId"], True)),
            "DisableCrl": lambda p, _c: self._crl_out(self.set_crl_enabled(p["crlId"], False)),
            "ListCrls": self._op_list_crls,
            "ListSubjects": self._op_list_subjects,
            "GetSubject": lambda p, _c: {
                "subject": render_subject_detail(self.get_subject(p["subjectId"]))
            },
            "PutNotificationSettings": self._op_put_notification_settings,
            "ResetNotificationSettings": self._op_reset_notification_settings,
            "TagResource": self._op_tag_resource,
            "UntagResource": self._op_untag_resource,
            "ListTagsForResource": lambda p, _c: {
                "tags": render_tags(self.list_tags(p["resourceArn"]))
            },
        }

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, operation: str, params: Mapping[str, Any], caller_arn: str) -> dict[str, Any]:
        """Run ``operation`` with wire ``params`` for ``caller_arn``; return the output dict."""
        handler = self._handlers.get(operation)
        if handler is None:
            raise UnknownOperation(reason=f"rolesanywhere has no operation {operation!r}")
        return handler(params, caller_arn)

    # --- helpers ------------------------------------------------------------------------------

    def _arn(self, kind: str, resource_id: str) -> str:
        return format_rolesanywhere_arn(
            self._partition, self._region, self._account, kind, resource_id
        )

    def _resolve(self, kind: str, identifier: str, *, aliases: bool = True) -> Any:
        """The record named by a UUID, a resource ARN or an alias ARN; 404 otherwise."""
        found = self._finder.find(kind, identifier, aliases=aliases)
        if found.record is None:
            raise ResourceNotFound(reason=found.reason)
        return found.record

    @staticmethod
    def _alias(alias_name: str | None) -> str | None:
        """The alias to store (None for none or ""); ValidationError if the name is reserved.

        Uniqueness is the store's: its unique index refuses a taken alias with AliasInUseError
        (ValidationException, as the model documents), also when two replicas race for it.
        """
        return check_alias_name(alias_name) if alias_name else None

    @staticmethod
    def _previous(record: R, previous: str | None) -> R:
        """``record`` as an update answers it: with the alias it changed or removed, if any.

        The model's ``previousAliasName``: "returns this value only in the response to an update
        request that changed or removed an existing alias"; stores never keep it.
        """
        if previous is None:
            return record
        return dataclasses.replace(record, previous_alias_name=previous)

    def _page_size(self, page_size: int | None) -> int:
        if page_size is None:
            return self._settings.default_page_size
        if page_size < 1:
            raise ValidationError(
                f"1 validation error detected: Value '{page_size}' at 'pageSize' failed to "
                "satisfy constraint: Member must have value greater than or equal to 1"
            )
        # [decision] The model sets no maximum; a larger request gets a full page, not an error.
        return min(page_size, self._settings.max_page_size)

    def _page(
        self,
        scope: str,
        lister: Callable[[str | None, int], list[T]],
        key: Callable[[T], str],
        next_token: str | None,
        page_size: int | None,
    ) -> Page[T]:
        limit = self._page_size(page_size)
        after = None if next_token is None else parse_page_token(self._token_key, scope, next_token)
        # One extra row tells whether another page exists without a count query.
        rows = lister(after, limit + 1)
        if len(rows) > limit:
            rows = rows[:limit]
            return Page(rows, format_page_token(self._token_key, scope, key(rows[-1])))
        return Page(rows, None)

    def _check_tags(self, resource_arn: str | None, tags: Sequence[Tag]) -> None:
        for tag in tags:
            if tag.key.lower().startswith("aws:"):
                # "Tagging AWS resources": the aws: prefix is reserved for AWS use.
                raise ValidationError(
                    f"Tag key {tag.key} uses the reserved prefix aws:", reason="reserved tag key"
                )
        existing = {t.key for t in self._store.tags.get(resource_arn)} if resource_arn else set()
        total = len(existing | {t.key for t in tags})
        if total > self._settings.max_tags_per_resource:
            raise TooManyTags(
                f"A resource can have at most {self._settings.max_tags_per_resource} tags",
                reason=f"{total} tags on {resource_arn or 'new resource'}",
            )

    @staticmethod
    def _tags_from(raw: Iterable[Mapping[str, Any]] | None) -> list[Tag]:
        return [Tag(str(t["key"]), str(t["value"])) for t in raw or ()]

    def _anchor_out(self, anchor: TrustAnchor) -> dict[str, Any]:
        return {"trustAnchor": render_trust_anchor(anchor)}

    def _profile_out(self, profile: Profile) -> dict[str, Any]:
        return {"profile": render_profile(profile)}

    def _crl_out(self, crl: Crl) -> dict[str, Any]:
        return {"crl": render_crl(crl)}

    # --- trust anchors ------------------------------------------------------------------------

    def _source(self, raw: Mapping[str, Any]) -> TrustAnchorSource:
        source_type = raw.get("sourceType")
        data = raw.get("sourceData") or {}
        if source_type not in SOURCE_TYPES:
            raise ValidationError(
                "1 validation error detected: Value at 'source.sourceType' failed to satisfy "
                "constraint: Member must satisfy enum value set: "
                "[AWS_ACM_PCA, CERTIFICATE_BUNDLE, SELF_SIGNED_REPOSITORY]"
            )
        set_members = [k for k in ("x509CertificateData", "acmPcaArn") if data.get(k) is not None]
        if len(set_members) != 1:
            raise ValidationError("Exactly one member of source.sourceData must be set")
        if source_type == "AWS_ACM_PCA":
            # [decision] No ACM PCA to read the CA certificate from (reference §6.2).
            raise ValidationError(
                "Trust anchors with source type AWS_ACM_PCA are not supported by this server; "
                "use CERTIFICATE_BUNDLE",
            )
        if source_type == "CERTIFICATE_BUNDLE":
            pem = data.get("x509CertificateData")
            if pem is None:
                raise ValidationError(
                    "A CERTIFICATE_BUNDLE source needs sourceData.x509CertificateData"
                )
            check_ca_bundle(pem, max_certificates=self._settings.max_certificates_per_anchor)
        # SELF_SIGNED_REPOSITORY is stored as given but never trusted (reference §6.2).
        return TrustAnchorSource(
            source_type=source_type,
            x509_certificate_data=data.get("x509CertificateData"),
            acm_pca_arn=data.get("acmPcaArn"),
        )

    def _merge_notifications(
        self,
        current: Sequence[NotificationSetting],
        updates: Iterable[Mapping[str, Any]],
    ) -> tuple[NotificationSetting, ...]:
        settings = {(s.event, s.channel or "ALL"): s for s in current}
        for raw in updates:
            event = raw["event"]
            if event not in NOTIFICATION_EVENTS:
                raise ValidationError(f"Unknown notification event {event}")
            channel = raw.get("channel") or "ALL"
            previous = settings.get((event, channel))
            threshold = raw.get("threshold")
            if threshold is None and previous is not None:
                # [decision] An update without a threshold keeps the current one.
                threshold = previous.threshold
            settings[(event, channel)] = NotificationSetting(
                event=event,
                enabled=bool(raw["enabled"]),
                threshold=threshold,
                channel=channel,
                configured_by=self._account,
            )
        return tuple(settings[k] for k in sorted(settings))

    def create_trust_anchor(
        self,
        *,
        name: str,
        source: Mapping[str, Any],
        enabled: bool | None = None,
        tags: Sequence[Tag] = (),
        notification_settings: Iterable[Mapping[str, Any]] = (),
        crl_dp_revocation_enabled: bool | None = None,
        alias_name: str | None = None,
    ) -> TrustAnchor:
        """Create a trust anchor (``source`` in wire form, it is a tagged union)."""
        parsed = self._source(source)
        self._check_tags(None, tags)
        if self._store.trust_anchors.count() >= self._settings.max_trust_anchors:
            raise ValidationError(
                f"The account already has the maximum of {self._settings.max_trust_anchors} "
                "trust anchors"
            )
        now = self._clock.now()
        anchor_id = self._new_id()
        anchor = TrustAnchor(
            id=anchor_id,
            arn=self._arn("trust-anchor", anchor_id),
            name=name,
            source=parsed,
            enabled=self._settings.enabled_by_default if enabled is None else enabled,
            created_at=now,
            updated_at=now,
            notification_settings=self._merge_notifications(
                DEFAULT_NOTIFICATION_SETTINGS, notification_settings
            ),
            crl_dp_revocation_enabled=bool(crl_dp_revocation_enabled),
            alias_name=self._alias(alias_name),
        )
        # The record and its tags in one transaction: a create is all or nothing.
        self._store.trust_anchors.add(anchor, tags)
        self._back_out_over_quota(
            self._store.trust_anchors,
            anchor.id,
            self._store.trust_anchors.count,
            self._settings.max_trust_anchors,
            f"The account already has the maximum of {self._settings.max_trust_anchors} "
            "trust anchors",
        )
        return anchor

    @staticmethod
    def _back_out_over_quota(
        repo: Repository[Any], record_id: str, count: Callable[[], int], limit: int, message: str
    ) -> None:
        """Remove a record just added if the quota is now exceeded, and refuse the call.

        The check before the insert and the insert are separate transactions; a replica that
        inserted at the same moment can push the count past the limit. Counting again after
        the insert keeps the quota a hard limit (under a race at the very edge, both callers may
        be refused; a retry succeeds).
        """
        if count() > limit:
            repo.remove(record_id)
            raise ValidationError(message, reason=f"quota race: {count()} > {limit} after insert")

    def get_trust_anchor(self, identifier: str) -> TrustAnchor:
        """The trust anchor named by id or ARN; 404 if there is none."""
        anchor: TrustAnchor = self._resolve("trust-anchor", identifier)
        return anchor

    def _save_anchor(self, anchor: TrustAnchor, **changes: Any) -> TrustAnchor:
        updated = dataclasses.replace(anchor, updated_at=self._clock.now(), **changes)
        if not self._store.trust_anchors.replace(updated):
            raise ResourceNotFound(reason=f"trust anchor {anchor.id} vanished during update")
        return updated

    def update_trust_anchor(
        self,
        identifier: str,
        *,
        name: str | None = None,
        source: Mapping[str, Any] | None = None,
        crl_dp_revocation_enabled: bool | None = None,
        alias_name: str | None = None,
    ) -> TrustAnchor:
        """Change the given fields of a trust anchor."""
        anchor = self.get_trust_anchor(identifier)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if source is not None:
            changes["source"] = self._source(source)
        if crl_dp_revocation_enabled is not None:
            changes["crl_dp_revocation_enabled"] = crl_dp_revocation_enabled
        previous = None
        if alias_name is not None and self._alias(alias_name) != anchor.alias_name:
            changes["alias_name"] = self._alias(alias_name)
            previous = anchor.alias_name
        return self._previous(self._save_anchor(anchor, **changes), previous)

    def delete_trust_anchor(self, identifier: str) -> TrustAnchor:
        """Delete a trust anchor, its tags, and its CRLs (with their tags); return the anchor.

        [decision] AWS does not say what happens to an anchor's CRLs; they can never apply again,
        so they go with it.
        """
        anchor = self.get_trust_anchor(identifier)
        for crl in self._store.crls.list_all():
            if crl.trust_anchor_arn == anchor.arn:
                self._store.crls.remove(crl.id)  # with its tags, in one transaction
        removed = self._store.trust_anchors.remove(anchor.id)
        if removed is None:
            raise ResourceNotFound(reason=f"trust anchor {anchor.id} vanished during delete")
        return removed

    def set_trust_anchor_enabled(self, identifier: str, enabled: bool) -> TrustAnchor:
        """Enable or disable a trust anchor."""
        return self._save_anchor(self.get_trust_anchor(identifier), enabled=enabled)

    def list_trust_anchors(
        self, next_token: str | None = None, page_size: int | None = None
    ) -> Page[TrustAnchor]:
        """One page of trust anchors."""
        return self._page(
            "trust-anchors",
            self._store.trust_anchors.list_page,
            lambda a: a.id,
            next_token,
            page_size,
        )

    def put_notification_settings(
        self, anchor_id: str, settings: Iterable[Mapping[str, Any]]
    ) -> TrustAnchor:
        """Set notification settings (``configuredBy`` becomes the account id)."""
        anchor = self.get_trust_anchor(anchor_id)
        merged = self._merge_notifications(anchor.notification_settings, settings)
        return self._save_anchor(anchor, notification_settings=merged)

    def reset_notification_settings(
        self, anchor_id: str, keys: Iterable[Mapping[str, Any]]
    ) -> TrustAnchor:
        """Put the named settings back to their defaults."""
        anchor = self.get_trust_anchor(anchor_id)
        defaults = {(s.event, s.channel or "ALL"): s for s in DEFAULT_NOTIFICATION_SETTINGS}
        settings = {(s.event, s.channel or "ALL"): s for s in anchor.notification_settings}
        for raw in keys:
            key = (raw["event"], raw.get("channel") or "ALL")
            if key in defaults:
                settings[key] = defaults[key]
            else:
                settings.pop(key, None)
        merged = tuple(settings[k] for k in sorted(settings))
        return self._save_anchor(anchor, notification_settings=merged)

    def _op_create_trust_anchor(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._anchor_out(
            self.create_trust_anchor(
                name=p["name"],
                source=p["source"],
                enabled=p.get("enabled"),
                tags=self._tags_from(p.get("tags")),
                notification_settings=p.get("notificationSettings") or (),
                crl_dp_revocation_enabled=p.get("crlDpRevocationEnabled"),
                alias_name=p.get("aliasName"),
            )
        )

    def _op_update_trust_anchor(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._anchor_out(
            self.update_trust_anchor(
                p["trustAnchorId"],
                name=p.get("name"),
                source=p.get("source"),
                crl_dp_revocation_enabled=p.get("crlDpRevocationEnabled"),
                alias_name=p.get("aliasName"),
            )
        )

    def _op_list_trust_anchors(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        page = self.list_trust_anchors(p.get("nextToken"), p.get("pageSize"))
        out: dict[str, Any] = {"trustAnchors": [render_trust_anchor(a) for a in page.items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    def _op_put_notification_settings(self, p: Mapping[str, Any], _c: str) -> dict[str, Any]:
        return self._anchor_out(
            self.put_notification_settings(p["trustAnchorId"], p["notificationSettings"])
        )

    def _op_reset_notification_settings(self, p: Mapping[str, Any], _c: str) -> dict[str, Any]:
        return self._anchor_out(
            self.reset_notification_settings(p["trustAnchorId"], p["notificationSettingKeys"])
        )

    # --- profiles -----------------------------------------------------------------------------

    def _check_duration(self, seconds: int) -> int:
        if not MIN_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
            raise ValidationError(
                f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value between {MIN_DURATION_SECONDS} and "
                f"{MAX_DURATION_SECONDS}"
            )
        return seconds

    @staticmethod
    def _tip(raw: Mapping[str, Any] | None) -> TipConfiguration | None:
        if raw is None:
            return None
        return TipConfiguration(
            status=raw["status"],
            subject_type=raw.get("subjectType"),
            subject_source=raw.get("subjectSource"),
        )

    def create_profile(
        self,
        *,
        name: str,
        role_arns: Sequence[str],
        created_by: str,
        session_policy: str | None = None,
        managed_policy_arns: Sequence[str] = (),
        duration_seconds: int | None = None,
        enabled: bool | None = None,
        accept_role_session_name: bool | None = None,
        require_instance_properties: bool | None = None,
        tags: Sequence[Tag] = (),
        alias_name: str | None = None,
        tip_configuration: TipConfiguration | None = None,
    ) -> Profile:
        """Create a profile with the default attribute mappings."""
        if session_policy is not None:
            check_session_policy(session_policy, self._settings.session_policy_validator)
        check_managed_policy_arns(managed_policy_arns)
        duration = self._check_duration(
            DEFAULT_DURATION_SECONDS if duration_seconds is None else duration_seconds
        )
        self._check_tags(None, tags)
        if self._store.profiles.count() >= self._settings.max_profiles:
            raise ValidationError(
                f"The account already has the maximum of {self._settings.max_profiles} profiles"
            )
        now = self._clock.now()
        profile_id = self._new_id()
        profile = Profile(
            id=profile_id,
            arn=self._arn("profile", profile_id),
            name=name,
            enabled=self._settings.enabled_by_default if enabled is None else enabled,
            created_by=created_by,
            role_arns=tuple(role_arns),
            managed_policy_arns=tuple(managed_policy_arns),
            duration_seconds=duration,
            accept_role_session_name=bool(accept_role_session_name),
            require_instance_properties=bool(require_instance_properties),
            attribute_mappings=DEFAULT_ATTRIBUTE_MAPPINGS,
            created_at=now,
            updated_at=now,
            session_policy=session_policy,
            alias_name=self._alias(alias_name),
            tip_configuration=tip_configuration,
        )
        # The record and its tags in one transaction: a create is all or nothing.
        self._store.profiles.add(profile, tags)
        self._back_out_over_quota(
            self._store.profiles,
            profile.id,
            self._store.profiles.count,
            self._settings.max_profiles,
            f"The account already has the maximum of {self._settings.max_profiles} profiles",
        )
        return profile

    def get_profile(self, identifier: str) -> Profile:
        """The profile named by id or ARN; 404 if there is none."""
        profile: Profile = self._resolve("profile", identifier)
        return profile

    def _save_profile(self, profile: Profile, **changes: Any) -> Profile:
        updated = dataclasses.replace(profile, updated_at=self._clock.now(), **changes)
        if not self._store.profiles.replace(updated):
            raise ResourceNotFound(reason=f"profile {profile.id} vanished during update")
        return updated

    def update_profile(
        self,
        identifier: str,
        *,
        name: str | None = None,
        session_policy: str | None = None,
        role_arns: Sequence[str] | None = None,
        managed_policy_arns: Sequence[str] | None = None,
        duration_seconds: int | None = None,
        accept_role_session_name: bool | None = None,
        alias_name: str | None = None,
        tip_configuration: TipConfiguration | None = None,
    ) -> Profile:
        """Change the given fields of a profile."""
        profile = self.get_profile(identifier)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if session_policy is not None:
            check_session_policy(session_policy, self._settings.session_policy_validator)
            changes["session_policy"] = session_policy
        if role_arns is not None:
            changes["role_arns"] = tuple(role_arns)
        if managed_policy_arns is not None:
            check_managed_policy_arns(managed_policy_arns)
            changes["managed_policy_arns"] = tuple(managed_policy_arns)
        if duration_seconds is not None:
            changes["duration_seconds"] = self._check_duration(duration_seconds)
        if accept_role_session_name is not None:
            changes["accept_role_session_name"] = accept_role_session_name
        if tip_configuration is not None:
            changes["tip_configuration"] = tip_configuration
        previous = None
        if alias_name is not None and self._alias(alias_name) != profile.alias_name:
            changes["alias_name"] = self._alias(alias_name)
            previous = profile.alias_name
        return self._previous(self._save_profile(profile, **changes), previous)

    def delete_profile(self, identifier: str) -> Profile:
        """Delete a profile and its tags; return it."""
        profile = self.get_profile(identifier)
        removed = self._store.profiles.remove(profile.id)  # with its tags, in one transaction
        if removed is None:
            raise ResourceNotFound(reason=f"profile {profile.id} vanished during delete")
        return removed

    def set_profile_enabled(self, identifier: str, enabled: bool) -> Profile:
        """Enable or disable a profile."""
        return self._save_profile(self.get_profile(identifier), enabled=enabled)

    def list_profiles(
        self, next_token: str | None = None, page_size: int | None = None
    ) -> Page[Profile]:
        """One page of profiles."""
        return self._page(
            "profiles", self._store.profiles.list_page, lambda p: p.id, next_token, page_size
        )

    @staticmethod
    def _normalize_specifier(field: str, specifier: str) -> str:
        if field == "x509SAN":
            # Reference §5.2: Name, Name/ and Name/* are the same rule, displayed as Name/*.
            if specifier in ("Name", "Name/", "Name/*"):
                return "Name/*"
            if specifier in ("DNS", "URI"):
                return specifier
            rdn = specifier.removeprefix("Name/")
            if specifier.startswith("Name/") and _RDN_SPECIFIER.fullmatch(rdn):
                return specifier
            raise ValidationError(
                f"Invalid specifier {specifier} for x509SAN; use DNS, URI, Name/* or Name/<RDN>"
            )
        if specifier == "*" or _RDN_SPECIFIER.fullmatch(specifier):
            return specifier
        raise ValidationError(f"Invalid specifier {specifier} for {field}; use * or an RDN name")

    def put_attribute_mapping(
        self, identifier: str, certificate_field: str, specifiers: Sequence[str]
    ) -> Profile:
        """Replace the mapping rules of one certificate field.

        [decision] AWS does not say whether rules merge or replace (reference §5.2); the CLI
        examples pass the full desired list, so the field's list is replaced.
        """
        if certificate_field not in CERTIFICATE_FIELDS:
            raise ValidationError(f"Unknown certificate field {certificate_field}")
        profile = self.get_profile(identifier)
        rules: list[str] = []
        for specifier in specifiers:
            normalized = self._normalize_specifier(certificate_field, specifier)
            if normalized not in rules:
                rules.append(normalized)
        mappings = {m.certificate_field: m for m in profile.attribute_mappings}
        mappings[certificate_field] = AttributeMapping(certificate_field, tuple(rules))
        return self._save_profile(
            profile, attribute_mappings=tuple(mappings[k] for k in sorted(mappings))
        )

    def delete_attribute_mapping(
        self, identifier: str, certificate_field: str, specifiers: Sequence[str] | None = None
    ) -> Profile:
        """Remove some rules of a field, or the whole field when no specifiers are given."""
        if certificate_field not in CERTIFICATE_FIELDS:
            raise ValidationError(f"Unknown certificate field {certificate_field}")
        profile = self.get_profile(identifier)
        mappings = {m.certificate_field: m for m in profile.attribute_mappings}
        current = mappings.get(certificate_field)
        if current is not None:
            if specifiers:
                drop = {self._normalize_specifier(certificate_field, s) for s in specifiers}
                remaining = tuple(s for s in current.specifiers if s not in drop)
                if remaining:
                    mappings[certificate_field] = AttributeMapping(certificate_field, remaining)
                else:
                    del mappings[certificate_field]
            else:
                del mappings[certificate_field]
        return self._save_profile(
            profile, attribute_mappings=tuple(mappings[k] for k in sorted(mappings))
        )

    def _op_create_profile(self, p: Mapping[str, Any], caller: str) -> dict[str, Any]:
        return self._profile_out(
            self.create_profile(
                name=p["name"],
                role_arns=p["roleArns"],
                created_by=caller,
                session_policy=p.get("sessionPolicy"),
                managed_policy_arns=p.get("managedPolicyArns") or (),
                duration_seconds=p.get("durationSeconds"),
                enabled=p.get("enabled"),
                accept_role_session_name=p.get("acceptRoleSessionName"),
                require_instance_properties=p.get("requireInstanceProperties"),
                tags=self._tags_from(p.get("tags")),
                alias_name=p.get("aliasName"),
                tip_configuration=self._tip(p.get("tipConfiguration")),
            )
        )

    def _op_update_profile(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._profile_out(
            self.update_profile(
                p["profileId"],
                name=p.get("name"),
                session_policy=p.get("sessionPolicy"),
                role_arns=p.get("roleArns"),
                managed_policy_arns=p.get("managedPolicyArns"),
                duration_seconds=p.get("durationSeconds"),
                accept_role_session_name=p.get("acceptRoleSessionName"),
                alias_name=p.get("aliasName"),
                tip_configuration=self._tip(p.get("tipConfiguration")),
            )
        )

    def _op_list_profiles(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        page = self.list_profiles(p.get("nextToken"), p.get("pageSize"))
        out: dict[str, Any] = {"profiles": [render_profile(x) for x in page.items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    def _op_put_attribute_mapping(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        specifiers = [str(rule["specifier"]) for rule in p["mappingRules"]]
        return self._profile_out(
            self.put_attribute_mapping(p["profileId"], p["certificateField"], specifiers)
        )

    def _op_delete_attribute_mapping(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._profile_out(
            self.delete_attribute_mapping(
                p["profileId"], p["certificateField"], p.get("specifiers")
            )
        )

    # --- CRLs ---------------------------------------------------------------------------------

    def import_crl(
        self,
        *,
        name: str,
        crl_data: bytes,
        trust_anchor_arn: str,
        enabled: bool | None = None,
        tags: Sequence[Tag] = (),
        alias_name: str | None = None,
    ) -> Crl:
        """Import a CRL for a trust anchor named by its ARN.

        The model's ``trustAnchorArn``: "This parameter doesn't support alias ARNs. If you specify
        an alias ARN, the request fails with ResourceNotFoundException."
        """
        anchor: TrustAnchor = self._resolve("trust-anchor", trust_anchor_arn, aliases=False)
        check_crl(crl_data)
        self._check_tags(None, tags)
        attached = sum(1 for c in self._store.crls.list_all() if c.trust_anchor_arn == anchor.arn)
        if attached >= self._settings.max_crls_per_anchor:
            raise ValidationError(
                f"The trust anchor already has the maximum of {self._settings.max_crls_per_anchor}"
                " CRLs"
            )
        now = self._clock.now()
        crl_id = self._new_id()
        crl = Crl(
            id=crl_id,
            arn=self._arn("crl", crl_id),
            name=name,
            enabled=self._settings.enabled_by_default if enabled is None else enabled,
            crl_data=bytes(crl_data),
            trust_anchor_arn=anchor.arn,
            created_at=now,
            updated_at=now,
            alias_name=self._alias(alias_name),
        )
        # The record and its tags in one transaction: a create is all or nothing.
        self._store.crls.add(crl, tags)
        self._back_out_over_quota(
            self._store.crls,
            crl.id,
            lambda: sum(1 for c in self._store.crls.list_all() if c.trust_anchor_arn == anchor.arn),
            self._settings.max_crls_per_anchor,
            f"The trust anchor already has the maximum of {self._settings.max_crls_per_anchor}"
            " CRLs",
        )
        return crl

    def get_crl(self, identifier: str) -> Crl:
        """The CRL named by id or ARN; 404 if there is none."""
        crl: Crl = self._resolve("crl", identifier)
        return crl

    def _save_crl(self, crl: Crl, **changes: Any) -> Crl:
        updated = dataclasses.replace(crl, updated_at=self._clock.now(), **changes)
        if not self._store.crls.replace(updated):
            raise ResourceNotFound(reason=f"CRL {crl.id} vanished during update")
        return updated

    def update_crl(
        self,
        identifier: str,
        *,
        name: str | None = None,
        crl_data: bytes | None = None,
        alias_name: str | None = None,
    ) -> Crl:
        """Change the given fields of a CRL."""
        crl = self.get_crl(identifier)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if crl_data is not None:
            check_crl(crl_data)
            changes["crl_data"] = bytes(crl_data)
        previous = None
        if alias_name is not None and self._alias(alias_name) != crl.alias_name:
            changes["alias_name"] = self._alias(alias_name)
            previous = crl.alias_name
        return self._previous(self._save_crl(crl, **changes), previous)

    def delete_crl(self, identifier: str) -> Crl:
        """Delete a CRL and its tags; return it."""
        crl = self.get_crl(identifier)
        removed = self._store.crls.remove(crl.id)  # with its tags, in one transaction
        if removed is None:
            raise ResourceNotFound(reason=f"CRL {crl.id} vanished during delete")
        return removed

    def set_crl_enabled(self, identifier: str, enabled: bool) -> Crl:
        """Enable or disable a CRL."""
        return self._save_crl(self.get_crl(identifier), enabled=enabled)

    def list_crls(self, next_token: str | None = None, page_size: int | None = None) -> Page[Crl]:
        """One page of CRLs."""
        return self._page("crls", self._store.crls.list_page, lambda c: c.id, next_token, page_size)

    def _op_import_crl(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._crl_out(
            self.import_crl(
                name=p["name"],
                crl_data=p["crlData"],
                trust_anchor_arn=p["trustAnchorArn"],
                enabled=p.get("enabled"),
                tags=self._tags_from(p.get("tags")),
                alias_name=p.get("aliasName"),
            )
        )

    def _op_update_crl(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        return self._crl_out(
            self.update_crl(
                p["crlId"],
                name=p.get("name"),
                crl_data=p.get("crlData"),
                alias_name=p.get("aliasName"),
            )
        )

    def _op_list_crls(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        page = self.list_crls(p.get("nextToken"), p.get("pageSize"))
        out: dict[str, Any] = {"crls": [render_crl(c) for c in page.items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    # --- subjects -----------------------------------------------------------------------------

    def get_subject(self, subject_id: str) -> Subject:
        """The subject with its recent credentials; 404 if there is none."""
        subject = self._store.subjects.get(subject_id) if is_uuid(subject_id) else None
        if subject is None:
            raise ResourceNotFound(reason=f"no subject {subject_id}")
        return subject

    def list_subjects(
        self, next_token: str | None = None, page_size: int | None = None
    ) -> Page[Subject]:
        """One page of subjects (without credentials)."""
        return self._page(
            "subjects", self._store.subjects.list_page, lambda s: s.id, next_token, page_size
        )

    def _op_list_subjects(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        page = self.list_subjects(p.get("nextToken"), p.get("pageSize"))
        out: dict[str, Any] = {"subjects": [render_subject_summary(s) for s in page.items]}
        if page.next_token is not None:
            out["nextToken"] = page.next_token
        return out

    # --- tags ---------------------------------------------------------------------------------

    def _tagged_resource(self, resource_arn: str) -> str:
        """The canonical ARN of an existing taggable resource; 404 otherwise."""
        found = self._finder.find_tagged(resource_arn)
        if found.record is None:
            raise ResourceNotFound(reason=found.reason)
        arn: str = found.record.arn
        return arn

    def tag_resource(self, resource_arn: str, tags: Sequence[Tag]) -> None:
        """Add or overwrite tags of a resource."""
        arn = self._tagged_resource(resource_arn)
        self._check_tags(arn, tags)
        self._store.tags.put(arn, tags)

    def untag_resource(self, resource_arn: str, keys: Sequence[str]) -> None:
        """Remove tags of a resource by key."""
        self._store.tags.remove(self._tagged_resource(resource_arn), keys)

    def list_tags(self, resource_arn: str) -> tuple[Tag, ...]:
        """The tags of a resource."""
        return self._store.tags.get(self._tagged_resource(resource_arn))

    def _op_tag_resource(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        self.tag_resource(p["resourceArn"], self._tags_from(p["tags"]))
        return {}

    def _op_untag_resource(self, p: Mapping[str, Any], _caller: str) -> dict[str, Any]:
        self.untag_resource(p["resourceArn"], list(p["tagKeys"]))
        return {}


#: The operation names :meth:`ControlPlane.handle` serves (all of the botocore model's).
OPERATIONS = frozenset(
    {
        "CreateProfile",
        "CreateTrustAnchor",
        "DeleteAttributeMapping",
        "DeleteCrl",
        "DeleteProfile",
        "DeleteTrustAnchor",
        "DisableCrl",
        "DisableProfile",
        "DisableTrustAnchor",
        "EnableCrl",
        "EnableProfile",
        "EnableTrustAnchor",
        "GetCrl",
        "GetProfile",
        "GetSubject",
        "GetTrustAnchor",
        "ImportCrl",
        "ListCrls",
        "ListProfiles",
        "ListSubjects",
        "ListTagsForResource",
        "ListTrustAnchors",
        "PutAttributeMapping",
        "PutNotificationSettings",
        "ResetNotificationSettings",
        "TagResource",
        "UntagResource",
        "UpdateCrl",
        "UpdateProfile",
        "UpdateTrustAnchor",
    }
)
