"""Authorization judges the canonical resource: a Deny holds however a request names it.

Every rolesanywhere operation whose input names a resource (a top-level member ``...Id`` or
``...Arn`` of the served model) is called, in each form the member's shape accepts (the id, the
ARN, the alias ARN), through the whole server (protocol, authentication, authorizer, control
plane, SQLite) by two principals allowed everything: one denied ``rolesanywhere:*`` on the
production resources' ARNs, one denied ``rolesanywhere:*`` on resources tagged
``stage=production``. Both are refused with AccessDeniedException and the production resources do
not change. The same principals, naming a staging resource the same way, succeed: it is the Deny
that refuses them, not a malformed call.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from elsewhere.domain import AuthenticationRecord
from elsewhere.pki import quick_chain
from elsewhere.protocol import load_service_model
from tests.inprocess import InProcessServer

MODEL = load_service_model("rolesanywhere")
NOW = dt.datetime.now(dt.UTC)
CHAIN = quick_chain(NOW - dt.timedelta(hours=1), "p256")
CRL_DER = CHAIN.crl(now=NOW - dt.timedelta(minutes=5)).public_bytes(serialization.Encoding.DER)

#: The resource types each resource-naming member can name.
KINDS_OF_MEMBER = {
    "trustAnchorId": ("trust-anchor",),
    "trustAnchorArn": ("trust-anchor",),
    "profileId": ("profile",),
    "crlId": ("crl",),
    "subjectId": ("subject",),
    "resourceArn": ("trust-anchor", "profile", "crl"),
}

#: The rest of each operation's input: a call that succeeds when it is allowed.
EXTRA: dict[str, dict[str, Any]] = {
    "GetTrustAnchor": {},
    "UpdateTrustAnchor": {"name": "renamed"},
    "DeleteTrustAnchor": {},
    "EnableTrustAnchor": {},
    "DisableTrustAnchor": {},
    "PutNotificationSettings": {
        "notificationSettings": [{"enabled": False, "event": "CA_CERTIFICATE_EXPIRY"}]
    },
    "ResetNotificationSettings": {"notificationSettingKeys": [{"event": "CA_CERTIFICATE_EXPIRY"}]},
    "ImportCrl": {"name": "crl", "crlData": CRL_DER, "enabled": True},
    "GetProfile": {},
    "UpdateProfile": {"name": "renamed"},
    "DeleteProfile": {},
    "EnableProfile": {},
    "DisableProfile": {},
    "PutAttributeMapping": {
        "certificateField": "x509Subject",
        "mappingRules": [{"specifier": "OU"}],
    },
    "DeleteAttributeMapping": {"certificateField": "x509Issuer"},
    "GetCrl": {},
    "UpdateCrl": {"name": "renamed"},
    "DeleteCrl": {},
    "EnableCrl": {},
    "DisableCrl": {},
    "GetSubject": {},
    "TagResource": {"tags": [{"key": "k", "value": "v"}]},
    "UntagResource": {"tagKeys": ["k"]},
    "ListTagsForResource": {},
}


def _resource_members() -> dict[tuple[str, str], Any]:
    """(operation, member) -> shape of every top-level input member that names a resource."""
    found = {}
    for name in MODEL.operation_names:
        shape = MODEL.operation_model(name).input_shape
        if shape is None:
            continue
        for member, member_shape in shape.members.items():
            if re.search(r"(Id|Arn)$", member):
                found[(name, member)] = member_shape
    return found


MEMBERS = _resource_members()


def _accepts(shape: Any, value: str) -> bool:
    """Whether the model's constraints on ``shape`` let ``value`` through."""
    meta = shape.metadata
    if len(value) < meta.get("min", 0) or len(value) > meta.get("max", len(value)):
        return False
    pattern = meta.get("pattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


@dataclass(frozen=True)
class Ref:
    """One resource and the three ways to name it."""

    kind: str
    id: str
    arn: str
    alias_arn: str

    def named(self, form: str) -> str:
        """The resource named in ``form`` ('id', 'arn' or 'alias')."""
        return {"id": self.id, "arn": self.arn, "alias": self.alias_arn}[form]


@dataclass(frozen=True)
class Case:
    """One operation naming one kind of resource in one form."""

    operation: str
    member: str
    kind: str
    form: str

    @property
    def id(self) -> str:
        """The table name of the case."""
        return f"fail/{self.operation}/{self.member}/{self.kind}/{self.form}"


CASES = [
    Case(op, member, kind, form)
    for (op, member) in sorted(MEMBERS)
    for kind in KINDS_OF_MEMBER.get(member, ("?",))
    for form in ("id", "arn", "alias")
    if not (kind == "subject" and form == "alias")  # subjects have no alias
]


class World:
    """The server, the production resources and the two denied principals."""

    def __init__(self, server: InProcessServer) -> None:
        """Create the production resources and the principals."""
        self.server = server
        self.ra = server.client("rolesanywhere")
        self.iam = server.client("iam")
        self.made: list[Ref] = []
        anchor = self.make("trust-anchor", "production")
        self.prod = {
            "trust-anchor": anchor,
            "profile": self.make("profile", "production"),
            "crl": self.make("crl", "production", anchor=anchor),
            "subject": self.make("subject", "production"),
        }
        everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
        self.deny_arn = self.user(
            everything,
            {
                "Effect": "Deny",
                "Action": "rolesanywhere:*",
                "Resource": [ref.arn for ref in self.prod.values()],
            },
        )
        self.deny_tag = self.user(
            everything,
            {
                "Effect": "Deny",
                "Action": "rolesanywhere:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/stage": "production"}},
            },
        )

    def user(self, *statements: dict[str, Any]) -> Any:
        """A rolesanywhere client of a new IAM user with ``statements`` as its policy."""
        name = f"u-{uuid.uuid4().hex[:8]}"
        self.iam.create_user(UserName=name)
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.server.client("rolesanywhere", (key["AccessKeyId"], key["SecretAccessKey"]))

    def make(self, kind: str, stage: str, anchor: Ref | None = None) -> Ref:
        """A new enabled resource of ``kind`` tagged ``stage=<stage>``, with an alias."""
        alias = f"{stage}-{kind}-{uuid.uuid4().hex[:8]}"
        tags = [{"key": "stage", "value": stage}]
        if kind == "trust-anchor":
            out = self.ra.create_trust_anchor(
                name=alias,
                source={
                    "sourceType": "CERTIFICATE_BUNDLE",
                    "sourceData": {"x509CertificateData": CHAIN.anchor_pem},
                },
                enabled=True,
                tags=tags,
                aliasName=alias,
            )["trustAnchor"]
            return self._made(
                Ref(kind, out["trustAnchorId"], out["trustAnchorArn"], out["aliasArn"])
            )
        if kind == "profile":
            out = self.ra.create_profile(
                name=alias, roleArns=[], enabled=True, tags=tags, aliasName=alias
            )["profile"]
            return self._made(Ref(kind, out["profileId"], out["profileArn"], out["aliasArn"]))
        if kind == "crl":
            anchor = anchor or self.make("trust-anchor", stage)
            out = self.ra.import_crl(
                name=alias,
                crlData=CRL_DER,
                trustAnchorArn=anchor.arn,
                enabled=True,
                tags=tags,
                aliasName=alias,
            )["crl"]
            return Ref(kind, out["crlId"], out["crlArn"], out["aliasArn"])
        # Subjects come from CreateSession; write one straight into the store.
        subject_id = str(uuid.uuid4())
        arn = f"arn:aws:rolesanywhere:{self.server.region}:123456789012:subject/{subject_id}"
        store = self.server.store()
        try:
            store.subjects.record_authentications(
                [
                    AuthenticationRecord(
                        x509_subject=f"CN={alias}",
                        seen_at=NOW,
                        serial_number="01",
                        issuer="CN=ca",
                        x509_certificate_data=CHAIN.leaf_pem,
                        failed=False,
                        new_subject_id=subject_id,
                        new_subject_arn=arn,
                    )
                ]
            )
        finally:
            store.close()
        return Ref(kind, subject_id, arn, "")

    def _made(self, ref: Ref) -> Ref:
        self.made.append(ref)
        return ref

    def clean_up(self) -> None:
        """Delete the trust anchors and profiles made since the last call (and their CRLs)."""
        for ref in self.made:
            try:
                if ref.kind == "trust-anchor":
                    self.ra.delete_trust_anchor(trustAnchorId=ref.id)
                else:
                    self.ra.delete_profile(profileId=ref.id)
            except self.ra.exceptions.ResourceNotFoundException:
                pass  # the case deleted it
        self.made.clear()

    def state(self, ref: Ref) -> object:
        """What a write to ``ref`` would change, as the root user reads it."""
        ra = self.ra
        if ref.kind == "subject":
            return _clean(ra.get_subject(subjectId=ref.id))
        getter: Callable[..., dict[str, Any]] = {
            "trust-anchor": lambda: ra.get_trust_anchor(trustAnchorId=ref.id),
            "profile": lambda: ra.get_profile(profileId=ref.id),
            "crl": lambda: ra.get_crl(crlId=ref.id),
        }[ref.kind]
        crls = [c for c in ra.list_crls()["crls"] if c["trustAnchorArn"] == ref.arn]
        return (_clean(getter()), ra.list_tags_for_resource(resourceArn=ref.arn)["tags"], crls)


