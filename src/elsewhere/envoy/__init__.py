"""Envoy's ext_authz gRPC service for the authorizer (``envoy.service.auth.v3.Authorization``).

Imported only by a server started with ``--envoy-grpc-address``: gRPC and Envoy's generated
messages are not loaded otherwise.
"""

from elsewhere.envoy._service import EnvoyAuthorization, EnvoyServer, start_envoy_server

__all__ = ["EnvoyAuthorization", "EnvoyServer", "start_envoy_server"]
