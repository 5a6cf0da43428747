"""Audit records: CloudTrail's fields in CloudTrail's order, for every kind of call."""

from __future__ import annotations

import datetime as dt

import pytest

from elsewhere.audit import (
    CallOrigin,
    api_call_event,
    authorization_event,
    create_session_event,
    is_read_only,
    user_identity,
)
from elsewhere.service import Principal, SessionPrincipal, SessionTrail
from elsewhere.tokens import SessionClaims

NOW = dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)
ORIGIN = CallOrigin(
    request_id="11111111-2222-4333-8444-555555555555",
    event_id="66666666-7777-4888-9999-000000000000",
    time=NOW,
    source_ip="192.0.2.7",
    user_agent="aws-cli/2.0",
    region="eu-west-1",
    account_id="123456789012",
)
#: CloudTrail's record fields, in the order every record carries them.
FIELDS = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "recipientAccountId",
]
ROOT = Principal(
    arn="arn:aws:iam::123456789012:root",
    account="123456789012",
    kind="root",
    user_id="123456789012",
    name="root",
    access_key_id="AKIAROOT000000000000",
)


def test_api_call_has_every_field_in_order() -> None:
    """A call's record carries CloudTrail's fields, in order, with the origin's values."""
    event = api_call_event(
        ORIGIN,
        service="rolesanywhere",
        operation="CreateProfile",
        identity=user_identity(ROOT),
        request_parameters={"name": "p"},
        response_elements={"profile": {"name": "p"}},
    )
    assert list(event) == FIELDS
    assert event["eventVersion"] == "1.09"
    assert event["eventTime"] == "2026-03-01T12:30:05Z"
    assert event["eventSource"] == "rolesanywhere.amazonaws.com"
    assert event["eventName"] == "CreateProfile"
    assert event["awsRegion"] == "eu-west-1"
    assert event["sourceIPAddress"] == "192.0.2.7"
    assert event["userAgent"] == "aws-cli/2.0"
    assert event["requestID"] == ORIGIN.request_id
    assert event["eventID"] == ORIGIN.event_id
    assert event["readOnly"] is False
    assert event["eventType"] == "AwsApiCall"
    assert event["recipientAccountId"] == "123456789012"
    assert event["responseElements"] == {"profile": {"name": "p"}}
    assert event["errorCode"] is None


@pytest.mark.parametrize(
    ("operation", "read_only"),
    [
        ("ok/GetRole", True),
        ("ok/ListTrustAnchors", True),
        ("ok/SimulatePrincipalPolicy", True),
        ("ok/GetCallerIdentity", True),
        ("fail/CreateRole", False),
        ("fail/AssumeRole", False),
        ("fail/TagResource", False),
    ],
)
def test_read_only(operation: str, read_only: bool) -> None:
    """AWS's read verbs are read-only; everything else is not."""
    assert is_read_only(operation.split("/")[1]) is read_only


def test_read_only_call_keeps_no_response() -> None:
    """A listing's answer is not copied into the record (CloudTrail writes null)."""
    event = api_call_event(
        ORIGIN,
        service="iam",
        operation="ListRoles",
        identity=user_identity(ROOT),
        request_parameters=None,
        response_elements={"roles": [{"roleName": "r"}]},
    )
    assert event["responseElements"] is None
    assert event["readOnly"] is True
    assert event["eventSource"] == "iam.amazonaws.com"


def test_refusal_names_code_message_and_reason() -> None:
    """A refused call has errorCode and errorMessage, and the private reason beside them."""
    event = api_call_event(
        ORIGIN,
        service="sts",
        operation="AssumeRole",
        identity=user_identity(ROOT),
        request_parameters={"roleArn": "arn:aws:iam::123456789012:role/r"},
        response_elements={"credentials": {}},
        error_code="AccessDenied",
        error_message="Roles may not be assumed by root accounts.",
        reason="root caller",
    )
    assert event["errorCode"] == "AccessDenied"
    assert event["errorMessage"] == "Roles may not be assumed by root accounts."
    assert event["responseElements"] is None
    assert event["additionalEventData"] == {"reason": "root caller"}


