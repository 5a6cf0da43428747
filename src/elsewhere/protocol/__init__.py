"""Server-side AWS protocols driven by botocore's service models.

restJson1 (rolesanywhere) and awsQuery with XML responses (IAM, STS): request routing, parsing,
Coral-style validation and response/error serialization. Framework-agnostic: bytes in, bytes out.
"""

from elsewhere.protocol._model import MAX_BODY_BYTES, MAX_DEPTH, Response, load_service_model
from elsewhere.protocol._query import MAX_QUERY_PARAMS, QueryProtocol, parse_form
from elsewhere.protocol._restjson import RestJsonProtocol, render_json_error

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_QUERY_PARAMS",
    "QueryProtocol",
    "Response",
    "RestJsonProtocol",
    "load_service_model",
    "parse_form",
    "render_json_error",
]
