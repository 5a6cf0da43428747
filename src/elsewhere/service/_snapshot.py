"""The in-memory configuration the data plane reads: anchors, profiles, CRLs, roles, key ring.

DESIGN.md, "The hot path never waits on configuration reads": CreateSession and session
authentication read an immutable :class:`ConfigSnapshot`. A :class:`SnapshotProvider` rebuilds it
when the store's ``config_version`` changes. The version is read at most once every
``refresh_interval`` seconds, by a background thread (or, without one, by the first request after
the interval). With the default of 0.2 s, disabling a profile or trust anchor on one replica takes
effect on every replica sharing the store within 1 s, the bound DESIGN.md documents.

Roles come from the IAM store through the :class:`RoleSource` port and are loaded on first use
within a snapshot (then held until the next change). A rebuild loads again, before the swap, the
roles and managed policies the previous snapshot served, so a warm server reads nothing per
request, even right after a change.

Validated certificate paths are cached across snapshots, keyed by the certificates sent, the
trust anchor and its version, and the versions of the CRLs that apply; an entry is never used at
or after the earliest ``notAfter`` of its path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography import x509

from elsewhere.domain import Crl, Profile, TrustAnchor
from elsewhere.domain._iam import ManagedPolicy, Role
from elsewhere.policy import Policy, PolicyKind, parse_policy
from elsewhere.service._ports import SecretRepository, Store
from elsewhere.tokens import (
    KEY_SIZE,
    KeyRing,
    build_key_ring,
    open_key_ring,
    seal_key_ring,
)
from elsewhere.x509 import PathPolicy, ValidatedPath, parse_crl, validate_path

__all__ = [
    "KEY_RING_SECRET",
    "AnchorEntry",
    "ConfigSnapshot",
    "IamReader",
    "RoleEntry",
    "RoleSource",
    "RoleView",
    "SnapshotProvider",
    "StoreRoleSource",
    "load_or_create_key_ring",
]

_log = logging.getLogger("elsewhere.snapshot")

#: Name of the sealed session-token key ring in the store's secrets table.
KEY_RING_SECRET = "session_key_ring"  # noqa: S105 - a name, not a secret

_MAX_CHAIN_CACHE = 20_000


def load_or_create_key_ring(
    secrets: SecretRepository,
    master_key: bytes,
    *,
    now: dt.datetime,
    random: Callable[[int], bytes] = os.urandom,
) -> KeyRing:
    """The session-token key ring from the store, made (and sealed) on the first start.

    The ring is sealed under the master key (AES-SIV, ``tokens.seal_key_ring``); the first node to
    write wins, so replicas starting together agree on one ring.
    """
    candidate = seal_key_ring(build_key_ring(random(KEY_SIZE), created_at=now), master_key)
    blob = secrets.get_or_create(KEY_RING_SECRET, candidate)
    return open_key_ring(blob, master_key)


# --- roles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleView:
    """What the data plane needs of one IAM role (policy documents as JSON text)."""

    arn: str
    role_id: str
    name: str
    path: str
    account: str
    max_session_duration: int
    trust_policy: str
    inline_policies: tuple[tuple[str, str], ...] = ()  # (name, document)
    managed_policies: tuple[tuple[str, str], ...] = ()  # (arn, document)
    permissions_boundary: str | None = None  # document
    tags: tuple[tuple[str, str], ...] = ()


class RoleSource(Protocol):
    """Finds roles (and their policies) by ARN, and managed policies by ARN."""

    def load_role(self, arn: str) -> RoleView | None:
        """The role, or None when there is none."""
        ...

    def load_managed_policy(self, arn: str) -> str | None:
        """The default version's document of a managed policy, or None."""
        ...


class IamReader(Protocol):
    """The IAM store methods the data plane reads (``elsewhere.storage``'s IAM repository)."""

    def get_role_by_arn(self, arn: str) -> Role | None:
        """The role, or None."""
        ...

    def list_role_inline_policies(self, role_name: str) -> list[tuple[str, str]]:
        """(name, document) of each inline policy of the role."""
        ...

    def list_attached_role_policy_arns(self, role_name: str) -> list[str]:
        """The ARNs of the managed policies attached to the role."""
        ...

    def get_managed_policy(self, arn: str) -> ManagedPolicy | None:
        """The managed policy (``document`` is its default version), or None."""
        ...


