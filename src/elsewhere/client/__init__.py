"""The credential helper: a pure-Python drop-in for AWS's ``aws_signing_helper``.

Key and certificate sources, the CreateSession call, ``serve`` (IMDSv2 and ECS endpoints),
``update`` (shared credentials file), web identity token files, and boto3 sessions whose
credentials refresh themselves.

The AWS CLI runs ``credential-process`` before each of its commands, so this package imports at
once only what that command needs (sources, CreateSession, errors); ``serve``, ``update``, the
web identity token and the boto3 integration (importing boto3 alone takes longer than a
``credential-process`` run should) are imported when one of their names is first used.
"""

import importlib
from typing import TYPE_CHECKING, Any

from elsewhere.client._cache import CredentialCache, CredentialsUnavailableError
from elsewhere.client._defaults import CONTAINER_CREDENTIALS_PATH, DEFAULT_HOP_LIMIT, DEFAULT_PORT
from elsewhere.client._errors import (
    ClientConfigurationError,
    ClientError,
    CreateSessionRefusedError,
    CredentialSourceError,
    EndpointUnreachableError,
    KeyMismatchError,
)
from elsewhere.client._http import HttpAnswer, HttpCall, HttpFailure, Transport
from elsewhere.client._session import (
    DEFAULT_SESSION_DURATION,
    SessionCredentials,
    SessionParameters,
    configured_ca_bundle,
    configured_endpoint,
    create_session,
    default_endpoint,
    format_credential_process,
    parse_create_session_response,
    resolve_region,
    sign_create_session_request,
    ssl_context,
)
from elsewhere.client._sources import (
    ENV_PREFIX,
    STDIN,
    CredentialSource,
    FileCredentialSource,
    Inputs,
    SigningIdentity,
    SigningKey,
    StaticCredentialSource,
    build_credential_source,
    load_certificate,
    load_certificate_bundle,
    load_pkcs12,
    load_private_key,
    verify_key_matches_certificate,
)

if TYPE_CHECKING:
    from elsewhere.client._boto import (
        METHOD,
        RolesAnywhereCredentialProvider,
        refreshable_credentials,
        session,
    )
    from elsewhere.client._serve import MetadataServer, role_name_from_arn
    from elsewhere.client._update import (
        CredentialsFileError,
        default_credentials_file,
        run_update,
        update_credentials_text,
        write_credentials_profile,
    )
    from elsewhere.client._web_identity import (
        DEFAULT_TOKEN_DURATION,
        TokenFileError,
        TokenParameters,
        TokenRefusedError,
        WebIdentityToken,
        default_sts_endpoint,
        get_web_identity_token,
        run_token_file,
        write_token_file,
    )

# Name -> the module that defines it, imported on first use.
_LAZY = {
    **dict.fromkeys(
        ("METHOD", "RolesAnywhereCredentialProvider", "refreshable_credentials", "session"),
        "_boto",
    ),
    **dict.fromkeys(("MetadataServer", "role_name_from_arn"), "_serve"),
    **dict.fromkeys(
        (
            "CredentialsFileError",
            "default_credentials_file",
            "run_update",
            "update_credentials_text",
            "write_credentials_profile",
        ),
        "_update",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_TOKEN_DURATION",
            "TokenFileError",
            "TokenParameters",
            "TokenRefusedError",
            "WebIdentityToken",
            "default_sts_endpoint",
            "get_web_identity_token",
            "run_token_file",
            "write_token_file",
        ),
        "_web_identity",
    ),
}


def __getattr__(name: str) -> Any:
    """Import the module of a name that is not needed by ``credential-process`` on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'elsewhere.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"elsewhere.client.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CONTAINER_CREDENTIALS_PATH",
    "DEFAULT_HOP_LIMIT",
    "DEFAULT_PORT",
    "DEFAULT_SESSION_DURATION",
    "DEFAULT_TOKEN_DURATION",
    "ENV_PREFIX",
    "METHOD",
    "STDIN",
    "ClientConfigurationError",
    "ClientError",
    "CreateSessionRefusedError",
    "CredentialCache",
    "CredentialSource",
    "CredentialSourceError",
    "CredentialsFileError",
    "CredentialsUnavailableError",
    "EndpointUnreachableError",
    "FileCredentialSource",
    "HttpAnswer",
    "HttpCall",
    "HttpFailure",
    "Inputs",
    "KeyMismatchError",
    "MetadataServer",
    "RolesAnywhereCredentialProvider",
    "SessionCredentials",
    "SessionParameters",
    "SigningIdentity",
    "SigningKey",
    "StaticCredentialSource",
    "TokenFileError",
    "TokenParameters",
    "TokenRefusedError",
    "Transport",
    "WebIdentityToken",
    "build_credential_source",
    "configured_ca_bundle",
    "configured_endpoint",
    "create_session",
    "default_credentials_file",
    "default_endpoint",
    "default_sts_endpoint",
    "format_credential_process",
    "get_web_identity_token",
    "load_certificate",
    "load_certificate_bundle",
    "load_pkcs12",
    "load_private_key",
    "parse_create_session_response",
    "refreshable_credentials",
    "resolve_region",
    "role_name_from_arn",
    "run_token_file",
    "run_update",
    "session",
    "sign_create_session_request",
    "ssl_context",
    "update_credentials_text",
    "verify_key_matches_certificate",
    "write_credentials_profile",
    "write_token_file",
]
