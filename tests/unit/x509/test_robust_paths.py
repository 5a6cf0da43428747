"""How the two validators combine, and malformed certificates as refusals, never exceptions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere import pki
from elsewhere.x509 import PathPolicy, UntrustedCertificate, _path, validate_path
from elsewhere.x509._diagnose import Links, diagnose, self_signed, signed_by
from tests.unit.x509 import enterprise as e

# --- a refusal by either validator never becomes an acceptance --------------------------------


def _dirname_chain(subject: str = "CN=w,O=Example") -> tuple[x509.Certificate, ...]:
    root = e.root()
    ca = e.issued(
        root, "CN=Issuing CA,O=Example", "issuing", constraints=e.dirname_constraint("O=Example")
    )
    return e.leaf(ca, subject), ca.certificate, root.certificate


def test_pyhanko_is_not_asked_about_what_cryptography_can_judge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plain chain that cryptography refuses never reaches the second validator."""

    def never(*_a: Any, **_k: Any) -> tuple[x509.Certificate, ...]:
        raise AssertionError("pyhanko-certvalidator was asked")

    monkeypatch.setattr(_path, "pkix_path", never)
    c = pki.quick_chain(e.NOW, with_intermediate=True)
    with pytest.raises(UntrustedCertificate, match="Untrusted"):
        validate_path(c.leaf, (), (c.root,), now=e.NOW)  # intermediate missing


def test_acceptance_of_a_plain_path_by_pyhanko_does_not_overturn_cryptography(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyhanko's acceptance of a path cryptography could judge (and refused) is not taken."""
    c = pki.quick_chain(e.NOW)
    # An intermediate that is not valid yet: cryptography's verifier refuses the path.
    early = pki.build_intermediate_ca(
        c.root_ca, now=e.NOW, key=pki.cached_key("p256", "early"), not_before=e.NOW + e._DAY
    )
    leaf = pki.issue_certificate(early, now=e.NOW, subject="CN=w", key=c.leaf_key).certificate
    # A decoy with a directoryName constraint in the chain makes the inputs "beyond
    # cryptography", so the second validator is asked; patched, it accepts the plain path.
    stranger = e.root("CN=Other Root", key="other")
    decoy = e.issued(
        stranger, "CN=Decoy,O=Example", "decoy", constraints=e.dirname_constraint("O=Example")
    )
    calls: list[tuple[x509.Certificate, ...]] = []

    def accepts(leaf: x509.Certificate, *_a: Any, **_k: Any) -> tuple[x509.Certificate, ...]:
        chain = (leaf, early.certificate, c.root)
        calls.append(chain)
        return chain

    monkeypatch.setattr(_path, "pkix_path", accepts)
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(leaf, (early.certificate, decoy.certificate), (c.root,), now=e.NOW)
    assert calls, "the second validator was asked"
    assert "is not valid until" in info.value.reason


def test_pyhanko_acceptance_still_meets_roles_anywhere_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path pyhanko-certvalidator accepts is refused when a Roles Anywhere rule fails."""
    leaf, ca, root = _dirname_chain()
    policy = PathPolicy(allowed_curves=frozenset({"P-384"}))
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(leaf, (ca,), (root,), now=e.NOW, policy=policy)
    assert "EC key on curve P-256, which is not allowed" in info.value.reason


def test_pyhanko_refusal_is_final() -> None:
    """When pyhanko-certvalidator refuses, the answer is a refusal with its reason."""
    leaf, ca, root = _dirname_chain("CN=w,O=Other")
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(leaf, (ca,), (root,), now=e.NOW)
    assert "permitted namespace" in info.value.reason


def test_offline_validation_imports_no_http_client() -> None:
    """Validation, CRL signers included, never loads pyhanko-certvalidator's fetchers."""
    script = (
        "import sys\n"
        "from tests.unit.x509 import test_enterprise_pki as t\n"
        "for f in (t.ok_dirname_permitted, t.fail_revoked_by_separate_crl_signer,\n"
        "          t.fail_crl_signer_itself_revoked,\n"
        "          t.ok_self_issued_does_not_count_towards_pathlen):\n"
        "    case, _ = f()\n"
        "    try:\n"
        "        t._run(case)\n"
        "    except Exception:\n"
        "        pass\n"
        "loaded = sorted(m for m in ('aiohttp', 'requests', 'certifi') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


# --- malformed certificates --------------------------------------------------------------------


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _patched(cert: x509.Certificate, old: bytes, new: bytes) -> x509.Certificate:
    der = _der(cert)
    assert old in der
    return x509.load_der_x509_certificate(der.replace(old, new, 1))


def duplicated_extension(cert: x509.Certificate) -> x509.Certificate:
    """The certificate with its keyUsage turned into a second SKI (a duplicated extension)."""
    return _patched(cert, bytes.fromhex("0603551d0f"), bytes.fromhex("0603551d0e"))


def unknown_key_algorithm(cert: x509.Certificate) -> x509.Certificate:
    """The certificate with its EC key's algorithm OID changed to one nobody knows."""
    return _patched(cert, bytes.fromhex("2a8648ce3d0201"), bytes.fromhex("2a8648ce3d0209"))


MALFORMED: dict[str, Callable[[x509.Certificate], x509.Certificate]] = {
    "duplicated-extension": duplicated_extension,
    "unknown-key-algorithm": unknown_key_algorithm,
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("where", ["leaf", "intermediate", "anchor"])
def test_malformed_certificate_is_a_refusal(kind: str, where: str) -> None:
    """fail/: a malformed leaf, chain certificate or anchor is refused, never raised."""
    c = pki.quick_chain(e.NOW, with_intermediate=True)
    assert c.intermediate is not None
    leaf, inter, root = c.leaf, c.intermediate, c.root
    if where == "leaf":
        leaf = MALFORMED[kind](leaf)
    elif where == "intermediate":
        inter = MALFORMED[kind](inter)
    else:
        root = MALFORMED[kind](root)
    crl = c.crl([], now=e.NOW)
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(leaf, (inter,), (root,), (crl,), now=e.NOW)
    assert info.value.reason


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_helpers_answer_for_malformed_certificates(kind: str) -> None:
    """self_signed, signed_by and diagnose answer (False, or a reason) instead of raising."""
    c = pki.quick_chain(e.NOW, with_intermediate=True)
    assert c.intermediate is not None
    bad_root = MALFORMED[kind](c.root)
    bad_inter = MALFORMED[kind](c.intermediate)
    unusable_key = kind == "unknown-key-algorithm"
    assert self_signed(bad_root) is False  # the patch broke its self-signature either way
    assert signed_by(c.intermediate, bad_root) is not unusable_key
    assert signed_by(bad_inter, c.root) in (True, False)
    links = Links(c.leaf, [bad_inter], [bad_root])
    reason = diagnose(c.leaf, links, e.NOW, PathPolicy())
    assert reason is None or isinstance(reason, str)
