"""Pipeline rules in isolation: input validation, tag mapping, refusal order, snapshot and cache."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import string
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.domain import AttributeMapping
from elsewhere.errors import AccessDenied, ElsewhereError, SerializationError, ValidationError
from elsewhere.pki import quick_chain
from elsewhere.service._sessions import (
    SessionDenied,
    is_legal_tag_text,
    map_principal_tags,
    subject_id_for,
)
from elsewhere.sigv4 import HttpRequest, parse_signed_request
from elsewhere.x509 import UntrustedCertificate

from .conftest import NOW, World, session_request, trust_with


def _setup(world: World, **profile: Any) -> tuple[Any, str, str, str]:
    chain = quick_chain(NOW, "p256")
    role = world.add_role("r" + str(len(world.store.list_roles())))
    anchor = world.add_anchor(chain)
    return chain, anchor, role, world.add_profile([role], **profile)


@pytest.mark.parametrize(
    ("case", "body", "error", "text"),
    [
        (
            "fail/duration-below-900",
            {"durationSeconds": 899},
            ValidationError,
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 900",
        ),
        (
            "fail/duration-above-43200",
            {"durationSeconds": 43201},
            ValidationError,
            "Member must have value less than or equal to 43200",
        ),
        (
            "fail/duration-not-integer",
            {"durationSeconds": "3600"},
            SerializationError,
            "",
        ),
        (
            "fail/session-name-short",
            {"roleSessionName": "a"},
            ValidationError,
            "Member must have length greater than or equal to 2",
        ),
        (
            "fail/session-name-space",
            {"roleSessionName": "a b"},
            ValidationError,
            "Member must satisfy regular expression pattern",
        ),
        (
            "fail/instance-properties-not-strings",
            {"instanceProperties": {"a": 1}},
            SerializationError,
            "",
        ),
        (
            "fail/instance-properties-lone-surrogate-value",
            {"instanceProperties": {"a": "x\ud800"}},
            ValidationError,
            "1 validation error detected: Value '{a=x\ufffd}' at 'instanceProperties' failed to "
            "satisfy constraint: Map value must satisfy constraint: [Member must have length less "
            "than or equal to 200, Member must have length greater than or equal to 1, Member "
            "must not contain unpaired UTF-16 surrogates]",
        ),
        (
            "fail/instance-properties-lone-surrogate-key",
            {"instanceProperties": {"\udfff": "v"}},
            ValidationError,
            "Map keys must satisfy constraint: [Member must have length less than or equal to "
            "200, Member must have length greater than or equal to 1, Member must not contain "
            "unpaired UTF-16 surrogates]",
        ),
        (
            "fail/instance-properties-nul",
            {"instanceProperties": {"a": "b\x00"}},
            ValidationError,
            "Member must not contain the null character",
        ),
        (
            "fail/instance-properties-key-over-200",
            {"instanceProperties": {"k" * 201: "v"}},
            ValidationError,
            "Map keys must satisfy constraint: [Member must have length less than or equal to "
            "200, Member must have length greater than or equal to 1]",
        ),
        (
            "fail/instance-properties-empty-value",
            {"instanceProperties": {"k": ""}},
            ValidationError,
            "Map value must satisfy constraint: [Member must have length less than or equal to "
            "200, Member must have length greater than or equal to 1]",
        ),
        (
            "fail/instance-properties-51-entries",
            {"instanceProperties": {f"k{i}": "v" for i in range(51)}},
            ValidationError,
            "Member must have length less than or equal to 50",
        ),
        (
            "fail/role-arn-lone-surrogate",
            {"roleArn": "arn:aws:iam::123456789012:role/r\ud800"},
            ValidationError,
            "at 'roleArn' failed to satisfy constraint: Member must not contain unpaired UTF-16 "
            "surrogates",
        ),
        (
            "fail/profile-arn-nul",
            {"profileArn": "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p\x00"},
            ValidationError,
            "at 'profileArn' failed to satisfy constraint: Member must not contain the null "
            "character",
        ),
    ],
)
def test_input_validation(
    world: World, case: str, body: dict[str, Any], error: type[Exception], text: str
) -> None:
    """Malformed input after a valid signature is a 400 with a Coral-style text."""
    chain, anchor, role, profile = _setup(world)
    form = "body" if {"roleArn", "profileArn"} & body.keys() else "query"
    request = session_request(
        chain, anchor=anchor, profile=profile, role=role, body=body, form=form
    )
    with pytest.raises(error) as err:
        world.call(request)
    assert text in str(err.value), case


def test_ok_instance_properties_at_their_bounds(world: World) -> None:
    """50 properties with keys and values of 1 and 200 characters are accepted and recorded."""
    chain, anchor, role, profile = _setup(world)
    props = {f"k{i:03d}" + "x" * 196: "v" * (1 if i % 2 else 200) for i in range(50)}
    request = session_request(
        chain, anchor=anchor, profile=profile, role=role, body={"instanceProperties": props}
    )
    assert world.call(request).status == 201
    world.recorder.flush()
    (subject,) = world.store.subjects.list_page(None, 10)
    detail = world.store.subjects.get(subject.id)
    assert detail is not None
    assert detail.instance_properties[0].properties == props


def test_fail_missing_and_malformed_arns(world: World) -> None:
    """A missing ARN is 'must not be null'; a malformed one names the model's pattern."""
    chain, anchor, role, profile = _setup(world)
    request = session_request(chain, anchor=anchor, profile=profile, role=role, form="body")
    body = json.loads(request.body)
    for member, value, text in (
        ("roleArn", None, "Value null at 'roleArn' failed to satisfy constraint: "),
        ("profileArn", "nope", "Value 'nope' at 'profileArn' failed to satisfy constraint"),
    ):
        changed = dict(body)
        if value is None:
            changed.pop(member)
        else:
            changed[member] = value
        unsigned = HttpRequest(
            "POST",
            "/sessions",
            "",
            tuple((n, v) for n, v in request.headers if n.lower().startswith(("host", "content"))),
            json.dumps(changed).encode(),
        )
        resigned = _resign(chain, unsigned)
        with pytest.raises(ValidationError, match=text):
            world.call(resigned)


