"""Certificate builders for enterprise PKI tests: constrained CAs, rollovers, CRL signers.

Everything is made with cryptography's builders at a fixed time, with keys from the dev CA's key
cache, so a case costs milliseconds and every run builds the same shapes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from elsewhere import pki

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_DAY = dt.timedelta(days=1)

#: keyUsage of a CA that issues certificates and signs CRLs.
CA_KU = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
#: keyUsage of a CA that issues certificates but does not sign CRLs.
CERT_ONLY_KU = x509.KeyUsage(True, False, False, False, False, True, False, False, False)
#: keyUsage of a separate CRL-signing certificate.
CRL_ONLY_KU = x509.KeyUsage(False, False, False, False, False, False, True, False, False)

_DEFAULT = object()


def name(text: str) -> x509.Name:
    """An RFC 4514 name."""
    return pki.parse_name(text)


def certificate(
    *,
    subject: x509.Name | str,
    issuer_name: x509.Name | str,
    key: str | pki.PrivateKey,
    signer: pki.PrivateKey,
    ca: bool | None = True,
    key_usage: x509.KeyUsage | None = CA_KU,
    constraints: x509.NameConstraints | None = None,
    sans: Sequence[x509.GeneralName] = (),
    serial: int | None = None,
    key_type: str = "p256",
    path_length: int | None = None,
) -> pki.CertifiedKey:
    """A certificate with exactly the extensions asked for, signed by ``signer``."""
    subject = name(subject) if isinstance(subject, str) else subject
    issuer_name = name(issuer_name) if isinstance(issuer_name, str) else issuer_name
    private = pki.cached_key(key_type, key) if isinstance(key, str) else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(private.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(NOW - _DAY)
        .not_valid_after(NOW + 300 * _DAY)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return pki.CertifiedKey(builder.sign(signer, hashes.SHA256()), private)


def root(subject: str = "CN=Example Root,O=Example", key: str = "root") -> pki.CertifiedKey:
    """A self-signed root CA."""
    private = pki.cached_key("p256", key)
    return certificate(subject=subject, issuer_name=subject, key=key, signer=private)


def issued(issuer: pki.CertifiedKey, subject: str, key: str, **extra: object) -> pki.CertifiedKey:
    """A CA certificate issued by ``issuer``."""
    return certificate(  # type: ignore[arg-type]
        subject=subject, issuer_name=issuer.certificate.subject, key=key, signer=issuer.key, **extra
    )


def leaf(
    issuer: pki.CertifiedKey,
    subject: str = "CN=workload,O=Example",
    *,
    sans: Sequence[str] = (),
    issuer_name: x509.Name | None = None,
    **extra: object,
) -> x509.Certificate:
    """A Roles Anywhere end-entity certificate from ``issuer`` (issuer name overridable)."""
    if issuer_name is None:
        return pki.issue_certificate(  # type: ignore[arg-type]
            issuer, now=NOW, subject=subject, sans=sans, key=pki.cached_key("p256", "leaf"), **extra
        ).certificate
    return certificate(
        subject=subject,
        issuer_name=issuer_name,
        key="leaf",
        signer=issuer.key,
        ca=False,
        key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False),
        sans=[pki.parse_san(s) for s in sans],
    ).certificate


def crl(
    signer: pki.CertifiedKey,
    revoked: Sequence[int] = (),
    *,
    issuer_name: x509.Name | None = None,
) -> x509.CertificateRevocationList:
    """A CRL in the name of ``issuer_name`` (default: the signer's subject) signed by ``signer``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_name or signer.certificate.subject)
        .last_update(NOW - _DAY)
        .next_update(NOW + 30 * _DAY)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - 2 * _DAY)
            .build()
        )
    return builder.sign(signer.key, hashes.SHA256())


def dirname_constraint(
    permitted: str | None = None, excluded: str | None = None
) -> x509.NameConstraints:
    """A directoryName name constraint."""
    return x509.NameConstraints(
        [x509.DirectoryName(name(permitted))] if permitted else None,
        [x509.DirectoryName(name(excluded))] if excluded else None,
    )


def rollover(
    old: pki.CertifiedKey, new_key: str = "root-new"
) -> tuple[pki.CertifiedKey, x509.Certificate, x509.Certificate]:
    """A CA key rollover of ``old`` (RFC 4210 §4.4): the new root and both link certificates.

    Returns (new root, NewWithOld: the new key certified by the old one, OldWithNew: the old key
    certified by the new one). All three carry the old root's name.
    """
    subject = old.certificate.subject
    new = certificate(
        subject=subject, issuer_name=subject, key=new_key, signer=pki.cached_key("p256", new_key)
    )
    new_with_old = certificate(subject=subject, issuer_name=subject, key=new_key, signer=old.key)
    old_with_new = certificate(subject=subject, issuer_name=subject, key=old.key, signer=new.key)
    return new, new_with_old.certificate, old_with_new.certificate
