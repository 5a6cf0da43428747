"""Enterprise PKI through validate_path: name constraints, §7.1 names, rollovers, CRL signers.

Each ok/ case must validate (and names the validator that judged it); each fail/ case must be
refused with a reason that contains its needle. The certificates are built by ``enterprise``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509

from elsewhere import pki
from elsewhere.x509 import PathPolicy, UntrustedCertificate, validate_path
from tests.unit.x509 import enterprise as e

CRYPTOGRAPHY = "cryptography"
PYHANKO = "pyhanko-certvalidator"


@dataclass(frozen=True)
class Case:
    """Inputs of one validate_path call."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    anchors: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    signers: tuple[x509.Certificate, ...] = ()
    policy: PathPolicy = field(default_factory=PathPolicy)


def _run(case: Case) -> str:
    return validate_path(
        case.leaf,
        case.intermediates,
        case.anchors,
        case.crls,
        now=e.NOW,
        policy=case.policy,
        crl_signers=case.signers,
    ).validator


# --- name constraints of every form ------------------------------------------------------------


def _constrained(nc: x509.NameConstraints) -> tuple[pki.CertifiedKey, pki.CertifiedKey]:
    root = e.root()
    return root, e.issued(root, "CN=Issuing CA,O=Example", "issuing", constraints=nc)


def ok_dirname_permitted() -> tuple[Case, str]:
    """A CA permitting O=Example vouches for a subject under O=Example."""
    root, ca = _constrained(e.dirname_constraint(permitted="O=Example"))
    return Case(e.leaf(ca, "CN=w,O=Example"), (ca.certificate,), (root.certificate,)), PYHANKO


def fail_dirname_outside_permitted() -> tuple[Case, str]:
    """A subject outside the permitted directoryName subtree is refused."""
    root, ca = _constrained(e.dirname_constraint(permitted="O=Example"))
    case = Case(e.leaf(ca, "CN=w,O=Elsewhere"), (ca.certificate,), (root.certificate,))
    return case, "in the permitted namespace of the issuing authority"


def fail_dirname_excluded() -> tuple[Case, str]:
    """A subject inside an excluded directoryName subtree is refused."""
    root, ca = _constrained(e.dirname_constraint(excluded="O=Evil"))
    case = Case(e.leaf(ca, "CN=w,O=Evil"), (ca.certificate,), (root.certificate,))
    return case, "excluded from the namespace"


def ok_dirname_on_the_anchor() -> tuple[Case, str]:
    """The trust anchor itself is a constrained issuing CA (its constraint applies, and holds)."""
    _, ca = _constrained(e.dirname_constraint(permitted="O=Example"))
    return Case(e.leaf(ca, "CN=w,O=Example"), (), (ca.certificate,)), PYHANKO


def fail_dirname_on_the_anchor() -> tuple[Case, str]:
    """The anchor's own directoryName constraint is enforced."""
    _, ca = _constrained(e.dirname_constraint(permitted="O=Example"))
    case = Case(e.leaf(ca, "CN=w,O=Other"), (), (ca.certificate,))
    return case, "in the permitted namespace of the issuing authority"


def _uri(base: str) -> x509.NameConstraints:
    return x509.NameConstraints([x509.UniformResourceIdentifier(base)], None)


def ok_uri_permitted() -> tuple[Case, str]:
    """A SPIFFE URI under a permitted host passes a URI constraint."""
    root, ca = _constrained(_uri(".example.com"))
    leaf = e.leaf(ca, sans=["uri:spiffe://prod.example.com/ns/a/sa/b"])
    return Case(leaf, (ca.certificate,), (root.certificate,)), PYHANKO


def fail_uri_outside() -> tuple[Case, str]:
    """A URI whose host is outside the permitted subtree is refused."""
    root, ca = _constrained(_uri(".example.com"))
    leaf = e.leaf(ca, sans=["uri:spiffe://prod.evil.test/ns/a"])
    case = Case(leaf, (ca.certificate,), (root.certificate,))
    return case, "'spiffe://prod.evil.test/ns/a' of type uniform_resource_identifier is not allowed"


