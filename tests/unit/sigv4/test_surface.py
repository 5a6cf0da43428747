"""The public surface of elsewhere.sigv4: the names other packages import, each documented."""

from __future__ import annotations

import inspect

import elsewhere.sigv4 as sigv4

CONTRACT = {
    "HttpRequest",
    "CredentialScope",
    "SignedRequest",
    "parse_signed_request",
    "check_request_time",
    "check_scope",
    "canonical_request",
    "string_to_sign",
    "verify_hmac_signature",
    "sign_hmac_request",
    "sign_x509_request",
    "verify_x509_signature",
    "required_x509_headers",
}


def test_contract_names_exported() -> None:
    """Every name of the agreed API is in __all__ and importable."""
    assert set(sigv4.__all__) >= CONTRACT
    for name in sigv4.__all__:
        assert hasattr(sigv4, name), name


def test_public_callables_have_docstrings() -> None:
    """Every exported function and class carries a docstring."""
    for name in sigv4.__all__:
        obj = getattr(sigv4, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), name


def test_contract_signatures() -> None:
    """The keyword parameters other engineers call with are present."""
    sign = inspect.signature(sigv4.sign_hmac_request).parameters
    assert {
        "access_key_id",
        "secret_access_key",
        "region",
        "service",
        "now",
        "session_token",
        "presign_expires",
        "unsigned_payload",
    } <= set(sign)
    x509 = inspect.signature(sigv4.sign_x509_request).parameters
    assert {"certificate", "private_key", "region", "now", "intermediates", "service"} <= set(x509)
    assert list(inspect.signature(sigv4.verify_x509_signature).parameters) == [
        "request",
        "signed",
        "certificate",
    ]
    assert "skew" in inspect.signature(sigv4.check_request_time).parameters
