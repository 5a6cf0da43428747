"""Audit records shaped like CloudTrail's (AWS CloudTrail User Guide, "CloudTrail record contents").

Every record has the same top-level fields in the same order; a field that does not apply is
``null``, as CloudTrail writes it. Functions here only build dictionaries: the time, ids and
everything else come in as parameters, and nothing is read or written.

What never appears in a record: a secret access key, a session token, a signature, a password or
a private key. Request and response values arrive already redacted by the protocol layer (members
the AWS models mark ``sensitive``, and the credentials' secret members by name); CreateSession's
record is built from what the pipeline learned (:class:`elsewhere.service.SessionTrail`), never
from its answer's body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elsewhere.domain import format_utc_seconds
from elsewhere.service import Principal, SessionPrincipal, SessionTrail

__all__ = [
    "EVENT_SOURCES",
    "EVENT_VERSION",
    "CallOrigin",
    "api_call_event",
    "authorization_event",
    "create_session_event",
    "is_read_only",
    "user_identity",
]

#: CloudTrail's record format version these records follow.
EVENT_VERSION = "1.09"

#: The ``eventSource`` of each service elsewhere serves, as AWS names them.
EVENT_SOURCES: Mapping[str, str] = {
    "rolesanywhere": "rolesanywhere.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "sts": "sts.amazonaws.com",
    "execute-api": "execute-api.amazonaws.com",
}

# Operations that change nothing (CloudTrail's readOnly): AWS's read verbs.
_READ_PREFIXES = ("Get", "List", "Describe", "Simulate")


@dataclass(frozen=True, slots=True)
class CallOrigin:
    """Where and when a call arrived, and who answered it."""

    request_id: str
    event_id: str
    time: dt.datetime
    source_ip: str
    user_agent: str
    region: str
    account_id: str


def is_read_only(operation: str) -> bool:
    """Whether ``operation`` only reads (CloudTrail's ``readOnly``)."""
    return operation.startswith(_READ_PREFIXES)


def user_identity(principal: Principal | None, *, access_key_id: str = "") -> dict[str, Any]:
    """CloudTrail's ``userIdentity`` for an authenticated caller (``type: Unknown`` for none).

    ``access_key_id`` names the key a refused, unauthenticated request claimed to be signed with.
    """
    if principal is None:
        unknown: dict[str, Any] = {"type": "Unknown"}
        if access_key_id:
            unknown["accessKeyId"] = access_key_id
        return unknown
    if isinstance(principal, SessionPrincipal) and principal.claims is not None:
        claims = principal.claims
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": claims.role_id,
                "arn": claims.role_arn,
                "accountId": claims.account,
                "userName": claims.role_name,
            },
            "attributes": {
                "creationDate": format_utc_seconds(claims.issued_at),
                "mfaAuthenticated": "false",
            },
        }
        if claims.source_identity is not None:
            context["sourceIdentity"] = claims.source_identity
        return {
            "type": "AssumedRole",
            "principalId": claims.assumed_role_id,
            "arn": claims.session_arn,
            "accountId": claims.account,
            "accessKeyId": principal.access_key_id,
            "sessionContext": context,
        }
    if principal.kind == "root":
        return {
            "type": "Root",
            "principalId": principal.account,
            "arn": principal.arn,
            "accountId": principal.account,
            "accessKeyId": principal.access_key_id,
        }
    return {
        "type": "IAMUser",
        "principalId": principal.user_id,
        "arn": principal.arn,
        "accountId": principal.account,
        "accessKeyId": principal.access_key_id,
        "userName": principal.name,
    }


def _event(
    origin: CallOrigin,
    *,
    source: str,
    name: str,
    identity: Mapping[str, Any],
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    read_only: bool,
    additional: Mapping[str, Any] | None,
    event_type: str = "AwsApiCall",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": format_utc_seconds(origin.time),
        "eventSource": source,
        "eventName": name,
        "awsRegion": origin.region,
        "sourceIPAddress": origin.source_ip,
        "userAgent": origin.user_agent,
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "errorCode": error_code,
        "errorMessage": error_message,
        "requestID": origin.request_id,
        "eventID": origin.event_id,
        "readOnly": read_only,
        "eventType": event_type,
        "recipientAccountId": origin.account_id,
    }
    if additional:
        event["additionalEventData"] = additional
    return event


