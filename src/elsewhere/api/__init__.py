"""The ASGI application: routing by path and by SigV4 signing scope, thin handlers."""

from elsewhere.api._authorize import AuthorizeEndpoint, DecisionLog, DecisionObserver
from elsewhere.api._gateway import (
    AccessLogSink,
    Gateway,
    GatewaySettings,
    OperationHandler,
    RequestObserver,
    SessionHandler,
)
from elsewhere.api._oidc import (
    DOCUMENT_MAX_AGE,
    FEDERATION_OPERATIONS,
    PublicRoute,
    federation_handler,
    issuer_routes,
    web_identity_handler,
)
from elsewhere.api._wire import new_request_id

__all__ = [
    "DOCUMENT_MAX_AGE",
    "FEDERATION_OPERATIONS",
    "AccessLogSink",
    "AuthorizeEndpoint",
    "DecisionLog",
    "DecisionObserver",
    "Gateway",
    "GatewaySettings",
    "OperationHandler",
    "PublicRoute",
    "RequestObserver",
    "SessionHandler",
    "federation_handler",
    "issuer_routes",
    "new_request_id",
    "web_identity_handler",
]
