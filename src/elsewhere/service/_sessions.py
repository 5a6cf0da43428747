"""CreateSession: from a certificate-signed ``POST /sessions`` to temporary credentials.

The checks run in the order of rolesanywhere-protocol.md §4.3: signature (with time and scope),
trust anchor and certificate path, profile and role, ``roleSessionName``, duration, principal
tags, source identity, session name, then the role's trust policy, evaluated by the policy engine
for the service principal ``rolesanywhere.amazonaws.com``. The caller gets AWS's texts only
(§2.3, §9); every refusal carries the precise cause as its ``reason``, which the gateway logs
under the request id.

Both request forms are served: the ARNs in the query string with ``application/json`` (AWS's
``aws_signing_helper``) and the ARNs in the JSON body with ``application/x-amz-json-1.0`` (the
awslabs Python session), §2.1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import json.encoder
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere.cache import BoundedCache
from elsewhere.clock import Clock
from elsewhere.domain import (
    SERVICE_PRINCIPAL,
    Profile,
    format_rolesanywhere_arn,
    format_utc_seconds,
    printable_text,
    unstorable_constraints,
)
from elsewhere.errors import (
    AccessDenied,
    ElsewhereError,
    PackedPolicyTooLarge,
    SerializationError,
    SignatureExpired,
    ValidationError,
)
from elsewhere.policy import ALLOWED, ContextValue, Policy, PolicySet, RequestContext, evaluate
from elsewhere.policy import Principal as PolicyPrincipal
from elsewhere.service._session_caches import (
    CACHE_BYTES,
    MAX_ENTRIES,
    chain_weight,
    context_weight,
    input_weight,
    leaf_weight,
    plan_weight,
    subject_weight,
    tags_weight,
    trust_weight,
)
from elsewhere.service._snapshot import (
    AnchorEntry,
    ConfigSnapshot,
    RoleEntry,
    SnapshotProvider,
)
from elsewhere.service._subjects import SubjectRecorder
from elsewhere.service._tip import MissingOriginSubject, OriginIdentity, origin_identity
from elsewhere.sigv4 import (
    UNSIGNED_PAYLOAD,
    HttpRequest,
    SignedRequest,
    SigningCertificate,
    check_request_time,
    check_scope,
    verify_x509_signature,
)
from elsewhere.tokens import (
    PreparedSession,
    SessionClaims,
    issue_prepared_credentials,
    prepare_session,
    validate_packed_policy_size,
)
from elsewhere.x509 import (
    UntrustedCertificate,
    certificate_attributes,
    default_session_name,
    format_subject_dn,
    parse_certificate_header,
    parse_chain_header,
    source_identity,
    validate_public_key,
)

__all__ = [
    "REFUSAL_CLASSES",
    "CreateSessionHandler",
    "SessionAnswer",
    "SessionDenied",
    "SessionSettings",
    "SessionTrail",
    "is_legal_tag_text",
    "map_principal_tags",
    "subject_id_for",
]

_log = logging.getLogger("elsewhere.sessions")

INVALID_SIGNATURE = "Invalid signature"
NOT_AUTHORIZED_SESSION_NAME = "Not authorized to set roleSessionName"

# Patterns of the CreateSession input model (reference §2.1) and of STS's RoleSessionName.
# The profile and trust anchor may also be named by alias ARN (the alias-ARN alternative as the
# control-plane model spells it in TrustAnchorIdentifierArn): "You can use the alias ARN in place
# of the resource ID or ARN" (aliasArn of ProfileDetail and TrustAnchorDetail).
_PROFILE_ARN = re.compile(r"arn:aws(-[^:]+)?:rolesanywhere(:.*){2}(:profile.*|:alias/profile/.*)")
_ROLE_ARN = re.compile(r"arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)")
_ANCHOR_ARN = re.compile(
    r"arn:aws(-[^:]+)?:rolesanywhere(:.*){2}(:trust-anchor.*|:alias/trust-anchor/.*)"
)
_ARN_PATTERNS = {
    "profileArn": _PROFILE_ARN,
    "roleArn": _ROLE_ARN,
    "trustAnchorArn": _ANCHOR_ARN,
}
_SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
_SUBJECT_NAMESPACE = uuid.UUID("6b1e3c6a-5f0e-4d0c-9a57-7a1f9b1e2d40")

#: STS session-tag limits (iam-policy-evaluation.md §7.5).
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

#: ``instanceProperties``: the control-plane model's ``InstancePropertyMap`` (at most 50 entries,
#: keys and values 1..200 characters; rolesanywhere-protocol.md §2.1), the bounds of what a
#: subject record stores.
MAX_INSTANCE_PROPERTIES = 50
MAX_INSTANCE_PROPERTY_TEXT = 200
_PROPERTY_TEXT_CONSTRAINTS = (
    f"Member must have length less than or equal to {MAX_INSTANCE_PROPERTY_TEXT}",
    "Member must have length greater than or equal to 1",
)


#: The classes of CreateSession refusals, as the audit record and the metrics name them.
REFUSAL_CLASSES = (
    "signature",  # time, scope, X-Amz-X509 or the signature itself
    "untrusted_certificate",  # unknown or disabled trust anchor; the path or a CRL refuses
    "profile",  # unknown or disabled profile, role not listed, roleSessionName not accepted
    "role",  # unknown role, duration above its maximum
    "trust_policy",  # the role's trust policy is missing or does not allow the session
    "attributes",  # attributes that are not legal session tags, CN too long, over packed budget
    "invalid_request",  # the input fails the model's constraints or does not parse
    "unavailable",  # no session key ring, or anything else on the server's side
)


class SessionDenied(AccessDenied):
    """A CreateSession refusal (403 AccessDeniedException) with AWS's text and a private reason.

    ``refusal`` is its class (one of :data:`REFUSAL_CLASSES`) for the audit record and metrics.
    """

    def __init__(self, message: str, *, reason: str, refusal: str) -> None:
        super().__init__(message, reason=reason)
        self.refusal = refusal


def refusal_class(error: ElsewhereError) -> str:
    """The class of a CreateSession refusal (see :data:`REFUSAL_CLASSES`)."""
    if isinstance(error, SessionDenied):
        return error.refusal
    if isinstance(error, UntrustedCertificate):
        return "untrusted_certificate"
    if isinstance(error, ValidationError | SerializationError):
        return "invalid_request"
    return "unavailable"


@dataclass(slots=True)
class SessionTrail:
    """What one CreateSession learned on its way, for its audit record and metrics.

    The pipeline fills it as each step succeeds, so a refusal's trail names everything known up
    to the refusal. It never holds the secret access key or the session token.
    """

    x509_subject: str | None = None
    x509_issuer: str | None = None
    serial_number: str | None = None
    trust_anchor_arn: str | None = None
    profile_arn: str | None = None
    #: The anchor's and the profile's own ARNs once found (the request may name them by alias).
    trust_anchor_resource_arn: str | None = None
    profile_resource_arn: str | None = None
    role_arn: str | None = None
    duration_seconds: int | None = None
    requested_session_name: str | None = None
    instance_properties: Mapping[str, str] | None = None
    role_session_name: str | None = None
    source_identity: str | None = None
    subject_arn: str | None = None
    access_key_id: str | None = None
    expiration: str | None = None
    assumed_role_arn: str | None = None
    assumed_role_id: str | None = None
    packed_policy_size: int | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class SessionSettings:
    """Identity of the endpoint and CreateSession's limits."""

    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    skew: dt.timedelta = dt.timedelta(minutes=5)
    max_chain_certificates: int = 5