def test_reason_equal_to_message_is_not_repeated() -> None:
    """additionalEventData appears only when the reason says more than the message."""
    event = api_call_event(
        ORIGIN,
        service="iam",
        operation="GetRole",
        identity=user_identity(ROOT),
        request_parameters={"roleName": "r"},
        response_elements=None,
        error_code="NoSuchEntity",
        error_message="The role with name r cannot be found.",
        reason="The role with name r cannot be found.",
    )
    assert "additionalEventData" not in event


def test_identity_of_root_user_and_unknown() -> None:
    """Root, an IAM user and an unauthenticated caller, as CloudTrail's userIdentity types."""
    assert user_identity(ROOT) == {
        "type": "Root",
        "principalId": "123456789012",
        "arn": "arn:aws:iam::123456789012:root",
        "accountId": "123456789012",
        "accessKeyId": "AKIAROOT000000000000",
    }
    alice = Principal(
        arn="arn:aws:iam::123456789012:user/alice",
        account="123456789012",
        kind="user",
        user_id="AIDAALICE",
        name="alice",
        access_key_id="AKIAALICE",
    )
    assert user_identity(alice) == {
        "type": "IAMUser",
        "principalId": "AIDAALICE",
        "arn": "arn:aws:iam::123456789012:user/alice",
        "accountId": "123456789012",
        "accessKeyId": "AKIAALICE",
        "userName": "alice",
    }
    assert user_identity(None, access_key_id="AKIAGUESS") == {
        "type": "Unknown",
        "accessKeyId": "AKIAGUESS",
    }
    assert user_identity(None) == {"type": "Unknown"}


def test_identity_of_a_session() -> None:
    """A role session is AssumedRole with its issuer role and source identity."""
    claims = SessionClaims(
        account="123456789012",
        role_arn="arn:aws:iam::123456789012:role/app",
        role_id="AROAAPP",
        role_name="app",
        role_path="/",
        session_name="0a1b",
        issued_at=NOW,
        expires_at=NOW + dt.timedelta(hours=1),
        source="arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/x",
        source_identity="CN=workload",
    )
    session = SessionPrincipal(
        arn=claims.session_arn,
        account="123456789012",
        kind="session",
        user_id=claims.assumed_role_id,
        name="0a1b",
        access_key_id="ASIASESSION",
        claims=claims,
    )
    identity = user_identity(session)
    assert identity["type"] == "AssumedRole"
    assert identity["principalId"] == "AROAAPP:0a1b"
    assert identity["arn"] == "arn:aws:sts::123456789012:assumed-role/app/0a1b"
    assert identity["accessKeyId"] == "ASIASESSION"
    assert identity["sessionContext"] == {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAAPP",
            "arn": "arn:aws:iam::123456789012:role/app",
            "accountId": "123456789012",
            "userName": "app",
        },
        "attributes": {"creationDate": "2026-03-01T12:30:05Z", "mfaAuthenticated": "false"},
        "sourceIdentity": "CN=workload",
    }


def _trail(**extra: object) -> SessionTrail:
    trail = SessionTrail(
        x509_subject="CN=workload,O=Example",
        x509_issuer="CN=Issuing CA,O=Example",
        serial_number="123456789",
        trust_anchor_arn="arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/a",
        profile_arn="arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p",
        role_arn="arn:aws:iam::123456789012:role/app",
        duration_seconds=900,
        role_session_name="075bcd15",
        source_identity="CN=workload",
    )
    for key, value in extra.items():
        setattr(trail, key, value)
    return trail