def _resign(chain: Any, unsigned: HttpRequest) -> HttpRequest:
    from elsewhere.sigv4 import sign_x509_request

    return sign_x509_request(
        unsigned,
        certificate=chain.leaf,
        private_key=chain.leaf_key,
        region="us-east-1",
        now=NOW,
        intermediates=chain.intermediates,
    )


def test_fail_conflicting_arns(world: World) -> None:
    """The same ARN member in the query and the body with different values is refused."""
    chain, anchor, role, profile = _setup(world)
    request = session_request(
        chain, anchor=anchor, profile=profile, role=role, body={"roleArn": role + "x"}
    )
    with pytest.raises(ValidationError, match="both the query string and the body"):
        world.call(request)


def test_order_signature_before_trust(world: World) -> None:
    """A bad signature is reported as such even when the certificate is also untrusted."""
    _, anchor, role, profile = _setup(world)
    stranger = quick_chain(NOW, "p256")
    request = session_request(stranger, anchor=anchor, profile=profile, role=role)
    tampered = HttpRequest(
        request.method, request.raw_path, request.raw_query, request.headers, b"{}"
    )
    with pytest.raises(AccessDenied) as err:
        world.call(tampered)
    assert err.value.message == "Invalid signature"
    with pytest.raises(UntrustedCertificate):
        world.call(request)


def test_fail_leaf_with_unknown_key_algorithm(world: World) -> None:
    """A leaf whose public key algorithm cryptography does not know is an Invalid signature."""
    chain, anchor, role, profile = _setup(world)
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    der = chain.leaf.public_bytes(serialization.Encoding.DER)
    # id-ecPublicKey (1.2.840.10045.2.1) turned into the unassigned 1.2.840.10045.2.9.
    ec_oid = bytes.fromhex("06072a8648ce3d0201")
    assert der.count(ec_oid) == 1
    bad = base64.b64encode(der.replace(ec_oid, bytes.fromhex("06072a8648ce3d0209"))).decode()
    headers = tuple((n, bad if n.lower() == "x-amz-x509" else v) for n, v in request.headers)
    forged = HttpRequest(request.method, request.raw_path, request.raw_query, headers, request.body)
    with pytest.raises(AccessDenied) as err:
        world.call(forged)
    assert err.value.message == "Invalid signature"


def test_order_trust_before_profile(world: World) -> None:
    """An untrusted certificate is refused before the profile is looked at."""
    _, anchor, role, _ = _setup(world)
    stranger = quick_chain(NOW, "p256")
    request = session_request(
        stranger,
        anchor=anchor,
        profile="arn:aws:rolesanywhere:us-east-1:123456789012:profile/none",
        role=role,
    )
    with pytest.raises(UntrustedCertificate):
        world.call(request)


def test_fail_unknown_anchor_and_profile(world: World) -> None:
    """Unknown anchors are untrusted; unknown profiles cannot assume the role."""
    chain, anchor, role, profile = _setup(world)
    missing_anchor = anchor.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(UntrustedCertificate):
        world.call(session_request(chain, anchor=missing_anchor, profile=profile, role=role))
    missing_profile = profile.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(AccessDenied, match=r"^Unable to assume role for "):
        world.call(session_request(chain, anchor=anchor, profile=missing_profile, role=role))