def _dns(permitted: str | None = None, excluded: str | None = None) -> x509.NameConstraints:
    return x509.NameConstraints(
        [x509.DNSName(permitted)] if permitted else None,
        [x509.DNSName(excluded)] if excluded else None,
    )


def ok_dns_constraint_cn_inside() -> tuple[Case, str]:
    """No SAN: a host-name CN inside the permitted dNSName subtree passes."""
    root, ca = _constrained(_dns("example.com"))
    leaf = e.leaf(ca, "CN=host.example.com")
    return Case(leaf, (ca.certificate,), (root.certificate,)), CRYPTOGRAPHY


def fail_dns_constraint_cn_outside() -> tuple[Case, str]:
    """No SAN: a host-name CN outside the permitted dNSName subtree is refused."""
    root, ca = _constrained(_dns("example.com"))
    leaf = e.leaf(ca, "CN=host.evil.test")
    case = Case(leaf, (ca.certificate,), (root.certificate,))
    return case, "has CN 'host.evil.test' and no DNS subject alternative name"


def fail_dns_constraint_cn_excluded() -> tuple[Case, str]:
    """No SAN: a host-name CN inside an excluded dNSName subtree is refused."""
    root, ca = _constrained(_dns(excluded="corp.example.com"))
    leaf = e.leaf(ca, "CN=db.corp.example.com")
    return Case(leaf, (ca.certificate,), (root.certificate,)), "excludes the DNS names under"


def fail_dns_constraint_cn_with_uri_san_only() -> tuple[Case, str]:
    """A SAN without a DNS name does not exempt the CN (OpenSSL's rule)."""
    root, ca = _constrained(_dns("example.com"))
    leaf = e.leaf(ca, "CN=host.evil.test", sans=["uri:spiffe://example.com/w"])
    return Case(leaf, (ca.certificate,), (root.certificate,)), "has CN 'host.evil.test'"


def fail_dns_constraint_cn_on_pyhanko_route() -> tuple[Case, str]:
    """The CN rule holds when pyhanko-certvalidator judged the path (dirName and DNS together)."""
    nc = x509.NameConstraints(
        [x509.DirectoryName(e.name("O=Example")), x509.DNSName("example.com")], None
    )
    root, ca = _constrained(nc)
    leaf = e.leaf(ca, "CN=host.evil.test,O=Example")
    return Case(leaf, (ca.certificate,), (root.certificate,)), "has CN 'host.evil.test'"


def ok_dns_constraint_cn_not_a_host_name() -> tuple[Case, str]:
    """A CN that is not a host name is not a DNS name, so a dNSName constraint does not apply."""
    root, ca = _constrained(_dns("example.com"))
    leaf = e.leaf(ca, "CN=build runner 7")
    return Case(leaf, (ca.certificate,), (root.certificate,)), CRYPTOGRAPHY


def ok_dns_constraint_san_decides() -> tuple[Case, str]:
    """With a DNS SAN inside the subtree, the CN is not judged as a host name."""
    root, ca = _constrained(_dns("example.com"))
    leaf = e.leaf(ca, "CN=legacy.other.test", sans=["dns:w.example.com"])
    return Case(leaf, (ca.certificate,), (root.certificate,)), CRYPTOGRAPHY


# --- name chaining (RFC 5280 §7.1) -------------------------------------------------------------


def ok_issuer_name_case_and_spaces() -> tuple[Case, str]:
    """An issuer name differing from the CA's subject only in case and repeated spaces chains."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing  CA,O=Example", "issuing")
    leaf = e.leaf(ca, issuer_name=e.name("CN=issuing ca,O=EXAMPLE"))
    return Case(leaf, (ca.certificate,), (root.certificate,)), PYHANKO


def fail_issuer_name_differs() -> tuple[Case, str]:
    """An issuer name that differs in its characters does not chain."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing")
    leaf = e.leaf(ca, issuer_name=e.name("CN=Issuing CB,O=Example"))
    return Case(leaf, (ca.certificate,), (root.certificate,)), "neither a certificate of the"


# --- self-issued certificates: a CA key rollover (RFC 4210 §4.4) -------------------------------


