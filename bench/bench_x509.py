"""Path validation on the CreateSession path: cold chains, warm cache, and the two validators.

Times are per operation in CPU time of this process (``time.process_time``), the median over
rounds, so other load on a shared machine moves them less than wall time would.

- ``createsession.path.cold_ms``: the snapshot's ``validate`` (what CreateSession calls) for a
  leaf it has not seen (RSA-2048 leaf, one intermediate in the chain header, the anchor's CRL).
- ``createsession.path.warm_us``: the same call for a leaf whose path is cached.
- ``x509.cryptography.cold_ms`` / ``x509.pyhanko.cold_ms``: one path validated by each validator
  alone (no CRL), the measurement behind the choice of cryptography's verifier first.
- ``x509.pyhanko_route.cold_ms``: ``validate_path`` for a chain only pyhanko-certvalidator can
  judge (a directoryName-constrained issuing CA).
- ``x509.crl_signer.cold_ms``: ``validate_path`` whose CRL is signed by the CA's separate
  CRL-signing certificate (validated by pyhanko-certvalidator).
- ``x509.crl_13k.cryptography_lookup_ms`` / ``x509.crl_13k.pyhanko_revocation_ms``: revocation
  against a 13,000-entry CRL (about 300 kB, the ImportCrl maximum) as elsewhere does it
  (signature and serial look-up by cryptography) and as pyhanko-certvalidator's own CRL
  processing would.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from elsewhere import pki
from elsewhere.clock import FixedClock
from elsewhere.service import ControlPlane
from elsewhere.service._snapshot import SnapshotProvider, StoreRoleSource
from elsewhere.storage import MemoryStore
from elsewhere.x509 import validate_path
from elsewhere.x509._pkix import pkix_path

__all__ = ["run"]

_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ROUNDS = 5
_CALLER = "arn:aws:iam::123456789012:root"


def _median_ms(step: Callable[[], object], per_round: int) -> float:
    """Median CPU milliseconds per call of ``step`` over the rounds."""
    times = []
    for _ in range(_ROUNDS):
        start = time.process_time()
        for _ in range(per_round):
            step()
        times.append((time.process_time() - start) / per_round * 1000)
    return statistics.median(times)


def _snapshot_figures() -> Iterator[tuple[str, float, str]]:
    chain = pki.quick_chain(_NOW, "rsa2048", with_intermediate=True)
    store = MemoryStore()
    cp = ControlPlane(store, FixedClock(_NOW), account_id="123456789012", region="us-east-1")
    anchor = cp.handle(
        "CreateTrustAnchor",
        {
            "name": "bench",
            "enabled": True,
            "source": {
                "sourceType": "CERTIFICATE_BUNDLE",
                "sourceData": {"x509CertificateData": chain.anchor_pem},
            },
        },
        _CALLER,
    )["trustAnchor"]["trustAnchorArn"]
    crl = chain.crl([12345], now=_NOW).public_bytes(serialization.Encoding.PEM)
    cp.handle(
        "ImportCrl",
        {"name": "bench", "crlData": crl, "trustAnchorArn": anchor, "enabled": True},
        _CALLER,
    )
    provider = SnapshotProvider(store, StoreRoleSource(store), refresh_interval=0, background=False)
    try:
        entry = provider.current().anchor(anchor)
        assert entry is not None
        issuing = chain.issuing_ca
        key = pki.cached_key("rsa2048", "bench-leaf")
        leaves = [
            pki.issue_certificate(issuing, now=_NOW, subject=f"CN=w{i}", key=key).certificate
            for i in range(_ROUNDS * 40)
        ]
        header = ",".join("x" for _ in chain.intermediates)  # part of the cache key only
        fresh = iter(leaves)

        def cold() -> None:
            leaf = next(fresh)
            der = leaf.public_bytes(serialization.Encoding.DER)
            provider.validate(entry, leaf, der, chain.intermediates, header, now=_NOW)

        yield "createsession.path.cold_ms", _median_ms(cold, 40), "ms"
        leaf = leaves[0]
        der = leaf.public_bytes(serialization.Encoding.DER)

        def warm() -> None:
            provider.validate(entry, leaf, der, chain.intermediates, header, now=_NOW)

        yield "createsession.path.warm_us", _median_ms(warm, 20000) * 1000, "us"
    finally:
        provider.close()


def _constrained_chain() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    root = pki.build_root_ca(now=_NOW, key=pki.cached_key("rsa2048", "bench-root"))
    nc = x509.NameConstraints([x509.DirectoryName(pki.parse_name("O=Example"))], None)
    issuing = pki.build_intermediate_ca(
        root, now=_NOW, subject="CN=Issuing,O=Example", key=pki.cached_key("rsa2048", "bench-ca")
    )
    # Re-issue the intermediate with the constraint (the dev CA's builder has no such option).
    constrained = (
        x509.CertificateBuilder()
        .subject_name(issuing.certificate.subject)
        .issuer_name(root.certificate.subject)
        .public_key(issuing.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - dt.timedelta(days=1))
        .not_valid_after(_NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            issuing.certificate.extensions.get_extension_for_class(x509.KeyUsage).value,
            critical=True,
        )
        .add_extension(nc, critical=True)
        .sign(root.key, hashes.SHA256())
    )
    ca = pki.CertifiedKey(constrained, issuing.key)
    leaf = pki.issue_certificate(
        ca, now=_NOW, subject="CN=w,O=Example", key=pki.cached_key("rsa2048", "bench-leaf")
    ).certificate
    return leaf, constrained, root.certificate


def _crl_signer_chain() -> tuple[
    x509.Certificate,
    x509.Certificate,
    x509.Certificate,
    x509.Certificate,
    x509.CertificateRevocationList,
]:
    chain = pki.quick_chain(_NOW, "rsa2048", with_intermediate=True)
    assert chain.intermediate is not None
    no_crl_sign = x509.KeyUsage(True, False, False, False, False, True, False, False, False)
    crl_only = x509.KeyUsage(False, False, False, False, False, False, True, False, False)
    ca = pki.issue_certificate(
        chain.root_ca,
        now=_NOW,
        subject=chain.intermediate.subject,
        key=pki.cached_key("rsa2048", "bench-ca"),
        basic_constraints=x509.BasicConstraints(ca=True, path_length=0),
        key_usage=no_crl_sign,
        extended_key_usage=None,
    )
    signer = pki.issue_certificate(
        chain.root_ca,
        now=_NOW,
        subject=chain.intermediate.subject,
        key=pki.cached_key("rsa2048", "bench-signer"),
        basic_constraints=None,
        key_usage=crl_only,
        extended_key_usage=None,
    )
    leaf = pki.issue_certificate(ca, now=_NOW, subject="CN=w", key=chain.leaf_key).certificate
    crl = pki.build_crl(signer, [pki.Revocation(7, _NOW)], now=_NOW)
    return leaf, ca.certificate, chain.root, signer.certificate, crl


def run() -> Iterator[tuple[str, float, str]]:
    """Measure, and yield (name, value, unit)."""
    yield from _snapshot_figures()
    chain = pki.quick_chain(_NOW, "rsa2048", with_intermediate=True)
    yield (
        "x509.cryptography.cold_ms",
        _median_ms(
            lambda: validate_path(chain.leaf, chain.intermediates, (chain.root,), now=_NOW), 50
        ),
        "ms",
    )
    yield (
        "x509.pyhanko.cold_ms",
        _median_ms(
            lambda: pkix_path(
                chain.leaf, chain.intermediates, (chain.root,), now=_NOW, max_depth=5
            ),
            20,
        ),
        "ms",
    )
    leaf, ca, root = _constrained_chain()
    yield (
        "x509.pyhanko_route.cold_ms",
        _median_ms(lambda: validate_path(leaf, (ca,), (root,), now=_NOW), 20),
        "ms",
    )
    s_leaf, s_ca, s_root, signer, s_crl = _crl_signer_chain()
    yield (
        "x509.crl_signer.cold_ms",
        _median_ms(
            lambda: validate_path(
                s_leaf, (s_ca,), (s_root,), (s_crl,), now=_NOW, crl_signers=(signer,)
            ),
            20,
        ),
        "ms",
    )
    big = chain.crl(list(range(10**6, 10**6 + 13_000)), now=_NOW)
    yield (
        "x509.crl_13k.cryptography_lookup_ms",
        _median_ms(
            lambda: validate_path(chain.leaf, chain.intermediates, (chain.root,), (big,), now=_NOW),
            5,
        ),
        "ms",
    )
    yield (
        "x509.crl_13k.pyhanko_revocation_ms",
        _median_ms(
            lambda: pkix_path(
                chain.leaf,
                chain.intermediates,
                (chain.root,),
                now=_NOW,
                max_depth=5,
                crls=(big,),
                check_revocation=True,
            ),
            1,
        ),
        "ms",
    )
