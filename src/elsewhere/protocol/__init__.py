"""Server-side AWS protocols driven by botocore's service models.

restJson1 (rolesanywhere) and awsQuery with XML responses (IAM, STS): request routing, parsing,
Coral-style validation and response/error serialization. Framework-agnostic: bytes in, bytes out.
"""

from elsewhere.protocol._apigateway import (
    GRANT_HEADERS,
    gateway_status,
    render_gateway_error,
    render_grant,
)
from elsewhere.protocol._audit import HIDDEN, audit_parameters, audit_response
from elsewhere.protocol._form import (
    MAX_QUERY_PARAMS,
    guess_query_service,
    parse_form,
    query_input,
)
from elsewhere.protocol._model import MAX_BODY_BYTES, MAX_DEPTH, Response, load_service_model
from elsewhere.protocol._query import QueryProtocol
from elsewhere.protocol._restjson import RestJsonProtocol, render_json_error

__all__ = [
    "GRANT_HEADERS",
    "HIDDEN",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_QUERY_PARAMS",
    "QueryProtocol",
    "Response",
    "RestJsonProtocol",
    "audit_parameters",
    "audit_response",
    "gateway_status",
    "guess_query_service",
    "load_service_model",
    "parse_form",
    "query_input",
    "render_gateway_error",
    "render_grant",
    "render_json_error",
]
