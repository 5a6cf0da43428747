"""Table tests of validate_path: every Roles Anywhere refusal, and the paths that must pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from elsewhere import pki
from elsewhere.errors import AccessDenied
from elsewhere.x509 import PathPolicy, UntrustedCertificate, validate_path

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Case:
    """Inputs of one validate_path call."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    anchors: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    now: dt.datetime = NOW
    policy: PathPolicy = field(default_factory=PathPolicy)


def _plain(key_type: str = "p256", inter: bool = False) -> Case:
    c = pki.quick_chain(NOW, key_type, inter)
    return Case(c.leaf, c.intermediates, (c.root,))


def _leaf_with(chain: pki.Chain, **kwargs: object) -> x509.Certificate:
    args: dict[str, object] = {"subject": "CN=odd", "key": chain.leaf_key}
    args.update(kwargs)
    return pki.issue_certificate(chain.issuing_ca, now=NOW, **args).certificate  # type: ignore[arg-type]


def ok_via_header() -> Case:
    """The intermediate arrives in the chain header."""
    return _plain(inter=True)


def ok_intermediate_is_anchor() -> Case:
    """The trust anchor is the intermediate CA itself; no chain header."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    assert c.intermediate is not None
    return Case(c.leaf, (), (c.intermediate,))


def ok_anchor_bundle_holds_both() -> Case:
    """Root and intermediate both in the anchor bundle."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    assert c.intermediate is not None
    return Case(c.leaf, (), (c.root, c.intermediate))


def ok_header_has_leaf_root_and_junk() -> Case:
    """Copies of the leaf, the root, an unrelated root and duplicates in the header are ignored."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    other = pki.quick_chain(NOW).root
    assert c.intermediate is not None
    return Case(c.leaf, (c.leaf, other, c.root, c.intermediate, c.intermediate), (c.root,))


def ok_second_anchor_certificate() -> Case:
    """The anchor bundle's second CA is the one that issued the leaf."""
    c = pki.quick_chain(NOW)
    return Case(c.leaf, (), (pki.quick_chain(NOW).root, c.root))


def ok_rsa() -> Case:
    """RSA-2048 everywhere."""
    return _plain("rsa2048", inter=True)


def ok_p384() -> Case:
    """EC P-384 everywhere."""
    return _plain("p384", inter=True)


def ok_no_san_no_eku() -> Case:
    """Neither a SAN nor an EKU is required (reference §11)."""
    c = pki.quick_chain(NOW)
    return Case(_leaf_with(c, extended_key_usage=None), (), (c.root,))


def ok_no_basic_constraints() -> Case:
    """A leaf without basicConstraints is an end-entity (current User Guide wording)."""
    c = pki.quick_chain(NOW)
    return Case(_leaf_with(c, basic_constraints=None), (), (c.root,))


def ok_crl_other_issuer() -> Case:
    """A CRL from another CA listing the same serial does not revoke."""
    c = pki.quick_chain(NOW)
    other = pki.quick_chain(NOW)
    return Case(c.leaf, (), (c.root,), (other.crl([c.leaf.serial_number], now=NOW),))


def ok_crl_not_listing_leaf() -> Case:
    """The issuer's CRL that does not list the leaf lets it pass."""
    c = pki.quick_chain(NOW)
    return Case(c.leaf, (), (c.root,), (c.crl([c.leaf.serial_number + 1], now=NOW),))


def ok_stale_crl_still_checked_when_clean() -> Case:
    """A CRL past its nextUpdate is still used (and here lists nothing)."""
    c = pki.quick_chain(NOW)
    return Case(c.leaf, (), (c.root,), (c.crl([], now=NOW - dt.timedelta(days=90)),))


def fail_wrong_ca() -> tuple[Case, str]:
    """A leaf from another CA."""
    c = pki.quick_chain(NOW)
    impostor = pki.build_root_ca(now=NOW, subject=c.root.subject, key=pki.cached_key("p256", "x"))
    return Case(c.leaf, (), (impostor.certificate,)), "does not verify with the key"


def fail_unknown_issuer() -> tuple[Case, str]:
    """A leaf whose issuer name is nowhere to be found."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    return Case(c.leaf, (), (c.root,)), "which is neither a certificate of the trust anchor"


def fail_expired() -> tuple[Case, str]:
    """The leaf is past notAfter."""
    c = pki.quick_chain(NOW)
    return Case(c.leaf, (), (c.root,), now=NOW + dt.timedelta(days=31)), "expired at 2026-01-31"


def fail_not_yet_valid() -> tuple[Case, str]:
    """The leaf's notBefore is in the future."""
    c = pki.quick_chain(NOW)
    return Case(c.leaf, (), (c.root,), now=NOW - dt.timedelta(days=1)), "is not valid until"


