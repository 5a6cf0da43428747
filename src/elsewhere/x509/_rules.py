"""Roles Anywhere's X.509 rules, stated once.

Every check of a certificate that is elsewhere's policy rather than RFC 5280 path validation is
here, and only here: the trust-anchor bundle parser, both path validators (cryptography's verifier
calls :func:`ca_problem` from its extension policy; pyhanko-certvalidator's paths are checked with
the same functions afterwards), the revocation check and the diagnosis behind
``elsewhere verify-certificate`` all call these functions. Each returns ``None`` or a sentence
fragment that names the problem ("is not a CA certificate (basicConstraints CA:FALSE)"); the
caller puts the certificate's description in front.

Sources: the Roles Anywhere User Guide, "Signature validation" (reference §4.1): the end-entity is
X.509 v3, not a CA, has keyUsage digitalSignature and a non-empty subject, and is not signed with
MD5 or SHA-1; CA certificates have basicConstraints CA:TRUE and keyUsage keyCertSign, with the
same signature rule. RSA sizes and curves are elsewhere's choice (reference §4.1 leaves them open).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator.name_trees import dns_tree_contains

from elsewhere.x509._algorithms import (
    describe_name,
    key_problem,
    public_key_problem,
    weak_signature,
)
from elsewhere.x509._errors import UntrustedCertificate

__all__ = [
    "PathPolicy",
    "ca_problem",
    "cn_constraint_problem",
    "crl_signer_problem",
    "describe",
    "key_rule_problem",
    "leaf_problem",
    "public_key_rule_problem",
    "structure_problem",
    "validate_public_key",
    "validity_problem",
]

_DEFAULT_CURVES = frozenset({"P-256", "P-384", "P-521"})


@dataclass(frozen=True)
class PathPolicy:
    """Settings of path validation; the defaults are the Roles Anywhere rules of reference §4.1.

    ``min_rsa_bits``, ``max_rsa_bits`` and ``allowed_curves`` apply to every certificate of the
    path, the trust anchor's and a CRL signer's included, and are checked before any signature
    is (a larger RSA key, or a larger public exponent, makes each check dearer: an RSA-16384
    check costs about 45 RSA-2048 ones). ``cryptography``'s verifier itself refuses RSA moduli
    under 2048 bits, so values below 2048 do not loosen that. ``max_chain_depth`` is the number
    of intermediates allowed between the leaf and the anchor. ``require_digital_signature`` and
    ``forbid_ca_leaf`` are the Roles Anywhere leaf rules (off only for conformance suites written
    for TLS servers).
    ``required_eku`` is empty: Roles Anywhere does not require clientAuth (reference §4.1).
    """

    min_rsa_bits: int = 2048
    max_rsa_bits: int = 4096
    allowed_curves: frozenset[str] = field(default=_DEFAULT_CURVES)
    max_chain_depth: int = 5
    require_digital_signature: bool = True
    forbid_ca_leaf: bool = True
    require_nonempty_subject: bool = True
    required_eku: x509.ObjectIdentifier | None = None
    check_revocation: bool = True


def describe(cert: x509.Certificate, leaf: x509.Certificate | None = None) -> str:
    """How messages name ``cert``: "certificate <subject>" for the leaf, "issuer <subject>" else.

    Never raises: a subject that does not decode is described as such.
    """
    try:
        name = describe_name(cert.subject)
    except ValueError:
        name = "<subject that does not decode>"
    return f"certificate {name}" if leaf is None or cert is leaf else f"issuer {name}"


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validity_problem(cert: x509.Certificate, now: dt.datetime) -> str | None:
    """Why ``cert`` is not valid at ``now`` (a fragment), or None."""
    # Validity times have one-second granularity (RFC 5280 §4.1.2.5); compare at that
    # granularity, as cryptography's verifier does (x509-limbo notafter-fractional).
    now = now.replace(microsecond=0)
    if now < cert.not_valid_before_utc:
        return f"is not valid until {_when(cert.not_valid_before_utc)}"
    if now > cert.not_valid_after_utc:
        return f"expired at {_when(cert.not_valid_after_utc)}"
    return None


def structure_problem(cert: x509.Certificate, *, check_serial: bool = True) -> str | None:
    """Defects that make a certificate unusable before any policy applies (a fragment), or None.

    Names that do not decode, malformed, duplicated or unparsable extensions and a serial that is
    not positive (RFC 5280 §4.1.2.2) are refusals here, never exceptions later. The serial is
    not judged for a trust anchor (long-lived roots with serial 0 exist, and an anchor's serial
    is never looked up in a CRL).
    """
    try:
        cert.subject  # noqa: B018 - decoding the names is the check
        cert.issuer  # noqa: B018
    except ValueError as exc:
        return f"has a name that does not decode: {exc}"
    try:
        cert.extensions  # noqa: B018 - parsing the extensions is the check
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        return f"has a malformed or duplicated extension: {exc}"
    if check_serial and cert.serial_number <= 0:
        return f"has a serial number that is not positive ({cert.serial_number})"
    return None


_E = TypeVar("_E", bound=x509.ExtensionType)


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def leaf_problem(leaf: x509.Certificate, policy: PathPolicy) -> str | None:
    """Roles Anywhere's end-entity rules (User Guide "Signature validation"), in a stable order."""
    if leaf.version is not x509.Version.v3:
        return f"is X.509 {leaf.version.name}; Roles Anywhere requires v3"
    problem = structure_problem(leaf)
    if problem is not None:
        return problem
    if policy.require_nonempty_subject and len(leaf.subject) == 0:
        return "has an empty subject; Roles Anywhere requires a subject"
    weak = weak_signature(leaf)
    if weak is not None:
        return f"is signed with {weak}; MD5 and SHA-1 signatures are not accepted"
    bc = _extension(leaf, x509.BasicConstraints)
    if policy.forbid_ca_leaf and bc is not None and bc.ca:
        return "is a CA certificate (basicConstraints CA:TRUE); an end-entity is required"
    if policy.require_digital_signature:
        ku = _extension(leaf, x509.KeyUsage)
        if ku is None:
            return "has no keyUsage extension; digitalSignature is required"
        if not ku.digital_signature:
            return "keyUsage does not include digitalSignature"
    if policy.required_eku is not None:
        eku = _extension(leaf, x509.ExtendedKeyUsage)
        any_eku = x509.ObjectIdentifier("2.5.29.37.0")
        if eku is not None and policy.required_eku not in eku and any_eku not in eku:
            return f"extendedKeyUsage does not include {policy.required_eku.dotted_string}"
    return key_rule_problem(leaf, policy)