class StoreRoleSource:
    """Reads roles and their policies from the IAM store."""

    def __init__(self, iam: IamReader) -> None:
        self._iam = iam

    def load_role(self, arn: str) -> RoleView | None:
        """The role with its inline, attached and boundary policies, or None."""
        role = self._iam.get_role_by_arn(arn)
        if role is None:
            return None
        managed = []
        for policy_arn in self._iam.list_attached_role_policy_arns(role.name):
            doc = self.load_managed_policy(policy_arn)
            if doc is not None:
                managed.append((policy_arn, doc))
        boundary = None
        if role.permissions_boundary_arn:
            boundary = self.load_managed_policy(role.permissions_boundary_arn)
        return RoleView(
            arn=role.arn,
            role_id=role.role_id,
            name=role.name,
            path=role.path,
            account=role.arn.split(":")[4],
            max_session_duration=role.max_session_duration,
            trust_policy=role.assume_role_policy,
            inline_policies=tuple(self._iam.list_role_inline_policies(role.name)),
            managed_policies=tuple(managed),
            permissions_boundary=boundary,
            tags=tuple((t.key, t.value) for t in role.tags),
        )

    def load_managed_policy(self, arn: str) -> str | None:
        """The document of the managed policy's default version, or None."""
        found = self._iam.get_managed_policy(arn)
        return found.document if found is not None else None


@dataclass(frozen=True)
class RoleEntry:
    """A role with its policies compiled once."""

    view: RoleView
    trust: Policy | None  # None when the stored trust policy does not parse
    identity: tuple[Policy, ...]
    boundary: Policy | None


def _compile_role(view: RoleView) -> RoleEntry:
    def compile_or_none(text: str | None, kind: PolicyKind, pid: str) -> Policy | None:
        if not text:
            return None
        try:
            return parse_policy(text, kind=kind, policy_id=pid, max_size=None)
        except Exception:
            _log.warning("policy %s of role %s does not parse; ignored", pid, view.arn)
            return None

    identity: list[Policy] = []
    for name, doc in view.inline_policies:
        compiled = compile_or_none(doc, PolicyKind.IDENTITY, name)
        if compiled is not None:
            identity.append(compiled)
    for arn, doc in view.managed_policies:
        compiled = compile_or_none(doc, PolicyKind.IDENTITY, arn)
        if compiled is not None:
            identity.append(compiled)
    return RoleEntry(
        view=view,
        trust=compile_or_none(view.trust_policy, PolicyKind.TRUST, "trust"),
        identity=tuple(identity),
        boundary=compile_or_none(view.permissions_boundary, PolicyKind.BOUNDARY, "boundary"),
    )


# --- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorEntry:
    """A trust anchor with its CA certificates and enabled CRLs parsed."""

    record: TrustAnchor
    certificates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    version: tuple[str, ...]  # changes whenever the anchor or one of its CRLs changes


@dataclass
class ConfigSnapshot:
    """One consistent view of the configuration; never mutated except for its lazy caches."""

    version: int
    anchors: dict[str, AnchorEntry]
    profiles: dict[str, Profile]
    ring: KeyRing | None
    roles: RoleSource
    _role_cache: dict[str, RoleEntry | None] = field(default_factory=dict)
    _policy_cache: dict[str, Policy | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def anchor(self, arn: str) -> AnchorEntry | None:
        """The trust anchor with this ARN, or None."""
        return self.anchors.get(arn)

    def profile(self, arn: str) -> Profile | None:
        """The profile with this ARN, or None."""
        return self.profiles.get(arn)

    def role(self, arn: str) -> RoleEntry | None:
        """The role with this ARN (loaded once per snapshot), or None."""
        try:
            return self._role_cache[arn]
        except KeyError:
            pass
        view = self.roles.load_role(arn)
        entry = _compile_role(view) if view is not None else None
        with self._lock:
            self._role_cache[arn] = entry
        return entry

    def managed_policy(self, arn: str) -> Policy | None:
        """A managed policy compiled as a session policy (loaded once per snapshot), or None."""
        try:
            return self._policy_cache[arn]
        except KeyError:
            pass
        doc = self.roles.load_managed_policy(arn)
        compiled: Policy | None = None
        if doc is not None:
            try:
                compiled = parse_policy(doc, kind=PolicyKind.SESSION, policy_id=arn, max_size=None)
            except Exception:
                compiled = None
        with self._lock:
            self._policy_cache[arn] = compiled
        return compiled


def _parse_anchor_certificates(anchor: TrustAnchor) -> tuple[x509.Certificate, ...]:
    pem = anchor.source.x509_certificate_data
    if not pem:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem.encode("utf-8")))
    except ValueError:
        _log.warning("trust anchor %s holds certificates that do not parse", anchor.arn)
        return ()


