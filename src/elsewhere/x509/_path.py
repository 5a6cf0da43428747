"""Path validation for CreateSession: cryptography's verifier, Roles Anywhere's rules, CRLs.

The chain is built and its signatures, validity windows, CA flags, path lengths and name
constraints are checked by ``cryptography.x509.verification`` (RFC 5280 §6 path validation, as
implemented in Rust). We set the policy around it (reference §4.1, §11) and add revocation from
imported CRLs (§4.2), and we explain each refusal in words a person can act on.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification as xv

from elsewhere.x509._algorithms import describe_name, key_problem, weak_signature
from elsewhere.x509._errors import UntrustedCertificate

__all__ = ["PathPolicy", "ValidatedPath", "validate_path"]

_DEFAULT_CURVES = frozenset({"P-256", "P-384", "P-521"})


@dataclass(frozen=True)
class PathPolicy:
    """Settings of path validation; the defaults are the Roles Anywhere rules of reference §4.1.

    ``min_rsa_bits`` and ``allowed_curves`` apply to every certificate of the path.
    ``cryptography``'s verifier itself refuses RSA moduli under 2048 bits, so values below 2048
    do not loosen that. ``max_chain_depth`` is the number of intermediates allowed between the
    leaf and the anchor. ``require_digital_signature`` and ``forbid_ca_leaf`` are the Roles
    Anywhere leaf rules (off only for conformance suites written for TLS servers).
    ``required_eku`` is empty: Roles Anywhere does not require clientAuth (reference §4.1).
    """

    min_rsa_bits: int = 2048
    allowed_curves: frozenset[str] = field(default=_DEFAULT_CURVES)
    max_chain_depth: int = 5
    require_digital_signature: bool = True
    forbid_ca_leaf: bool = True
    require_nonempty_subject: bool = True
    required_eku: x509.ObjectIdentifier | None = None
    check_revocation: bool = True


@dataclass(frozen=True)
class ValidatedPath:
    """A path that validated: ``chain`` runs from the leaf to the trust anchor."""

    chain: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        """The end-entity certificate."""
        return self.chain[0]

    @property
    def anchor(self) -> x509.Certificate:
        """The trust-anchor certificate the path ends in."""
        return self.chain[-1]

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """The intermediate CAs of the path, leaf side first."""
        return self.chain[1:-1]

    @property
    def not_after(self) -> dt.datetime:
        """The earliest notAfter of the path: a cached validation must not outlive it."""
        return min(c.not_valid_after_utc for c in self.chain)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _role(cert: x509.Certificate, leaf: x509.Certificate) -> str:
    if cert is leaf:
        return f"certificate {describe_name(cert.subject)}"
    return f"issuer {describe_name(cert.subject)}"


def _validity_problem(cert: x509.Certificate, now: dt.datetime, who: str) -> str | None:
    # Validity times have one-second granularity (RFC 5280 §4.1.2.5); compare at that
    # granularity, as cryptography's verifier does (x509-limbo notafter-fractional).
    now = now.replace(microsecond=0)
    if now < cert.not_valid_before_utc:
        return f"{who} is not valid until {_when(cert.not_valid_before_utc)}"
    if now > cert.not_valid_after_utc:
        return f"{who} expired at {_when(cert.not_valid_after_utc)}"
    return None


def _structure_problem(cert: x509.Certificate, who: str) -> str | None:
    """Defects that make a certificate unusable before any policy applies."""
    try:
        cert.extensions  # noqa: B018 - parsing the extensions is the check
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        return f"{who} has a malformed or duplicated extension: {exc}"
    if cert.serial_number <= 0:
        # RFC 5280 §4.1.2.2: the serial number MUST be a positive integer.
        return f"{who} has a serial number that is not positive ({cert.serial_number})"
    return None


def _leaf_problem(leaf: x509.Certificate, policy: PathPolicy) -> str | None:
    """Roles Anywhere's end-entity rules (User Guide "Signature validation"), in a stable order."""
    who = _role(leaf, leaf)
    if leaf.version is not x509.Version.v3:
        return f"{who} is X.509 {leaf.version.name}; Roles Anywhere requires v3"
    problem = _structure_problem(leaf, who)
    if problem is not None:
        return problem
    if policy.require_nonempty_subject and len(leaf.subject) == 0:
        return "certificate has an empty subject; Roles Anywhere requires a subject"
    weak = weak_signature(leaf)
    if weak is not None:
        return f"{who} is signed with {weak}; MD5 and SHA-1 signatures are not accepted"
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if policy.forbid_ca_leaf and bc is not None and bc.ca:
        return f"{who} is a CA certificate (basicConstraints CA:TRUE); an end-entity is required"
    if policy.require_digital_signature:
        try:
            ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return f"{who} has no keyUsage extension; digitalSignature is required"
        if not ku.digital_signature:
            return f"{who} keyUsage does not include digitalSignature"
    return None


