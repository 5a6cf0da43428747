"""The in-memory configuration the data plane reads: anchors, profiles, CRLs, roles, key rings.

DESIGN.md, "The hot path never waits on configuration reads": CreateSession and session
authentication read an immutable :class:`ConfigSnapshot`. A :class:`SnapshotProvider` rebuilds it
when the store's ``config_version`` changes. The version is read at most once every
``refresh_interval`` seconds, by a background thread (or, without one, by the first request after
the interval). With the default of 0.2 s, disabling a profile or trust anchor on one replica takes
effect on every replica sharing the store within 1 s, the bound DESIGN.md documents.

Trust anchors and profiles are indexed by ARN and by alias ARN, so CreateSession's alias ARNs
are looked up in memory too.

Roles come from the IAM store through the :class:`RoleSource` port. Building a snapshot (at
startup, or on the refresher before the swap) preloads every role a profile names and every managed
policy a profile names (compiled as a session policy), so no successful CreateSession reads the
store. It also loads again the roles and managed policies the previous snapshot served, so a warm
server reads nothing per request, even right after a change. Other names (a role reached only by
STS role chaining, a policy passed as ``PolicyArns``) are loaded on first use and remembered within
bounds: at most ``MAX_LAZY_ENTRIES`` found entries of each kind and the ``MAX_MISSES`` most recently
asked-for names that do not exist (least recently used dropped first), so made-up ARNs cannot grow
memory without limit.

Validated certificate paths are cached across snapshots, keyed by the certificates sent, the
trust anchor and its version, and the versions of the CRLs that apply; an entry is never used at
or after the earliest ``notAfter`` of its path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from cryptography import x509

from elsewhere.cache import BoundedCache
from elsewhere.domain import (
    Crl,
    Profile,
    TrustAnchor,
    alias_arn_of,
    printable_text,
    unstorable_constraints,
)
from elsewhere.domain._iam import ManagedPolicy, Role
from elsewhere.errors import ServiceUnavailable
from elsewhere.oidc import IssuerState
from elsewhere.policy import Policy, PolicyKind, parse_policy
from elsewhere.service._federation import load_issuer_state
from elsewhere.service._health import LoopHealth, LoopState
from elsewhere.service._ports import SecretRepository, Store
from elsewhere.service._weights import policy_weight
from elsewhere.tokens import (
    KEY_SIZE,
    KeyRing,
    build_key_ring,
    open_key_ring,
    seal_key_ring,
)
from elsewhere.x509 import (
    PathPolicy,
    UntrustedCertificate,
    parse_crl,
    parse_crl_signers,
    validate_path,
)

__all__ = [
    "KEY_RING_SECRET",
    "MAX_LAZY_ENTRIES",
    "MAX_MISSES",
    "MAX_STALENESS_SECONDS",
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

#: The oldest configuration a server serves (DESIGN.md: a disabled profile or trust anchor is
#: refused everywhere within 1 s); past it, the data plane answers 503 ServiceUnavailable.
MAX_STALENESS_SECONDS = 1.0

# How often a request may read the store's version itself when the snapshot is past its bound.
_REQUEST_PATH_RETRY = 0.1

#: Name of the sealed session-token key ring in the store's secrets table.
KEY_RING_SECRET = "session_key_ring"  # noqa: S105 - a name, not a secret

#: Validated paths remembered (across snapshots). An entry is the path's key (a SHA-256) and the
#: earliest notAfter of its certificates, about 300 bytes: 20,000 of them hold about 6 MB.
MAX_VALIDATED_PATHS = 20_000
_PATH_ENTRY_BYTES = 320

#: Roles (and, separately, managed policies) loaded on demand that one snapshot remembers. Names a
#: profile lists are preloaded and not counted. Found entries are real store rows, so an unkind
#: caller cannot invent them; the cap still bounds memory on a store with very many roles (past
#: it, a lookup is served but not remembered, and so reads the store each time).
MAX_LAZY_ENTRIES = 4096

#: Estimated bytes of the roles (and, separately, managed policies) loaded on demand that one
#: snapshot remembers (see service._weights).
LAZY_BYTES = 32 * 1024 * 1024

#: Names that were not found that one snapshot remembers, per kind (least recently used dropped
#: first). An authenticated STS caller can ask for any ARN; without this bound each made-up name
#: would stay in memory until the next configuration change.
MAX_MISSES = 1024


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
    # Certificates imported with the CRLs (a separate CRL signer, a rollover's link certificate).
    crl_signers: tuple[x509.Certificate, ...] = ()
    # Enabled CRLs that do not parse (ARNs): with any, revocation cannot be checked.
    unreadable_crls: tuple[str, ...] = ()


_T = TypeVar("_T")


class _Memo(Generic[_T]):
    """A per-snapshot memo of lookups by ARN whose growth is bounded.

    ``pinned`` holds what the snapshot was built with (found or not), never evicted: its size is
    that of the configuration. ``found`` holds lookups made later that found something, at most
    ``MAX_LAZY_ENTRIES`` and ``max_bytes`` of estimated memory (a compiled role or policy weighs
    what :func:`policy_weight` says of its documents), oldest dropped first. ``misses`` holds
    later lookups that found nothing, the ``MAX_MISSES`` most recently asked for. Reads of
    ``pinned`` and ``found`` take no lock (the entries never change once written).
    """

    def __init__(
        self,
        max_found: int = MAX_LAZY_ENTRIES,
        max_misses: int = MAX_MISSES,
        *,
        max_bytes: int = LAZY_BYTES,
        weigh: Callable[[_T], int] = lambda _value: 1,
    ) -> None:
        self._pinned: dict[str, _T | None] = {}
        self._found: BoundedCache[str, _T] = BoundedCache(
            max_entries=max_found, max_weight=max_bytes
        )
        # An ARN is at most 2,048 characters; each miss weighs its name.
        self._misses: BoundedCache[str, bool] = BoundedCache(
            max_entries=max_misses, max_weight=max_misses * 2 * 1024, lru=True
        )
        self._weigh = weigh
        self._lock = threading.Lock()

    def lookup(self, arn: str) -> tuple[bool, _T | None]:
        """(True, value) when ``arn`` is remembered (value None for a remembered miss)."""
        if arn in self._pinned:
            return True, self._pinned[arn]
        found = self._found.get(arn)
        if found is not None:
            return True, found
        if self._misses.get(arn):
            return True, None
        return False, None

    def pin(self, arn: str, value: _T | None) -> None:
        """Remember what the build loaded for ``arn``, for the life of the snapshot."""
        with self._lock:
            self._pinned[arn] = value
            self._found.pop(arn)
            self._misses.pop(arn)

    def remember(self, arn: str, value: _T | None) -> None:
        """Remember a lookup made on demand, within the bounds."""
        if arn in self._pinned:
            return
        if value is None:
            self._misses.put(arn, True, weight=len(arn))
        else:
            self._found.put(arn, value, weight=self._weigh(value))

    def found_arns(self) -> list[str]:
        """The ARNs remembered with a value (pinned or loaded on demand)."""
        with self._lock:
            pinned = [arn for arn, value in self._pinned.items() if value is not None]
        return pinned + self._found.oldest_first()

    def sizes(self) -> tuple[int, int, int]:
        """(pinned, found on demand, misses) counts."""
        return len(self._pinned), len(self._found), len(self._misses)


def _role_weight(entry: RoleEntry) -> int:
    view = entry.view
    return policy_weight(
        view.trust_policy,
        view.permissions_boundary,
        *(doc for _, doc in view.inline_policies),
        *(doc for _, doc in view.managed_policies),
    )


def _policy_weight(policy: Policy) -> int:
    return policy_weight(policy.text)


def _compile_session_policy(arn: str, doc: str | None) -> Policy | None:
    if doc is None:
        return None
    try:
        return parse_policy(doc, kind=PolicyKind.SESSION, policy_id=arn, max_size=None)
    except Exception:
        _log.warning("managed policy %s does not parse as a session policy; ignored", arn)
        return None


@dataclass
class ConfigSnapshot:
    """One consistent view of the configuration; never mutated except for its lookup memos."""

    version: int
    anchors: dict[str, AnchorEntry]
    profiles: dict[str, Profile]
    ring: KeyRing | None
    roles: RoleSource
    #: Outbound federation's switch and signing keys (None without a master key, or before a
    #: server has started on the store).
    issuer: IssuerState | None = None
    #: The same entries by alias ARN, for CreateSession's alias ARNs (no store read per request).
    anchor_aliases: dict[str, AnchorEntry] = field(default_factory=dict)
    profile_aliases: dict[str, Profile] = field(default_factory=dict)
    # What the build could not read and left out (each failing closed), for the log and /ping.
    unreadable: tuple[str, ...] = ()
    _role_memo: _Memo[RoleEntry] = field(default_factory=lambda: _Memo(weigh=_role_weight))
    _policy_memo: _Memo[Policy] = field(default_factory=lambda: _Memo(weigh=_policy_weight))

    def anchor(self, arn: str) -> AnchorEntry | None:
        """The trust anchor with this ARN or alias ARN, or None."""
        return self.anchors.get(arn) or self.anchor_aliases.get(arn)

    def profile(self, arn: str) -> Profile | None:
        """The profile with this ARN or alias ARN, or None."""
        return self.profiles.get(arn) or self.profile_aliases.get(arn)

    def role(self, arn: str) -> RoleEntry | None:
        """The role with this ARN, or None; preloaded when a profile names it, else loaded once."""
        known, entry = self._role_memo.lookup(arn)
        if known:
            return entry
        entry = self._load_role(arn)
        self._role_memo.remember(arn, entry)
        return entry

    def managed_policy(self, arn: str) -> Policy | None:
        """A managed policy compiled as a session policy (preloaded when a profile names it)."""
        known, policy = self._policy_memo.lookup(arn)
        if known:
            return policy
        policy = self._load_policy(arn)
        self._policy_memo.remember(arn, policy)
        return policy

    def preload(self, role_arns: Iterable[str], policy_arns: Iterable[str]) -> None:
        """Load roles and managed policies now and hold them for the life of the snapshot.

        For the builder (refresher thread or startup), never the request path.
        """
        for arn in dict.fromkeys(role_arns):
            if not self._role_memo.lookup(arn)[0]:
                self._role_memo.pin(arn, self._load_role(arn))
        for arn in dict.fromkeys(policy_arns):
            if not self._policy_memo.lookup(arn)[0]:
                self._policy_memo.pin(arn, self._load_policy(arn))

    def _load_role(self, arn: str) -> RoleEntry | None:
        if unstorable_constraints(arn):
            # Stored before the wire refused such text (domain._text): no store can be asked for
            # it, and no CreateSession can name it any more. It is a role that does not exist.
            return None
        view = self.roles.load_role(arn)
        return _compile_role(view) if view is not None else None

    def _load_policy(self, arn: str) -> Policy | None:
        if unstorable_constraints(arn):
            return None  # as in _load_role
        return _compile_session_policy(arn, self.roles.load_managed_policy(arn))


def _parse_anchor_certificates(
    anchor: TrustAnchor, unreadable: list[str]
) -> tuple[x509.Certificate, ...]:
    """The anchor's CA certificates; none (it trusts nothing) when they do not parse."""
    pem = anchor.source.x509_certificate_data
    if not pem:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem.encode("utf-8")))
    except ValueError:
        unreadable.append(f"the certificates of trust anchor {anchor.arn} do not parse")
        return ()