def _clean(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One in-process server for the whole table (the denied calls change nothing)."""
    server = InProcessServer(Path(tmp_path_factory.mktemp("authz")))
    try:
        world = World(server)
        world.made.clear()  # the production resources stay
        yield world
    finally:
        server.close()


def _call(client: Any, case: Case, named: str) -> tuple[str, int]:
    """Run the case's operation naming the resource ``named``; (error code or 'ok', status)."""
    method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", case.operation).lower())
    try:
        answer = method(**{case.member: named}, **EXTRA[case.operation])
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return "ok", answer["ResponseMetadata"]["HTTPStatusCode"]


def test_every_resource_member_is_in_the_table() -> None:
    """The table covers every operation and member of the model that names a resource."""
    assert {member for _, member in MEMBERS} == set(KINDS_OF_MEMBER)
    assert {op for op, _ in MEMBERS} == set(EXTRA)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_deny_holds_in_every_form(world: World, case: Case) -> None:
    """A Deny on the resource's ARN or on its tags refuses the call whatever names the resource."""
    prod = world.prod[case.kind]
    shape = MEMBERS[(case.operation, case.member)]
    named = prod.named(case.form)
    before = world.state(prod)
    denied: tuple[str, int] = ("AccessDeniedException", 403)
    allowed: tuple[str, int] | None = None  # None: succeeds
    if not _accepts(shape, named):
        # The model itself refuses this form here (e.g. an ARN where only a UUID fits).
        denied = allowed = ("ValidationException", 400)
    elif case.member == "resourceArn" and case.form == "id":
        denied = allowed = ("ResourceNotFoundException", 404)  # a bare id is no resource ARN
    elif case.operation == "ImportCrl" and case.form == "alias":
        # "This parameter doesn't support alias ARNs. If you specify an alias ARN, the request
        # fails with ResourceNotFoundException." (model, ImportCrlRequest.trustAnchorArn)
        denied = allowed = ("ResourceNotFoundException", 404)
    principals = [("deny-arn", world.deny_arn)]
    if case.kind != "subject":  # subjects carry no tags, so a tag cannot deny them
        principals.append(("deny-tag", world.deny_tag))
    for label, client in principals:
        assert _call(client, case, named) == denied, label
    assert world.state(prod) == before
    try:
        for label, client in principals:
            staging = world.make(case.kind, "staging")
            code, status = _call(client, case, staging.named(case.form))
            if allowed is None:
                assert (code, status // 100) == ("ok", 2), f"{label} on staging: {code}"
            else:
                assert (code, status) == allowed, f"{label} on staging"
    finally:
        world.clean_up()
