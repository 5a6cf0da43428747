"""Path validation for CreateSession: two RFC 5280 validators, Roles Anywhere's rules, CRLs.

Validators (measured in ``bench/bench_x509.py``; figures in the README):

- ``cryptography.x509.verification`` (Rust) builds and checks the path first: signatures,
  validity, CA flags, path lengths, name constraints of the forms it knows (dNSName, iPAddress,
  rfc822Name). It is an order of magnitude faster than the alternative, and a refusal from it is
  cheap, which matters because refusals are never cached.
- pyhanko-certvalidator (RFC 5280 §6.1 in full) judges the paths cryptography's verifier cannot
  judge: a CA with a directoryName, URI or other name constraint (cryptography refuses every
  such CA), a self-issued intermediate such as a key rollover's link certificate (cryptography
  never builds through one), and issuer names that match only under RFC 5280 §7.1 (case or
  repeated spaces).

How the two combine, so that a refusal by either never becomes an acceptance:

1. pyhanko-certvalidator is asked only when cryptography's verifier has refused AND the inputs
   hold one of the features above; any other refusal of cryptography's is final.
2. A path pyhanko-certvalidator accepts is used only if that path itself holds such a feature.
   Otherwise cryptography's verifier could have judged this very path and refused it, so the
   refusal stands.
3. Whichever validator accepted, the same Roles Anywhere rules (``_rules``), the dNSName-for-CN
   rule and the revocation check (``_revocation``) then run on the accepted path; each can only
   refuse.

Nothing is cached here (the caller caches validated paths), no clock is read (``now`` is a
parameter), and no exception other than UntrustedCertificate (or ValueError for a naive ``now``)
leaves :func:`validate_path`: a certificate that cannot be processed is a refusal.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509 import verification as xv

from elsewhere.x509._diagnose import Links, der, diagnose, self_signed
from elsewhere.x509._errors import UntrustedCertificate
from elsewhere.x509._pkix import PkixRefusal, pkix_path
from elsewhere.x509._revocation import revocation_problem
from elsewhere.x509._rules import (
    PathPolicy,
    ca_problem,
    cn_constraint_problem,
    describe,
    key_rule_problem,
    leaf_problem,
    structure_problem,
    validity_problem,
)

__all__ = [
    "CRYPTOGRAPHY",
    "MAX_CANDIDATES",
    "PYHANKO",
    "PathPolicy",
    "ValidatedPath",
    "validate_path",
]

#: The names of the validators, as ValidatedPath.validator reports them.
CRYPTOGRAPHY = "cryptography"
PYHANKO = "pyhanko-certvalidator"

# At most this many distinct certificates are considered for building a path. CreateSession's chain
# header holds at most 5 (reference §3.5) and verify-certificate takes as many; the bound keeps the
# work of path building (which explores every ordering of same-named certificates) small for any
# caller of validate_path.
MAX_CANDIDATES = 16

# Name forms cryptography's verifier evaluates in a nameConstraints extension; a CA carrying any
# other form is refused by it outright ("unsupported name constraint").
_CRYPTOGRAPHY_NAME_FORMS = (x509.DNSName, x509.IPAddress, x509.RFC822Name)


@dataclass(frozen=True)
class ValidatedPath:
    """A path that validated: ``chain`` runs from the leaf to the trust anchor."""

    chain: tuple[x509.Certificate, ...]
    validator: str = CRYPTOGRAPHY

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


# --- cryptography's verifier -------------------------------------------------------------------


def _verifier(
    anchors: Sequence[x509.Certificate], now: dt.datetime, policy: PathPolicy
) -> xv.ClientVerifier:
    anchor_ders = {der(a) for a in anchors}

    def ca_rules(_p: xv.Policy, cert: x509.Certificate, _ext: x509.BasicConstraints) -> None:
        # Roles Anywhere's CA rule, the same function the other routes call; the path builder
        # then skips a candidate issuer that breaks it. CA:TRUE and pathLenConstraint are also
        # enforced by the builder itself. An anchor's certificate meets the rule it met when the
        # trust anchor was created (parse_ca_bundle), serial number aside.
        problem = ca_problem(cert, policy, anchor=der(cert) in anchor_ders)
        if problem is not None:
            raise ValueError(f"{describe(cert)} {problem}")

    agnostic = xv.Criticality.AGNOSTIC
    ca_policy = xv.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, agnostic, ca_rules
    )
    # The leaf's rules ran before (leaf_problem); no SAN or EKU is required (reference §11).
    ee_policy = xv.ExtensionPolicy.permit_all()
    return (
        xv.PolicyBuilder()
        .store(xv.Store(list(anchors)))
        .time(now.replace(microsecond=0))
        .max_chain_depth(policy.max_chain_depth)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )


# --- what cryptography's verifier cannot judge -------------------------------------------------


def _unsupported_constraint(cert: x509.Certificate) -> bool:
    try:
        nc = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except (x509.ExtensionNotFound, ValueError, x509.DuplicateExtension):
        return False
    subtrees = [*(nc.permitted_subtrees or ()), *(nc.excluded_subtrees or ())]
    return any(not isinstance(g, _CRYPTOGRAPHY_NAME_FORMS) for g in subtrees)


def _beyond_cryptography(links: Links) -> bool:
    """Whether the inputs hold something cryptography's verifier refuses without judging."""
    if any(_unsupported_constraint(c) for c in (*links.pool, *links.anchors)):
        return True
    if any(links.self_issued(c) for c in links.pool):
        return True
    return any(
        links.loose(c, i)
        for c in (links.leaf, *links.pool)
        for i in (*links.pool, *links.anchors)
        if c is not i
    )


