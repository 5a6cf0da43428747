"""The one exception hierarchy of elsewhere.

Every deliberate error is a subclass of :class:`ElsewhereError`. A leaf names the AWS error code it
becomes on the wire, its HTTP status, and a public message that is safe to show the caller. The
*reason* is the internal cause: it goes to the log under the request id and never to the caller.

One module (``elsewhere.protocol``) turns these into wire responses, in the format of the protocol
the request was made in (JSON for restJson1, XML for the query protocol). Where the query protocol
(IAM, STS) spells a code differently from restJson1 (rolesanywhere), the leaf gives ``query_code``
(and ``query_status`` when the status differs as well).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthenticationError",
    "BadRequest",
    "ConflictError",
    "DeleteConflict",
    "ElsewhereError",
    "EntityAlreadyExists",
    "ExpiredToken",
    "IncompleteSignature",
    "InternalError",
    "InvalidAction",
    "InvalidInput",
    "InvalidSignature",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "MissingAction",
    "MissingAuthenticationToken",
    "NoSuchEntity",
    "NotFound",
    "PackedPolicyTooLarge",
    "RequestEntityTooLarge",
    "RequestTimeout",
    "ResourceNotFound",
    "SerializationError",
    "ServiceUnavailable",
    "SignatureExpired",
    "TooManyRequests",
    "TooManyTags",
    "UnknownOperation",
    "UnrecognizedClient",
    "ValidationError",
]


class ElsewhereError(Exception):
    """Base of every deliberate error.

    ``message`` is public (sent to the caller); ``reason`` is private (logged only).
    """

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500
    query_code: ClassVar[str | None] = None
    query_status: ClassVar[int | None] = None
    sender_fault: ClassVar[bool] = True
    default_message: ClassVar[str] = "An internal error occurred."
    query_default_message: ClassVar[str | None] = None

    def __init__(self, message: str | None = None, *, reason: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.reason = reason if reason is not None else self.message
        super().__init__(self.message)

    def message_for(self, protocol: str) -> str:
        """The public message in ``protocol`` ("json" or "query")."""
        if (
            protocol == "query"
            and self.query_default_message is not None
            and self.message == self.default_message
        ):
            return self.query_default_message
        return self.message

    def code_for(self, protocol: str) -> str:
        """The wire code in ``protocol`` ("json" or "query")."""
        if protocol == "query" and self.query_code is not None:
            return self.query_code
        return self.code

    def status_for(self, protocol: str) -> int:
        """The HTTP status in ``protocol`` ("json" or "query")."""
        if protocol == "query" and self.query_status is not None:
            return self.query_status
        return self.status


class InternalError(ElsewhereError):
    """A bug or an unexpected failure; the caller sees a generic 500."""

    code = "InternalFailure"
    query_code = "ServiceFailure"
    status = 500
    sender_fault = False


class ServiceUnavailable(ElsewhereError):
    """The server cannot answer correctly right now; the caller should retry (503).

    rolesanywhere's model names ``ServiceUnavailableException`` (HTTP 503); IAM and STS answer
    ``ServiceUnavailable`` (IAM API Reference, "Common Errors"). The AWS SDKs retry both. Sent when
    the configuration snapshot is past its staleness bound: trust that may have been revoked is
    not served.
    """

    code = "ServiceUnavailableException"
    query_code = "ServiceUnavailable"
    status = 503
    sender_fault = False
    default_message = "The service is unavailable. Please try again later."


# --- request shape and protocol -------------------------------------------------------------


class ValidationError(ElsewhereError):
    """An input failed the model's constraints or a content check (400)."""

    code = "ValidationException"
    query_code = "ValidationError"
    status = 400
    default_message = "1 validation error detected"


class SerializationError(ElsewhereError):
    """The body could not be decoded (malformed JSON, wrong type for a member)."""

    code = "SerializationException"
    query_code = "MalformedInput"
    status = 400
    default_message = "The request body could not be parsed."


class RequestEntityTooLarge(ElsewhereError):
    """The body, a header or the URL is above elsewhere's limits (413)."""

    code = "RequestEntityTooLargeException"
    query_code = "RequestEntityTooLarge"
    status = 413
    default_message = "Request entity too large."