def ok_rollover_new_with_old() -> tuple[Case, str]:
    """Anchor: the old root. A leaf from the new key chains through NewWithOld."""
    old = e.root()
    new, new_with_old, _ = e.rollover(old)
    return Case(e.leaf(new), (new_with_old,), (old.certificate,)), CRYPTOGRAPHY


def ok_rollover_old_with_new() -> tuple[Case, str]:
    """Anchor: the new root. A leaf from the old key chains through OldWithNew."""
    old = e.root()
    new, _, old_with_new = e.rollover(old)
    return Case(e.leaf(old), (old_with_new,), (new.certificate,)), CRYPTOGRAPHY


def ok_self_issued_does_not_count_towards_pathlen() -> tuple[Case, str]:
    """A rolled-over issuing CA under pathLen 0: its link certificate does not count (§6.1.4 l)."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing", path_length=0)
    link = e.certificate(
        subject=ca.certificate.subject,
        issuer_name=ca.certificate.subject,
        key="issuing-new",
        signer=ca.key,
        path_length=0,
    )
    leaf = e.leaf(link)
    return Case(leaf, (ca.certificate, link.certificate), (root.certificate,)), PYHANKO


def fail_self_issued_link_breaks_pathlen_of_its_issuer() -> tuple[Case, str]:
    """A self-issued CA does not lift pathLen: a further CA under it is still refused."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing", path_length=0)
    link = e.certificate(
        subject=ca.certificate.subject,
        issuer_name=ca.certificate.subject,
        key="issuing-new",
        signer=ca.key,
        path_length=0,
    )
    sub = e.issued(link, "CN=Sub CA,O=Example", "sub")
    leaf = e.leaf(sub)
    case = Case(leaf, (ca.certificate, link.certificate, sub.certificate), (root.certificate,))
    return case, "no path to a trust anchor"


def ok_rollover_both_roots_in_the_bundle() -> tuple[Case, str]:
    """Both roots in the anchor bundle: leaves of either key validate without a link."""
    old = e.root()
    new, _, _ = e.rollover(old)
    return Case(e.leaf(new), (), (old.certificate, new.certificate)), CRYPTOGRAPHY


def fail_rollover_link_from_another_key() -> tuple[Case, str]:
    """A "link" certificate signed by an unrelated key does not chain to the old root."""
    old = e.root()
    new, _, _ = e.rollover(old)
    forged = e.certificate(
        subject=old.certificate.subject,
        issuer_name=old.certificate.subject,
        key=new.key,
        signer=pki.cached_key("p256", "forger"),
    ).certificate
    return Case(e.leaf(new), (forged,), (old.certificate,)), "does not verify with the key"


# --- Roles Anywhere's rules keep precedence on the pyhanko-certvalidator route ------------------


def fail_leaf_is_ca_under_dirname_ca() -> tuple[Case, str]:
    """A CA leaf is refused before any path work, whatever its issuer's constraints."""
    root, ca = _constrained(e.dirname_constraint(permitted="O=Example"))
    leaf = e.leaf(
        ca, "CN=w,O=Example", basic_constraints=x509.BasicConstraints(ca=True, path_length=None)
    )
    case = Case(leaf, (ca.certificate,), (root.certificate,))
    return case, "is a CA certificate (basicConstraints CA:TRUE)"


def fail_intermediate_without_keyusage_on_pyhanko_route() -> tuple[Case, str]:
    """RFC 5280 lets a CA without keyUsage issue; Roles Anywhere does not, on either route."""
    root = e.root()
    ca = e.issued(
        root,
        "CN=Issuing CA,O=Example",
        "issuing",
        key_usage=None,
        constraints=e.dirname_constraint(permitted="O=Example"),
    )
    leaf = e.leaf(ca, "CN=w,O=Example")
    case = Case(leaf, (ca.certificate,), (root.certificate,))
    return case, "has no keyUsage extension (a CA certificate needs keyCertSign)"


def fail_intermediate_rsa1024_on_pyhanko_route() -> tuple[Case, str]:
    """pyhanko-certvalidator accepts RSA-1024; elsewhere's key rule refuses it on its route too."""
    root = e.root()
    ca = e.issued(
        root,
        "CN=Issuing CA,O=Example",
        "issuing-1024",
        key_type="rsa1024",
        constraints=e.dirname_constraint(permitted="O=Example"),
    )
    leaf = e.leaf(ca, "CN=w,O=Example")
    return Case(leaf, (ca.certificate,), (root.certificate,)), "RSA key of 1024 bits"


