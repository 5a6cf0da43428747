"""Revocation from imported CRLs (reference §4.2), failing closed.

Every certificate of a validated path except the anchor is checked against the CRLs that name
its issuer (names compared under RFC 5280 §7.1). Each such CRL must verify with a usable key:

- the key of the issuing CA itself (the certificate above it in the path), or
- the key of a CRL-signing certificate of that same issuer name: a separate CRL-signing
  certificate, or the CA's new certificate after a key rollover (RFC 5280 §6.3.3 (f)). Such a
  certificate must carry keyUsage cRLSign and is itself validated to the same trust anchor, its
  own revocation status included, by pyhanko-certvalidator. It may be one of the trust anchor's
  certificates, a certificate imported together with the CRL, or a certificate of the path.

A CRL that names the issuer but verifies with no usable key makes the certificate fail, with the
reason: an unusable CRL is never silently skipped. A CRL that verifies and lists the serial
revokes, whatever its nextUpdate says (a stale CRL still applies). CRL signatures and serial
look-ups are cryptography's (a 300 kB CRL is searched in milliseconds); the CRL signer's
certification path is pyhanko-certvalidator's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere.x509._algorithms import describe_name
from elsewhere.x509._pkix import NameKeys, PkixRefusal, pkix_path
from elsewhere.x509._rules import PathPolicy, crl_signer_problem, describe

__all__ = ["revocation_problem"]


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _verifies(crl: x509.CertificateRevocationList, signer: x509.Certificate) -> bool:
    try:
        return bool(crl.is_signature_valid(signer.public_key()))  # type: ignore[arg-type]
    except Exception:  # a key that cannot verify (X25519, unknown) verifies nothing
        return False


def _usable_signer(
    crl: x509.CertificateRevocationList,
    issuer: x509.Certificate,
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    crl_signers: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    now: dt.datetime,
    policy: PathPolicy,
    names: NameKeys,
) -> tuple[x509.Certificate | None, list[str]]:
    """The certificate whose key makes ``crl`` count for ``issuer``, or None and why not."""
    tried: list[str] = []
    problem = crl_signer_problem(issuer, policy)
    if problem is None and _verifies(crl, issuer):
        return issuer, tried
    tried.append(
        f"the issuing CA's own key ({problem})"
        if problem is not None
        else "the issuing CA's own key (signature does not verify)"
    )
    # Anchors are trusted as given, and the path's certificates were validated with it.
    trusted = {_der(a) for a in anchors} | {_der(c) for c in chain[1:]}
    seen = {_der(issuer)}
    for candidate in (*anchors, *crl_signers, *chain[1:]):
        der = _der(candidate)
        if der in seen:
            continue
        seen.add(der)
        try:
            named = names.equal(candidate.subject, crl.issuer)
        except ValueError:
            continue
        if not named:
            continue
        who = f"CRL signer {describe_name(candidate.subject)} (serial {candidate.serial_number:x})"
        if not _verifies(crl, candidate):
            tried.append(f"{who}: the CRL's signature does not verify with its key")
            continue
        problem = crl_signer_problem(candidate, policy)
        if problem is not None:
            tried.append(f"{who} {problem}")
            continue
        if der in trusted:
            return candidate, tried
        try:
            pkix_path(
                candidate,
                (*chain[1:], *crl_signers),
                anchors,
                now=now,
                max_depth=policy.max_chain_depth,
                crls=crls,
                check_revocation=policy.check_revocation,
            )
        except PkixRefusal as exc:
            tried.append(f"{who} does not validate to the trust anchor: {exc.reason}")
            continue
        return candidate, tried
    return None, tried


def revocation_problem(
    chain: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    crl_signers: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime,
    policy: PathPolicy,
) -> str | None:
    """Why a certificate of ``chain`` (leaf first, anchor last) is revoked or unverifiable, or None.

    The anchor itself is trusted as configured and never checked.
    """
    leaf = chain[0]
    names = NameKeys()
    for cert, issuer in itertools.pairwise(chain):
        for crl in crls:
            if not names.equal(crl.issuer, issuer.subject):
                continue
            signer, tried = _usable_signer(
                crl, issuer, chain, anchors, crl_signers, crls, now, policy, names
            )
            crl_name = describe_name(crl.issuer)
            if signer is None:
                return (
                    f"{describe(cert, leaf)} cannot be checked for revocation: a CRL of "
                    f"{crl_name} (last updated {_when(crl.last_update_utc)}) verifies with no "
                    "usable key; tried " + "; ".join(tried)
                )
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return (
                    f"{describe(cert, leaf)} (serial {cert.serial_number:x}) is revoked by CRL "
                    f"{crl_name} at {_when(entry.revocation_date_utc)}"
                )
    return None