def key_rule_problem(cert: x509.Certificate, policy: PathPolicy) -> str | None:
    """Why the certificate's key is outside the allowed types and sizes (a fragment), or None."""
    problem = key_problem(
        cert,
        min_rsa_bits=policy.min_rsa_bits,
        max_rsa_bits=policy.max_rsa_bits,
        allowed_curves=policy.allowed_curves,
        who="",
    )
    return problem.strip() if problem is not None else None


def public_key_rule_problem(key: object, policy: PathPolicy) -> str | None:
    """:func:`key_rule_problem` for a key already loaded (a fragment), or None."""
    problem = public_key_problem(
        key,
        min_rsa_bits=policy.min_rsa_bits,
        max_rsa_bits=policy.max_rsa_bits,
        allowed_curves=policy.allowed_curves,
        who="",
    )
    return problem.strip() if problem is not None else None


def validate_public_key(key: object, policy: PathPolicy | None = None) -> None:
    """Raise UntrustedCertificate unless ``key`` (a leaf's, loaded) is of an allowed type and size.

    For callers that check a signature before the path: the key rule holds before the key is
    used, so an oversized key costs no more than any other refusal.
    """
    problem = public_key_rule_problem(key, policy or PathPolicy())
    if problem is not None:
        raise UntrustedCertificate(f"certificate {problem}")


