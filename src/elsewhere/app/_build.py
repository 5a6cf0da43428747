"""The composition root: open the store, bootstrap the root key, wire services into the gateway."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from elsewhere.api import (
    FEDERATION_OPERATIONS,
    AccessLogSink,
    AuthorizeEndpoint,
    DecisionLog,
    Gateway,
    GatewaySettings,
    federation_handler,
    issuer_routes,
    web_identity_handler,
)
from elsewhere.app._files import (
    create_private_file,
    load_or_create_master_key,
    secure_data_dir,
    write_admin_credentials,
)
from elsewhere.app._notify import FileSink, NotificationLoop, WebhookSink
from elsewhere.app._settings import ServerSettings
from elsewhere.audit import AuditLog
from elsewhere.clock import Clock, SystemClock
from elsewhere.domain import AccessKey, Deployment
from elsewhere.service import (
    ControlPlane,
    ControlPlaneSettings,
    HealthReport,
    InvokeAuthorizer,
    ReplayGuard,
    Store,
    report_health,
)
from elsewhere.service._authn import (
    AccessKeySecret,
    Authenticator,
    Principal,
    SigningKeyCache,
)
from elsewhere.service._authz import Authorizer
from elsewhere.service._federation import OutboundFederation, load_or_create_issuer_state
from elsewhere.service._iam import IamService, validate_session_policy
from elsewhere.service._issuer import IssuerDocuments
from elsewhere.service._notifications import Notifier
from elsewhere.service._session_auth import SessionResolver
from elsewhere.service._sessions import CreateSessionHandler, SessionSettings
from elsewhere.service._snapshot import SnapshotProvider, StoreRoleSource, load_or_create_key_ring
from elsewhere.service._sts import StsService
from elsewhere.service._subjects import SubjectRecorder
from elsewhere.service._web_identity import WebIdentityTokens
from elsewhere.storage import open_store
from elsewhere.tokens import new_access_key_id, new_secret_access_key

if TYPE_CHECKING:
    from elsewhere.metrics import Metrics

__all__ = ["Application", "StartupError", "build_application"]

log = logging.getLogger("elsewhere.server")

ROOT_KEY_ID_NAME = "root_access_key_id"


class StartupError(Exception):
    """The server cannot start; the message says why and what to do."""


class SecretBox:
    """Seals long-term secrets at rest under the master key (AES-256-GCM)."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    def seal(self, secret: str, *, context: str) -> str:
        """Encrypt ``secret`` bound to ``context`` (the key id)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), context.encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, context: str) -> str:
        """Decrypt what :meth:`seal` made for ``context``."""
        if not sealed.startswith("v1:"):
            raise ValueError("unknown secret encoding")
        raw = base64.b64decode(sealed[3:])
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()


@dataclass
class Application:
    """A wired server: the ASGI app and what the CLI tells the user."""

    asgi: Gateway
    authorize: AuthorizeEndpoint
    clock: Clock
    settings: ServerSettings
    credentials_file: Path
    created_root_key: bool
    close: Callable[[], None]
    # Called on SIGHUP: reopen the files that logrotate may have moved (the audit log).
    reopen: Callable[[], None] = lambda: None
    # The series the metrics listener serves (None without --metrics-address).
    metrics: Metrics | None = None


def _root_principal(settings: ServerSettings, access_key_id: str) -> Principal:
    arn = f"arn:{settings.partition}:iam::{settings.account_id}:root"
    return Principal(
        arn=arn,
        account=settings.account_id,
        kind="root",
        user_id=settings.account_id,
        name="root",
        access_key_id=access_key_id,
    )


def _bootstrap_root_key(
    store: Store, box: SecretBox, settings: ServerSettings, clock: Clock, credentials_file: Path
) -> tuple[str, bool]:
    """The root access key id, created on first start; and whether this start created it.

    Several replicas may start at once on an empty database: each makes a candidate key, the
    first to record its id wins (an atomic get-or-create), and the others delete theirs and
    use the winner's.
    """
    existing = store.secrets.get(ROOT_KEY_ID_NAME)
    if existing is None:
        candidate = new_access_key_id("AKIA", os.urandom)
        secret = new_secret_access_key(os.urandom)
        store.access_keys.add(
            AccessKey(
                access_key_id=candidate,
                secret_access_key=box.seal(secret, context=candidate),
                principal_arn=_root_principal(settings, candidate).arn,
                user_name="root",
                status="Active",
                created_at=clock.now(),
            )
        )
        winner = store.secrets.get_or_create(ROOT_KEY_ID_NAME, candidate.encode()).decode()
        if winner == candidate:
            write_admin_credentials(credentials_file, candidate, secret)
            return candidate, True
        store.access_keys.remove(candidate)
        existing = winner.encode()
    root_id = existing.decode()
    record = store.access_keys.get(root_id)
    if record is None:
        raise StartupError(f"the store names root key {root_id} but holds no such key")
    try:
        secret = box.open(record.secret_access_key, context=root_id)
    except (InvalidTag, ValueError) as exc:
        raise StartupError(
            f"{settings.data_dir / 'master.key'} does not match the store: the root key cannot "
            "be opened. Every replica needs the master.key the store was created with."
        ) from exc
    if not credentials_file.exists():
        write_admin_credentials(credentials_file, root_id, secret)
    return root_id, False


def build_application(
    settings: ServerSettings,
    *,
    clock: Clock | None = None,
    access_log: AccessLogSink | None = None,
    decision_log: DecisionLog | None = None,
) -> Application:
    """Open (and migrate) the store, make the root key on first start, and build the gateway.

    ``access_log`` and ``decision_log`` take the access lines and the authorizer's decision
    lines (the server's buffered stream); without them, both go through :mod:`logging`.
    """
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # On every start: the directory 0700 and every file in it 0600, the store included.
    for line in secure_data_dir(settings.data_dir):
        log.warning("data directory: made private: %s", line)
    master_key = load_or_create_master_key(settings.data_dir)
    box = SecretBox(master_key)
    if not settings.database_url:
        # The default SQLite file is born 0600; SQLite gives its -wal and -shm files the same
        # mode (os_unix.c, findCreateFileMode), so no umask ever exposes them.
        create_private_file(settings.data_dir / "elsewhere.db")
    store = open_store(settings.effective_database_url)

    credentials_file = settings.data_dir / "admin.credentials"
    root_id, created = _bootstrap_root_key(store, box, settings, clock, credentials_file)

    secrets_cache: dict[str, AccessKeySecret] = {}

    def lookup(access_key_id: str) -> AccessKeySecret | None:
        if access_key_id != root_id:
            # IAM users' keys: read each time, so deletion and deactivation apply at once.
            return iam.lookup_access_key(access_key_id)
        cached = secrets_cache.get(access_key_id)
        if cached is not None:
            return cached
        record = store.access_keys.get(access_key_id)
        if record is None:
            return None
        found = AccessKeySecret(
            access_key_id=access_key_id,
            secret_access_key=box.open(record.secret_access_key, context=access_key_id),
            principal=_root_principal(settings, access_key_id),
            active=record.status == "Active",
        )
        secrets_cache[access_key_id] = found
        return found

    iam = IamService(
        store,
        clock,
        account_id=settings.account_id,
        partition=settings.partition,
        seal_secret=lambda secret, key_id: box.seal(secret, context=key_id),
        open_secret=lambda sealed, key_id: box.open(sealed, context=key_id),
    )

    control_plane = ControlPlane(
        store,
        clock,
        account_id=settings.account_id,
        region=settings.region,
        partition=settings.partition,
        settings=ControlPlaneSettings(
            max_certificates_per_anchor=settings.max_certificates_per_anchor,
            session_policy_validator=validate_session_policy,
        ),
    )

    # CreateSession, session credentials and STS: one configuration snapshot.
    load_or_create_key_ring(store.secrets, master_key, now=clock.now())
    # The OIDC issuer's signing keys exist from the first start, so the JWKS is never empty and
    # a relying party can be set up before federation is enabled.
    load_or_create_issuer_state(store.secrets, master_key, now=clock.now())
    snapshots = SnapshotProvider(store, StoreRoleSource(store), master_key=master_key)
    federation = OutboundFederation(store.secrets, master_key, clock, issuer=settings.issuer_url)
    federation_operations = federation_handler(federation)

    # Read your writes: after a control-plane or IAM call the snapshot catches up before the
    # answer is sent, so the caller's next request (CreateSession after CreateProfile, a refusal
    # after DisableProfile) sees the change on this node without waiting for the refresher.
    def rolesanywhere(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        try:
            return control_plane.handle(operation, params, caller.arn)
        finally:
            snapshots.catch_up()

    def iam_handler(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        try:
            if operation in FEDERATION_OPERATIONS:
                return federation_operations(operation, params, caller)
            return iam.handle(operation, params, caller)
        finally:
            snapshots.catch_up()

    recorder = SubjectRecorder(
        store.subjects,
        account_id=settings.account_id,
        region=settings.region,
        partition=settings.partition,
    )
    sessions = CreateSessionHandler(
        snapshots,
        clock,
        settings=SessionSettings(
            account_id=settings.account_id, region=settings.region, partition=settings.partition
        ),
        recorder=recorder,
    )

    def health() -> HealthReport:
        # /ping: the refresher and the subject writer, and whether CreateSession is refused.
        return report_health([snapshots.state(), recorder.state()], unavailable=snapshots.stale())

    async def stop_sessions() -> None:
        recorder.close()
        snapshots.close()

    audit = None
    if settings.audit_log is not None:
        try:
            audit = AuditLog(settings.audit_log)
        except OSError as exc:
            raise StartupError(f"cannot open the audit log {settings.audit_log}: {exc}") from exc

    authorizer = Authorizer(
        store,
        account_id=settings.account_id,
        region=settings.region,
        partition=settings.partition,
        snapshots=snapshots,
    )
    sts = StsService(snapshots, clock, caller_view=authorizer.principal_view)
    web_identity = web_identity_handler(
        WebIdentityTokens(
            snapshots,
            clock,
            issuer=settings.issuer_url,
            account_id=settings.account_id,
            region=settings.region,
            principal_keys=lambda principal: authorizer.principal_view(principal)[2],
        )
    )

    def sts_handler(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        if operation == "GetWebIdentityToken":
            return web_identity(operation, params, caller)
        return sts(operation, params, caller)

    signing_keys = SigningKeyCache()
    metrics = None
    if settings.metrics_address is not None:
        # prometheus_client takes a few hundred ms to import: only a server that serves metrics
        # pays for it.
        from elsewhere.app._metrics import build_metrics

        metrics = build_metrics(
            clock=clock,
            snapshots=snapshots,
            recorder=recorder,
            sessions=sessions,
            signing_keys=signing_keys,
            audit=audit,
        )
    authenticator = Authenticator(
        lookup,
        region=settings.region,
        session_resolver=SessionResolver(snapshots),
        signing_keys=signing_keys,
    )
    # The authorizer for the user's own services: the same authentication and policies.
    invoke = InvokeAuthorizer(
        authenticator=authenticator,
        authorizer=authorizer,
        snapshots=snapshots,
        deployment=Deployment(settings.account_id, settings.region, settings.partition),
        replay=ReplayGuard(settings.replay_guard_signatures)
        if settings.replay_guard_signatures
        else None,
    )
    authorize = AuthorizeEndpoint(
        invoke, clock, decisions=decision_log, observer=metrics, audit=audit
    )
    gateway = Gateway(
        authenticator=authenticator,
        handlers={
            "rolesanywhere": rolesanywhere,
            "sts": sts_handler,
            "iam": iam_handler,
        },
        authorizer=authorizer,
        authorize=authorize,
        clock=clock,
        settings=GatewaySettings(
            max_body_bytes=settings.max_body_bytes,
            body_timeout_seconds=settings.request_timeout_seconds,
            region=settings.region,
            account_id=settings.account_id,
        ),
        sessions=sessions,
        on_shutdown=[stop_sessions],
        public=issuer_routes(IssuerDocuments(snapshots, clock, issuer=settings.issuer_url)),
        audit=audit,
        observer=metrics,
        health=health,
        access_log=access_log,
    )

    notifications = _start_notifications(settings, store, clock)

    def close() -> None:
        if notifications is not None:
            notifications.close()
        store.close()
        if audit is not None:
            audit.close()

    def reopen() -> None:
        if audit is not None:
            audit.reopen()
        if notifications is not None:
            notifications.reopen()

    return Application(
        asgi=gateway,
        authorize=authorize,
        clock=clock,
        settings=settings,
        credentials_file=credentials_file,
        created_root_key=created,
        close=close,
        reopen=reopen,
        metrics=metrics,
    )


class _Notifications:
    """The running notification loop and its sinks."""

    def __init__(self, loop: NotificationLoop, sinks: list[WebhookSink | FileSink]) -> None:
        self._loop = loop
        self._sinks = sinks

    def reopen(self) -> None:
        for sink in self._sinks:
            if isinstance(sink, FileSink):
                sink.reopen()

    def close(self) -> None:
        self._loop.close()
        for sink in self._sinks:
            sink.close()


def _start_notifications(
    settings: ServerSettings, store: Store, clock: Clock
) -> _Notifications | None:
    """Expiry notifications to the configured sinks, or None when no sink is configured."""
    sinks: list[WebhookSink | FileSink] = [WebhookSink(url) for url in settings.notify_webhooks]
    if settings.notify_file is not None:
        try:
            sinks.append(FileSink(settings.notify_file))
        except OSError as exc:
            raise StartupError(
                f"cannot open the notification file {settings.notify_file}: {exc}"
            ) from exc
    if not sinks:
        return None
    notifier = Notifier(store, sinks, account_id=settings.account_id, region=settings.region)
    return _Notifications(NotificationLoop(notifier, clock), sinks)
