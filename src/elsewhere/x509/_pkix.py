"""pyhanko-certvalidator, driven without I/O: RFC 5280 in full where cryptography's verifier stops.

pyhanko-certvalidator implements the path validation algorithm of RFC 5280 §6.1 with every name
form of §4.2.1.10 (directoryName and URI included), self-issued certificates (§6.1.4 (b), (h),
(l): a CA key rollover's link certificates), name chaining under the comparison rules of §7.1, and
CRL processing (§6.3) including CRL issuers other than the certificate's issuer. elsewhere uses it

- to judge a path that cryptography's verifier cannot judge (see ``_path``), and
- to validate the certification path of a CRL signer that is not a certificate of the path being
  checked (a CA's separate CRL-signing certificate, or its new key after a rollover), with the
  revocation status of that path checked from the imported CRLs.

Pure: the validation time is a parameter, fetching is off (no AIA, CRL distribution point or OCSP
request is ever made), and the library's coroutines are run to completion without an event loop
(they have nothing to wait for without fetchers; if one ever waited, validation would refuse).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.ltv.poe import POEManager
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    CertRevTrustPolicy,
    FreshnessReqType,
    NonRevokedStatusAssertion,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import CertificateRegistry
from pyhanko_certvalidator.revinfo.archival import CRLContainer
from pyhanko_certvalidator.revinfo.manager import RevinfoManager
from pyhanko_certvalidator.validate import async_validate_path

__all__ = ["NameKeys", "PkixRefusal", "pkix_path", "same_name", "same_shape"]

_T = TypeVar("_T")

# A CRL past its nextUpdate still applies (reference §4.2: a stale CRL still revokes). pyhanko's
# "maximum difference" freshness rule with a window of a century says exactly that, and it never
# calls a CRL "too new" (a CRL whose thisUpdate is ahead of the server's clock still counts).
_ANY_AGE = dt.timedelta(days=36500)
# Revocation of a CRL signer's path: a certificate is checked when a CRL names its issuer (the
# others are asserted unrevoked below), and then a usable CRL is mandatory.
_CRL_REQUIRED = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_REQUIRED,
    ),
    freshness=_ANY_AGE,
    freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
)
_NO_CHECK = CertRevTrustPolicy(NO_REVOCATION)


# Candidate paths tried before giving up. The caller hands over only certificates already linked
# by verified signatures (``_path``), so real inputs have one or two candidates.
_MAX_PATHS = 16


class PkixRefusal(Exception):
    """pyhanko-certvalidator found no valid path; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that has nothing to wait for (no fetchers) to completion, synchronously."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise PkixRefusal("the validator tried to wait for I/O, which elsewhere never allows")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(_der(cert))


def _full_key(name: x509.Name) -> str | None:
    """asn1crypto's §7.1 form of a name (RFC 4518 string preparation), or None if it has none."""
    try:
        return str(asn1_x509.Name.load(name.public_bytes()).hashable)
    except Exception:  # a name that cannot be prepared matches nothing else
        return None


# RFC 4518 §2.2 on ASCII: control characters map to nothing, the other white space to SPACE.
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_ASCII_SPACES = str.maketrans("\t\n\v\f\r", "     ")


def _ascii_key(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    """The §7.1 form of a name whose values are all ASCII text, or None.

    For ASCII, RFC 4518's preparation is exactly: drop control characters, map white space to
    SPACE, fold case (table B.2 lowers A-Z), leave NFKC alone (ASCII is stable under it) and
    treat runs of spaces as one, ignoring them at the ends. This gives the same equality as
    asn1crypto's preparation (a property test checks it) at a fraction of the cost, which
    matters because every CRL is matched against every issuer of a path.
    """
    rdns = []
    for rdn in name.rdns:
        attributes = []
        for attribute in rdn:
            value = attribute.value
            if not isinstance(value, str) or not value.isascii():
                return None
            value = _ASCII_CONTROLS.sub("", value).translate(_ASCII_SPACES).lower()
            attributes.append((attribute.oid.dotted_string, " ".join(value.split())))
        rdns.append(tuple(sorted(attributes)))
    return tuple(rdns)


class NameKeys:
    """RFC 5280 §7.1 name comparison with each name prepared at most once (keyed by its DER)."""

    def __init__(self) -> None:
        self._ascii: dict[bytes, object] = {}
        self._full: dict[bytes, str | None] = {}

    def _get_ascii(self, code: bytes, name: x509.Name) -> object:
        if code not in self._ascii:
            self._ascii[code] = _ascii_key(name)
        return self._ascii[code]

    def _get_full(self, code: bytes, name: x509.Name) -> str | None:
        if code not in self._full:
            self._full[code] = _full_key(name)
        return self._full[code]

    def equal(self, a: x509.Name, b: x509.Name) -> bool:
        """Whether ``a`` and ``b`` are equal under RFC 5280 §7.1 (case, repeated spaces)."""
        if a == b:
            return True
        if not same_shape(a, b):
            return False
        code_a, code_b = a.public_bytes(), b.public_bytes()
        first, second = self._get_ascii(code_a, a), self._get_ascii(code_b, b)
        if first is not None and second is not None:
            return first == second
        full = self._get_full(code_a, a)
        return full is not None and full == self._get_full(code_b, b)


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """Whether two names are equal under RFC 5280 §7.1 (case and repeated spaces ignored).

    Equal names are equal; names of different shapes are not; otherwise the values are
    compared after RFC 4518 string preparation (asn1crypto's, or its exact ASCII equivalent).
    A name that cannot be prepared is equal only to itself.
    """
    return NameKeys().equal(a, b)


def same_shape(a: x509.Name, b: x509.Name) -> bool:
    """Whether two names have the same attribute types in the same RDNs.

    §7.1 compares values only: names of different shapes are never equal, which this decides
    without preparing any string (the usual answer for a CRL of another issuer).
    """

    def shape(name: x509.Name) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(sorted(a.oid.dotted_string for a in rdn)) for rdn in name.rdns)

    return shape(a) == shape(b)


