"""The authorizer's answers on the wire, in API Gateway's format.

API Gateway answers an IAM-authorized method it refuses with a JSON body and the
``x-amzn-ErrorType`` header (AWS Knowledge Center, "How do I troubleshoot HTTP 403 errors from
API Gateway?"): ``{"message": "Missing Authentication Token"}`` with
``MissingAuthenticationTokenException``, ``{"message": "The security token included in the
request is invalid."}``, ``{"Message": "User: ... is not authorized to perform:
execute-api:Invoke on resource: ..."}`` with ``AccessDeniedException`` (that one key is spelt
with a capital M), and so on. API Gateway sends all of them with status 403; a proxy's forward
auth needs to tell "who are you?" from "no", so elsewhere answers 401 for every authentication
failure (with a ``WWW-Authenticate`` challenge, RFC 9110 §15.5.2) and 403 for a denial.
"""

from __future__ import annotations

import json

from elsewhere.errors import AccessDenied, AuthenticationError, ElsewhereError
from elsewhere.protocol._model import Response

__all__ = ["GRANT_HEADERS", "gateway_status", "render_gateway_error", "render_grant"]

_JSON = "application/json"
#: The headers of an allowed request, for the proxy to copy to the service.
GRANT_HEADERS = (
    "X-Elsewhere-Principal-Arn",
    "X-Elsewhere-Account",
    "X-Elsewhere-Caller-Id",
    "X-Elsewhere-Source-Identity",
)


def gateway_status(error: ElsewhereError) -> int:
    """401 for an authentication failure, 403 for a denial, else the error's own status."""
    if isinstance(error, AuthenticationError):
        return 401
    return error.status_for("json")


def render_gateway_error(error: ElsewhereError, request_id: str) -> Response:
    """``error`` as API Gateway words it, with the request id."""
    key = "Message" if isinstance(error, AccessDenied) else "message"
    body = json.dumps({key: error.message}).encode()
    status = gateway_status(error)
    headers: tuple[tuple[str, str], ...] = (
        ("Content-Type", _JSON),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error.code_for("json")),
    )
    if status == 401:
        headers += (("WWW-Authenticate", "AWS4-HMAC-SHA256"),)
    return Response(status, headers, body)


def render_grant(
    principal_arn: str, account: str, caller_id: str, source_identity: str, request_id: str
) -> Response:
    """200 with who the caller is. Every header is always sent (empty when there is no source
    identity), so a proxy that copies them replaces any the client sent itself."""
    return Response(
        200,
        (
            ("x-amzn-RequestId", request_id),
            (GRANT_HEADERS[0], principal_arn),
            (GRANT_HEADERS[1], account),
            (GRANT_HEADERS[2], caller_id),
            (GRANT_HEADERS[3], source_identity),
        ),
        b"",
    )
