"""The ASGI application: routing by path and by SigV4 signing scope, thin handlers."""

from elsewhere.api._gateway import Gateway, GatewaySettings, OperationHandler, SessionHandler

__all__ = ["Gateway", "GatewaySettings", "OperationHandler", "SessionHandler"]