@dataclass(frozen=True)
class SessionAnswer:
    """The 201 answer of CreateSession; the api layer sends it as is (status, headers, body)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class _Input:
    profile_arn: str
    role_arn: str
    trust_anchor_arn: str
    duration_seconds: int | None
    role_session_name: str | None
    instance_properties: Mapping[str, str] | None


@dataclass(frozen=True)
class _LeafFacts:
    """What CreateSession derives from a leaf certificate; cached per ``X-Amz-X509`` value."""

    certificate: x509.Certificate
    signer: SigningCertificate  # its DER, key and decimal serial, prepared once
    digest: bytes  # SHA-256 of the DER: what other caches key the certificate by
    pem: str
    subject: str
    issuer: str
    source_identity: str | None
    session_name: str


def _leaf_facts(header: str) -> _LeafFacts:
    leaf = parse_certificate_header(header)
    signer = SigningCertificate.of(leaf)
    return _LeafFacts(
        certificate=leaf,
        signer=signer,
        digest=hashlib.sha256(signer.der).digest(),
        pem=leaf.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        subject=format_subject_dn(leaf.subject),
        issuer=format_subject_dn(leaf.issuer),
        source_identity=source_identity(leaf),
        session_name=default_session_name(leaf),
    )


# Placeholder times of prepared claims; each issue supplies its own (tokens.prepare_session).
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Context keys that come from the request itself rather than the role, anchor, certificate and
# profile (lower-case, as policy.Policy.context_keys names them).
_REQUEST_KEYS = frozenset(
    {"aws:currenttime", "aws:epochtime", "aws:securetransport", "aws:sourceip", "aws:useragent"}
)
# Inputs (query string and body) up to this size are remembered once validated; a workload
# sends the same ARNs and body on every call.
_MAX_CACHED_INPUT = 4096
# The principal of every trust-policy evaluation (reference §4.3).
_SERVICE = PolicyPrincipal(
    arn=SERVICE_PRINCIPAL, account="", type="Service", service=SERVICE_PRINCIPAL
)


def subject_id_for(account: str, region: str, x509_subject: str) -> str:
    """The Subject id of an X.509 subject: a name-based UUID, so every node computes the same."""
    return str(uuid.uuid5(_SUBJECT_NAMESPACE, f"{account}/{region}/{x509_subject}"))


def is_legal_tag_text(text: str) -> bool:
    """Whether STS accepts ``text`` in a session tag key or value (characters only)."""
    # STS tag character class [\p{L}\p{Z}\p{N}_.:/=+\-@] (iam-policy-evaluation.md §7.1).
    for char in text:
        if char in _TAG_PUNCTUATION:
            continue
        if unicodedata.category(char)[0] not in "LZN":
            return False
    return True


def _selected(certificate_field: str, specifier: str, key: str) -> bool:
    if specifier == "*":
        return True
    if certificate_field == "x509SAN" and specifier in ("Name", "Name/", "Name/*"):
        # "Name", "Name/" and "Name/*" are equivalent (reference §5.2).
        return key.startswith("Name/")
    return key == specifier


def map_principal_tags(
    leaf: x509.Certificate, profile: Profile
) -> tuple[tuple[tuple[str, str], ...], dict[str, list[str]]]:
    """The principal tags of ``leaf`` under ``profile``'s attribute mappings, and the failures.

    The second value lists, per certificate field, the attributes whose value breaks STS's tag
    rules (reference §5.1); a non-empty list refuses the session.
    """
    attributes = certificate_attributes(leaf)
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    failed: dict[str, list[str]] = {"x509Issuer": [], "x509Subject": [], "x509SAN": []}
    for mapping in profile.attribute_mappings:
        try:
            pairs = attributes.field(mapping.certificate_field)
        except ValueError:
            continue
        for key, value in pairs:
            if not any(_selected(mapping.certificate_field, s, key) for s in mapping.specifiers):
                continue
            tag_key = f"{mapping.certificate_field}/{key}"
            if tag_key.lower() in seen:
                continue
            seen.add(tag_key.lower())
            if (
                len(tag_key) > MAX_TAG_KEY
                or len(value) > MAX_TAG_VALUE
                or not is_legal_tag_text(value)
                or not is_legal_tag_text(tag_key)
            ):
                failed[mapping.certificate_field].append(key)
                continue
            tags.append((tag_key, value))
    if len(tags) > MAX_TAGS:
        for tag_key, _ in tags[MAX_TAGS:]:
            field_name, _, key = tag_key.partition("/")
            failed[field_name].append(key)
        tags = tags[:MAX_TAGS]
    return tuple(tags), failed


def _tag_failure_text(role_arn: str, failed: Mapping[str, Sequence[str]]) -> str:
    # As observed from AWS (reference §2.3, issues #77 and #188).
    def part(name: str) -> str:
        return "[ " + ", ".join(failed[name]) + " ]"

    return (
        f"Unable to assume role for {role_arn}. Some attributes failed to be mapped into session "
        f"tags. Issuer: {part('x509Issuer')}; Subject: {part('x509Subject')}; "
        f"SAN: {part('x509SAN')}"
    )


def _validation(member: str, value: object, constraint: str) -> ValidationError:
    # The value is echoed as Coral does, lone surrogates shown as U+FFFD (domain.printable_text).
    shown = "null" if value is None else f"'{printable_text(str(value))}'"
    return ValidationError(
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _parse_input(request: HttpRequest) -> _Input:
    query = dict(parse_qsl(request.raw_query, keep_blank_values=True))
    body: dict[str, Any] = {}
    if request.body.strip():
        try:
            parsed = json.loads(request.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise SerializationError(reason="CreateSession body is not JSON") from None
        if not isinstance(parsed, dict):
            raise SerializationError(reason="CreateSession body is not a JSON object")
        body = parsed
    arns: dict[str, str] = {}
    for member, pattern in _ARN_PATTERNS.items():
        in_query = query.get(member)
        in_body = body.get(member)
        if in_body is not None and not isinstance(in_body, str):
            raise SerializationError(reason=f"{member} in the body is not a string")
        # Decision (reference §2.1, precedence unknown): the same value in both places is fine,
        # different values are refused.
        if in_query is not None and in_body is not None and in_query != in_body:
            raise ValidationError(
                f"{member} is given in both the query string and the body with different values."
            )
        value = in_query if in_query is not None else in_body
        if value is None:
            raise _validation(member, None, "Member must not be null")
        if not pattern.fullmatch(value):
            raise _validation(
                member, value, f"Member must satisfy regular expression pattern: {pattern.pattern}"
            )
        unstorable = unstorable_constraints(value)
        if unstorable:
            # The pattern's ".*" lets these through; they would reach the store as the subject
            # record's text and the logs (domain._text).
            raise _validation(member, value, unstorable[0])
        arns[member] = value
    duration = body.get("durationSeconds")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int):
            raise SerializationError(reason="durationSeconds is not an integer")
        if duration < 900:
            raise _validation(
                "durationSeconds", duration, "Member must have value greater than or equal to 900"
            )
        if duration > 43200:
            raise _validation(
                "durationSeconds", duration, "Member must have value less than or equal to 43200"
            )
    name = body.get("roleSessionName")
    if name is not None:
        if not isinstance(name, str):
            raise SerializationError(reason="roleSessionName is not a string")
        if len(name) < 2:
            raise _validation(
                "roleSessionName", name, "Member must have length greater than or equal to 2"
            )
        if len(name) > 64:
            raise _validation(
                "roleSessionName", name, "Member must have length less than or equal to 64"
            )
        if not _SESSION_NAME.fullmatch(name):
            raise _validation(
                "roleSessionName",
                name,
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            )
    props = body.get("instanceProperties")
    if props is not None:
        if not isinstance(props, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in props.items()
        ):
            raise SerializationError(reason="instanceProperties is not a map of strings")
        _check_instance_properties(props)
    return _Input(
        profile_arn=arns["profileArn"],
        role_arn=arns["roleArn"],
        trust_anchor_arn=arns["trustAnchorArn"],
        duration_seconds=duration,
        role_session_name=name,
        instance_properties=props,
    )


def _check_instance_properties(props: Mapping[str, str]) -> None:
    """``instanceProperties`` within the model's bounds, in text a store can hold, or raise.

    They are written to the subject record after the answer; a value the store cannot take would
    otherwise fail that write (rolesanywhere-protocol.md §2.1, ``InstancePropertyMap``).
    """
    shown = "{" + ", ".join(f"{k}={v}" for k, v in props.items()) + "}"
    if len(props) > MAX_INSTANCE_PROPERTIES:
        raise _validation(
            "instanceProperties",
            shown,
            f"Member must have length less than or equal to {MAX_INSTANCE_PROPERTIES}",
        )
    for head, texts in (("Map keys", props.keys()), ("Map value", props.values())):
        # As the protocol layer words a map's failures: every constraint of the key (or value)
        # shape, then what makes the text unstorable.
        bad_length = False
        unstorable: dict[str, None] = {}
        for text in texts:
            bad_length = bad_length or not 1 <= len(text) <= MAX_INSTANCE_PROPERTY_TEXT
            unstorable.update(dict.fromkeys(unstorable_constraints(text)))
        if bad_length or unstorable:
            listed = ", ".join((*_PROPERTY_TEXT_CONSTRAINTS, *unstorable))
            raise _validation(
                "instanceProperties", shown, f"{head} must satisfy constraint: [{listed}]"
            )


_json_text = json.encoder.encode_basestring_ascii


def _answer_frame(
    *,
    session_arn: str,
    assumed_role_id: str,
    packed_policy_size: int,
    role_arn: str,
    source_identity: str,
    subject_arn: str,
) -> tuple[str, str]:
    """The 201 body of reference §2.2 around its ``credentials`` object (head, tail).

    Every session of one plan shares them; only the credentials between differ. Together with
    :func:`_credentials_json` it writes byte for byte what ``json.dumps`` with compact
    separators writes (keys in this order), without building the nested dicts first.
    """
    head = (
        '{"credentialSet":[{"assumedRoleUser":{"arn":'
        f"{_json_text(session_arn)},"
        f'"assumedRoleId":{_json_text(assumed_role_id)}}},'
        '"credentials":{'
    )
    tail = (
        f'}},"packedPolicySize":{int(packed_policy_size)},'
        f'"roleArn":{_json_text(role_arn)},'
        f'"sourceIdentity":{_json_text(source_identity)}}}],'
        f'"subjectArn":{_json_text(subject_arn)}}}'
    )
    return head, tail


def _credentials_json(
    access_key_id: str, expiration: str, secret_access_key: str, session_token: str
) -> str:
    return (
        f'"accessKeyId":{_json_text(access_key_id)},'
        f'"expiration":{_json_text(expiration)},'
        f'"secretAccessKey":{_json_text(secret_access_key)},'
        f'"sessionToken":{_json_text(session_token)}'
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every session of one role, profile, certificate, anchor and session name shares.

    The claims are encoded once (tokens.prepare_session) and the answer around the credentials
    rendered once; a request then costs fresh credentials and a join.
    """

    role: RoleEntry
    prepared: PreparedSession
    head: str
    tail: str
    session_arn: str
    assumed_role_id: str
    packed_policy_size: int


