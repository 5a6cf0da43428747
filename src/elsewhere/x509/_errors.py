"""The certificate refusal of CreateSession."""

from __future__ import annotations

from elsewhere.errors import AccessDenied

__all__ = ["UntrustedCertificate"]


class UntrustedCertificate(AccessDenied):
    """The certificate does not validate against the trust anchor (403).

    The public message is AWS's (reference §2.3); ``reason`` says precisely why, for the log, the
    decision trace and ``elsewhere verify-certificate``.
    """

    default_message = "Untrusted signing certificate"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
