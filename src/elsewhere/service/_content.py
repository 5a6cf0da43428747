"""Content checks of control-plane inputs that the model's constraints cannot express.

Certificate and CRL parsing belongs to ``elsewhere.x509`` (it refuses with ``ValidationError``);
the session policy's grammar belongs to the policy engine, plugged in as a validator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from elsewhere.errors import ElsewhereError, ValidationError
from elsewhere.x509 import parse_ca_bundle, parse_crl, parse_crl_signers

__all__ = [
    "SessionPolicyValidator",
    "check_ca_bundle",
    "check_crl",
    "check_managed_policy_arns",
    "check_session_policy",
]

# An AWS managed policy's ARN names the account "aws" (IAM User Guide, "IAM identifiers":
# arn:aws:iam::aws:policy/ReadOnlyAccess), in any partition.
_AWS_MANAGED = re.compile(r"arn:[^:]*:iam::aws:policy/")

#: The hook a policy engine plugs in: raise an ``ElsewhereError`` (the engine's
#: ``MalformedPolicyDocument`` or ``LimitExceeded``) when the document breaks the IAM policy
#: grammar or size limit; :func:`check_session_policy` answers it as a ``ValidationError``.
SessionPolicyValidator = Callable[[str], None]


def check_ca_bundle(pem: str, *, max_certificates: int) -> None:
    """Raise ``ValidationError`` unless ``pem`` holds 1..``max_certificates`` CA certificates."""
    parse_ca_bundle(pem, max_certificates=max_certificates)


def check_crl(data: bytes) -> None:
    """Raise ``ValidationError`` unless ``data`` is a CRL (DER or PEM), with its signer's PEM
    certificates if any (x509.parse_crl_signers)."""
    parse_crl(data, check_entries=True)
    parse_crl_signers(data)


def check_session_policy(text: str, validator: SessionPolicyValidator | None) -> None:
    """Raise ``ValidationError`` unless ``text`` is a JSON object the grammar hook accepts.

    Whatever the hook raises is answered as a ``ValidationError`` with its text: IAM's
    ``MalformedPolicyDocument`` and ``LimitExceeded`` are not in the rolesanywhere error model
    (botocore's rolesanywhere model declares ``ValidationException``,
    ``AccessDeniedException``, ``ServiceUnavailableException`` for CreateProfile, and also
    ``ResourceNotFoundException`` for UpdateProfile).
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ValidationError(
            "Invalid session policy: not valid JSON", reason=f"sessionPolicy: {exc}"
        ) from exc
    if not isinstance(document, dict):
        raise ValidationError("Invalid session policy: not a JSON object")
    if validator is None:
        return
    try:
        validator(text)
    except ValidationError:
        raise
    except ElsewhereError as exc:
        raise ValidationError(
            f"Invalid session policy: {exc.message}", reason=f"sessionPolicy: {exc.reason}"
        ) from None


def check_managed_policy_arns(arns: Sequence[str]) -> None:
    """Raise ``ValidationError`` naming every AWS managed policy in a profile's list.

    elsewhere serves customer managed policies only (no AWS managed policy documents), so a
    session could not get the permissions such an ARN stands for; refusing the profile is
    better than issuing sessions with less than the profile says.
    """
    aws = [arn for arn in arns if _AWS_MANAGED.match(arn)]
    if aws:
        raise ValidationError(
            "AWS managed policies are not served by this endpoint; managedPolicyArns may name "
            f"customer managed policies only: {', '.join(aws)}"
        )