def fail_intermediate_expired() -> tuple[Case, str]:
    """The intermediate's validity ended before the leaf's."""
    c = pki.quick_chain(NOW)
    inter = pki.build_intermediate_ca(
        c.root_ca,
        now=NOW,
        key=pki.cached_key("p256", "intermediate"),
        not_after=NOW + dt.timedelta(days=1),
    )
    leaf = pki.issue_certificate(inter, now=NOW, subject="CN=w", key=c.leaf_key).certificate
    case = Case(leaf, (inter.certificate,), (c.root,), now=NOW + dt.timedelta(days=2))
    return case, "issuer CN=elsewhere development intermediate CA expired at"


def fail_revoked_leaf() -> tuple[Case, str]:
    """The issuer's CRL lists the leaf."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    crl = c.crl([c.leaf.serial_number], now=NOW)
    return (
        Case(c.leaf, c.intermediates, (c.root,), (crl,)),
        f"(serial {c.leaf.serial_number:x}) is revoked by CRL CN=elsewhere test intermediate CA ",
    )


def fail_revoked_intermediate() -> tuple[Case, str]:
    """The root's CRL lists the intermediate."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    assert c.intermediate is not None
    crl = c.crl([c.intermediate.serial_number], now=NOW, issuer="root")
    return Case(c.leaf, c.intermediates, (c.root,), (crl,)), "issuer CN=elsewhere test intermediate"


def fail_leaf_is_ca() -> tuple[Case, str]:
    """A CA certificate cannot sign CreateSession."""
    c = pki.quick_chain(NOW)
    leaf = _leaf_with(c, basic_constraints=x509.BasicConstraints(ca=True, path_length=None))
    return Case(leaf, (), (c.root,)), "is a CA certificate (basicConstraints CA:TRUE)"


def fail_missing_digital_signature() -> tuple[Case, str]:
    """keyUsage without digitalSignature."""
    c = pki.quick_chain(NOW)
    ku = x509.KeyUsage(False, True, False, False, False, False, False, False, False)
    return Case(_leaf_with(c, key_usage=ku), (), (c.root,)), "does not include digitalSignature"


def fail_no_key_usage() -> tuple[Case, str]:
    """No keyUsage at all: the docs say it MUST include digitalSignature."""
    c = pki.quick_chain(NOW)
    return Case(_leaf_with(c, key_usage=None), (), (c.root,)), "has no keyUsage extension"


def fail_empty_subject() -> tuple[Case, str]:
    """Empty subjects are not supported (they key the Subject resource)."""
    c = pki.quick_chain(NOW)
    leaf = _leaf_with(c, subject="", sans=["dns:x.example"])
    return Case(leaf, (), (c.root,)), "empty subject"


def fail_sha1_signature() -> tuple[Case, str]:
    """A SHA-1-signed leaf."""
    c = pki.quick_chain(NOW, "rsa2048")
    assert isinstance(c.root_key, rsa.RSAPrivateKey)
    leaf = pki.hazmat_resign_with_legacy_hash(c.leaf, c.root_key)
    return Case(leaf, (), (c.root,)), "sha1WithRSAEncryption"


def fail_md5_signature() -> tuple[Case, str]:
    """An MD5-signed leaf."""
    c = pki.quick_chain(NOW, "rsa2048")
    assert isinstance(c.root_key, rsa.RSAPrivateKey)
    leaf = pki.hazmat_resign_with_legacy_hash(c.leaf, c.root_key, "md5")
    return Case(leaf, (), (c.root,)), "md5WithRSAEncryption"


def fail_rsa_1024() -> tuple[Case, str]:
    """An RSA-1024 leaf key is below the minimum."""
    c = pki.quick_chain(NOW)
    leaf = _leaf_with(c, key=pki.cached_key("rsa1024"))
    return Case(leaf, (), (c.root,)), "has an RSA key of 1024 bits, below the minimum of 2048"


def fail_curve_not_allowed() -> tuple[Case, str]:
    """A P-384 leaf under a policy that allows only P-256."""
    c = pki.quick_chain(NOW)
    leaf = _leaf_with(c, key=pki.cached_key("p384"))
    policy = PathPolicy(allowed_curves=frozenset({"P-256"}))
    return Case(leaf, (), (c.root,), policy=policy), "EC key on curve P-384, which is not allowed"


def fail_intermediate_not_ca() -> tuple[Case, str]:
    """An "intermediate" without CA:TRUE cannot issue."""
    c = pki.quick_chain(NOW)
    fake = pki.issue_certificate(
        c.root_ca,
        now=NOW,
        subject="CN=fake CA",
        key=pki.cached_key("p256", "fake"),
        key_usage=x509.KeyUsage(True, False, False, False, False, True, False, False, False),
    )
    leaf = pki.issue_certificate(fake, now=NOW, subject="CN=w", key=c.leaf_key).certificate
    needle = "is not a CA certificate (basicConstraints CA:FALSE) but issued CN=w"
    return Case(leaf, (fake.certificate,), (c.root,)), needle