def api_call_event(
    origin: CallOrigin,
    *,
    service: str,
    operation: str,
    identity: Mapping[str, Any],
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    error_code: str | None = None,
    error_message: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The record of one rolesanywhere, IAM or STS call.

    ``response_elements`` is dropped for a read-only call (CloudTrail writes ``null`` there:
    listings would otherwise fill the log). ``reason`` is the refusal's precise cause, which the
    caller was not told; it goes to ``additionalEventData.reason`` when it says more than the
    public message.
    """
    read_only = is_read_only(operation)
    additional = None
    if reason is not None and reason != error_message:
        additional = {"reason": reason}
    return _event(
        origin,
        source=EVENT_SOURCES.get(service, f"{service}.amazonaws.com"),
        name=operation,
        identity=identity,
        request_parameters=request_parameters,
        response_elements=None if read_only or error_code is not None else response_elements,
        error_code=error_code,
        error_message=error_message,
        read_only=read_only,
        additional=additional,
    )


def create_session_event(
    origin: CallOrigin,
    trail: SessionTrail,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The record of one CreateSession, granted or refused.

    ``additionalEventData`` names the certificate (subject, issuer, serial), the trust anchor and
    profile (by their own ARNs when they were found, though the request named them by alias ARN),
    the role, the session name and source identity, the access key id issued, and for a
    refusal its class and precise reason. The caller is identified by its certificate only, so
    ``userIdentity`` is ``Unknown`` with the certificate's subject as ``principalId``.
    """
    identity: dict[str, Any] = {"type": "Unknown"}
    if trail.x509_subject is not None:
        identity["principalId"] = trail.x509_subject
    request: dict[str, Any] | None = None
    if trail.trust_anchor_arn is not None:
        request = {
            "trustAnchorArn": trail.trust_anchor_arn,
            "profileArn": trail.profile_arn,
            "roleArn": trail.role_arn,
            "durationSeconds": trail.duration_seconds,
            "roleSessionName": trail.requested_session_name,
            "instanceProperties": (
                dict(trail.instance_properties) if trail.instance_properties else None
            ),
        }
    response: dict[str, Any] | None = None
    if error_code is None and trail.access_key_id is not None:
        response = {
            "credentialSet": [
                {
                    "assumedRoleUser": {
                        "arn": trail.assumed_role_arn,
                        "assumedRoleId": trail.assumed_role_id,
                    },
                    "credentials": {
                        "accessKeyId": trail.access_key_id,
                        "expiration": trail.expiration,
                    },
                    "packedPolicySize": trail.packed_policy_size,
                    "roleArn": trail.role_arn,
                    "sourceIdentity": trail.source_identity,
                }
            ],
            "subjectArn": trail.subject_arn,
        }
    additional: dict[str, Any] = {
        "x509Subject": trail.x509_subject,
        "x509Issuer": trail.x509_issuer,
        "x509SerialNumber": trail.serial_number,
        # The resources themselves, whichever form (ARN or alias ARN) the request named them by.
        "trustAnchorArn": trail.trust_anchor_resource_arn or trail.trust_anchor_arn,
        "profileArn": trail.profile_resource_arn or trail.profile_arn,
        "roleArn": trail.role_arn,
        "roleSessionName": trail.role_session_name,
        "sourceIdentity": trail.source_identity,
        "accessKeyId": trail.access_key_id,
    }
    if error_code is not None:
        additional["refusal"] = trail.refusal
        additional["reason"] = reason
    return _event(
        origin,
        source=EVENT_SOURCES["rolesanywhere"],
        name="CreateSession",
        identity=identity,
        request_parameters=request,
        response_elements=response,
        error_code=error_code,
        error_message=error_message,
        read_only=False,
        additional=additional,
    )


def authorization_event(
    origin: CallOrigin,
    *,
    identity: Mapping[str, Any],
    action: str,
    resource: str,
    allowed: bool,
    reason: str,
    method: str = "",
    path: str = "",
    error_code: str | None = None,
) -> dict[str, Any]:
    """The record of one decision of the authorizer in front of the operator's own services.

    ``eventName`` is the action decided (``execute-api:Invoke`` is recorded as ``Invoke`` under
    ``execute-api.amazonaws.com``); a denial carries ``errorCode`` (``AccessDenied`` unless
    given) and the decision's explanation in ``additionalEventData.reason``.
    """
    service, _, name = action.partition(":")
    code = None if allowed else (error_code or "AccessDenied")
    return _event(
        origin,
        source=EVENT_SOURCES.get(service, f"{service}.amazonaws.com"),
        name=name or action,
        identity=identity,
        request_parameters={"httpMethod": method, "path": path, "resource": resource},
        response_elements=None,
        error_code=code,
        error_message=None if allowed else f"not authorized to perform: {action} on {resource}",
        read_only=False,
        additional={"decision": "Allow" if allowed else "Deny", "reason": reason},
    )
