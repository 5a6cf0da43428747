"""The ASGI application: routing by path and by SigV4 signing scope, thin handlers."""

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

__all__ = [
    "DOCUMENT_MAX_AGE",
    "FEDERATION_OPERATIONS",
    "AccessLogSink",
    "Gateway",
    "GatewaySettings",
    "OperationHandler",
    "PublicRoute",
    "RequestObserver",
    "SessionHandler",
    "federation_handler",
    "issuer_routes",
    "web_identity_handler",
]
