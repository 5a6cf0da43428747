"""The rolesanywhere control plane through boto3 against a real ``elsewhere server`` process."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import quick_chain
from tests.conftest import ServerProcess

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ROLE = "arn:aws:iam::123456789012:role/workload"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _anchor(ra: Any, **kwargs: Any) -> dict[str, Any]:
    chain = quick_chain(NOW, "p256")
    kwargs.setdefault("name", _name("ta"))
    kwargs.setdefault("enabled", True)
    kwargs.setdefault(
        "source",
        {
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )
    return ra.create_trust_anchor(**kwargs)["trustAnchor"]


def _all(call: Any, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = call(**kwargs)
        items.extend(page[key])
        if not page.get("nextToken"):
            return items
        kwargs["nextToken"] = page["nextToken"]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response["Error"]
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return err["Code"], err.get("Message", ""), status


@pytest.fixture(scope="module")
def ra(server: ServerProcess) -> Any:
    """A rolesanywhere client with the root key."""
    return server.client("rolesanywhere")


@pytest.fixture(scope="module")
def ra_unvalidated(server: ServerProcess) -> Any:
    """A client that lets bad input through to the server."""
    return server.client(
        "rolesanywhere", config=Config(parameter_validation=False, retries={"max_attempts": 1})
    )


class TestTrustAnchors:
    """CreateTrustAnchor, Get, List, Update, Enable, Disable, Delete."""

    def test_create_returns_the_aws_shape(self, ra: Any, server: ServerProcess) -> None:
        """A new anchor has a UUID id, an ARN of this account and region, default notifications."""
        anchor = _anchor(ra)
        assert UUID_RE.match(anchor["trustAnchorId"])
        assert anchor["trustAnchorArn"] == (
            f"arn:aws:rolesanywhere:{server.region}:{server.account_id}:trust-anchor/"
            f"{anchor['trustAnchorId']}"
        )
        assert anchor["enabled"] is True
        assert isinstance(anchor["createdAt"], dt.datetime)
        assert anchor["source"]["sourceType"] == "CERTIFICATE_BUNDLE"
        assert "BEGIN CERTIFICATE" in anchor["source"]["sourceData"]["x509CertificateData"]
        settings = {s["event"]: s for s in anchor["notificationSettings"]}
        assert set(settings) == {"CA_CERTIFICATE_EXPIRY", "END_ENTITY_CERTIFICATE_EXPIRY"}
        for setting in settings.values():
            assert setting["enabled"] is True
            assert setting["threshold"] == 45
            assert setting["channel"] == "ALL"
            assert setting["configuredBy"] == "rolesanywhere.amazonaws.com"

    def test_get_update_enable_disable_delete(self, ra: Any) -> None:
        """The life of an anchor, each step visible in the next read."""
        anchor = _anchor(ra, enabled=False)
        tid = anchor["trustAnchorId"]
        assert ra.get_trust_anchor(trustAnchorId=tid)["trustAnchor"]["name"] == anchor["name"]
        renamed = _name("renamed")
        updated = ra.update_trust_anchor(trustAnchorId=tid, name=renamed)["trustAnchor"]
        assert updated["name"] == renamed
        assert updated["updatedAt"] >= updated["createdAt"]
        assert ra.enable_trust_anchor(trustAnchorId=tid)["trustAnchor"]["enabled"] is True
        assert ra.disable_trust_anchor(trustAnchorId=tid)["trustAnchor"]["enabled"] is False
        deleted = ra.delete_trust_anchor(trustAnchorId=tid)["trustAnchor"]
        assert deleted["trustAnchorId"] == tid
        with pytest.raises(ClientError) as exc:
            ra.get_trust_anchor(trustAnchorId=tid)
        assert _error(exc)[0] == "ResourceNotFoundException"
        assert _error(exc)[2] == 404

    def test_list_paginates(self, ra: Any) -> None:
        """pageSize limits a page and nextToken walks every anchor exactly once."""
        made = {_anchor(ra)["trustAnchorId"] for _ in range(3)}
        seen: list[str] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"pageSize": 2}
            if token:
                kwargs["nextToken"] = token
            page = ra.list_trust_anchors(**kwargs)
            assert len(page["trustAnchors"]) <= 2
            seen.extend(a["trustAnchorId"] for a in page["trustAnchors"])
            token = page.get("nextToken")
            if not token:
                break
        assert made <= set(seen)
        assert len(seen) == len(set(seen))

    def test_forged_next_token_is_a_validation_error(self, ra: Any) -> None:
        """A nextToken the server did not issue is refused, not trusted."""
        with pytest.raises(ClientError) as exc:
            ra.list_trust_anchors(nextToken="bm90LWEtdG9rZW4=")
        assert _error(exc)[0] == "ValidationException"

    @pytest.mark.parametrize(
        ("label", "pem_of"),
        [
            ("fail/not-pem", lambda c: "hello"),
            ("fail/leaf-is-not-a-ca", lambda c: c.leaf_pem),
            ("fail/three-certificates", lambda c: c.anchor_pem * 3),
        ],
    )
    def test_bad_bundle_is_refused(self, ra: Any, label: str, pem_of: Any) -> None:
        """A bundle that is not PEM CA certificates, or too many, is a ValidationException."""
        chain = quick_chain(NOW, "p256")
        with pytest.raises(ClientError) as exc:
            ra.create_trust_anchor(
                name=_name("bad"),
                source={
                    "sourceType": "CERTIFICATE_BUNDLE",
                    "sourceData": {"x509CertificateData": pem_of(chain)},
                },
            )
        code, message, status = _error(exc)
        assert (code, status) == ("ValidationException", 400), label
        assert message

    def test_acm_pca_source_is_refused_clearly(self, ra: Any) -> None:
        """AWS_ACM_PCA anchors have nothing to back them here, and say so."""
        with pytest.raises(ClientError) as exc:
            ra.create_trust_anchor(
                name=_name("pca"),
                source={
                    "sourceType": "AWS_ACM_PCA",
                    "sourceData": {
                        "acmPcaArn": "arn:aws:acm-pca:us-east-1:123456789012:"
                        "certificate-authority/11111111-1111-1111-1111-111111111111"
                    },
                },
            )
        code, message, _ = _error(exc)
        assert code == "ValidationException"
        assert "ACM" in message or "PCA" in message

    def test_name_constraints_use_awss_message(self, ra: Any) -> None:
        """A name breaking the model's pattern is answered in AWS's validation grammar."""
        with pytest.raises(ClientError) as exc:
            _anchor(ra, name="bad!name")
        code, message, status = _error(exc)
        assert (code, status) == ("ValidationException", 400)
        assert message.startswith("1 validation error detected: Value 'bad!name' at 'name' ")
        assert (
            "failed to satisfy constraint: Member must satisfy regular expression pattern"
            in message
        )

    def test_missing_required_members_are_counted(self, ra_unvalidated: Any) -> None:
        """Several violations are reported together, counted."""
        with pytest.raises(ClientError) as exc:
            ra_unvalidated.create_trust_anchor()
        code, message, _ = _error(exc)
        assert code == "ValidationException"
        assert message.startswith("2 validation errors detected: ")
        assert "'name'" in message
        assert "'source'" in message
        assert "Member must not be null" in message

    @pytest.mark.parametrize(
        "call",
        ["get_trust_anchor", "delete_trust_anchor", "enable_trust_anchor", "update_trust_anchor"],
    )
    def test_unknown_id_is_not_found(self, ra: Any, call: str) -> None:
        """Every call on an unknown anchor id is 404 ResourceNotFoundException."""
        with pytest.raises(ClientError) as exc:
            getattr(ra, call)(trustAnchorId=str(uuid.uuid4()))
        assert _error(exc)[:1] == ("ResourceNotFoundException",)
        assert _error(exc)[2] == 404


class TestProfiles:
    """CreateProfile and friends, attribute mappings."""

    def test_defaults(self, ra: Any, server: ServerProcess) -> None:
        """A profile made with only the required members has AWS's defaults."""
        profile = ra.create_profile(name=_name("p"), roleArns=[ROLE])["profile"]
        assert UUID_RE.match(profile["profileId"])
        assert profile["profileArn"].endswith(f":profile/{profile['profileId']}")
        assert profile["durationSeconds"] == 3600
        assert profile["acceptRoleSessionName"] is False
        assert profile["roleArns"] == [ROLE]
        assert profile["createdBy"].startswith(f"arn:aws:iam::{server.account_id}:")
        fields = {m["certificateField"] for m in profile["attributeMappings"]}
        assert {"x509Subject", "x509Issuer", "x509SAN"} <= fields

    def test_life_cycle(self, ra: Any) -> None:
        """Update, enable, disable and delete show in reads; delete returns the profile."""
        pid = ra.create_profile(name=_name("p"), roleArns=[ROLE], enabled=True)["profile"][
            "profileId"
        ]
        updated = ra.update_profile(profileId=pid, durationSeconds=900, acceptRoleSessionName=True)
        assert updated["profile"]["durationSeconds"] == 900
        assert updated["profile"]["acceptRoleSessionName"] is True
        assert ra.disable_profile(profileId=pid)["profile"]["enabled"] is False
        assert ra.enable_profile(profileId=pid)["profile"]["enabled"] is True
        assert pid in {p["profileId"] for p in _all(ra.list_profiles, "profiles")}
        assert ra.delete_profile(profileId=pid)["profile"]["profileId"] == pid
        with pytest.raises(ClientError) as exc:
            ra.get_profile(profileId=pid)
        assert _error(exc)[0] == "ResourceNotFoundException"

    def test_session_policy_must_be_json(self, ra: Any) -> None:
        """A sessionPolicy that is not a JSON policy document is a ValidationException."""
        with pytest.raises(ClientError) as exc:
            ra.create_profile(name=_name("p"), roleArns=[ROLE], sessionPolicy="not json")
        assert _error(exc)[0] == "ValidationException"

    def test_duration_bounds(self, ra: Any) -> None:
        """durationSeconds outside 900..43200 is refused by the model's range."""
        with pytest.raises(ClientError) as exc:
            ra.create_profile(name=_name("p"), roleArns=[ROLE], durationSeconds=43201)
        code, message, _ = _error(exc)
        assert code == "ValidationException"
        assert "durationSeconds" in message

    def test_attribute_mappings(self, ra: Any) -> None:
        """PutAttributeMapping replaces a field's rules; DeleteAttributeMapping removes them."""
        pid = ra.create_profile(name=_name("p"), roleArns=[ROLE])["profile"]["profileId"]
        put = ra.put_attribute_mapping(
            profileId=pid,
            certificateField="x509Subject",
            mappingRules=[{"specifier": "CN"}, {"specifier": "OU"}],
        )["profile"]
        subject = next(
            m for m in put["attributeMappings"] if m["certificateField"] == "x509Subject"
        )
        assert sorted(r["specifier"] for r in subject["mappingRules"]) == ["CN", "OU"]
        after = ra.delete_attribute_mapping(
            profileId=pid, certificateField="x509Subject", specifiers=["OU"]
        )["profile"]
        subject = next(
            (m for m in after["attributeMappings"] if m["certificateField"] == "x509Subject"),
            {"mappingRules": []},
        )
        assert [r["specifier"] for r in subject["mappingRules"]] == ["CN"]