def build_snapshot(
    store: Store, roles: RoleSource, master_key: bytes | None, version: int
) -> ConfigSnapshot:
    """Read the whole configuration from ``store`` into a new snapshot."""
    crls_by_anchor: dict[str, list[Crl]] = {}
    for crl in store.crls.list_all():
        if crl.enabled:
            crls_by_anchor.setdefault(crl.trust_anchor_arn, []).append(crl)
    anchors: dict[str, AnchorEntry] = {}
    for anchor in store.trust_anchors.list_all():
        parsed: list[x509.CertificateRevocationList] = []
        crl_versions: list[str] = []
        for crl in crls_by_anchor.get(anchor.arn, []):
            try:
                parsed.append(parse_crl(crl.crl_data))
            except Exception:
                _log.warning("CRL %s does not parse; ignored", crl.arn)
                continue
            crl_versions.append(f"{crl.id}@{crl.updated_at.isoformat()}")
        anchors[anchor.arn] = AnchorEntry(
            record=anchor,
            certificates=_parse_anchor_certificates(anchor),
            crls=tuple(parsed),
            version=(anchor.arn, anchor.updated_at.isoformat(), *sorted(crl_versions)),
        )
    profiles = {p.arn: p for p in store.profiles.list_all()}
    ring = None
    if master_key is not None:
        blob = store.secrets.get(KEY_RING_SECRET)
        if blob is not None:
            ring = open_key_ring(blob, master_key)
    return ConfigSnapshot(
        version=version, anchors=anchors, profiles=profiles, ring=ring, roles=roles
    )


def _warm(fresh: ConfigSnapshot, previous: ConfigSnapshot) -> None:
    """Load into ``fresh`` the roles and managed policies ``previous`` served.

    Runs on the refresher before the swap, so requests after a configuration change find the
    roles in use already loaded and read nothing from the store (DESIGN.md, "The hot path never
    waits on configuration reads"). Entries that were None are not carried over: they may be
    names a caller made up.
    """
    for arn, entry in list(previous._role_cache.items()):
        if entry is not None:
            fresh.role(arn)
    for arn, policy in list(previous._policy_cache.items()):
        if policy is not None:
            fresh.managed_policy(arn)


# --- validated-chain cache ------------------------------------------------------------------


@dataclass(frozen=True)
class _CachedPath:
    path: ValidatedPath
    not_after: dt.datetime


class SnapshotProvider:
    """Holds the current snapshot and rebuilds it when the store says the configuration changed."""

    def __init__(
        self,
        store: Store,
        roles: RoleSource,
        *,
        master_key: bytes | None = None,
        refresh_interval: float = 0.2,
        background: bool = True,
        path_policy: PathPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._roles = roles
        self._master_key = master_key
        self._interval = refresh_interval
        self._monotonic = monotonic
        self._policy = path_policy or PathPolicy()
        self._lock = threading.Lock()
        self._paths: dict[bytes, _CachedPath] = {}
        self._paths_lock = threading.Lock()
        version = store.config_version()
        self._snapshot = build_snapshot(store, roles, master_key, version)
        self._checked = monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name="elsewhere-snapshot", daemon=True
            )
            self._thread.start()

    @property
    def path_policy(self) -> PathPolicy:
        """The path-validation policy used for every trust anchor."""
        return self._policy

    def current(self) -> ConfigSnapshot:
        """The snapshot to serve this request from (never older than the refresh interval)."""
        if self._thread is None and self._monotonic() - self._checked >= self._interval:
            self.refresh()
        return self._snapshot

    def refresh(self, *, force: bool = False) -> ConfigSnapshot:
        """Check the store's version now and rebuild the snapshot if it changed."""
        with self._lock:
            self._checked = self._monotonic()
            version = self._store.config_version()
            if force or version != self._snapshot.version:
                fresh = build_snapshot(self._store, self._roles, self._master_key, version)
                _warm(fresh, self._snapshot)
                self._snapshot = fresh
                _log.debug("configuration snapshot rebuilt at version %d", version)
            return self._snapshot

    def close(self) -> None:
        """Stop the background refresher."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.refresh()
            except Exception:
                _log.exception("refreshing the configuration snapshot failed")

    # -- validated paths ------------------------------------------------------------------------

    def validate(
        self,
        anchor: AnchorEntry,
        leaf: x509.Certificate,
        leaf_der: bytes,
        intermediates: Sequence[x509.Certificate],
        chain_header: str,
        *,
        now: dt.datetime,
    ) -> ValidatedPath:
        """The path from ``leaf`` to ``anchor``, from the cache when still valid; else validate."""
        digest = hashlib.sha256()
        for part in (*anchor.version, chain_header):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        digest.update(leaf_der)
        key = digest.digest()
        cached = self._paths.get(key)
        if cached is not None and now < cached.not_after:
            return cached.path
        path = validate_path(
            leaf, intermediates, anchor.certificates, anchor.crls, now=now, policy=self._policy
        )
        not_after = min(c.not_valid_after_utc for c in path.chain)
        with self._paths_lock:
            if len(self._paths) >= _MAX_CHAIN_CACHE:
                self._paths.clear()  # crude bound; a warm server refills it in one pass
            self._paths[key] = _CachedPath(path, not_after)
        return path
