"""The public surface of elsewhere.x509 and elsewhere.pki is what __all__ says."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize("package", ["elsewhere.x509", "elsewhere.pki"])
def test_all_names_exist_and_are_documented(package: str) -> None:
    """Every name in __all__ exists, and every public callable has a docstring."""
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert (value.__doc__ or "").strip(), f"{package}.{name} has no docstring"


def test_untrusted_certificate_is_access_denied() -> None:
    """UntrustedCertificate renders as AccessDeniedException 403 with AWS's text."""
    from elsewhere.errors import AccessDenied
    from elsewhere.x509 import UntrustedCertificate

    err = UntrustedCertificate("certificate expired at 2026-01-01T00:00:00Z")
    assert isinstance(err, AccessDenied)
    assert (err.code, err.status, err.message) == (
        "AccessDeniedException",
        403,
        "Untrusted signing certificate",
    )
    assert err.reason == "certificate expired at 2026-01-01T00:00:00Z"
