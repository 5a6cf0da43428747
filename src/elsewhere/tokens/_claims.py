"""What a session token says about its session, and the compact encoding of it.

The claims are split in two for sealing: the *times* (``issued_at``, ``expires_at``), which change
on every issue, are written by ``_session`` as fixed-width fields; everything else is the *static
section* (:func:`encode_static_claims`), which repeats for every session a workload is issued, so
it can be encoded (and compressed) once and reused.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass

from elsewhere.tokens._codec import DecodeError, Reader, Writer

__all__ = [
    "CLAIMS_FORMAT",
    "STATIC_FIELDS",
    "SessionClaims",
    "StaticClaims",
    "assemble_claims",
    "decode_static_claims",
    "encode_static_claims",
    "static_claims",
]

#: Version of the static claims encoding inside the sealed payload; bump it when fields change.
#: Format 2 moved the two times out of this section (they travel raw ahead of it). Format 3 adds
#: the trusted identity propagation context after the certificate fields; a session without one
#: is still written in format 2 (the same bytes as before), and both are read.
CLAIMS_FORMAT = 3
_FORMAT_WITHOUT_ORIGIN = 2

# Upper bounds used when decoding; they are far above the STS limits (50 tags, 10 policy ARNs,
# reference iam-policy-evaluation.md §7.1) so that only garbage trips them.
_MAX_TAGS = 256
_MAX_ARNS = 64

_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """Everything needed to authorize the later calls of one role session.

    Times are timezone-aware and normalised to UTC. ``principal_tags`` keeps the order the tags
    were issued in (case preserved; keys are case-insensitive in IAM). ``source`` names what issued
    the session: a trust anchor ARN for CreateSession, ``"sts:AssumeRole"`` for STS.
    ``chain_depth`` is 0 for a session issued from a certificate or a long-term key and one more
    for each role-chaining step (STS caps chained sessions at one hour, reference §7.2).
    """

    account: str
    role_arn: str
    role_id: str
    role_name: str
    role_path: str
    session_name: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    source: str
    source_identity: str | None = None
    principal_tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    session_policy: str | None = None
    managed_policy_arns: tuple[str, ...] = ()
    chain_depth: int = 0
    certificate_serial: str | None = None
    certificate_subject: str | None = None
    certificate_issuer: str | None = None
    #: Trusted identity propagation (IAM User Guide, "Trusted identity propagation with IAM"):
    #: ``aws:OriginIdentity/Subject``, ``/SubjectType`` and ``/Issuer`` of the session, set
    #: from the certificate when the profile turns TIP on, kept along a role chain, never set by
    #: a caller.
    origin_subject: str | None = None
    origin_subject_type: str | None = None
    origin_issuer: str | None = None

    def __post_init__(self) -> None:
        """Normalise times to UTC and tags to tuples; refuse naive datetimes."""
        # Every session issue builds one of these, so values already in normal form (UTC
        # datetimes, tuples of string pairs) are recognised and left alone without rebuilding.
        issued, expires = self.issued_at, self.expires_at
        if type(issued) is not dt.datetime or issued.tzinfo is not _UTC:
            object.__setattr__(self, "issued_at", _utc("issued_at", issued))
        if type(expires) is not dt.datetime or expires.tzinfo is not _UTC:
            object.__setattr__(self, "expires_at", _utc("expires_at", expires))
        tags = self.principal_tags
        if type(tags) is not tuple or not all(
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and type(pair[1]) is str
            for pair in tags
        ):
            object.__setattr__(self, "principal_tags", tuple((str(k), str(v)) for k, v in tags))
        if type(self.transitive_tag_keys) is not tuple:
            object.__setattr__(self, "transitive_tag_keys", tuple(self.transitive_tag_keys))
        if type(self.managed_policy_arns) is not tuple:
            object.__setattr__(self, "managed_policy_arns", tuple(self.managed_policy_arns))
        if self.chain_depth < 0:
            raise ValueError("SessionClaims.chain_depth must be non-negative")

    @property
    def partition(self) -> str:
        """The partition of the role ARN (``aws`` unless the ARN says otherwise)."""
        parts = self.role_arn.split(":", 2)
        return parts[1] if len(parts) > 2 and parts[1] else "aws"

    @property
    def session_arn(self) -> str:
        """``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``; the role path is omitted (§7.3)."""
        return (
            f"arn:{self.partition}:sts::{self.account}:assumed-role/"
            f"{self.role_name}/{self.session_name}"
        )

    @property
    def assumed_role_id(self) -> str:
        """``ROLE-ID:SESSION-NAME``, also the session's ``aws:userid`` (§7.3)."""
        return f"{self.role_id}:{self.session_name}"

    @property
    def is_chained(self) -> bool:
        """True when this session was made by role chaining."""
        return self.chain_depth > 0