class CreateSessionHandler:
    """The ``POST /sessions`` pipeline; plugs into the gateway as its ``SessionHandler``."""

    def __init__(
        self,
        snapshots: SnapshotProvider,
        clock: Clock,
        *,
        settings: SessionSettings | None = None,
        recorder: SubjectRecorder | None = None,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._snapshots = snapshots
        self._clock = clock
        self._settings = settings or SessionSettings()
        self._recorder = recorder
        self._random = random

        # Parsed leaves and their mapped tags, so a repeat caller costs only its signature check.
        # Every cache holds values derived from its key alone: each request's signature is still
        # verified, its path validated (the path cache is keyed as DESIGN.md says), and its trust
        # decision is memoised on everything the evaluation reads (see _check_trust). Each is
        # bounded in entries and estimated bytes (service._session_caches), and none is filled
        # before the request's certificate path has validated.
        self._snapshot: ConfigSnapshot | None = None

        def cache(name: str) -> BoundedCache[Any, Any]:
            return BoundedCache(max_entries=MAX_ENTRIES, max_weight=CACHE_BYTES[name])

        self._leaves: BoundedCache[str, _LeafFacts] = cache("leaves")
        self._tags: BoundedCache[
            tuple[bytes, str, dt.datetime],
            tuple[tuple[tuple[str, str], ...], dict[str, list[str]]],
        ] = cache("tags")
        self._plans: BoundedCache[tuple[object, ...], _Plan] = cache("plans")
        self._chains: BoundedCache[str, tuple[x509.Certificate, ...]] = cache("chains")
        self._inputs: BoundedCache[tuple[str, bytes], _Input] = cache("inputs")
        self._subjects: BoundedCache[str, tuple[str, str]] = cache("subjects")
        self._contexts: BoundedCache[tuple[object, ...], dict[str, ContextValue]] = cache(
            "contexts"
        )
        self._trust_decisions: BoundedCache[tuple[object, ...], tuple[Policy, str | None]] = cache(
            "trust"
        )

    def cache_usage(self) -> dict[str, tuple[int, int]]:
        """Entries and estimated bytes held by each cache, by name (and ``paths``, validated
        certificate paths, held by the snapshot provider)."""
        caches: dict[str, BoundedCache[Any, Any]] = {
            "leaves": self._leaves,
            "chains": self._chains,
            "inputs": self._inputs,
            "subjects": self._subjects,
            "tags": self._tags,
            "plans": self._plans,
            "contexts": self._contexts,
            "trust": self._trust_decisions,
        }
        sizes = {name: (len(cache), cache.weight) for name, cache in caches.items()}
        sizes["paths"] = self._snapshots.cached_paths()
        return sizes

    def cache_sizes(self) -> dict[str, int]:
        """Entries held by each of CreateSession's caches (for the metrics)."""
        return {
            "session_leaves": len(self._leaves),
            "session_tags": len(self._tags),
            "session_plans": len(self._plans),
            "session_chains": len(self._chains),
            "session_inputs": len(self._inputs),
            "session_subjects": len(self._subjects),
            "trust_contexts": len(self._contexts),
            "trust_decisions": len(self._trust_decisions),
        }

    def __call__(
        self,
        request: HttpRequest,
        signed: SignedRequest,
        source_ip: str,
        secure: bool,
        trail: SessionTrail | None = None,
    ) -> SessionAnswer:
        """Verify the request, issue credentials and answer 201; raises AWS's errors.

        ``trail``, when given, is filled with what each step learned (and the refusal's class),
        for the caller's audit record and metrics.
        """
        if trail is None:
            trail = SessionTrail()
        try:
            return self._create(request, signed, source_ip, secure, trail)
        except ElsewhereError as exc:
            trail.refusal = refusal_class(exc)
            raise

    def _create(
        self,
        request: HttpRequest,
        signed: SignedRequest,
        source_ip: str,
        secure: bool,
        trail: SessionTrail,
    ) -> SessionAnswer:
        now = self._clock.now()
        snapshot = self._snapshots.current()
        if snapshot is not self._snapshot:
            # Plans and trust decisions hold the snapshot's roles and policies: after a change
            # none of them is used again (they are checked by identity), and kept they would
            # hold old configurations in memory that no bound counts.
            self._plans.clear()
            self._trust_decisions.clear()
            self._snapshot = snapshot
        header, facts, leaf_known = self._authenticate(request, signed, now)
        # The signature holds: the caller has the key of this certificate.
        trail.x509_subject = facts.subject
        trail.x509_issuer = facts.issuer
        trail.serial_number = facts.signer.serial
        leaf = facts.certificate
        input_key, params, input_known = self._input(request)
        trail.trust_anchor_arn = params.trust_anchor_arn
        trail.profile_arn = params.profile_arn
        trail.role_arn = params.role_arn
        trail.duration_seconds = params.duration_seconds
        trail.requested_session_name = params.role_session_name
        trail.instance_properties = params.instance_properties
        chain_header = request.header("x-amz-x509-chain") or ""
        intermediates: tuple[x509.Certificate, ...] = ()
        chain_known = True
        if chain_header.strip():
            cached = self._chains.get(chain_header)
            if cached is None:
                chain_known = False
                cached = parse_chain_header(
                    chain_header, max_certificates=self._settings.max_chain_certificates
                )
            intermediates = cached
        anchor = self._anchor(snapshot, params.trust_anchor_arn)
        trail.trust_anchor_resource_arn = anchor.record.arn
        self._snapshots.validate(
            anchor, leaf, facts.signer.der, intermediates, chain_header, now=now
        )
        # From here the certificate is authenticated: what was parsed for it may be remembered
        # (before this point a caller could fill the caches with certificates nobody trusts),
        # and every outcome is recorded for the subject.
        if not leaf_known:
            self._leaves.put(header, facts, weight=leaf_weight(header))
        if not input_known and input_key is not None:
            self._inputs.put(input_key, params, weight=input_weight(*input_key))
        if not chain_known:
            self._chains.put(
                chain_header,
                intermediates,
                weight=chain_weight(chain_header, len(intermediates)),
            )
        subject_id, subject_arn = self._subject(facts.subject)
        trail.subject_arn = subject_arn
        try:
            body = self._issue(
                snapshot, params, facts, anchor, request, source_ip, secure, now, subject_arn, trail
            )
        except ElsewhereError:
            self._record(subject_id, facts, now, params, failed=True)
            raise
        self._record(subject_id, facts, now, params, failed=False)
        return SessionAnswer(201, (("Content-Type", "application/json"),), body)

    # -- steps -------------------------------------------------------------------------------------

    def _input(self, request: HttpRequest) -> tuple[tuple[str, bytes] | None, _Input, bool]:
        """The cache key (None: too large to keep), the validated input, and whether it was kept.

        From the cache when this exact query and body were seen; the caller remembers a new one
        once the request is authenticated.
        """
        key = (request.raw_query, request.body)
        if len(key[0]) + len(key[1]) > _MAX_CACHED_INPUT:
            return None, _parse_input(request), False
        params = self._inputs.get(key)
        if params is None:
            return key, _parse_input(request), False
        return key, params, True

    def _subject(self, subject: str) -> tuple[str, str]:
        """The subject's id and ARN (name-based, so computed once per subject)."""
        known = self._subjects.get(subject)
        if known is None:
            subject_id = subject_id_for(self._settings.account_id, self._settings.region, subject)
            subject_arn = format_rolesanywhere_arn(
                self._settings.partition,
                self._settings.region,
                self._settings.account_id,
                "subject",
                subject_id,
            )
            known = self._subjects.put(
                subject, (subject_id, subject_arn), weight=subject_weight(subject)
            )
        return known

    def _authenticate(
        self, request: HttpRequest, signed: SignedRequest, now: dt.datetime
    ) -> tuple[str, _LeafFacts, bool]:
        """The ``X-Amz-X509`` value, its leaf once the signature verifies, and whether it was kept.

        A leaf seen before comes from the cache; a new one is parsed but not kept here (the
        caller keeps it once the path validates).
        """
        try:
            # A presigned (query-signed) CreateSession is good for no longer than a header-signed
            # one: ±skew around its X-Amz-Date, whatever X-Amz-Expires says (up to a week).
            check_request_time(signed, now, skew=self._settings.skew, max_age=self._settings.skew)
        except SignatureExpired as exc:
            # The SigV4 skew text, as AWS's signers word it (reference §9), as AccessDenied.
            raise SessionDenied(exc.message, reason=exc.reason, refusal="signature") from None
        try:
            check_scope(signed, service="rolesanywhere", region=self._settings.region)
        except ElsewhereError as exc:
            raise SessionDenied(
                INVALID_SIGNATURE,
                reason=f"credential scope: {exc.reason}",
                refusal="signature",
            ) from None
        if signed.payload_hash == UNSIGNED_PAYLOAD and request.body:
            # As on the HMAC path (service._authn): a body the signature does not cover could be
            # changed in flight (another profile's ARNs, a longer duration).
            raise SessionDenied(
                INVALID_SIGNATURE,
                reason="UNSIGNED-PAYLOAD for a request with a body",
                refusal="signature",
            )
        header = request.header("x-amz-x509")
        if header is None:
            raise SessionDenied(
                INVALID_SIGNATURE, reason="no X-Amz-X509 header", refusal="signature"
            )
        facts = self._leaves.get(header)
        known = facts is not None
        if facts is None:
            try:
                facts = _leaf_facts(header)
            except ValidationError as exc:
                raise SessionDenied(
                    INVALID_SIGNATURE, reason=exc.message, refusal="signature"
                ) from None
            if facts.signer.public_key is not None:
                # Before the signature: an RSA key above 4096 bits (or with a huge exponent)
                # makes the check itself the expensive part (x509.PathPolicy).
                validate_public_key(facts.signer.public_key, self._snapshots.path_policy)
        try:
            verify_x509_signature(request, signed, facts.signer)
        except ElsewhereError as exc:
            raise SessionDenied(INVALID_SIGNATURE, reason=exc.reason, refusal="signature") from None
        return header, facts, known

    def _anchor(self, snapshot: ConfigSnapshot, arn: str) -> AnchorEntry:
        anchor = snapshot.anchor(arn)
        if anchor is None:
            raise UntrustedCertificate(f"trust anchor {arn} does not exist")
        if not anchor.record.enabled:
            raise UntrustedCertificate(f"trust anchor {arn} is disabled")
        return anchor

    def _issue(
        self,
        snapshot: ConfigSnapshot,
        params: _Input,
        facts: _LeafFacts,
        anchor: AnchorEntry,
        request: HttpRequest,
        source_ip: str,
        secure: bool,
        now: dt.datetime,
        subject_arn: str,
        trail: SessionTrail,
    ) -> bytes:
        role_arn = params.role_arn
        unable = f"Unable to assume role for {role_arn}."
        profile = snapshot.profile(params.profile_arn)
        if profile is None:
            raise SessionDenied(
                unable, reason=f"profile {params.profile_arn} does not exist", refusal="profile"
            )
        trail.profile_resource_arn = profile.arn
        if not profile.enabled:
            raise SessionDenied(
                unable, reason=f"profile {params.profile_arn} is disabled", refusal="profile"
            )
        if role_arn not in profile.role_arns:
            raise SessionDenied(
                unable, reason=f"role {role_arn} is not listed in the profile", refusal="profile"
            )
        if params.role_session_name is not None and not profile.accept_role_session_name:
            raise SessionDenied(
                NOT_AUTHORIZED_SESSION_NAME,
                reason="roleSessionName sent but the profile does not accept it",
                refusal="profile",
            )
        role = snapshot.role(role_arn)
        if role is None:
            raise SessionDenied(unable, reason=f"role {role_arn} does not exist", refusal="role")
        duration = profile.duration_seconds
        if params.duration_seconds is not None:
            duration = min(duration, params.duration_seconds)
        if duration > role.view.max_session_duration:
            raise SessionDenied(
                f"{unable} The requested DurationSeconds exceeds the MaxSessionDuration set for "
                "this role.",
                reason=f"duration {duration}s above the role's maximum "
                f"{role.view.max_session_duration}s",
                refusal="role",
            )
        tag_key = (facts.digest, profile.arn, profile.updated_at)
        mapped = self._tags.get(tag_key)
        if mapped is None:
            mapped = map_principal_tags(facts.certificate, profile)
            self._tags.put(tag_key, mapped, weight=tags_weight(mapped[0], mapped[1].values()))
        tags, failed = mapped
        if any(failed.values()):
            raise SessionDenied(
                _tag_failure_text(role_arn, failed),
                reason=f"certificate attributes that are not legal tag values: {failed}",
                refusal="attributes",
            )
        identity = facts.source_identity
        if identity is None:
            raise SessionDenied(
                unable, reason="subject CN longer than 64 characters", refusal="attributes"
            )
        session_name = params.role_session_name or facts.session_name
        trail.role_session_name = session_name
        trail.source_identity = identity
        try:
            origin = origin_identity(profile.tip_configuration, tags, issuer=anchor.record.arn)
        except MissingOriginSubject as missing:
            raise SessionDenied(
                unable,
                reason=f"trusted identity propagation: the certificate has no {missing} "
                "(or the profile's attribute mappings do not map it)",
                refusal="attributes",
            ) from None
        self._check_trust(
            role, anchor, tags, identity, session_name, request, source_ip, secure, now, origin
        )
        ring = snapshot.ring
        if ring is None:
            raise SessionDenied(
                unable, reason="no session key ring is configured", refusal="unavailable"
            )
        plan_key = (tag_key, id(role), anchor.record.arn, session_name, subject_arn)
        plan = self._plans.get(plan_key)
        try:
            if plan is None or plan.role is not role:
                plan = self._plan(
                    role, profile, facts, anchor, tags, identity, session_name, subject_arn, origin
                )
                self._plans.put(
                    plan_key,
                    plan,
                    weight=plan_weight(plan.head, plan.tail, plan.prepared.static_size),
                )
            expires_at = now + dt.timedelta(seconds=duration)
            creds = issue_prepared_credentials(
                plan.prepared,
                ring,
                issued_at=now,
                expires_at=expires_at,
                access_key_random=self._random,
                nonce=self._random(12),
            )
        except PackedPolicyTooLarge as exc:
            # STS's PackedPolicyTooLarge is not in the rolesanywhere error model: a session whose
            # policies and tags overflow the packed budget (or the token) fails as the role
            # assumption it is, step 9 of rolesanywhere-protocol.md §4.3.
            raise SessionDenied(
                unable, reason=f"session too large: {exc.reason}", refusal="attributes"
            ) from None
        expiration = format_utc_seconds(creds.expiration)
        trail.access_key_id = creds.access_key_id
        trail.expiration = expiration
        trail.assumed_role_arn = plan.session_arn
        trail.assumed_role_id = plan.assumed_role_id
        trail.packed_policy_size = plan.packed_policy_size
        credentials = _credentials_json(
            creds.access_key_id,
            expiration,
            creds.secret_access_key,
            creds.session_token,
        )
        return (plan.head + credentials + plan.tail).encode("ascii")

    @staticmethod
    def _plan(
        role: RoleEntry,
        profile: Profile,
        facts: _LeafFacts,
        anchor: AnchorEntry,
        tags: tuple[tuple[str, str], ...],
        identity: str,
        session_name: str,
        subject_arn: str,
        origin: OriginIdentity | None,
    ) -> _Plan:
        """Encode the session's claims and render its answer frame (once per plan key)."""
        # A function of the profile's policies and the tags alone (tokens._packed); raises
        # PackedPolicyTooLarge (answered as a refusal by _issue), which is not cached, so every
        # such request is refused alike.
        packed = validate_packed_policy_size(
            profile.session_policy, profile.managed_policy_arns, tags
        )
        claims = SessionClaims(
            account=role.view.account,
            role_arn=role.view.arn,
            role_id=role.view.role_id,
            role_name=role.view.name,
            role_path=role.view.path,
            session_name=session_name,
            issued_at=_EPOCH,
            expires_at=_EPOCH,
            source=anchor.record.arn,
            source_identity=identity,
            principal_tags=tags,
            session_policy=profile.session_policy,
            managed_policy_arns=profile.managed_policy_arns,
            certificate_serial=facts.signer.serial,
            certificate_subject=facts.subject,
            certificate_issuer=facts.issuer,
            origin_subject=origin.subject if origin is not None else None,
            origin_subject_type=origin.subject_type if origin is not None else None,
            origin_issuer=origin.issuer if origin is not None else None,
        )
        head, tail = _answer_frame(
            session_arn=claims.session_arn,
            assumed_role_id=claims.assumed_role_id,
            packed_policy_size=packed,
            role_arn=role.view.arn,
            source_identity=identity,
            subject_arn=subject_arn,
        )
        return _Plan(
            role=role,
            prepared=prepare_session(claims),
            head=head,
            tail=tail,
            session_arn=claims.session_arn,
            assumed_role_id=claims.assumed_role_id,
            packed_policy_size=packed,
        )

    def _check_trust(
        self,
        role: RoleEntry,
        anchor: AnchorEntry,
        tags: tuple[tuple[str, str], ...],
        identity: str,
        session_name: str,
        request: HttpRequest,
        source_ip: str,
        secure: bool,
        now: dt.datetime,
        origin: OriginIdentity | None = None,
    ) -> None:
        """Evaluate the role's trust policy as STS does for Roles Anywhere (reference §4.3, 9).

        With trusted identity propagation the ``aws:OriginIdentity/*`` keys are in the context
        too, so a trust policy can bind the role to certificate identities callers cannot set.
        """
        unable = f"Unable to assume role for {role.view.arn}."
        if role.trust is None:
            raise SessionDenied(
                unable,
                reason="the role's trust policy is missing or invalid",
                refusal="trust_policy",
            )
        # The keys that depend only on the role, anchor, certificate and profile are wrapped
        # once; the request's own keys (time, address, transport, agent) are added per request.
        static_key = (
            role.view.arn,
            role.view.tags,
            anchor.record.arn,
            tags,
            identity,
            session_name,
            origin,
        )
        static = self._contexts.get(static_key)
        if static is None:
            keys: dict[str, object] = {
                "aws:SourceArn": anchor.record.arn,
                "aws:SourceAccount": self._settings.account_id,
                "sts:SourceIdentity": identity,
                "sts:RoleSessionName": session_name,
                "aws:PrincipalServiceName": SERVICE_PRINCIPAL,
            }
            for key, value in role.view.tags:
                keys[f"aws:ResourceTag/{key}"] = value
            for key, value in tags:
                keys[f"aws:PrincipalTag/{key}"] = value
                keys[f"aws:RequestTag/{key}"] = value
            if tags:
                keys["aws:TagKeys"] = [k for k, _ in tags]
            if origin is not None:
                keys["aws:OriginIdentity/Subject"] = origin.subject
                keys["aws:OriginIdentity/Issuer"] = origin.issuer
                if origin.subject_type is not None:
                    keys["aws:OriginIdentity/SubjectType"] = origin.subject_type
            static = {key.lower(): ContextValue.of(value) for key, value in keys.items()}
            self._contexts.put(
                static_key,
                static,
                weight=context_weight(text for value in static.values() for text in value.values),
            )
        trust = role.trust
        refs = trust.context_keys
        values = static
        if not refs.isdisjoint(_REQUEST_KEYS):
            # The request's own keys are built only when the policy reads one of them.
            values = dict(static)
            values.update(self._request_keys(refs, request, source_ip, secure, now))
        # A decision depends on the context only through the policy's context keys
        # (policy.Policy.context_keys), and the action, resource and principal are fixed by the
        # role and by whether tags are set: the decision is memoised on exactly those. A policy
        # that reads aws:CurrentTime or aws:EpochTime is evaluated afresh every second.
        memo_key = (id(trust), bool(tags), tuple(values.get(k) for k in refs))
        memo = self._trust_decisions.get(memo_key)
        if memo is None or memo[0] is not trust:
            memo = (trust, self._evaluate_trust(role, tags, values))
            # The key holds the request's own values (a User-Agent can be kilobytes).
            read = [text for value in memo_key[2] if value is not None for text in value.values]
            self._trust_decisions.put(memo_key, memo, weight=trust_weight(read))
        refusal = memo[1]
        if refusal is not None:
            raise SessionDenied(unable, reason=refusal, refusal="trust_policy")

    @staticmethod
    def _request_keys(
        refs: frozenset[str], request: HttpRequest, source_ip: str, secure: bool, now: dt.datetime
    ) -> dict[str, ContextValue]:
        """The request-time context keys (time, address, transport, agent) that ``refs`` names."""
        out: dict[str, ContextValue] = {}
        if "aws:currenttime" in refs:
            out["aws:currenttime"] = ContextValue((format_utc_seconds(now),))
        if "aws:epochtime" in refs:
            out["aws:epochtime"] = ContextValue((str(int(now.timestamp())),), False, "numeric")
        if "aws:securetransport" in refs:
            out["aws:securetransport"] = ContextValue(
                ("true" if secure else "false",), False, "boolean"
            )
        if source_ip and "aws:sourceip" in refs:
            out["aws:sourceip"] = ContextValue((source_ip,))
        agent = request.header("user-agent") if "aws:useragent" in refs else None
        if agent is not None:
            out["aws:useragent"] = ContextValue((agent,))
        return out

    @staticmethod
    def _evaluate_trust(
        role: RoleEntry, tags: tuple[tuple[str, str], ...], values: dict[str, ContextValue]
    ) -> str | None:
        """None when the trust policy allows every action the session needs, else why not."""
        assert role.trust is not None
        actions = ["sts:AssumeRole", "sts:SetSourceIdentity"]
        if tags:
            actions.append("sts:TagSession")
        policies = PolicySet(resource=role.trust)
        context = RequestContext(
            action=actions[0], resource=role.view.arn, principal=_SERVICE, keys=values
        )
        for action in actions:
            decision = evaluate(context.for_action(action), policies)
            if decision.result != ALLOWED:
                return f"trust policy does not allow {action}: {decision.reason}"
        return None

    def _record(
        self,
        subject_id: str,
        facts: _LeafFacts,
        now: dt.datetime,
        params: _Input,
        *,
        failed: bool,
    ) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder.record(
                x509_subject=facts.subject,
                seen_at=now,
                serial_number=facts.signer.serial,
                issuer=facts.issuer,
                x509_certificate_data=facts.pem,
                failed=failed,
                instance_properties=params.instance_properties,
                subject_id=subject_id,
            )
        except RuntimeError:
            _log.warning("subject recorder closed; %s not recorded", facts.subject)
