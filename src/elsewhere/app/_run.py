"""Run the gateway under uvicorn with graceful shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn

from elsewhere.app._build import build_application
from elsewhere.app._settings import ServerSettings

__all__ = ["run_server"]

log = logging.getLogger("elsewhere.server")


def usage_lines(settings: ServerSettings, credentials_file: str) -> list[str]:
    """The two lines that show a user how to call the server."""
    env = f"AWS_SHARED_CREDENTIALS_FILE={credentials_file} AWS_DEFAULT_REGION={settings.region}"
    return [
        f"AWS CLI: {env} aws rolesanywhere list-trust-anchors "
        f"--endpoint-url {settings.endpoint_url}",
        f"boto3:   {env} python -c \"import boto3; print(boto3.client('rolesanywhere', "
        f"endpoint_url='{settings.endpoint_url}').list_trust_anchors())\"",
    ]


def run_server(settings: ServerSettings, *, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish and buffers flush before exit."""
    application = build_application(settings)
    state = "created" if application.created_root_key else "kept"
    announce(
        f"elsewhere {settings.endpoint_url} account {settings.account_id} region "
        f"{settings.region}; root key {state} in {application.credentials_file}"
    )
    for line in usage_lines(settings, str(application.credentials_file)):
        announce(line)
    config = uvicorn.Config(
        application.asgi,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        ssl_certfile=str(settings.tls_certificate) if settings.tls_certificate else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        timeout_graceful_shutdown=10,
        h11_max_incomplete_event_size=32 * 1024,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        application.close()
