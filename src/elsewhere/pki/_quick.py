"""Certificates in milliseconds for tests and demos: cached keys and a one-call chain."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere.pki._build import (
    CertifiedKey,
    PrivateKey,
    Revocation,
    build_crl,
    build_intermediate_ca,
    build_root_ca,
    generate_key,
    issue_certificate,
)

__all__ = ["Chain", "cached_key", "quick_chain"]

# RSA 4096 generation takes around a second; tests make hundreds of chains. Keys are cached per
# (key type, slot) for the life of the process. This is a test/dev convenience, never used by the
# server.
_KEY_CACHE: dict[tuple[str, str], PrivateKey] = {}


def cached_key(key_type: str, slot: str = "leaf") -> PrivateKey:
    """A private key of ``key_type`` that is generated once per process and ``slot`` name."""
    k = (key_type, slot)
    if k not in _KEY_CACHE:
        _KEY_CACHE[k] = generate_key(key_type)
    return _KEY_CACHE[k]


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


@dataclass(frozen=True)
class Chain:
    """A root CA, an optional intermediate CA and a workload certificate with their keys."""

    root: x509.Certificate
    root_key: PrivateKey
    intermediate: x509.Certificate | None
    intermediate_key: PrivateKey | None
    leaf: x509.Certificate
    leaf_key: PrivateKey

    @property
    def root_ca(self) -> CertifiedKey:
        """The root as a certificate-and-key pair, for issuing more certificates."""
        return CertifiedKey(self.root, self.root_key)

    @property
    def issuing_ca(self) -> CertifiedKey:
        """The CA that signed the leaf (the intermediate if there is one, else the root)."""
        if self.intermediate is not None and self.intermediate_key is not None:
            return CertifiedKey(self.intermediate, self.intermediate_key)
        return self.root_ca

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """The certificates a client sends in its chain (the intermediate, if any)."""
        return (self.intermediate,) if self.intermediate is not None else ()

    @property
    def anchor_pem(self) -> str:
        """The root as PEM: the ``x509CertificateData`` of a trust anchor."""
        return _pem(self.root)

    @property
    def leaf_pem(self) -> str:
        """The leaf certificate as PEM."""
        return _pem(self.leaf)

    @property
    def chain_pem(self) -> str:
        """The intermediates as a PEM bundle (empty string when there are none)."""
        return "".join(_pem(c) for c in self.intermediates)

    @property
    def leaf_key_pem(self) -> str:
        """The leaf private key as unencrypted PKCS#8 PEM."""
        return self.leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @property
    def x509_header(self) -> str:
        """The leaf as the ``X-Amz-X509`` header value (base64 DER)."""
        return _b64(self.leaf)

    @property
    def chain_header(self) -> str:
        """The intermediates as the ``X-Amz-X509-Chain`` header value (comma-separated)."""
        return ",".join(_b64(c) for c in self.intermediates)

    def crl(
        self,
        revoked: Iterable[int | Revocation] = (),
        *,
        now: dt.datetime,
        issuer: str = "issuing",
    ) -> x509.CertificateRevocationList:
        """A CRL from the issuing CA (or ``issuer='root'``) revoking ``revoked`` serials at now."""
        ca = self.root_ca if issuer == "root" else self.issuing_ca
        entries = [r if isinstance(r, Revocation) else Revocation(r, now) for r in revoked]
        return build_crl(ca, entries, now=now)


def quick_chain(
    now: dt.datetime,
    key_type: str = "p256",
    with_intermediate: bool = False,
    *,
    subject: str | x509.Name = "CN=elsewhere-test-workload,O=elsewhere",
    sans: Iterable[str | x509.GeneralName] = (),
    leaf_days: float = 30,
    fresh_keys: bool = False,
    key_slot: str = "",
) -> Chain:
    """A working root (→ intermediate) → leaf chain valid at ``now``, all keys of ``key_type``.

    Keys come from a per-process cache unless ``fresh_keys``; certificates are new on every call
    (fresh serials and uniquely tagged CA names), so two chains never chain into each other even
    when they share keys. ``key_slot`` picks another set of cached keys.
    """

    def key(slot: str) -> PrivateKey:
        return generate_key(key_type) if fresh_keys else cached_key(key_type, key_slot + slot)

    # Each chain's CA names carry a random tag, so a leaf of one quick_chain never chains to the
    # root of another even when the cached keys are shared.
    tag = secrets.token_hex(4)
    root = build_root_ca(
        now=now, subject=f"CN=elsewhere test root CA {tag},O=elsewhere", key=key("root")
    )
    intermediate: CertifiedKey | None = None
    issuer = root
    if with_intermediate:
        intermediate = build_intermediate_ca(
            root,
            now=now,
            subject=f"CN=elsewhere test intermediate CA {tag},O=elsewhere",
            key=key("intermediate"),
        )
        issuer = intermediate
    leaf = issue_certificate(
        issuer, now=now, subject=subject, sans=sans, key=key("leaf"), days=leaf_days
    )
    return Chain(
        root=root.certificate,
        root_key=root.key,
        intermediate=intermediate.certificate if intermediate else None,
        intermediate_key=intermediate.key if intermediate else None,
        leaf=leaf.certificate,
        leaf_key=leaf.key,
    )