def test_create_session_granted() -> None:
    """A granted CreateSession names the certificate, anchor, profile, role, session and key."""
    trail = _trail(
        access_key_id="ASIAISSUED",
        expiration="2026-03-01T12:45:05Z",
        assumed_role_arn="arn:aws:sts::123456789012:assumed-role/app/075bcd15",
        assumed_role_id="AROAAPP:075bcd15",
        packed_policy_size=3,
        subject_arn="arn:aws:rolesanywhere:eu-west-1:123456789012:subject/s",
    )
    event = create_session_event(ORIGIN, trail)
    assert list(event) == [*FIELDS, "additionalEventData"]
    assert event["eventName"] == "CreateSession"
    assert event["eventSource"] == "rolesanywhere.amazonaws.com"
    assert event["userIdentity"] == {"type": "Unknown", "principalId": "CN=workload,O=Example"}
    assert event["requestParameters"]["durationSeconds"] == 900
    (entry,) = event["responseElements"]["credentialSet"]
    assert entry["credentials"] == {
        "accessKeyId": "ASIAISSUED",
        "expiration": "2026-03-01T12:45:05Z",
    }
    assert event["additionalEventData"] == {
        "x509Subject": "CN=workload,O=Example",
        "x509Issuer": "CN=Issuing CA,O=Example",
        "x509SerialNumber": "123456789",
        "trustAnchorArn": trail.trust_anchor_arn,
        "profileArn": trail.profile_arn,
        "roleArn": trail.role_arn,
        "roleSessionName": "075bcd15",
        "sourceIdentity": "CN=workload",
        "accessKeyId": "ASIAISSUED",
    }


def test_create_session_by_alias_names_the_resources() -> None:
    """Named by alias ARNs, the request keeps them; the additional data names the resources."""
    alias = "arn:aws:rolesanywhere:eu-west-1:123456789012:alias/trust-anchor/prod"
    profile_alias = "arn:aws:rolesanywhere:eu-west-1:123456789012:alias/profile/web"
    trail = _trail(
        trust_anchor_arn=alias,
        profile_arn=profile_alias,
        trust_anchor_resource_arn="arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/a",
        profile_resource_arn="arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p",
    )
    event = create_session_event(ORIGIN, trail)
    request = event["requestParameters"]
    assert (request["trustAnchorArn"], request["profileArn"]) == (alias, profile_alias)
    additional = event["additionalEventData"]
    assert (additional["trustAnchorArn"], additional["profileArn"]) == (
        trail.trust_anchor_resource_arn,
        trail.profile_resource_arn,
    )


def test_create_session_refused() -> None:
    """A refused CreateSession keeps AWS's text as errorMessage and the precise reason beside."""
    trail = _trail(refusal="trust_policy")
    event = create_session_event(
        ORIGIN,
        trail,
        error_code="AccessDeniedException",
        error_message="Unable to assume role for arn:aws:iam::123456789012:role/app.",
        reason="trust policy does not allow sts:AssumeRole: no statement allows",
    )
    assert event["errorCode"] == "AccessDeniedException"
    assert event["responseElements"] is None
    assert event["additionalEventData"]["refusal"] == "trust_policy"
    assert event["additionalEventData"]["reason"] == (
        "trust policy does not allow sts:AssumeRole: no statement allows"
    )
    assert event["additionalEventData"]["accessKeyId"] is None


def test_create_session_refused_before_reading_input() -> None:
    """A bad signature leaves no parameters to show and no certificate to name."""
    trail = SessionTrail(refusal="signature")
    event = create_session_event(
        ORIGIN,
        trail,
        error_code="AccessDeniedException",
        error_message="Invalid signature",
        reason="ECDSA signature does not verify",
    )
    assert event["requestParameters"] is None
    assert event["userIdentity"] == {"type": "Unknown"}
    assert event["additionalEventData"]["x509Subject"] is None


@pytest.mark.parametrize(("allowed", "code"), [(True, None), (False, "AccessDenied")])
def test_authorization_decision(allowed: bool, code: str | None) -> None:
    """An authorizer decision is recorded under its action's service with Allow or Deny."""
    event = authorization_event(
        ORIGIN,
        identity=user_identity(ROOT),
        action="execute-api:Invoke",
        resource="arn:aws:execute-api:eu-west-1:123456789012:api/prod/GET/orders",
        allowed=allowed,
        reason="explicit allow" if allowed else "no statement allows",
        method="GET",
        path="/orders",
    )
    assert list(event) == [*FIELDS, "additionalEventData"]
    assert event["eventSource"] == "execute-api.amazonaws.com"
    assert event["eventName"] == "Invoke"
    assert event["errorCode"] == code
    assert event["requestParameters"]["path"] == "/orders"
    assert event["additionalEventData"]["decision"] == ("Allow" if allowed else "Deny")