class TestCrls:
    """ImportCrl and friends."""

    def test_import_and_read_back(self, ra: Any) -> None:
        """A DER CRL is stored and returned byte for byte."""
        anchor = _anchor(ra)
        chain = quick_chain(NOW, "p256")
        der = chain.crl([chain.leaf.serial_number], now=NOW).public_bytes(
            serialization.Encoding.DER
        )
        crl = ra.import_crl(
            name=_name("crl"), crlData=der, trustAnchorArn=anchor["trustAnchorArn"], enabled=True
        )["crl"]
        assert UUID_RE.match(crl["crlId"])
        assert crl["crlArn"].endswith(f":crl/{crl['crlId']}")
        got = ra.get_crl(crlId=crl["crlId"])["crl"]
        assert got["crlData"] == der
        assert got["trustAnchorArn"] == anchor["trustAnchorArn"]
        assert ra.disable_crl(crlId=crl["crlId"])["crl"]["enabled"] is False
        assert ra.enable_crl(crlId=crl["crlId"])["crl"]["enabled"] is True
        assert crl["crlId"] in {c["crlId"] for c in _all(ra.list_crls, "crls")}
        assert ra.delete_crl(crlId=crl["crlId"])["crl"]["crlId"] == crl["crlId"]

    def test_garbage_is_not_a_crl(self, ra: Any) -> None:
        """crlData that does not parse as a CRL is a ValidationException."""
        anchor = _anchor(ra)
        with pytest.raises(ClientError) as exc:
            ra.import_crl(
                name=_name("crl"), crlData=b"\x00\x01junk", trustAnchorArn=anchor["trustAnchorArn"]
            )
        assert _error(exc)[0] == "ValidationException"