# --- revocation: CRLs signed by the issuing CA, a CRL signer, or a rolled-over key --------------


def _separate_signer() -> tuple[pki.CertifiedKey, pki.CertifiedKey, pki.CertifiedKey]:
    """A root, its issuing CA (no cRLSign) and the CA's CRL signer (same name, own key)."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing", key_usage=e.CERT_ONLY_KU)
    signer = e.issued(
        root, "CN=Issuing CA,O=Example", "crl-signer", ca=None, key_usage=e.CRL_ONLY_KU
    )
    return root, ca, signer


def fail_revoked_by_separate_crl_signer() -> tuple[Case, str]:
    """A CRL signed by the CA's CRL-signing certificate revokes (RFC 5280 §6.3.3)."""
    root, ca, signer = _separate_signer()
    leaf = e.leaf(ca)
    revoking = e.crl(signer, [leaf.serial_number])
    case = Case(leaf, (ca.certificate,), (root.certificate,), (revoking,), (signer.certificate,))
    return case, f"(serial {leaf.serial_number:x}) is revoked by CRL CN=Issuing CA,O=Example"


def ok_clean_crl_of_separate_signer() -> tuple[Case, str]:
    """The CRL signer's CRL that does not list the leaf lets it pass."""
    root, ca, signer = _separate_signer()
    leaf = e.leaf(ca)
    clean = e.crl(signer, [leaf.serial_number + 1])
    case = Case(leaf, (ca.certificate,), (root.certificate,), (clean,), (signer.certificate,))
    return case, CRYPTOGRAPHY


def fail_crl_signer_not_available() -> tuple[Case, str]:
    """A CRL naming the issuer whose signer is nowhere to be found fails the leaf (fails closed)."""
    root, ca, signer = _separate_signer()
    leaf = e.leaf(ca)
    case = Case(leaf, (ca.certificate,), (root.certificate,), (e.crl(signer),))
    return case, "verifies with no usable key"


def fail_crl_signer_without_crlsign() -> tuple[Case, str]:
    """A same-named certificate without cRLSign cannot sign CRLs."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing", key_usage=e.CERT_ONLY_KU)
    signer = e.issued(root, "CN=Issuing CA,O=Example", "crl-signer", ca=None, key_usage=None)
    leaf = e.leaf(ca)
    case = Case(
        leaf, (ca.certificate,), (root.certificate,), (e.crl(signer),), (signer.certificate,)
    )
    return case, "has no keyUsage extension (a CRL signer needs cRLSign)"


def fail_crl_signer_from_another_root() -> tuple[Case, str]:
    """A CRL signer that does not validate to the trust anchor is not usable."""
    root, ca, _ = _separate_signer()
    stranger = e.root("CN=Stranger Root", key="stranger")
    signer = e.issued(
        stranger, "CN=Issuing CA,O=Example", "crl-signer", ca=None, key_usage=e.CRL_ONLY_KU
    )
    leaf = e.leaf(ca)
    case = Case(
        leaf, (ca.certificate,), (root.certificate,), (e.crl(signer),), (signer.certificate,)
    )
    return case, "does not validate to the trust anchor"


def fail_crl_signer_itself_revoked() -> tuple[Case, str]:
    """A CRL signer revoked by its issuer's CRL is not usable (its own path is checked)."""
    root, ca, signer = _separate_signer()
    leaf = e.leaf(ca)
    root_crl = e.crl(root, [signer.certificate.serial_number])
    crls = (e.crl(signer), root_crl)
    case = Case(leaf, (ca.certificate,), (root.certificate,), crls, (signer.certificate,))
    return case, "does not validate to the trust anchor"


def fail_crl_signature_forged() -> tuple[Case, str]:
    """A CRL in the issuer's name signed by another key fails the leaf instead of being ignored."""
    c = pki.quick_chain(e.NOW)
    forged_ca = pki.CertifiedKey(c.root, pki.cached_key("p256", "forger"))
    forged = pki.build_crl(forged_ca, [], now=e.NOW)
    return Case(c.leaf, (), (c.root,), (forged,)), "verifies with no usable key"


