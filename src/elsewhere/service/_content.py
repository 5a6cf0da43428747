"""Content checks of control-plane inputs that the model's constraints cannot express.

Certificate and CRL parsing belongs to ``elsewhere.x509``; these functions call it and turn its
refusals into ``ValidationException``. Until ``elsewhere.x509`` provides ``parse_ca_bundle`` /
``parse_crl`` (it is written in parallel), a minimal ``cryptography`` load stands in so the control
plane still refuses garbage.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from cryptography import x509

from elsewhere.errors import ElsewhereError, ValidationError

__all__ = ["SessionPolicyValidator", "check_ca_bundle", "check_crl", "check_session_policy"]

#: The hook a policy engine plugs in: raise (``MalformedPolicyDocument`` or ``ValidationError``)
#: when the document breaks the IAM policy grammar.
SessionPolicyValidator = Callable[[str], None]


def _x509_function(name: str) -> Callable[..., Any] | None:
    module = importlib.import_module("elsewhere.x509")
    function = getattr(module, name, None)
    return function if callable(function) else None


def check_ca_bundle(pem: str, *, max_certificates: int) -> None:
    """Raise ``ValidationError`` unless ``pem`` holds 1..``max_certificates`` CA certificates."""
    parse = _x509_function("parse_ca_bundle")
    try:
        if parse is not None:
            parse(pem, max_certificates=max_certificates)
            return
        _fallback_bundle(pem, max_certificates)
    except ElsewhereError as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(exc.message, reason=exc.reason) from exc
    except ValueError as exc:
        raise ValidationError(
            "Invalid certificate bundle", reason=f"CA bundle refused: {exc}"
        ) from exc


def _fallback_bundle(pem: str, max_certificates: int) -> None:
    certificates = x509.load_pem_x509_certificates(pem.encode("ascii", "strict"))
    if len(certificates) > max_certificates:
        raise ValidationError(
            f"The bundle holds {len(certificates)} certificates; at most {max_certificates} "
            "are allowed per trust anchor",
        )


def check_crl(data: bytes) -> None:
    """Raise ``ValidationError`` unless ``data`` is a CRL (DER or PEM)."""
    parse = _x509_function("parse_crl")
    try:
        if parse is not None:
            parse(data)
            return
        if data.lstrip().startswith(b"-----BEGIN"):
            x509.load_pem_x509_crl(data)
        else:
            x509.load_der_x509_crl(data)
    except ElsewhereError as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(exc.message, reason=exc.reason) from exc
    except ValueError as exc:
        raise ValidationError("Invalid CRL data", reason=f"CRL refused: {exc}") from exc


def check_session_policy(text: str, validator: SessionPolicyValidator | None) -> None:
    """Raise ``ValidationError`` unless ``text`` is a JSON object; then run the grammar hook."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationError(
            "Invalid session policy: not valid JSON", reason=f"sessionPolicy: {exc}"
        ) from exc
    if not isinstance(document, dict):
        raise ValidationError("Invalid session policy: not a JSON object")
    if validator is not None:
        validator(text)
