"""Expiry notifications: acting on each trust anchor's notification settings, once a day.

What is looked at, per the rolesanywhere reference §6.4 ("Notification settings") and AWS's
"Roles Anywhere Certificate Expiration State Change" EventBridge event:

- ``CA_CERTIFICATE_EXPIRY``: every CA certificate in an anchor's bundle, from ``threshold`` days
  before it expires until 14 days after (AWS's EventBridge/Health window for CA certificates).
- ``END_ENTITY_CERTIFICATE_EXPIRY``: every leaf certificate a successful CreateSession used in
  the last day (the subject records), from ``threshold`` days before it expires until the day
  it expires. A leaf belongs to the anchors whose bundle holds a certificate named as its
  issuer; a leaf issued by an intermediate CA that no anchor holds is matched by no anchor and
  gets no notice.

An anchor that has no stored settings gets AWS's defaults (both events, 45 days). A disabled
setting sends nothing; disabled anchors are skipped.

Each day's notices are sent once across every replica: the run is claimed in the store with a
compare-and-set on ``notifications/<date>`` (``SecretRepository.put_if``), which one writer
wins on SQLite and PostgreSQL alike; a replica that finds the day claimed does nothing. A claim
left ``running`` for longer than ``stale_after`` (a replica died mid-run) is taken over, so a
crash can resend that day's notices but never skip a day. Events are built here; sending them
(webhook, file) is the sinks' business, behind :class:`NotificationSink`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from elsewhere.domain import (
    DEFAULT_NOTIFICATION_SETTINGS,
    NotificationSetting,
    Subject,
    TrustAnchor,
    format_utc_seconds,
)
from elsewhere.service._ports import Store
from elsewhere.x509 import format_subject_dn, parse_ca_bundle

__all__ = [
    "CA_EVENT",
    "DETAIL_TYPE",
    "END_ENTITY_EVENT",
    "CertificateSeen",
    "ExpiryNotice",
    "NotificationSink",
    "Notifier",
    "build_event",
    "find_expiring",
]

_log = logging.getLogger("elsewhere.notifications")

CA_EVENT = "CA_CERTIFICATE_EXPIRY"
END_ENTITY_EVENT = "END_ENTITY_CERTIFICATE_EXPIRY"
#: The EventBridge detail type of AWS's expiry events.
DETAIL_TYPE = "Roles Anywhere Certificate Expiration State Change"
# CA notices continue this many days after expiry (reference §6.4, EventBridge/Health).
_CA_DAYS_AFTER = 14
_CLAIM_PREFIX = "notifications/"
_PAGE = 100
# More than any anchor may hold (--max-certificates-per-anchor is at most 100).
_MAX_BUNDLE = 1000


@dataclass(frozen=True, slots=True)
class CertificateSeen:
    """A leaf certificate a CreateSession used, with its subject record."""

    certificate: x509.Certificate
    subject_arn: str
    seen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ExpiryNotice:
    """One certificate approaching (or past) expiry under one anchor's settings."""

    event: str  # CA_EVENT or END_ENTITY_EVENT
    trust_anchor_arn: str
    serial_number: str  # upper-case hex, as AWS's event writes it
    issuer: str
    subject: str
    days_to_expiry: int
    not_after: dt.datetime
    subject_arn: str | None = None  # the subject record, for an end-entity certificate


class NotificationSink(Protocol):
    """Where events go (a webhook, a JSON-lines file)."""

    name: str

    def send(self, event: Mapping[str, Any]) -> None:
        """Deliver ``event``; raise when it could not be delivered."""
        ...


def _settings(anchor: TrustAnchor) -> dict[str, NotificationSetting]:
    stored = {s.event: s for s in anchor.notification_settings}
    return {d.event: stored.get(d.event, d) for d in DEFAULT_NOTIFICATION_SETTINGS}


