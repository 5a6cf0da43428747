"""The credential helper: a pure-Python drop-in for AWS's ``aws_signing_helper``.

Key and certificate sources, the CreateSession call, ``serve`` (IMDSv2 and ECS endpoints),
``update`` (shared credentials file), web identity token files, and boto3 sessions whose
credentials refresh themselves.

The boto3 integration (``session``, ``RolesAnywhereCredentialProvider``, ...) is imported on first
use: importing boto3 takes longer than a ``credential-process`` run should.
"""

from typing import TYPE_CHECKING, Any

from elsewhere.client._cache import CredentialCache, CredentialsUnavailableError
from elsewhere.client._errors import (
    ClientConfigurationError,
    ClientError,
    CreateSessionRefusedError,
    CredentialSourceError,
    EndpointUnreachableError,
    KeyMismatchError,
)
from elsewhere.client._serve import (
    CONTAINER_CREDENTIALS_PATH,
    DEFAULT_HOP_LIMIT,
    DEFAULT_PORT,
    MetadataServer,
    role_name_from_arn,
)
from elsewhere.client._session import (
    DEFAULT_SESSION_DURATION,
    SessionCredentials,
    SessionParameters,
    create_session,
    default_endpoint,
    format_credential_process,
    parse_create_session_response,
    resolve_region,
    sign_create_session_request,
    ssl_context,
)
from elsewhere.client._sources import (
    CredentialSource,
    FileCredentialSource,
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

if TYPE_CHECKING:
    from elsewhere.client._boto import (
        METHOD,
        RolesAnywhereCredentialProvider,
        refreshable_credentials,
        session,
    )

_LAZY = frozenset(
    {"METHOD", "RolesAnywhereCredentialProvider", "refreshable_credentials", "session"}
)


def __getattr__(name: str) -> Any:
    """Import the boto3 integration when one of its names is first used."""
    if name in _LAZY:
        from elsewhere.client import _boto

        return getattr(_boto, name)
    raise AttributeError(f"module 'elsewhere.client' has no attribute {name!r}")


__all__ = [
    "CONTAINER_CREDENTIALS_PATH",
    "DEFAULT_HOP_LIMIT",
    "DEFAULT_PORT",
    "DEFAULT_SESSION_DURATION",
    "DEFAULT_TOKEN_DURATION",
    "METHOD",
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
    "WebIdentityToken",
    "build_credential_source",
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