def fail_crl_of_ca_without_crlsign() -> tuple[Case, str]:
    """The issuing CA's own CRL counts only if it has cRLSign (RFC 5280 §6.3.3 (f))."""
    root = e.root()
    ca = e.issued(root, "CN=Issuing CA,O=Example", "issuing", key_usage=e.CERT_ONLY_KU)
    leaf = e.leaf(ca)
    case = Case(leaf, (ca.certificate,), (root.certificate,), (e.crl(ca, [leaf.serial_number]),))
    return case, "keyUsage does not include cRLSign"


def fail_revoked_by_new_key_anchor_in_bundle() -> tuple[Case, str]:
    """After a rollover the CRL is signed by the new key; the new root is in the bundle."""
    old = e.root()
    new, _, _ = e.rollover(old)
    leaf = e.leaf(old)
    case = Case(leaf, (), (old.certificate, new.certificate), (e.crl(new, [leaf.serial_number]),))
    return case, "is revoked by CRL CN=Example Root"


def fail_revoked_by_new_key_link_with_crl() -> tuple[Case, str]:
    """After a rollover the new key's CRL comes with NewWithOld; the anchor is the old root."""
    old = e.root()
    new, new_with_old, _ = e.rollover(old)
    leaf = e.leaf(old)
    crl = e.crl(new, [leaf.serial_number])
    return Case(leaf, (), (old.certificate,), (crl,), (new_with_old,)), "is revoked by CRL"


def ok_new_key_crl_clean() -> tuple[Case, str]:
    """The new key's clean CRL, vouched for by NewWithOld, lets an old-key leaf pass."""
    old = e.root()
    new, new_with_old, _ = e.rollover(old)
    leaf = e.leaf(old)
    return Case(leaf, (), (old.certificate,), (e.crl(new),), (new_with_old,)), CRYPTOGRAPHY


def fail_revoked_intermediate_by_rolled_root() -> tuple[Case, str]:
    """An intermediate revoked by the root's new key is refused too."""
    old = e.root()
    new, new_with_old, _ = e.rollover(old)
    ca = e.issued(old, "CN=Issuing CA,O=Example", "issuing")
    leaf = e.leaf(ca)
    crl = e.crl(new, [ca.certificate.serial_number])
    case = Case(leaf, (ca.certificate,), (old.certificate,), (crl,), (new_with_old,))
    return case, "issuer CN=Issuing CA,O=Example"


OK: dict[str, Callable[[], tuple[Case, str]]] = {
    f"ok/{n[3:].replace('_', '-')}": f
    for n, f in dict(globals()).items()
    if n.startswith("ok_") and callable(f)
}
FAIL: dict[str, Callable[[], tuple[Case, str]]] = {
    f"fail/{n[5:].replace('_', '-')}": f
    for n, f in dict(globals()).items()
    if n.startswith("fail_") and callable(f)
}


@pytest.mark.parametrize("name", sorted(OK))
def test_accepted(name: str) -> None:
    """Each ok/ case validates, judged by the validator it names."""
    case, validator = OK[name]()
    assert _run(case) == validator


@pytest.mark.parametrize("name", sorted(FAIL))
def test_refused(name: str) -> None:
    """Each fail/ case is refused with AWS's message and a reason naming the problem."""
    case, needle = FAIL[name]()
    with pytest.raises(UntrustedCertificate) as info:
        _run(case)
    assert info.value.message == "Untrusted signing certificate"
    assert needle in info.value.reason, info.value.reason


def test_revocation_date_in_the_future_still_revokes() -> None:
    """A listed serial revokes whatever its revocationDate (a CRL ahead of our clock)."""
    c = pki.quick_chain(e.NOW)
    crl = c.crl([c.leaf.serial_number], now=e.NOW + dt.timedelta(days=3))
    with pytest.raises(UntrustedCertificate, match="Untrusted"):
        validate_path(c.leaf, (), (c.root,), (crl,), now=e.NOW)