def ca_problem(
    cert: x509.Certificate, policy: PathPolicy | None = None, *, anchor: bool = False
) -> str | None:
    """Why ``cert`` cannot act as a CA under Roles Anywhere's rules (a fragment), or None.

    The same rule for a trust anchor's bundle and for every CA of a path: v3, basicConstraints
    CA:TRUE, keyUsage present with keyCertSign, no MD5/SHA-1 signature; and, given a policy, a
    key of an allowed type and size. RFC 5280 §6.1.4 (n) would let a CA without keyUsage issue;
    Roles Anywhere documents keyCertSign as required, so a CA without keyUsage is refused
    wherever it appears. ``anchor`` marks a trust anchor's own certificate (see
    :func:`structure_problem`).
    """
    if cert.version is not x509.Version.v3:
        return "is not an X.509 v3 certificate"
    problem = structure_problem(cert, check_serial=not anchor)
    if problem is not None:
        return problem
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None:
        return "has no basicConstraints extension (a CA certificate needs CA:TRUE)"
    if not bc.ca:
        return "is not a CA certificate (basicConstraints CA:FALSE)"
    ku = _extension(cert, x509.KeyUsage)
    if ku is None:
        return "has no keyUsage extension (a CA certificate needs keyCertSign)"
    if not ku.key_cert_sign:
        return "keyUsage does not include keyCertSign"
    weak = weak_signature(cert)
    if weak is not None:
        return f"is signed with {weak}; MD5 and SHA-1 signatures are not accepted"
    return key_rule_problem(cert, policy) if policy is not None else None


def crl_signer_problem(cert: x509.Certificate, policy: PathPolicy) -> str | None:
    """Why ``cert``'s key may not sign CRLs (a fragment), or None.

    RFC 5280 §6.3.3 (f) asks for cRLSign when keyUsage is present; elsewhere asks for keyUsage
    with cRLSign always (a CA certificate has keyUsage by :func:`ca_problem`, and a separate
    CRL-signing certificate without keyUsage is not evidently meant to sign CRLs).
    """
    problem = structure_problem(cert)
    if problem is not None:
        return problem
    ku = _extension(cert, x509.KeyUsage)
    if ku is None:
        return "has no keyUsage extension (a CRL signer needs cRLSign)"
    if not ku.crl_sign:
        return "keyUsage does not include cRLSign"
    return key_rule_problem(cert, policy)


# A common name that reads as a host name: LDH labels (underscores tolerated, as OpenSSL does),
# at least two of them, an optional leading wildcard label.
_HOSTNAME = re.compile(
    r"(\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?",
    re.ASCII,
)


def cn_constraint_problem(chain: tuple[x509.Certificate, ...]) -> str | None:
    """dNSName name constraints applied to a leaf's host-name CN when it has no DNS SAN.

    RFC 5280 §4.2.1.10 applies a dNSName constraint to dNSName subject alternative names only.
    The CA/Browser Forum Baseline Requirements (§7.1.2.10.8, name constraints of a technically
    constrained CA) treat the CN as carrying the host name, and OpenSSL (``x509_vfy.c``,
    ``NAME_CONSTRAINTS_check_CN``) checks a CN that looks like a host name against dNSName
    constraints whenever the certificate has no DNS SAN. elsewhere does the same, so a CA
    constrained to ``example.com`` cannot vouch for ``CN=host.evil.test`` by leaving the SAN
    out. ``chain`` runs from the leaf to the anchor; every CA in it (anchor included) counts.
    Matching is pyhanko-certvalidator's dNSName subtree test.
    """
    leaf = chain[0]
    san = _extension(leaf, x509.SubjectAlternativeName)
    if san is not None and san.get_values_for_type(x509.DNSName):
        return None
    names = [
        attr.value
        for attr in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if isinstance(attr.value, str) and _HOSTNAME.fullmatch(attr.value)
    ]
    if not names:
        return None
    for ca in chain[1:]:
        nc = _extension(ca, x509.NameConstraints)
        if nc is None:
            continue
        permitted = [g.value for g in nc.permitted_subtrees or () if isinstance(g, x509.DNSName)]
        excluded = [g.value for g in nc.excluded_subtrees or () if isinstance(g, x509.DNSName)]
        for cn in names:
            host = cn.removeprefix("*.")
            if permitted and not any(_dns_within(base, host) for base in permitted):
                return (
                    f"has CN {cn!r} and no DNS subject alternative name, and {describe(ca)} "
                    "permits only the DNS names under " + ", ".join(repr(b) for b in permitted)
                )
            # An excluded base written with a leading dot still excludes its subdomains: for an
            # exclusion, matching too much is the safe direction.
            hit = next((b for b in excluded if _dns_within(b.lstrip("."), host)), None)
            if hit is not None:
                return (
                    f"has CN {cn!r} and no DNS subject alternative name, and {describe(ca)} "
                    f"excludes the DNS names under {hit!r}"
                )
    return None


def _dns_within(base: str, host: str) -> bool:
    try:
        return bool(dns_tree_contains(base, host))
    except ValueError:  # an unusable constraint (empty name) matches nothing it could permit
        return False