def _assertions(
    certs: Iterable[asn1_x509.Certificate],
    crls: Sequence[asn1_crl.CertificateList],
    now: dt.datetime,
) -> list[NonRevokedStatusAssertion]:
    """Certificates no imported CRL speaks for are not revocation-checked (reference §4.2)."""
    named = {c.issuer.hashable for c in crls}
    return [
        NonRevokedStatusAssertion(c.sha256, now) for c in certs if c.issuer.hashable not in named
    ]


def _context(
    anchors: Sequence[asn1_x509.Certificate],
    others: Sequence[asn1_x509.Certificate],
    crls: Sequence[asn1_crl.CertificateList],
    now: dt.datetime,
    check_revocation: bool,
) -> ValidationContext:
    registry = CertificateRegistry.build(others)
    roots = [CertTrustAnchor(a, derive_default_quals_from_cert=True) for a in anchors]
    if not check_revocation:
        return ValidationContext(
            trust_roots=roots,
            certificate_registry=registry,
            moment=now,
            allow_fetching=False,
            revinfo_policy=_NO_CHECK,
            time_tolerance=dt.timedelta(0),
        )
    revinfo = RevinfoManager(
        certificate_registry=registry,
        poe_manager=POEManager(),
        crls=[CRLContainer(c) for c in crls],
        ocsps=[],
        assertions=_assertions([*others, *anchors], crls, now),
    )
    return ValidationContext(
        trust_roots=roots,
        certificate_registry=registry,
        revinfo_manager=revinfo,
        moment=now,
        allow_fetching=False,
        revinfo_policy=_CRL_REQUIRED,
        time_tolerance=dt.timedelta(0),
    )


async def _first_valid(
    context: ValidationContext, leaf: asn1_x509.Certificate, max_depth: int
) -> ValidationPath:
    paths = context.path_builder.async_build_paths_lazy(leaf)
    problems: list[str] = []
    tried = 0
    try:
        async for path in paths:
            tried += 1
            if tried > _MAX_PATHS:
                problems.append(f"more than {_MAX_PATHS} candidate paths; none validated")
                break
            # Self-issued intermediates (a key rollover's link certificates) do not count
            # towards the depth, as they do not towards pathLenConstraint (RFC 5280 §6.1.4 (l)).
            certs = list(path.iter_certs(include_root=False))[:-1]
            if sum(1 for c in certs if not c.self_issued) > max_depth:
                problems.append(f"no path to a trust anchor within {max_depth} intermediates")
                continue
            try:
                await async_validate_path(context, path)
            except Exception as exc:  # every failure of a candidate is a refusal
                problems.append(str(exc) or type(exc).__name__)
                continue
            return path
    finally:
        await paths.cancel()  # type: ignore[no-untyped-call]
    raise PkixRefusal(problems[0] if problems else "no path to a trust anchor")


def pkix_path(
    leaf: x509.Certificate,
    others: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime,
    max_depth: int,
    crls: Iterable[x509.CertificateRevocationList] = (),
    check_revocation: bool = False,
) -> tuple[x509.Certificate, ...]:
    """The path pyhanko-certvalidator validates from ``leaf`` to one of ``anchors``.

    Returns the path leaf first, anchor last, as the caller's certificate objects. ``others``
    are untrusted path-building material. With ``check_revocation``, every certificate of the
    path whose issuer an imported CRL names must be shown unrevoked by a usable CRL. Raises
    PkixRefusal, never anything else.
    """
    moment = now.replace(microsecond=0)
    known = {_der(c): c for c in (leaf, *others, *anchors)}
    try:
        leaf_a = asn1_x509.Certificate.load(_der(leaf))
        others_a = [asn1_x509.Certificate.load(d) for d, c in known.items() if c is not leaf]
        anchors_a = [_asn1(a) for a in anchors]
        crls_a = [
            asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER))
            for c in (crls if check_revocation else ())
        ]
        context = _context(anchors_a, [*others_a, leaf_a], crls_a, moment, check_revocation)
        path = _run(_first_valid(context, leaf_a, max_depth))
        chain = [known[c.dump()] for c in path.iter_certs(include_root=True)]
    except PkixRefusal:
        raise
    except Exception as exc:  # a certificate the library cannot process is refused
        raise PkixRefusal(f"{type(exc).__name__}: {exc}") from None
    return tuple(reversed(chain))