def _path_beyond_cryptography(links: Links, chain: Sequence[x509.Certificate]) -> bool:
    """Whether this very path holds something cryptography's verifier cannot judge."""
    if any(_unsupported_constraint(c) for c in chain[1:]):
        return True
    if any(links.self_issued(c) for c in chain[1:-1]):
        return True
    return any(links.loose(c, i) for c, i in itertools.pairwise(chain))


# --- the pieces -------------------------------------------------------------------------------


def _usable_intermediates(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    policy: PathPolicy,
) -> tuple[list[x509.Certificate], list[str]]:
    """The pool to build from, and notes on what was left out.

    Copies of the leaf, duplicates, anchors and self-signed roots are ignored (reference §3.5);
    self-issued certificates signed by another key (a key rollover) are kept. A certificate that
    cannot be used at all (names that do not decode, malformed extensions, a key outside the
    allowed types and sizes) is left out and noted, before any signature is checked with it.
    """
    seen = {der(leaf)} | {der(a) for a in anchors}
    kept: list[x509.Certificate] = []
    notes: list[str] = []
    for position, cert in enumerate(intermediates, start=1):
        code = der(cert)
        if code in seen:
            continue
        seen.add(code)
        problem = structure_problem(cert) or key_rule_problem(cert, policy)
        if problem is not None:
            notes.append(f"chain certificate {position} was ignored: it {problem}")
            continue
        if self_signed(cert):
            continue
        kept.append(cert)
    return kept, notes


def _refuse(reason: str, notes: Sequence[str]) -> UntrustedCertificate:
    return UntrustedCertificate("; ".join([reason, *notes]))


def _build(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
    policy: PathPolicy,
    notes: Sequence[str],
) -> ValidatedPath:
    """The path one of the two validators accepts, combined as the module docstring says."""
    try:
        verified = _verifier(anchors, now, policy).verify(leaf, list(pool))
    except xv.VerificationError as exc:
        detail = str(exc).removeprefix("validation failed: ")
    else:
        return ValidatedPath(tuple(verified.chain), CRYPTOGRAPHY)
    reason: str | None = None
    links = Links(leaf, pool, anchors)
    if _beyond_cryptography(links):
        grounded = links.grounded()
        if grounded is not None:
            try:
                chain = pkix_path(
                    leaf, grounded, anchors, now=now, max_depth=policy.max_chain_depth
                )
            except PkixRefusal as refusal:
                reason = f"no path to a trust anchor: {refusal.reason}"
            else:
                if _path_beyond_cryptography(links, chain):
                    return ValidatedPath(chain, PYHANKO)
                # cryptography's verifier could have judged this path, and refused it.
    explained = diagnose(leaf, links, now, policy)
    raise _refuse(explained or reason or f"no path to a trust anchor: {detail}", notes)