def _days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    """Whole days until ``not_after``, rounded up: 0 on the day it expires, negative after."""
    return math.ceil((not_after - now).total_seconds() / 86400)


def _serial(certificate: x509.Certificate) -> str:
    text = format(certificate.serial_number, "X")
    return text if len(text) % 2 == 0 else "0" + text


def _threshold(setting: NotificationSetting) -> int | None:
    if not setting.enabled or setting.threshold is None:
        return None
    return setting.threshold


def find_expiring(
    anchors: Iterable[TrustAnchor],
    seen: Iterable[CertificateSeen],
    *,
    now: dt.datetime,
) -> list[ExpiryNotice]:
    """Every notice due ``now`` under the anchors' settings (pure: no I/O, time given)."""
    notices: list[ExpiryNotice] = []
    leaves = list(seen)
    for anchor in anchors:
        if not anchor.enabled:
            continue
        settings = _settings(anchor)
        try:
            bundle = parse_ca_bundle(
                anchor.source.x509_certificate_data or "", max_certificates=_MAX_BUNDLE
            )
        except Exception:  # an anchor the snapshot would refuse too: nothing to judge
            _log.warning("trust anchor %s: CA bundle does not parse; no notices", anchor.arn)
            continue
        ca_threshold = _threshold(settings[CA_EVENT])
        if ca_threshold is not None:
            for ca in bundle:
                days = _days_left(ca.not_valid_after_utc, now)
                if -_CA_DAYS_AFTER <= days <= ca_threshold:
                    notices.append(
                        ExpiryNotice(
                            event=CA_EVENT,
                            trust_anchor_arn=anchor.arn,
                            serial_number=_serial(ca),
                            issuer=format_subject_dn(ca.issuer),
                            subject=format_subject_dn(ca.subject),
                            days_to_expiry=days,
                            not_after=ca.not_valid_after_utc,
                        )
                    )
        ee_threshold = _threshold(settings[END_ENTITY_EVENT])
        if ee_threshold is None:
            continue
        ca_names = {ca.subject for ca in bundle}
        for leaf in leaves:
            if leaf.certificate.issuer not in ca_names:
                continue
            days = _days_left(leaf.certificate.not_valid_after_utc, now)
            if 0 <= days <= ee_threshold:
                notices.append(
                    ExpiryNotice(
                        event=END_ENTITY_EVENT,
                        trust_anchor_arn=anchor.arn,
                        serial_number=_serial(leaf.certificate),
                        issuer=format_subject_dn(leaf.certificate.issuer),
                        subject=format_subject_dn(leaf.certificate.subject),
                        days_to_expiry=days,
                        not_after=leaf.certificate.not_valid_after_utc,
                        subject_arn=leaf.subject_arn,
                    )
                )
    return notices


def build_event(
    notice: ExpiryNotice, *, account_id: str, region: str, now: dt.datetime, event_id: str
) -> dict[str, Any]:
    """The EventBridge-shaped event of ``notice`` (AWS's fields; ``detail`` as AWS fills it,
    plus the certificate's subject, expiry and the notification event for the receiver)."""
    resources = [notice.trust_anchor_arn]
    if notice.subject_arn is not None:
        resources.append(notice.subject_arn)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPE,
        "source": "aws.rolesanywhere",
        "account": account_id,
        "time": format_utc_seconds(now),
        "region": region,
        "resources": resources,
        "detail": {
            "certificate-serial-number": notice.serial_number,
            "days-to-expiry": notice.days_to_expiry,
            "issuer": notice.issuer,
            "subject": notice.subject,
            "not-after": format_utc_seconds(notice.not_after),
            "notification-event": notice.event,
        },
    }