def _utc(name: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"SessionClaims.{name} must be a timezone-aware datetime")
    return value.astimezone(_UTC)


#: The fields of :class:`SessionClaims` in the static section, in encoding order: all but the times.
STATIC_FIELDS: tuple[str, ...] = (
    "account",
    "role_arn",
    "role_id",
    "role_name",
    "role_path",
    "session_name",
    "source",
    "source_identity",
    "principal_tags",
    "transitive_tag_keys",
    "session_policy",
    "managed_policy_arns",
    "chain_depth",
    "certificate_serial",
    "certificate_subject",
    "certificate_issuer",
    "origin_subject",
    "origin_subject_type",
    "origin_issuer",
)

#: The static claims' values, in :data:`STATIC_FIELDS` order (already normalised).
StaticClaims = tuple[object, ...]


_get_static = operator.attrgetter(*STATIC_FIELDS)


def static_claims(claims: SessionClaims) -> StaticClaims:
    """The values of the static fields of ``claims``, in :data:`STATIC_FIELDS` order."""
    values: StaticClaims = _get_static(claims)
    return values


def encode_static_claims(claims: SessionClaims) -> bytes:
    """The compact binary form of everything in ``claims`` but the two times."""
    out = Writer()
    origin = (claims.origin_subject, claims.origin_subject_type, claims.origin_issuer)
    with_origin = origin != (None, None, None)
    out.uint(CLAIMS_FORMAT if with_origin else _FORMAT_WITHOUT_ORIGIN)
    out.text(claims.account)
    out.text(claims.role_arn)
    out.text(claims.role_id)
    out.text(claims.role_name)
    out.text(claims.role_path)
    out.text(claims.session_name)
    out.text(claims.source)
    out.optional_text(claims.source_identity)
    out.uint(len(claims.principal_tags))
    for key, value in claims.principal_tags:
        out.text(key)
        out.text(value)
    out.texts(claims.transitive_tag_keys)
    out.optional_text(claims.session_policy)
    out.texts(claims.managed_policy_arns)
    out.uint(claims.chain_depth)
    out.optional_text(claims.certificate_serial)
    out.optional_text(claims.certificate_subject)
    out.optional_text(claims.certificate_issuer)
    if with_origin:
        for part in origin:
            out.optional_text(part)
    return out.getvalue()


def decode_static_claims(data: bytes) -> StaticClaims:
    """Read all of ``data`` as written by :func:`encode_static_claims`; ``DecodeError`` if bad."""
    reader = Reader(data)
    form = reader.uint()
    if form not in (CLAIMS_FORMAT, _FORMAT_WITHOUT_ORIGIN):
        raise DecodeError("unknown claims format")
    text = reader.text
    optional_text = reader.optional_text
    account = text()
    role_arn = text()
    role_id = text()
    role_name = text()
    role_path = text()
    session_name = text()
    source = text()
    source_identity = optional_text()
    tag_count = reader.uint()
    if tag_count > _MAX_TAGS:
        raise DecodeError("too many tags")
    tags = tuple((text(), text()) for _ in range(tag_count))
    transitive = reader.texts(_MAX_TAGS)
    session_policy = optional_text()
    arns = reader.texts(_MAX_ARNS)
    chain_depth = reader.uint()
    serial = optional_text()
    subject = optional_text()
    issuer = optional_text()
    origin: tuple[str | None, ...] = (None, None, None)
    if form == CLAIMS_FORMAT:
        origin = (optional_text(), optional_text(), optional_text())
    reader.end()
    return (
        account,
        role_arn,
        role_id,
        role_name,
        role_path,
        session_name,
        source,
        source_identity,
        tags,
        transitive,
        session_policy,
        arns,
        chain_depth,
        serial,
        subject,
        issuer,
        *origin,
    )


_new = object.__new__
_set = object.__setattr__
_STATIC_SLOTS = tuple(enumerate(STATIC_FIELDS))


def assemble_claims(
    static: StaticClaims, issued_at: dt.datetime, expires_at: dt.datetime
) -> SessionClaims:
    """Claims from decoded static values and two UTC datetimes, without re-normalising them.

    Only for values that are already in normal form (from :func:`decode_static_claims` or
    :func:`static_claims`, and UTC datetimes): it skips ``__post_init__``, which is the cost.
    """
    claims: SessionClaims = _new(SessionClaims)
    for index, name in _STATIC_SLOTS:
        _set(claims, name, static[index])
    _set(claims, "issued_at", issued_at)
    _set(claims, "expires_at", expires_at)
    return claims
