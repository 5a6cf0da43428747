"""Trusted identity propagation (TIP) of a Roles Anywhere profile, acted on in CreateSession.

IAM Roles Anywhere User Guide, "Trusted identity propagation", and API Reference,
``TipConfiguration``: when a profile's ``tipConfiguration.status`` is ``ENABLED``, the session
carries ``aws:OriginIdentity/Subject`` (the certificate field ``subjectSource`` names:
``x509Subject/CN`` by default, or ``x509SAN/URI``, the first URI),
``aws:OriginIdentity/SubjectType`` (``user`` or ``workload``, only when the profile sets it), and
the issuer key. The value comes
through the profile's attribute mappings ("The profile's attribute mappings must include a rule
for this field"), so a mapping without the field, like a certificate without it, has no subject,
and CreateSession denies the request.

AWS does not say what ``aws:OriginIdentity/Issuer`` holds for a certificate; elsewhere puts the
trust anchor's ARN there: the authority that vouched for the certificate, which a policy can
test and which STS ``GetWebIdentityToken(SubjectMode=OriginIdentity)`` requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from elsewhere.domain import TipConfiguration

__all__ = ["DEFAULT_SUBJECT_SOURCE", "MissingOriginSubject", "OriginIdentity", "origin_identity"]

#: The subject's certificate field when the profile names none (API Reference, TipConfiguration).
DEFAULT_SUBJECT_SOURCE: Final = "x509Subject/CN"


@dataclass(frozen=True)
class OriginIdentity:
    """The ``aws:OriginIdentity/*`` values of one session."""

    subject: str
    subject_type: str | None
    issuer: str


class MissingOriginSubject(Exception):
    """The certificate (through the profile's mappings) has no value for the subject field."""


def origin_identity(
    tip: TipConfiguration | None, tags: Sequence[tuple[str, str]], *, issuer: str
) -> OriginIdentity | None:
    """The session's origin identity under ``tip``, from its mapped ``tags``; None when off.

    Raises :class:`MissingOriginSubject` (naming the field) when TIP is on and there is no value.
    """
    if tip is None or tip.status != "ENABLED":
        return None
    source = tip.subject_source or DEFAULT_SUBJECT_SOURCE
    wanted = source.lower()
    for key, value in tags:
        if key.lower() == wanted and value:
            return OriginIdentity(subject=value, subject_type=tip.subject_type, issuer=issuer)
    raise MissingOriginSubject(source)
