"""Tests of parse_ca_bundle, parse_crl and the certificate header parsers."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere import pki
from elsewhere.errors import ValidationError
from elsewhere.x509 import (
    parse_ca_bundle,
    parse_certificate_header,
    parse_chain_header,
    parse_crl,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def pem(cert: x509.Certificate) -> str:
    """PEM text of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def b64(cert: x509.Certificate) -> str:
    """Base64 DER of a certificate, as in the headers."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def test_ok_single_root() -> None:
    """A single root CA parses into one certificate."""
    chain = pki.quick_chain(NOW)
    assert parse_ca_bundle(chain.anchor_pem) == (chain.root,)


def test_ok_two_cas() -> None:
    """A root and an intermediate may share an anchor bundle."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    assert chain.intermediate is not None
    bundle = chain.anchor_pem + chain.chain_pem
    assert parse_ca_bundle(bundle) == (chain.root, chain.intermediate)


def _bundle_cases() -> list[tuple[str, str, str]]:
    chain = pki.quick_chain(NOW)
    root = chain.root_ca
    rsa_root = pki.build_root_ca(now=NOW, key=pki.cached_key("rsa2048", "root"))
    rsa_key = rsa_root.key
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    sha1_root = pki.CertifiedKey(
        pki.hazmat_resign_with_legacy_hash(rsa_root.certificate, rsa_key), rsa_key
    )
    no_kcs = pki.issue_certificate(
        root,
        now=NOW,
        subject="CN=no keyCertSign",
        key=pki.cached_key("p256", "x"),
        basic_constraints=x509.BasicConstraints(ca=True, path_length=None),
    )
    no_bc = pki.issue_certificate(
        root, now=NOW, subject="CN=no bc", key=pki.cached_key("p256", "x"), basic_constraints=None
    )
    other = pki.quick_chain(NOW).anchor_pem
    return [
        ("fail/not-pem", "hello", "no '-----BEGIN CERTIFICATE-----'"),
        (
            "fail/garbage-pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "could not be parsed",
        ),
        ("fail/three-certificates", chain.anchor_pem * 2 + other, "holds 3 certificates"),
        ("fail/leaf-not-ca", pem(chain.leaf), "is not a CA certificate"),
        ("fail/no-basic-constraints", pem(no_bc.certificate), "has no basicConstraints"),
        ("fail/no-keycertsign", pem(no_kcs.certificate), "keyCertSign"),
        ("fail/sha1", pem(sha1_root.certificate), "sha1WithRSAEncryption"),
        ("fail/second-bad", chain.anchor_pem + pem(chain.leaf), "certificate 2 of the bundle"),
    ]


@pytest.mark.parametrize(
    ("name", "bundle", "needle"),
    [pytest.param(*case, id=case[0]) for case in _bundle_cases()],
)
def test_bundle_refusals(name: str, bundle: str, needle: str) -> None:
    """Each bad bundle is refused with a message naming the certificate and the problem."""
    with pytest.raises(ValidationError) as info:
        parse_ca_bundle(bundle)
    assert needle in info.value.message, name


def test_crl_pem_and_der() -> None:
    """A CRL parses from PEM and from DER."""
    chain = pki.quick_chain(NOW)
    crl = chain.crl([5], now=NOW)
    assert parse_crl(crl.public_bytes(serialization.Encoding.PEM)) == crl
    assert parse_crl(crl.public_bytes(serialization.Encoding.DER)) == crl


@pytest.mark.parametrize("data", [b"", b"nonsense", b"-----BEGIN X509 CRL-----\nAA\n"])
def test_crl_refused(data: bytes) -> None:
    """Bytes that are no CRL raise ValidationError."""
    with pytest.raises(ValidationError, match="not a PEM or DER"):
        parse_crl(data)


def test_headers_roundtrip() -> None:
    """The leaf and chain headers decode to the certificates the helper encoded."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    assert parse_certificate_header(chain.x509_header) == chain.leaf
    assert parse_chain_header(chain.chain_header) == chain.intermediates
    assert parse_chain_header("") == ()
    both = f"{b64(chain.leaf)},{chain.chain_header},"
    assert parse_chain_header(both) == (chain.leaf, chain.intermediate)


@pytest.mark.parametrize(
    ("value", "needle"),
    [("", "empty"), ("!!!", "not valid base64"), (base64.b64encode(b"xx").decode(), "not a DER")],
)
def test_leaf_header_refused(value: str, needle: str) -> None:
    """A malformed X-Amz-X509 value raises ValidationError naming the problem."""
    with pytest.raises(ValidationError, match=needle):
        parse_certificate_header(value)


def test_chain_header_limit() -> None:
    """More than five chain certificates are refused before decoding."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    value = ",".join([chain.chain_header] * 6)
    with pytest.raises(ValidationError, match="holds 6 certificates"):
        parse_chain_header(value)
    assert len(parse_chain_header(value, max_certificates=6)) == 6


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=5), st.booleans())
def test_chain_header_roundtrip(picks: list[int], trailing_comma: bool) -> None:
    """Any comma-joined list of up to five certificates parses back in order."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    assert chain.intermediate is not None
    pool = [chain.leaf, chain.intermediate, chain.root]
    certs = [pool[i] for i in picks]
    value = ",".join(b64(c) for c in certs) + ("," if trailing_comma else "")
    assert parse_chain_header(value) == tuple(certs)