class TestTagsNotificationsSubjects:
    """Tags, notification settings, subjects."""

    def test_tags_round_trip(self, ra: Any) -> None:
        """TagResource, ListTagsForResource, UntagResource."""
        arn = _anchor(ra, tags=[{"key": "team", "value": "a"}])["trustAnchorArn"]
        ra.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
        tags = {t["key"]: t["value"] for t in ra.list_tags_for_resource(resourceArn=arn)["tags"]}
        assert tags == {"team": "a", "env": "dev"}
        ra.untag_resource(resourceArn=arn, tagKeys=["team"])
        tags = {t["key"]: t["value"] for t in ra.list_tags_for_resource(resourceArn=arn)["tags"]}
        assert tags == {"env": "dev"}

    def test_too_many_tags(self, ra: Any) -> None:
        """Tags beyond the limit are refused with TooManyTagsException."""
        arn = _anchor(ra)["trustAnchorArn"]
        ra.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
        with pytest.raises(ClientError) as exc:
            ra.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
        assert _error(exc)[0] == "TooManyTagsException"
        assert len(ra.list_tags_for_resource(resourceArn=arn)["tags"]) == 50

    def test_notification_settings(self, ra: Any) -> None:
        """Put changes one event's settings; Reset restores AWS's defaults."""
        tid = _anchor(ra)["trustAnchorId"]
        put = ra.put_notification_settings(
            trustAnchorId=tid,
            notificationSettings=[
                {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 10}
            ],
        )["trustAnchor"]
        ca = next(s for s in put["notificationSettings"] if s["event"] == "CA_CERTIFICATE_EXPIRY")
        assert ca["threshold"] == 10
        assert ca["configuredBy"] != "rolesanywhere.amazonaws.com"
        reset = ra.reset_notification_settings(
            trustAnchorId=tid,
            notificationSettingKeys=[{"event": "CA_CERTIFICATE_EXPIRY"}],
        )["trustAnchor"]
        ca = next(s for s in reset["notificationSettings"] if s["event"] == "CA_CERTIFICATE_EXPIRY")
        assert ca["threshold"] == 45
        assert ca["configuredBy"] == "rolesanywhere.amazonaws.com"

    def test_subjects_unknown(self, ra: Any) -> None:
        """ListSubjects answers a list; GetSubject of an unknown id is 404."""
        assert isinstance(ra.list_subjects()["subjects"], list)
        with pytest.raises(ClientError) as exc:
            ra.get_subject(subjectId=str(uuid.uuid4()))
        assert _error(exc)[0] == "ResourceNotFoundException"


