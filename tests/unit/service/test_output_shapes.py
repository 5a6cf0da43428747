"""Every output the control plane returns fits its operation's output shape in botocore's model."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from elsewhere.service import ControlPlane, Store, SubjectRecorder
from tests.unit.service.conftest import ACCOUNT, CALLER, REGION, ROLE, T0

MODEL = botocore.session.get_session().get_service_model("rolesanywhere")


def check(operation: str, output: dict[str, Any]) -> dict[str, Any]:
    """Validate ``output`` against the operation's output shape; return it."""
    report = ParamValidator().validate(output, MODEL.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()
    return output


def call(cp: ControlPlane, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one operation and check its output."""
    return check(operation, cp.handle(operation, params, CALLER))


def test_all_thirty_operations_fit_their_output_shapes(
    cp: ControlPlane, store: Store, ca_pem: str, crl_der: bytes
) -> None:
    """A scenario touching all 30 operations yields only model-conformant outputs."""
    done: set[str] = set()

    def run(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        done.add(operation)
        return call(cp, operation, params)

    source = {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": ca_pem}}
    anchor = run(
        "CreateTrustAnchor",
        {"name": "a", "source": source, "tags": [{"key": "k", "value": "v"}], "aliasName": "al"},
    )["trustAnchor"]
    ta = {"trustAnchorId": anchor["trustAnchorId"]}
    run("GetTrustAnchor", ta)
    run("UpdateTrustAnchor", {**ta, "name": "b"})
    run("DisableTrustAnchor", ta)
    run("EnableTrustAnchor", ta)
    run("ListTrustAnchors", {"pageSize": 1})
    run(
        "PutNotificationSettings",
        {**ta, "notificationSettings": [{"enabled": False, "event": "CA_CERTIFICATE_EXPIRY"}]},
    )
    run(
        "ResetNotificationSettings",
        {**ta, "notificationSettingKeys": [{"event": "CA_CERTIFICATE_EXPIRY"}]},
    )

    profile = run(
        "CreateProfile",
        {
            "name": "p",
            "roleArns": [ROLE],
            "sessionPolicy": "{}",
            "tipConfiguration": {"status": "DISABLED"},
            "aliasName": "pal",
        },
    )["profile"]
    pid = {"profileId": profile["profileId"]}
    run("GetProfile", pid)
    run("UpdateProfile", {**pid, "durationSeconds": 1200, "aliasName": "pal2"})
    run("DisableProfile", pid)
    run("EnableProfile", pid)
    run("ListProfiles", {})
    run(
        "PutAttributeMapping",
        {**pid, "certificateField": "x509Subject", "mappingRules": [{"specifier": "CN"}]},
    )
    run("DeleteAttributeMapping", {**pid, "certificateField": "x509SAN", "specifiers": ["DNS"]})

    crl = run(
        "ImportCrl", {"name": "c", "crlData": crl_der, "trustAnchorArn": anchor["trustAnchorArn"]}
    )["crl"]
    cid = {"crlId": crl["crlId"]}
    run("GetCrl", cid)
    run("UpdateCrl", {**cid, "name": "d"})
    run("EnableCrl", cid)
    run("DisableCrl", cid)
    run("ListCrls", {})

    recorder = SubjectRecorder(store.subjects, account_id=ACCOUNT, region=REGION, background=False)
    recorder.record(
        x509_subject="CN=w",
        seen_at=T0,
        serial_number="0A",
        issuer="CN=Test Root CA",
        x509_certificate_data=ca_pem,
        failed=True,
        instance_properties={"host": "h"},
    )
    recorder.close()
    subjects = run("ListSubjects", {})["subjects"]
    run("GetSubject", {"subjectId": subjects[0]["subjectId"]})

    run("TagResource", {"resourceArn": profile["profileArn"], "tags": [{"key": "a", "value": "b"}]})
    run("ListTagsForResource", {"resourceArn": profile["profileArn"]})
    run("UntagResource", {"resourceArn": profile["profileArn"], "tagKeys": ["a"]})

    run("DeleteCrl", cid)
    run("DeleteProfile", pid)
    run("DeleteTrustAnchor", ta)
    assert done == set(MODEL.operation_names)