def build_snapshot(
    store: Store, roles: RoleSource, master_key: bytes | None, version: int
) -> ConfigSnapshot:
    """Read the whole configuration from ``store`` into a new snapshot, its profiles' roles loaded.

    Every role a profile names, and every managed policy a profile names (as a session policy), is
    loaded here so that CreateSession, which accepts only a role its profile lists, never reads the
    store (DESIGN.md, "The hot path never waits on configuration reads").
    """
    crls_by_anchor: dict[str, list[Crl]] = {}
    for crl in store.crls.list_all():
        if crl.enabled:
            crls_by_anchor.setdefault(crl.trust_anchor_arn, []).append(crl)
    anchors: dict[str, AnchorEntry] = {}
    # What this build leaves out, each failing closed, for the log and /ping (a poisoned record
    # must not stop the refresh, which would freeze revocation).
    left_out: list[str] = []
    for anchor in store.trust_anchors.list_all():
        parsed: list[x509.CertificateRevocationList] = []
        signers: list[x509.Certificate] = []
        unreadable: list[str] = []
        crl_versions: list[str] = []
        for crl in crls_by_anchor.get(anchor.arn, []):
            crl_versions.append(f"{crl.id}@{crl.updated_at.isoformat()}")
            try:
                revocation_list = parse_crl(crl.crl_data)
                with_it = parse_crl_signers(crl.crl_data)
            except Exception:
                # ImportCrl checked it, so only a stricter parser gets here. Revocation never
                # fails open: the anchor refuses every path until the CRL is fixed (validate).
                left_out.append(f"CRL {crl.arn} of {anchor.arn} does not parse; its anchor refuses")
                unreadable.append(crl.arn)
                continue
            parsed.append(revocation_list)
            signers.extend(with_it)
        anchors[anchor.arn] = AnchorEntry(
            record=anchor,
            certificates=_parse_anchor_certificates(anchor, left_out),
            crls=tuple(parsed),
            version=(anchor.arn, anchor.updated_at.isoformat(), *sorted(crl_versions)),
            crl_signers=tuple(signers),
            unreadable_crls=tuple(unreadable),
        )
    profiles = {p.arn: p for p in store.profiles.list_all()}
    for profile in profiles.values():
        for arn in (*profile.role_arns, *profile.managed_policy_arns):
            if unstorable_constraints(arn):
                left_out.append(
                    f"profile {profile.arn} names {printable_text(arn)!r}, which holds text no "
                    "store can look up; it is treated as absent"
                )
    for line in left_out:
        _log.error("configuration snapshot at version %d: %s", version, line)
    ring = None
    issuer = None
    if master_key is not None:
        blob = store.secrets.get(KEY_RING_SECRET)
        if blob is not None:
            ring = open_key_ring(blob, master_key)
        issuer = load_issuer_state(store.secrets, master_key)
    snapshot = ConfigSnapshot(
        version=version,
        anchors=anchors,
        profiles=profiles,
        ring=ring,
        roles=roles,
        issuer=issuer,
        unreadable=tuple(left_out),
        anchor_aliases={
            alias_arn_of(arn, entry.record.alias_name): entry
            for arn, entry in anchors.items()
            if entry.record.alias_name is not None
        },
        profile_aliases={
            alias_arn_of(arn, p.alias_name): p for arn, p in profiles.items() if p.alias_name
        },
    )
    snapshot.preload(
        (arn for p in profiles.values() for arn in p.role_arns),
        (arn for p in profiles.values() for arn in p.managed_policy_arns),
    )
    return snapshot