class Notifier:
    """Runs the day's scan once across replicas and hands each event to every sink."""

    def __init__(
        self,
        store: Store,
        sinks: Sequence[NotificationSink],
        *,
        account_id: str,
        region: str,
        owner: str = "",
        stale_after: dt.timedelta = dt.timedelta(hours=1),
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        """Send to ``sinks``; ``owner`` names this replica in the day's claim."""
        self._store = store
        self._sinks = tuple(sinks)
        self._account = account_id
        self._region = region
        self._owner = owner or str(uuid.uuid4())
        self._stale_after = stale_after
        self._new_id = new_id
        self.sent = 0
        self.failed = 0

    def run_due(self, now: dt.datetime) -> int | None:
        """Run today's notices if no replica has; the number of events sent, or None if the
        day was already taken."""
        day = now.astimezone(dt.UTC).date().isoformat()
        if not self._claim(day, now):
            _log.info("expiry notifications of %s: already taken by a run", day)
            return None
        try:
            count = self.run(now)
        except Exception:
            # Leave the claim running: another replica (or this one) takes it over when stale.
            _log.exception("expiry notifications of %s failed", day)
            raise
        self._store.secrets.put(
            _CLAIM_PREFIX + day, f"done {format_utc_seconds(now)} {self._owner}".encode()
        )
        return count

    def _claim(self, day: str, now: dt.datetime) -> bool:
        name = _CLAIM_PREFIX + day
        mine = f"running {format_utc_seconds(now)} {self._owner}".encode()
        current = self._store.secrets.get(name)
        if current is None:
            return self._store.secrets.put_if(name, None, mine)
        state, _, rest = current.decode().partition(" ")
        if state != "running":
            return False
        started = dt.datetime.fromisoformat(rest.split(" ", 1)[0].replace("Z", "+00:00"))
        if now - started < self._stale_after:
            return False
        _log.warning("taking over the expiry notifications of %s, left running: %s", day, rest)
        return self._store.secrets.put_if(name, current, mine)

    def run(self, now: dt.datetime) -> int:
        """Find today's notices and send each to every sink; the number of events sent."""
        since = now - dt.timedelta(days=1)
        notices = find_expiring(
            self._store.trust_anchors.list_all(), self._seen_since(since), now=now
        )
        sent = 0
        for notice in notices:
            event = build_event(
                notice,
                account_id=self._account,
                region=self._region,
                now=now,
                event_id=self._new_id(),
            )
            for sink in self._sinks:
                try:
                    sink.send(event)
                except Exception as exc:
                    self.failed += 1
                    _log.error(
                        "expiry notice %s for %s serial %s not delivered to %s: %s",
                        notice.event,
                        notice.trust_anchor_arn,
                        notice.serial_number,
                        sink.name,
                        exc,
                    )
                else:
                    self.sent += 1
                    sent += 1
        _log.info("expiry notifications: %d notices, %d deliveries", len(notices), sent)
        return sent

    def _seen_since(self, since: dt.datetime) -> list[CertificateSeen]:
        """Leaf certificates of successful sessions since ``since``, each once."""
        seen: dict[bytes, CertificateSeen] = {}
        after: str | None = None
        while True:
            page = self._store.subjects.list_page(after, _PAGE)
            for summary in page:
                if summary.last_seen_at >= since:
                    self._add_credentials(self._store.subjects.get(summary.id), since, seen)
            if len(page) < _PAGE:
                break
            after = page[-1].id
        return list(seen.values())

    @staticmethod
    def _add_credentials(
        subject: Subject | None, since: dt.datetime, seen: dict[bytes, CertificateSeen]
    ) -> None:
        if subject is None:
            return
        for credential in subject.credentials:
            if credential.failed or credential.seen_at < since:
                continue
            try:
                certificate = x509.load_pem_x509_certificate(
                    credential.x509_certificate_data.encode("ascii")
                )
            except ValueError:
                _log.warning("a certificate of subject %s does not parse; skipped", subject.arn)
                continue
            key = certificate.fingerprint(hashes.SHA256())
            if key not in seen:
                seen[key] = CertificateSeen(certificate, subject.arn, credential.seen_at)

