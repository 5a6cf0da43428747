"""Content checks of control-plane inputs that the model's constraints cannot express.

Certificate and CRL parsing belongs to ``elsewhere.x509`` (it refuses with ``ValidationError``);
the session policy's grammar belongs to the policy engine, plugged in as a validator.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from elsewhere.errors import ValidationError
from elsewhere.x509 import parse_ca_bundle, parse_crl, parse_crl_signers

__all__ = ["SessionPolicyValidator", "check_ca_bundle", "check_crl", "check_session_policy"]

#: The hook a policy engine plugs in: raise (``MalformedPolicyDocument`` or ``ValidationError``)
#: when the document breaks the IAM policy grammar.
SessionPolicyValidator = Callable[[str], None]


def check_ca_bundle(pem: str, *, max_certificates: int) -> None:
    """Raise ``ValidationError`` unless ``pem`` holds 1..``max_certificates`` CA certificates."""
    parse_ca_bundle(pem, max_certificates=max_certificates)


def check_crl(data: bytes) -> None:
    """Raise ``ValidationError`` unless ``data`` is a CRL (DER or PEM), with its signer's PEM
    certificates if any (x509.parse_crl_signers)."""
    parse_crl(data)
    parse_crl_signers(data)


def check_session_policy(text: str, validator: SessionPolicyValidator | None) -> None:
    """Raise ``ValidationError`` unless ``text`` is a JSON object; then run the grammar hook."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ValidationError(
            "Invalid session policy: not valid JSON", reason=f"sessionPolicy: {exc}"
        ) from exc
    if not isinstance(document, dict):
        raise ValidationError("Invalid session policy: not a JSON object")
    if validator is not None:
        validator(text)