class RequestTimeout(ElsewhereError):
    """The client stopped sending the body before it was complete (408)."""

    code = "RequestTimeoutException"
    query_code = "RequestTimeout"
    status = 408
    default_message = "The request body was not received in time."


class BadRequest(ElsewhereError):
    """A request elsewhere will not interpret, such as an ambiguous path (API Gateway's 400)."""

    code = "BadRequestException"
    status = 400
    default_message = "Bad request"


class TooManyRequests(ElsewhereError):
    """More requests than a bound allows right now (API Gateway's 429)."""

    code = "TooManyRequestsException"
    status = 429
    default_message = "Too Many Requests"


class UnknownOperation(ElsewhereError):
    """No operation matches the method and path."""

    code = "UnknownOperationException"
    status = 404
    default_message = "No operation matches this request."


class MissingAction(ElsewhereError):
    """A query-protocol request without ``Action``."""

    code = "MissingAction"
    status = 400
    default_message = "Missing Action"


class InvalidAction(ElsewhereError):
    """A query-protocol request whose ``Action`` names no operation of the service."""

    code = "InvalidAction"
    status = 400


# --- authentication ---------------------------------------------------------------------------


class AuthenticationError(ElsewhereError):
    """Base of the SigV4 and token failures."""

    status = 403


class MissingAuthenticationToken(AuthenticationError):
    """No ``Authorization`` header and no ``X-Amz-Algorithm`` query parameter."""

    code = "MissingAuthenticationTokenException"
    query_code = "MissingAuthenticationToken"
    default_message = "Missing Authentication Token"
    query_default_message = "Request is missing Authentication Token"


class IncompleteSignature(AuthenticationError):
    """The signature's parts are malformed or missing."""

    code = "IncompleteSignatureException"
    query_code = "IncompleteSignature"
    query_status = 400


class InvalidSignature(AuthenticationError):
    """The signature does not verify, or its scope is wrong."""

    code = "InvalidSignatureException"
    query_code = "SignatureDoesNotMatch"
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


class SignatureExpired(InvalidSignature):
    """The request's date is outside the allowed clock skew."""


class UnrecognizedClient(AuthenticationError):
    """Unknown access key id, or an invalid session token."""

    code = "UnrecognizedClientException"
    query_code = "InvalidClientTokenId"
    default_message = "The security token included in the request is invalid."


class ExpiredToken(AuthenticationError):
    """The session token has expired."""

    code = "ExpiredTokenException"
    query_code = "ExpiredToken"
    default_message = "The security token included in the request is expired"


# --- authorization ----------------------------------------------------------------------------


class AccessDenied(ElsewhereError):
    """The policy engine refused the call, or CreateSession refused the certificate (403)."""

    code = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403
    default_message = "Access denied"


# --- resources --------------------------------------------------------------------------------


class NotFound(ElsewhereError):
    """Base of the not-found errors."""

    status = 404


class ResourceNotFound(NotFound):
    """A rolesanywhere resource does not exist (404)."""

    code = "ResourceNotFoundException"
    default_message = "Resource not found"


class NoSuchEntity(NotFound):
    """An IAM entity does not exist (404)."""

    code = "NoSuchEntity"


class TooManyTags(ElsewhereError):
    """A resource would carry more tags than allowed (400)."""

    code = "TooManyTagsException"
    status = 400
    default_message = "Too many tags"


class ConflictError(ElsewhereError):
    """Base of the 409 conflicts."""

    status = 409


class EntityAlreadyExists(ConflictError):
    """An IAM entity with this name exists already."""

    code = "EntityAlreadyExists"


class DeleteConflict(ConflictError):
    """An IAM entity cannot be deleted while others depend on it."""

    code = "DeleteConflict"


class LimitExceeded(ConflictError):
    """An IAM quota would be exceeded."""

    code = "LimitExceeded"


class MalformedPolicyDocument(ElsewhereError):
    """A policy document does not parse or breaks the grammar (400)."""

    code = "MalformedPolicyDocument"
    status = 400
    default_message = "Syntax errors in policy."


class InvalidInput(ElsewhereError):
    """IAM's generic bad-input error (400)."""

    code = "InvalidInput"
    status = 400


class PackedPolicyTooLarge(ElsewhereError):
    """STS: session policies and tags do not fit in the packed size (400)."""

    code = "PackedPolicyTooLarge"
    status = 400