def test_trust_policy_source_arn_condition(world: World) -> None:
    """aws:SourceArn is the trust anchor: a condition naming another anchor refuses."""
    chain = quick_chain(NOW, "p256")
    anchor = world.add_anchor(chain)
    good = world.add_role("good", trust_with({"ArnEquals": {"aws:SourceArn": anchor}}))
    bad = world.add_role("bad", trust_with({"ArnEquals": {"aws:SourceArn": anchor + "x"}}))
    profile = world.add_profile([good, bad])
    assert (
        world.call(session_request(chain, anchor=anchor, profile=profile, role=good)).status == 201
    )
    with pytest.raises(AccessDenied, match=r"^Unable to assume role for .*bad\.$"):
        world.call(session_request(chain, anchor=anchor, profile=profile, role=bad))


def test_ok_attribute_mappings_select_tags(world: World) -> None:
    """Only the profile's mapping rules become tags; 'Name/*' selects directory-name RDNs."""
    chain = quick_chain(
        NOW,
        "p256",
        subject="CN=web,OU=a,OU=b,O=elsewhere",
        sans=("DNS:web.example.com", "URI:spiffe://example.com/web"),
    )
    _, _, _, profile_arn = _setup(world)
    profile = world.snapshots.current().profile(profile_arn)
    assert profile is not None
    tags, failed = map_principal_tags(chain.leaf, profile)
    # RFC 4514 text lists the last RDN first, so certificate order is OU=b then OU=a.
    assert ("x509Subject/OU", "b/a") in tags
    assert ("x509SAN/DNS", "web.example.com") in tags
    assert ("x509SAN/URI", "spiffe://example.com/web") in tags
    assert not any(failed.values())
    narrow = type(profile)(
        **{
            **{f: getattr(profile, f) for f in profile.__dataclass_fields__},
            "attribute_mappings": (AttributeMapping("x509Subject", ("CN",)),),
        }
    )
    assert map_principal_tags(chain.leaf, narrow)[0] == (("x509Subject/CN", "web"),)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "_.:/=+-@ ", max_size=40))
def test_legal_tag_text_accepts_the_sts_class(text: str) -> None:
    """Letters, digits, spaces and _ . : / = + - @ are legal tag text."""
    assert is_legal_tag_text(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=10), st.sampled_from("()*,;!?#$%&[]{}<>\"'\\|~^`"), st.text(max_size=10))
def test_legal_tag_text_refuses_other_punctuation(left: str, bad: str, right: str) -> None:
    """Any character outside the STS class makes the text illegal."""
    assert not is_legal_tag_text(left + bad + right)


def test_subject_id_is_stable_per_subject() -> None:
    """Every node derives the same Subject id for the same account, region and DN."""
    a = subject_id_for("123456789012", "us-east-1", "CN=a")
    assert a == subject_id_for("123456789012", "us-east-1", "CN=a")
    assert a != subject_id_for("123456789012", "us-east-1", "CN=b")
    assert a != subject_id_for("123456789012", "eu-west-1", "CN=a")


def test_chain_cache_never_past_not_after(world: World) -> None:
    """A cached path is not reused once its earliest notAfter has passed."""
    chain = quick_chain(NOW, "p256", leaf_days=1)
    role = world.add_role("cache")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    assert (
        world.call(session_request(chain, anchor=anchor, profile=profile, role=role)).status == 201
    )
    later = NOW + dt.timedelta(days=2)
    world.clock.set(later)
    with pytest.raises(UntrustedCertificate):
        world.call(session_request(chain, anchor=anchor, profile=profile, role=role, now=later))


def test_snapshot_follows_crl_import(world: World) -> None:
    """Importing a CRL changes the anchor's version, so a cached path is validated again."""
    chain = quick_chain(NOW, "p256", True)
    role = world.add_role("crl")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    assert world.call(request).status == 201
    crl = chain.crl([chain.leaf.serial_number], now=NOW)
    from cryptography.hazmat.primitives import serialization

    world.cp.handle(
        "ImportCrl",
        {
            "name": "c",
            "crlData": crl.public_bytes(serialization.Encoding.DER),
            "trustAnchorArn": anchor,
            "enabled": True,
        },
        "root",
    )
    with pytest.raises(UntrustedCertificate):
        world.call(request)