def _key(cert: x509.Certificate, policy: PathPolicy, leaf: x509.Certificate) -> str | None:
    return key_problem(
        cert,
        min_rsa_bits=policy.min_rsa_bits,
        allowed_curves=policy.allowed_curves,
        who=_role(cert, leaf),
    )


def _ca_problem(
    cert: x509.Certificate, subordinate: x509.Certificate, policy: PathPolicy
) -> str | None:
    who = _role(cert, subordinate)
    problem = _structure_problem(cert, who)
    if problem is not None:
        return problem
    weak = weak_signature(cert)
    if weak is not None:
        return f"{who} is signed with {weak}; MD5 and SHA-1 signatures are not accepted"
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return f"{who} has no basicConstraints extension; an issuer must be a CA"
    if not bc.ca:
        issued = describe_name(subordinate.subject)
        return f"{who} is not a CA (basicConstraints CA:FALSE) but issued {issued}"
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return f"{who} has no keyUsage extension; keyCertSign is required"
    if not ku.key_cert_sign:
        return f"{who} keyUsage does not include keyCertSign"
    return _key(cert, policy, subordinate)


# --- the verifier's extension policies (reference §11) ---------------------------------------


def _ee_basic_constraints(
    _policy: xv.Policy, _cert: x509.Certificate, ext: x509.BasicConstraints | None
) -> None:
    if ext is not None and ext.ca:
        raise ValueError("end-entity certificate has basicConstraints CA:TRUE")


def _ee_key_usage(_policy: xv.Policy, _cert: x509.Certificate, ext: x509.KeyUsage | None) -> None:
    if ext is None or not ext.digital_signature:
        raise ValueError("end-entity keyUsage does not include digitalSignature")


def _ca_basic_constraints(
    _policy: xv.Policy, _cert: x509.Certificate, ext: x509.BasicConstraints
) -> None:
    # CA:TRUE and pathLenConstraint are enforced by the verifier's path builder itself.
    return


def _ca_key_usage(_policy: xv.Policy, _cert: x509.Certificate, ext: x509.KeyUsage | None) -> None:
    if ext is not None and not ext.key_cert_sign:
        raise ValueError("CA keyUsage does not include keyCertSign")