def _warm(fresh: ConfigSnapshot, previous: ConfigSnapshot) -> None:
    """Load into ``fresh`` the roles and managed policies ``previous`` served.

    Runs on the refresher before the swap, so requests after a configuration change find the
    roles in use already loaded and read nothing from the store (DESIGN.md, "The hot path never
    waits on configuration reads"). Entries that were None are not carried over: they may be
    names a caller made up. Names ``fresh`` preloaded are not read again.
    """
    for arn in previous._role_memo.found_arns():
        fresh.role(arn)
    for arn in previous._policy_memo.found_arns():
        fresh.managed_policy(arn)


class SnapshotProvider:
    """Holds the current snapshot and rebuilds it when the store says the configuration changed.

    The snapshot served is never older than ``max_staleness`` (1 s, DESIGN.md's bound): its age is
    the time since the store's version was last read successfully. A request that finds it older
    (the refresher failing, or starved) checks the store itself, at most once per refresh interval;
    if that fails too, it is refused with 503 ServiceUnavailableException rather than served stale
    trust (a disabled profile or anchor, an imported CRL, a tightened policy).
    """

    def __init__(
        self,
        store: Store,
        roles: RoleSource,
        *,
        master_key: bytes | None = None,
        refresh_interval: float = 0.2,
        max_staleness: float = MAX_STALENESS_SECONDS,
        background: bool = True,
        path_policy: PathPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._roles = roles
        self._master_key = master_key
        self._interval = refresh_interval
        self._max_staleness = max_staleness
        self._monotonic = monotonic
        self._policy = path_policy or PathPolicy()
        self._lock = threading.Lock()
        # Path key -> nothing; each entry expires at its path's earliest notAfter. Only paths
        # that validated are kept, so what the cache holds is bounded by trusted certificates.
        self._paths: BoundedCache[bytes, bool] = BoundedCache(
            max_entries=MAX_VALIDATED_PATHS,
            max_weight=MAX_VALIDATED_PATHS * _PATH_ENTRY_BYTES,
        )
        self.health = LoopHealth(
            "configuration", _log, "refreshing the configuration snapshot", monotonic=monotonic
        )
        fresh_at = monotonic()
        version = store.config_version()
        self._snapshot = build_snapshot(store, roles, master_key, version)
        self._checked = fresh_at
        # When the store's version was last read successfully: the age of what is served (also
        # the metrics' snapshot age).
        self._confirmed = fresh_at
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

    @property
    def version(self) -> int:
        """The configuration version of the serving snapshot."""
        return self._snapshot.version

    def age_seconds(self) -> float:
        """Seconds since the serving snapshot was last confirmed to match the store."""
        return max(0.0, self._monotonic() - self._confirmed)

    @property
    def refresh_failures(self) -> int:
        """Failed checks or rebuilds of the snapshot since start (the metrics' counter)."""
        return self.health.failures

    def cache_sizes(self) -> dict[str, int]:
        """Entries held: validated paths, and the serving snapshot's roles and policies."""
        roles = sum(self._snapshot._role_memo.sizes())
        policies = sum(self._snapshot._policy_memo.sizes())
        return {"validated_paths": len(self._paths), "roles": roles, "managed_policies": policies}

    def cached_paths(self) -> tuple[int, int]:
        """Entries and estimated bytes of the validated-path cache."""
        return len(self._paths), self._paths.weight

    def current(self) -> ConfigSnapshot:
        """The snapshot to serve this request from, never older than ``max_staleness``.

        Raises :class:`ServiceUnavailable` when the configuration cannot be confirmed within the
        bound: serving it could ignore a revocation made since.
        """
        now = self._monotonic()
        if self._thread is None and now - self._checked >= self._interval:
            self._try_refresh()  # no refresher: the first request after the interval checks
            now = self._monotonic()
        if now - self._confirmed > self._max_staleness:
            self._catch_up_or_refuse()
        return self._snapshot

    def _catch_up_or_refuse(self) -> None:
        """Read the store's version from the request path, or refuse the request (503).

        One request tries per refresh interval (at most 0.1 s), so a store that hangs or fails is
        not asked by every request; the others are refused at once while it is failing.
        """
        if not self._lock.acquire(timeout=self._max_staleness):
            raise self._unavailable("the refresher holds the snapshot lock past the bound")
        try:
            now = self._monotonic()
            if now - self._confirmed <= self._max_staleness:
                return  # another thread refreshed meanwhile
            if now - self._checked >= min(self._interval, _REQUEST_PATH_RETRY):
                self._refresh_locked(force=False)
                return
        except Exception as exc:
            self.health.failed(exc)
            raise self._unavailable(f"refreshing on the request path failed: {exc}") from None
        finally:
            self._lock.release()
        raise self._unavailable("the last refresh failed")

    def _unavailable(self, why: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            reason=f"configuration snapshot is {self.age_seconds():.1f} s old, past the "
            f"{self._max_staleness:g} s bound; {why}"
        )

    def refresh(self, *, force: bool = False) -> ConfigSnapshot:
        """Check the store's version now and rebuild the snapshot if it changed (or raise)."""
        with self._lock:
            try:
                return self._refresh_locked(force=force)
            except Exception as exc:
                self.health.failed(exc)
                raise

    def _refresh_locked(self, *, force: bool) -> ConfigSnapshot:
        started = self._checked = self._monotonic()
        version = self._store.config_version()
        if force or version != self._snapshot.version:
            fresh = build_snapshot(self._store, self._roles, self._master_key, version)
            _warm(fresh, self._snapshot)
            self._snapshot = fresh
            _log.debug("configuration snapshot rebuilt at version %d", version)
        # The snapshot now holds what the store held when its version was read.
        self._confirmed = started
        self.health.succeeded()
        return self._snapshot

    def _try_refresh(self) -> None:
        """Refresh, counting and logging a failure (through :attr:`health`) instead of raising."""
        with contextlib.suppress(Exception):
            self.refresh()

    def catch_up(self) -> None:
        """Serve this node's own writes from the next request on (DESIGN.md, read your writes).

        Called after each control-plane or IAM call on this node: the version read is one cheap
        query, and the snapshot is rebuilt only if the call changed the configuration. Other
        replicas learn of the change from the background refresher, within the documented bound.
        The call that wrote has committed whatever happens here, so a failed rebuild is logged and
        counted (:attr:`health`), not raised into its answer; the refresher keeps trying.
        """
        self._try_refresh()

    def state(self) -> LoopState:
        """The refresher's state for ``/ping``: failures, records left out, the age served."""
        unreadable = len(self._snapshot.unreadable)
        return self.health.state(
            impaired=unreadable > 0,
            counts={"unreadableRecords": unreadable},
            age_seconds=self.age_seconds(),
        )

    def stale(self) -> bool:
        """Whether the configuration is past its bound, so CreateSession would be refused.

        A refresher that merely fell behind is caught up here, as a request would catch it up
        (at most one store read per 0.1 s), so only a store that cannot be read counts.
        """
        if self._monotonic() - self._confirmed <= self._max_staleness:
            return False
        try:
            self.current()
        except ServiceUnavailable:
            return True
        return False

    def close(self) -> None:
        """Stop the background refresher."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._try_refresh()

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
    ) -> None:
        """Raise UntrustedCertificate unless ``leaf`` has a valid path to ``anchor`` at ``now``.

        A path that validated is remembered until its earliest notAfter, keyed by the anchor's
        and its CRLs' versions, the chain header and the leaf, so a repeat caller skips the work.
        """
        digest = hashlib.sha256()
        for part in (*anchor.version, chain_header):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        digest.update(leaf_der)
        key = digest.digest()
        if anchor.unreadable_crls:
            raise UntrustedCertificate(
                f"CRL {anchor.unreadable_crls[0]} of the trust anchor does not parse, so "
                "revocation cannot be checked"
            )
        if self._paths.get(key, now):
            return
        path = validate_path(
            leaf,
            intermediates,
            anchor.certificates,
            anchor.crls,
            now=now,
            policy=self._policy,
            crl_signers=anchor.crl_signers,
        )
        self._paths.put(key, True, weight=_PATH_ENTRY_BYTES, expires=path.not_after)
