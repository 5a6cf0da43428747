"""What a session token says about its session, and the compact encoding of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from elsewhere.tokens._codec import DecodeError, Reader, Writer

__all__ = ["CLAIMS_FORMAT", "SessionClaims", "decode_claims", "encode_claims"]

#: Version of the claims encoding inside the sealed payload; bump it when fields change.
CLAIMS_FORMAT = 1

# Upper bounds used when decoding; they are far above the STS limits (50 tags, 10 policy ARNs,
# reference iam-policy-evaluation.md §7.1) so that only garbage trips them.
_MAX_TAGS = 256
_MAX_ARNS = 64


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

    def __post_init__(self) -> None:
        """Normalise times to UTC and tags to tuples; refuse naive datetimes."""
        for name in ("issued_at", "expires_at"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise ValueError(f"SessionClaims.{name} must be a timezone-aware datetime")
            object.__setattr__(self, name, value.astimezone(dt.UTC))
        object.__setattr__(
            self, "principal_tags", tuple((str(k), str(v)) for k, v in self.principal_tags)
        )
        object.__setattr__(self, "transitive_tag_keys", tuple(self.transitive_tag_keys))
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


def encode_claims(claims: SessionClaims) -> bytes:
    """The compact binary form of ``claims`` (fixed field order, format ``CLAIMS_FORMAT``)."""
    out = Writer()
    out.uint(CLAIMS_FORMAT)
    out.text(claims.account)
    out.text(claims.role_arn)
    out.text(claims.role_id)
    out.text(claims.role_name)
    out.text(claims.role_path)
    out.text(claims.session_name)
    out.when(claims.issued_at)
    out.when(claims.expires_at)
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
    return out.getvalue()


def decode_claims(reader: Reader) -> SessionClaims:
    """Read claims written by :func:`encode_claims`; raises ``DecodeError`` on bad input."""
    if reader.uint() != CLAIMS_FORMAT:
        raise DecodeError("unknown claims format")
    account = reader.text()
    role_arn = reader.text()
    role_id = reader.text()
    role_name = reader.text()
    role_path = reader.text()
    session_name = reader.text()
    issued_at = reader.when()
    expires_at = reader.when()
    source = reader.text()
    source_identity = reader.optional_text()
    tag_count = reader.uint()
    if tag_count > _MAX_TAGS:
        raise DecodeError("too many tags")
    tags = tuple((reader.text(), reader.text()) for _ in range(tag_count))
    transitive = reader.texts(_MAX_TAGS)
    session_policy = reader.optional_text()
    arns = reader.texts(_MAX_ARNS)
    chain_depth = reader.uint()
    return SessionClaims(
        account=account,
        role_arn=role_arn,
        role_id=role_id,
        role_name=role_name,
        role_path=role_path,
        session_name=session_name,
        issued_at=issued_at,
        expires_at=expires_at,
        source=source,
        source_identity=source_identity,
        principal_tags=tags,
        transitive_tag_keys=transitive,
        session_policy=session_policy,
        managed_policy_arns=arns,
        chain_depth=chain_depth,
        certificate_serial=reader.optional_text(),
        certificate_subject=reader.optional_text(),
        certificate_issuer=reader.optional_text(),
    )