def _extension_policies(policy: PathPolicy) -> tuple[xv.ExtensionPolicy, xv.ExtensionPolicy]:
    agnostic = xv.Criticality.AGNOSTIC
    ca = (
        xv.ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, agnostic, _ca_basic_constraints)
        .may_be_present(x509.KeyUsage, agnostic, _ca_key_usage)
    )
    ee = xv.ExtensionPolicy.permit_all()
    if policy.forbid_ca_leaf:
        ee = ee.may_be_present(x509.BasicConstraints, agnostic, _ee_basic_constraints)
    if policy.require_digital_signature:
        ee = ee.require_present(x509.KeyUsage, agnostic, _ee_key_usage)
    if policy.required_eku is not None:
        wanted = policy.required_eku

        def _eku(_p: xv.Policy, _c: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
            if (
                ext is not None
                and wanted not in ext
                and x509.ObjectIdentifier("2.5.29.37.0") not in ext
            ):
                raise ValueError(f"extendedKeyUsage does not include {wanted.dotted_string}")

        ee = ee.may_be_present(x509.ExtendedKeyUsage, agnostic, _eku)
    return ca, ee


# --- helpers -------------------------------------------------------------------------------


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _usable_intermediates(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """Drop copies of the leaf, duplicates, anchors and self-issued roots (reference §3.5)."""
    seen = {_der(leaf)} | {_der(a) for a in anchors}
    kept: list[x509.Certificate] = []
    for cert in intermediates:
        der = _der(cert)
        if der in seen or _self_signed(cert):
            continue
        seen.add(der)
        kept.append(cert)
    return kept


def _self_signed(cert: x509.Certificate) -> bool:
    # Self-issued but not self-signed certificates (key rollover, RFC 5280 §6.1) are kept.
    return cert.subject == cert.issuer and _signed_by(cert, cert)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _diagnose(
    cert: x509.Certificate,
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
    policy: PathPolicy,
    depth: int,
    visited: frozenset[bytes],
) -> str | None:
    """Walk issuer links to find the first concrete reason a path fails; None if none is found."""
    anchor_ders = {_der(a) for a in anchors}
    named = [c for c in (*anchors, *pool) if c.subject == cert.issuer and _der(c) not in visited]
    if not named:
        return (
            f"no path to a trust anchor: {_role(cert, leaf)} was issued by "
            f"{describe_name(cert.issuer)}, which is neither a certificate of the trust anchor "
            "nor among the supplied intermediates"
        )
    signing = [c for c in named if _signed_by(cert, c)]
    if not signing:
        return (
            f"no path to a trust anchor: the signature of {_role(cert, leaf)} does not verify "
            f"with the key of {describe_name(cert.issuer)}"
        )
    problems: list[str] = []
    for issuer in signing:
        if _der(issuer) in anchor_ders:
            # Anchors are trusted as given; only their key strength is policy.
            problem = _key(issuer, policy, leaf)
            if problem is None:
                return None
            problems.append(problem)
            continue
        if depth >= policy.max_chain_depth:
            problems.append(
                f"no path to a trust anchor within {policy.max_chain_depth} intermediates"
            )
            continue
        problem = _validity_problem(issuer, now, _role(issuer, leaf)) or _ca_problem(
            issuer, cert, policy
        )
        if problem is None:
            problem = _diagnose(
                issuer, leaf, pool, anchors, now, policy, depth + 1, visited | {_der(issuer)}
            )
            if problem is None:
                return None
        problems.append(problem)
    return problems[0]


def _may_sign_crls(issuer: x509.Certificate) -> bool:
    # RFC 5280 §6.3.3 (f): if the CRL issuer has a keyUsage extension, cRLSign must be set;
    # otherwise its CRLs are not usable.
    try:
        ku = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ku.crl_sign


def _revocation_problem(
    chain: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList]
) -> str | None:
    """Check every non-anchor certificate against the CRLs of its issuer (reference §4.2).

    A CRL counts only if its issuer name matches, its signature verifies with that issuer's key
    and the issuer may sign CRLs; any other CRL is ignored (it could have been made by anyone).
    nextUpdate is ignored: a stale CRL still revokes. A CRL number is not required.
    """
    for cert, issuer in itertools.pairwise(chain):
        for crl in crls:
            if crl.issuer != issuer.subject or not _may_sign_crls(issuer):
                continue
            try:
                # X25519/X448 keys cannot sign; the TypeError below covers them.
                valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                valid = False
            if not valid:
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return (
                    f"{_role(cert, chain[0])} (serial {cert.serial_number:x}) is revoked by CRL "
                    f"{describe_name(crl.issuer)} at {_when(entry.revocation_date_utc)}"
                )
    return None


def validate_path(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    crls: Iterable[x509.CertificateRevocationList] = (),
    *,
    now: dt.datetime,
    policy: PathPolicy | None = None,
) -> ValidatedPath:
    """Build and check the path from ``leaf`` to one of ``anchors``; raise UntrustedCertificate.

    ``intermediates`` is what the client sent (the chain header); copies of the leaf, duplicates
    and self-signed roots in it are ignored, and the order does not matter. ``anchors`` are the
    trust anchor's certificates (a root or an intermediate CA). ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("validate_path needs a timezone-aware 'now'")
    policy = policy or PathPolicy()
    anchors = tuple(anchors)
    if not anchors:
        raise UntrustedCertificate("the trust anchor holds no certificate")
    problem = (
        _leaf_problem(leaf, policy)
        or _key(leaf, policy, leaf)
        or _validity_problem(leaf, now, _role(leaf, leaf))
    )
    if problem is not None:
        raise UntrustedCertificate(problem)
    pool = _usable_intermediates(leaf, intermediates, anchors)
    ca_policy, ee_policy = _extension_policies(policy)
    verifier = (
        xv.PolicyBuilder()
        .store(xv.Store(list(anchors)))
        .time(now.replace(microsecond=0))
        .max_chain_depth(policy.max_chain_depth)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, pool)
    except xv.VerificationError as exc:
        detail = str(exc).removeprefix("validation failed: ")
        reason = _diagnose(leaf, leaf, pool, anchors, now, policy, 0, frozenset({_der(leaf)}))
        raise UntrustedCertificate(reason or f"no path to a trust anchor: {detail}") from None
    chain = tuple(verified.chain)
    for position in range(1, len(chain)):
        cert = chain[position]
        if position < len(chain) - 1:
            problem = _ca_problem(cert, chain[position - 1], policy)
        else:
            problem = _key(cert, policy, leaf)
        if problem is not None:
            raise UntrustedCertificate(problem)
    if policy.check_revocation:
        problem = _revocation_problem(chain, tuple(crls))
        if problem is not None:
            raise UntrustedCertificate(problem)
    return ValidatedPath(chain)