def _path_rules(path: ValidatedPath, policy: PathPolicy) -> str | None:
    """Roles Anywhere's rules on every certificate of an accepted path, whichever validator."""
    chain = path.chain
    leaf = chain[0]
    for cert in chain[1:-1]:
        problem = ca_problem(cert, policy)
        if problem is not None:
            return f"{describe(cert, leaf)} {problem}"
    problem = ca_problem(path.anchor, policy, anchor=True)
    if problem is not None:
        return f"{describe(path.anchor, leaf)} {problem}"
    problem = cn_constraint_problem(chain)
    return f"{describe(leaf)} {problem}" if problem is not None else None


def validate_path(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    crls: Iterable[x509.CertificateRevocationList] = (),
    *,
    now: dt.datetime,
    policy: PathPolicy | None = None,
    crl_signers: Iterable[x509.Certificate] = (),
) -> ValidatedPath:
    """Build and check the path from ``leaf`` to one of ``anchors``; raise UntrustedCertificate.

    ``intermediates`` is what the client sent (the chain header); copies of the leaf, duplicates
    and self-signed roots in it are ignored, and the order does not matter. ``anchors`` are the
    trust anchor's certificates (a root or an intermediate CA). ``crls`` are the anchor's enabled
    CRLs and ``crl_signers`` the certificates imported with them (see ``_revocation``). ``now``
    must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("validate_path needs a timezone-aware 'now'")
    policy = policy or PathPolicy()
    anchors = tuple(anchors)
    if not anchors:
        raise UntrustedCertificate("the trust anchor holds no certificate")
    try:
        return _validate(leaf, intermediates, anchors, tuple(crls), tuple(crl_signers), now, policy)
    except UntrustedCertificate:
        raise
    except Exception as exc:  # input that cannot be processed is refused
        raise UntrustedCertificate(
            f"the certificates could not be processed ({type(exc).__name__}: {exc})"
        ) from None


def _validate(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: tuple[x509.Certificate, ...],
    crls: tuple[x509.CertificateRevocationList, ...],
    crl_signers: tuple[x509.Certificate, ...],
    now: dt.datetime,
    policy: PathPolicy,
) -> ValidatedPath:
    problem = leaf_problem(leaf, policy) or validity_problem(leaf, now)
    if problem is not None:
        raise UntrustedCertificate(f"{describe(leaf)} {problem}")
    # Keys are judged before any signature is checked with them: an anchor certificate whose key
    # is outside the allowed types and sizes takes no part (parse_ca_bundle refuses such a
    # bundle; one stored before that rule is met here).
    usable = tuple(a for a in anchors if key_rule_problem(a, policy) is None)
    if not usable:
        problem = key_rule_problem(anchors[0], policy)
        raise UntrustedCertificate(f"{describe(anchors[0], leaf)} {problem}")
    anchors = usable
    pool, notes = _usable_intermediates(leaf, intermediates, anchors, policy)
    if len(pool) > MAX_CANDIDATES:
        raise UntrustedCertificate(
            f"the chain holds {len(pool)} distinct intermediate certificates; at most "
            f"{MAX_CANDIDATES} are considered"
        )
    path = _build(leaf, pool, anchors, now, policy, notes)
    problem = _path_rules(path, policy)
    if problem is None and policy.check_revocation:
        problem = revocation_problem(path.chain, crls, crl_signers, anchors, now=now, policy=policy)
    if problem is not None:
        raise UntrustedCertificate(problem)
    return path
