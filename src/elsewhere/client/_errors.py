"""Errors of the credential helper.

They subclass :class:`elsewhere.errors.ElsewhereError` so the CLI has one thing to catch; their
``message`` is what the user reads on stderr (it never holds a secret).
"""

from __future__ import annotations

from elsewhere.errors import ElsewhereError

__all__ = [
    "ClientConfigurationError",
    "ClientError",
    "CreateSessionRefusedError",
    "CredentialSourceError",
    "EndpointUnreachableError",
    "KeyMismatchError",
]


class ClientError(ElsewhereError):
    """Base of every credential-helper failure."""

    code = "ClientError"
    status = 400
    default_message = "The credential helper failed."


class ClientConfigurationError(ClientError):
    """The parameters do not make sense together (bad ARN, region mismatch, exclusive flags)."""

    code = "ClientConfigurationError"


class CredentialSourceError(ClientError):
    """A certificate or private key could not be read or used."""

    code = "CredentialSourceError"


class KeyMismatchError(CredentialSourceError):
    """The private key is not the key of the certificate's public key."""

    code = "KeyMismatchError"
    default_message = "The private key does not match the certificate's public key."


class EndpointUnreachableError(ClientError):
    """The CreateSession endpoint could not be reached (DNS, TCP, TLS, timeout)."""

    code = "EndpointUnreachableError"
    status = 503


class CreateSessionRefusedError(ClientError):
    """The server answered CreateSession with an error; ``message`` carries its code and text."""

    code = "CreateSessionRefusedError"

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: str | None = None,
        aws_code: str = "",
        http_status: int = 0,
        aws_message: str = "",
        request_id: str = "",
    ) -> None:
        super().__init__(message, reason=reason)
        self.aws_code = aws_code
        self.http_status = http_status
        self.aws_message = aws_message
        self.request_id = request_id
