"""The helper's defaults that its command line shows, kept apart so that showing them is cheap."""

from __future__ import annotations

__all__ = ["CONTAINER_CREDENTIALS_PATH", "DEFAULT_HOP_LIMIT", "DEFAULT_PORT"]

#: ``serve``'s port and IP TTL / hop limit, as AWS's helper (reference §7.4).
DEFAULT_PORT = 9911
DEFAULT_HOP_LIMIT = 64
#: The path of ``serve``'s ECS-style container-credentials endpoint.
CONTAINER_CREDENTIALS_PATH = "/v1/credentials"
