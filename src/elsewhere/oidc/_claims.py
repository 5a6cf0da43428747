"""The claims of a web identity token, as AWS documents them, and the rules on their inputs.

IAM User Guide, "Understanding token claims" (outbound identity federation): the standard claims
``iss``, ``aud``, ``sub``, ``iat``, ``exp``, ``jti`` at the top, and AWS's own under the
``https://sts.amazonaws.com/`` namespace: ``aws_account``, ``source_region``, ``principal_id``
(the ARN of the principal that asked; for a role session, its role's ARN, STS API Reference,
GetWebIdentityToken), ``principal_tags`` and ``request_tags``. With ``SubjectMode=OriginIdentity``
``sub`` is the session's ``aws:OriginIdentity/Subject`` and a ``subject_mode`` claim says so;
``Scope`` becomes a top-level ``scope`` claim, copied exactly (RFC 6749 §3.3 syntax).

What the documentation leaves open, elsewhere decides: ``aud`` is a string for one audience and
an array for several (RFC 7519 §4.1.3 allows both; the documented sample shows a string);
``subject_mode`` is top-level beside the ``sub`` it qualifies; empty tag sets are left out.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "CLAIMS_NAMESPACE",
    "MAX_PAYLOAD_BYTES",
    "TokenClaims",
    "build_token_claims",
    "origin_subject_problem",
    "scope_problem",
]

#: The claim that holds AWS's own claims (IAM User Guide, "Understanding token claims").
CLAIMS_NAMESPACE: Final = "https://sts.amazonaws.com/"

#: The largest claim set elsewhere signs, in bytes of JSON (``JWTPayloadSizeExceededException``
#: above). AWS publishes no figure; 8 KiB keeps a token (base64 grows it by a third) within the
#: 16 KiB header budget of common HTTP servers when sent as a bearer token.
MAX_PAYLOAD_BYTES: Final = 8192

# Unicode general categories a subject may not contain (other than the space itself): control,
# format and separator characters (STS API Reference, GetWebIdentityToken, SubjectMode).
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

TokenClaims = dict[str, Any]


def origin_subject_problem(subject: str) -> str | None:
    """Why ``subject`` cannot be a token's ``sub`` in ``OriginIdentity`` mode, or None.

    STS API Reference, GetWebIdentityToken, ``SubjectMode``: not blank, not beginning with
    ``arn:`` in any case, no leading or trailing space, and no control, format or separator
    character other than the space.
    """
    if not subject.strip():
        return "the subject is blank"
    if subject[:4].lower() == "arn:":
        return "the subject begins with arn:"
    if subject != subject.strip(" "):
        return "the subject begins or ends with a space"
    for char in subject:
        if char != " " and unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return f"the subject contains the character U+{ord(char):04X}"
    return None


def scope_problem(scope: str) -> str | None:
    """Why ``scope`` cannot be a token's ``scope``, or None: a value may not repeat.

    The model's pattern already holds the syntax (RFC 6749 §3.3: values of printable ASCII but
    space, ``"`` and ``\\``, here also ``,``, separated by single spaces); values are compared
    with case, so ``read`` and ``READ`` are two values.
    """
    values = scope.split(" ")
    if len(set(values)) != len(values):
        return "a scope value is repeated"
    return None


def build_token_claims(
    *,
    issuer: str,
    audiences: Sequence[str],
    subject: str,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    token_id: str,
    account: str,
    region: str,
    principal_arn: str,
    principal_tags: Sequence[tuple[str, str]] = (),
    request_tags: Sequence[tuple[str, str]] = (),
    subject_mode: str | None = None,
    scope: str | None = None,
) -> TokenClaims:
    """The claim set of one token, in the order AWS's sample lists them."""
    claims: TokenClaims = {
        "iss": issuer,
        "aud": audiences[0] if len(audiences) == 1 else list(audiences),
        "sub": subject,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": token_id,
    }
    if subject_mode is not None:
        claims["subject_mode"] = subject_mode
    if scope is not None:
        claims["scope"] = scope
    aws: dict[str, Any] = {
        "aws_account": account,
        "source_region": region,
        "principal_id": principal_arn,
    }
    if principal_tags:
        aws["principal_tags"] = dict(principal_tags)
    if request_tags:
        aws["request_tags"] = dict(request_tags)
    claims[CLAIMS_NAMESPACE] = aws
    return claims