class TestRemainingOperations:
    """Operations not exercised above, so every one of the 30 runs through boto3."""

    def test_update_crl_and_trust_anchor_source(self, ra: Any) -> None:
        """UpdateCrl replaces the name and data; UpdateTrustAnchor replaces the bundle."""
        anchor = _anchor(ra)
        chain = quick_chain(NOW, "p256")
        first = chain.crl([], now=NOW).public_bytes(serialization.Encoding.DER)
        second = chain.crl([chain.leaf.serial_number], now=NOW).public_bytes(
            serialization.Encoding.PEM
        )
        crl = ra.import_crl(name=_name("c"), crlData=first, trustAnchorArn=anchor["trustAnchorArn"])
        updated = ra.update_crl(crlId=crl["crl"]["crlId"], name="renamed", crlData=second)["crl"]
        assert updated["name"] == "renamed"
        assert updated["crlData"] == second
        other = quick_chain(NOW, "rsa2048").anchor_pem
        source = {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": other}}
        after = ra.update_trust_anchor(trustAnchorId=anchor["trustAnchorId"], source=source)
        assert after["trustAnchor"]["source"]["sourceData"]["x509CertificateData"] == other

    def test_every_operation_is_served(self, ra: Any) -> None:
        """The model's 30 operations all route to elsewhere (none is an unknown operation)."""
        names = ra.meta.service_model.operation_names
        assert len(names) == 30
        probe_id = str(uuid.uuid4())
        for name in names:
            method = getattr(ra, _snake(name))
            kwargs = _probe_arguments(ra, name, probe_id)
            try:
                method(**kwargs)
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                assert code in {"ResourceNotFoundException", "ValidationException"}, (name, code)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _probe_arguments(ra: Any, name: str, probe_id: str) -> dict[str, Any]:
    """Minimal valid-looking arguments for an operation, naming resources that do not exist."""
    shape = ra.meta.service_model.operation_model(name).input_shape
    if shape is None:
        return {}
    arn = f"arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/{probe_id}"
    samples: dict[str, Any] = {
        "trustAnchorId": probe_id,
        "profileId": probe_id,
        "crlId": probe_id,
        "subjectId": probe_id,
        "resourceArn": arn,
        "trustAnchorArn": arn,
        "name": "probe",
        "roleArns": [ROLE],
        "crlData": b"not a crl",
        "source": {
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": "not pem"},
        },
        "tags": [{"key": "k", "value": "v"}],
        "tagKeys": ["k"],
        "certificateField": "x509Subject",
        "mappingRules": [{"specifier": "CN"}],
        "notificationSettings": [{"enabled": True, "event": "CA_CERTIFICATE_EXPIRY"}],
        "notificationSettingKeys": [{"event": "CA_CERTIFICATE_EXPIRY"}],
    }
    return {m: samples[m] for m in shape.required_members}