def fail_chain_too_deep() -> tuple[Case, str]:
    """Six intermediates exceed the default depth of five."""
    c = pki.quick_chain(NOW)
    issuer = c.root_ca
    inters = []
    for i in range(6):
        issuer = pki.build_intermediate_ca(
            issuer,
            now=NOW,
            subject=f"CN=level {i}",
            key=pki.cached_key("p256", f"lvl{i}"),
            path_length=None,
        )
        inters.append(issuer.certificate)
    leaf = pki.issue_certificate(issuer, now=NOW, subject="CN=deep", key=c.leaf_key).certificate
    return Case(leaf, tuple(inters), (c.root,)), "within 5 intermediates"


def ok_chain_of_five() -> Case:
    """Five intermediates are fine."""
    c = pki.quick_chain(NOW)
    issuer = c.root_ca
    inters = []
    for i in range(5):
        issuer = pki.build_intermediate_ca(
            issuer,
            now=NOW,
            subject=f"CN=level {i}",
            key=pki.cached_key("p256", f"lvl{i}"),
            path_length=None,
        )
        inters.append(issuer.certificate)
    leaf = pki.issue_certificate(issuer, now=NOW, subject="CN=deep", key=c.leaf_key).certificate
    return Case(leaf, tuple(reversed(inters)), (c.root,))


OK: dict[str, Callable[[], Case]] = {
    f"ok/{name[3:].replace('_', '-')}": fn
    for name, fn in dict(globals()).items()
    if name.startswith("ok_") and callable(fn)
}
FAIL: dict[str, Callable[[], tuple[Case, str]]] = {
    f"fail/{name[5:].replace('_', '-')}": fn
    for name, fn in dict(globals()).items()
    if name.startswith("fail_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(OK))
def test_accepted(name: str) -> None:
    """Each ok/ case validates and the path ends at one of the anchors."""
    case = OK[name]()
    path = validate_path(
        case.leaf, case.intermediates, case.anchors, case.crls, now=case.now, policy=case.policy
    )
    assert path.leaf == case.leaf
    assert path.anchor in case.anchors
    assert path.not_after <= case.leaf.not_valid_after_utc


@pytest.mark.parametrize("name", sorted(FAIL))
def test_refused(name: str) -> None:
    """Each fail/ case raises UntrustedCertificate with AWS's message and a precise reason."""
    case, needle = FAIL[name]()
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(
            case.leaf,
            case.intermediates,
            case.anchors,
            case.crls,
            now=case.now,
            policy=case.policy,
        )
    assert info.value.message == "Untrusted signing certificate"
    assert isinstance(info.value, AccessDenied)
    assert info.value.status == 403
    assert needle in info.value.reason, info.value.reason


def test_naive_now_refused() -> None:
    """A naive datetime is a programming error, not a refusal."""
    c = pki.quick_chain(NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_path(c.leaf, (), (c.root,), now=NOW.replace(tzinfo=None))


def test_no_anchor() -> None:
    """An empty anchor is refused."""
    c = pki.quick_chain(NOW)
    with pytest.raises(UntrustedCertificate):
        validate_path(c.leaf, (), (), now=NOW)


def test_revocation_can_be_switched_off() -> None:
    """check_revocation=False ignores even a valid CRL listing the leaf."""
    c = pki.quick_chain(NOW)
    crl = c.crl([c.leaf.serial_number], now=NOW)
    policy = PathPolicy(check_revocation=False)
    assert validate_path(c.leaf, (), (c.root,), (crl,), now=NOW, policy=policy).anchor == c.root


def test_validated_path_shape() -> None:
    """The path runs leaf → intermediate → root and its not_after is the earliest notAfter."""
    c = pki.quick_chain(NOW, with_intermediate=True)
    path = validate_path(c.leaf, c.intermediates, (c.root,), now=NOW)
    assert path.chain == (c.leaf, c.intermediate, c.root)
    assert path.intermediates == c.intermediates
    assert path.not_after == c.leaf.not_valid_after_utc


def test_validity_has_second_granularity() -> None:
    """A moment within the second of notAfter is still valid (RFC 5280 §4.1.2.5)."""
    c = pki.quick_chain(NOW)
    at = c.leaf.not_valid_after_utc + dt.timedelta(milliseconds=500)
    assert validate_path(c.leaf, (), (c.root,), now=at).leaf == c.leaf
    with pytest.raises(UntrustedCertificate) as info:
        validate_path(c.leaf, (), (c.root,), now=at + dt.timedelta(seconds=1))
    assert "expired at" in info.value.reason