def test_snapshot_rebuild_loads_served_roles_before_the_swap(world: World) -> None:
    """After a configuration change, a role the old snapshot served is read by the refresh only."""
    from elsewhere.service._snapshot import RoleView, SnapshotProvider, StoreRoleSource

    loads: list[str] = []
    source = StoreRoleSource(world.store)

    class Counting:
        """A role source that notes every role it loads."""

        def load_role(self, arn: str) -> RoleView | None:
            """Note the load, then read the store."""
            loads.append(arn)
            return source.load_role(arn)

        def load_managed_policy(self, arn: str) -> str | None:
            """Read the store."""
            return source.load_managed_policy(arn)

    role = world.add_role("warm")
    missing = role + "-missing"
    provider = SnapshotProvider(world.store, Counting(), refresh_interval=0, background=False)
    assert provider.current().role(role) is not None
    assert provider.current().role(missing) is None
    assert loads == [role, missing]
    world.add_profile([role])  # bumps the configuration version
    provider.refresh()
    assert loads == [role, missing, role]  # reloaded by the refresh; the unknown name is not
    assert provider.current().role(role) is not None
    assert loads == [role, missing, role]  # the request path read nothing
    provider.close()


def test_snapshot_refresh_interval_bounds_reads(world: World) -> None:
    """Without a background thread the store version is read at most once per interval."""
    from elsewhere.service._snapshot import SnapshotProvider, StoreRoleSource

    ticks = [0.0]
    calls = [0]
    store = world.store
    original = store.config_version

    def counting() -> int:
        calls[0] += 1
        return original()

    store.config_version = counting  # type: ignore[method-assign]
    provider = SnapshotProvider(
        store,
        StoreRoleSource(store),
        refresh_interval=0.2,
        background=False,
        monotonic=lambda: ticks[0],
    )
    start = calls[0]
    for _ in range(100):
        provider.current()
    assert calls[0] == start
    ticks[0] = 0.25
    provider.current()
    provider.current()
    assert calls[0] == start + 1


def _call_from(world: World, request: HttpRequest, source_ip: str) -> int:
    """Run CreateSession for ``request`` as if it came from ``source_ip``; the HTTP status."""
    return world.handler(request, parse_signed_request(request), source_ip, True).status


def test_trust_decision_follows_request_time_keys(world: World) -> None:
    """A trust condition on aws:SourceIp is decided per caller address, also when repeated."""
    chain = quick_chain(NOW, "p256")
    anchor = world.add_anchor(chain)
    role = world.add_role("byip", trust_with({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    for address, allowed in [
        ("192.0.2.10", True),
        ("198.51.100.1", False),
        ("192.0.2.11", True),
        ("198.51.100.1", False),
        ("192.0.2.10", True),
    ]:
        if allowed:
            assert _call_from(world, request, address) == 201
        else:
            with pytest.raises(AccessDenied, match=r"^Unable to assume role for .*byip\.$"):
                _call_from(world, request, address)


def test_trust_decision_follows_a_changed_trust_policy(world: World) -> None:
    """After the trust policy changes, the next snapshot's decision is the new policy's."""
    chain = quick_chain(NOW, "p256")
    anchor = world.add_anchor(chain)
    role = world.add_role("moving", trust_with({"ArnEquals": {"aws:SourceArn": anchor + "x"}}))
    profile = world.add_profile([role])
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    with pytest.raises(AccessDenied):
        world.call(request)
    stored = world.store.get_role_by_arn(role)
    assert stored is not None
    trust = json.dumps(trust_with({"ArnEquals": {"aws:SourceArn": anchor}}))
    assert world.store.replace_role(dataclasses.replace(stored, assume_role_policy=trust))
    world.snapshots.refresh(force=True)
    assert world.call(request).status == 201
    world.store.replace_role(stored)
    world.snapshots.refresh(force=True)
    with pytest.raises(AccessDenied):
        world.call(request)


def test_fail_session_over_the_packed_budget_is_access_denied(world: World) -> None:
    """A profile whose managed policy ARNs and tags overflow the packed-policy budget refuses
    the session with CreateSession's own answer (403 AccessDeniedException "Unable to assume
    role for <arn>."), never STS's PackedPolicyTooLarge."""
    arns = [
        "arn:aws:iam::123456789012:policy/" + hashlib.sha256(str(i).encode()).hexdigest()
        for i in range(50)
    ]
    chain, anchor, role, profile = _setup(world, managedPolicyArns=arns)
    with pytest.raises(ElsewhereError) as err:
        world.call(session_request(chain, anchor=anchor, profile=profile, role=role))
    assert type(err.value) is SessionDenied
    assert (err.value.code, err.value.status, err.value.message) == (
        "AccessDeniedException",
        403,
        f"Unable to assume role for {role}.",
    )
    assert "session too large" in err.value.reason
