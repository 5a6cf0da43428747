"""Tests of the development CA: building blocks, quick_chain and the directory store."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere import pki

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("key_type", "kind", "size"),
    [
        ("p256", ec.EllipticCurvePublicKey, 256),
        ("p384", ec.EllipticCurvePublicKey, 384),
        ("rsa2048", rsa.RSAPublicKey, 2048),
    ],
)
@pytest.mark.parametrize("with_intermediate", [False, True])
def test_quick_chain_shapes(key_type: str, kind: type, size: int, with_intermediate: bool) -> None:
    """quick_chain yields a signed chain of the requested key type, valid at now."""
    chain = pki.quick_chain(NOW, key_type, with_intermediate)
    key = chain.leaf.public_key()
    assert isinstance(key, kind)
    assert key.key_size == size  # type: ignore[attr-defined]
    chain.leaf.verify_directly_issued_by(chain.issuing_ca.certificate)
    if with_intermediate:
        assert chain.intermediate is not None
        chain.intermediate.verify_directly_issued_by(chain.root)
    assert chain.leaf.not_valid_before_utc <= NOW < chain.leaf.not_valid_after_utc
    assert chain.leaf_key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_cached_keys_are_reused() -> None:
    """Keys are cached per type and slot; certificates are always fresh."""
    a = pki.quick_chain(NOW, "rsa2048")
    b = pki.quick_chain(NOW, "rsa2048")
    assert a.leaf_key is b.leaf_key
    assert a.leaf.serial_number != b.leaf.serial_number
    c = pki.quick_chain(NOW, "p256", fresh_keys=True)
    assert c.leaf_key is not pki.cached_key("p256", "leaf")


def test_every_san_type() -> None:
    """issue_certificate writes DNS, URI, email, IP and directoryName SANs."""
    root = pki.quick_chain(NOW).root_ca
    leaf = pki.issue_certificate(
        root,
        now=NOW,
        subject="CN=w",
        sans=[
            "dns:a.example",
            "uri:spiffe://td/w",
            "email:w@example.com",
            "ip:10.0.0.1",
            "ip:::1",
            "dirname:CN=Alice,O=Org",
            "rid:1.2.3.4",
            "othername:1.3.6.1.4.1.311.20.2.3=w@example.com",
        ],
        key=pki.cached_key("p256"),
    ).certificate
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://td/w"]
    assert san.get_values_for_type(x509.RFC822Name) == ["w@example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert san.get_values_for_type(x509.DirectoryName)[0].rfc4514_string() == "CN=Alice,O=Org"
    assert san.get_values_for_type(x509.RegisteredID) == [x509.ObjectIdentifier("1.2.3.4")]
    (other,) = san.get_values_for_type(x509.OtherName)
    assert other.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3"
    assert other.value == b"\x0c\x0dw@example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ok/rfc4514", "CN=web,OU=b,OU=a,O=Org"), ("ok/slash", "/O=Org/OU=a/OU=b/CN=web")],
)
def test_parse_name_forms(text: str, expected: str) -> None:
    """Both subject spellings give the same certificate order (O first, CN last)."""
    name = pki.parse_name(expected)
    assert [a.value for a in name] == ["Org", "a", "b", "web"], text


@pytest.mark.parametrize("bad", ["fail/no-equals", "nonsense:x", "dns:"])
def test_parse_san_refused(bad: str) -> None:
    """Malformed SAN specs raise ValueError."""
    with pytest.raises(ValueError, match="SAN"):
        pki.parse_san(bad)


_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\\"),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["CN", "O", "OU", "L", "ST", "DC", "UID"]), _values),
        min_size=1,
        max_size=5,
    )
)
def test_parse_name_roundtrips_rfc4514(parts: list[tuple[str, str]]) -> None:
    """parse_name reads back what Name.rfc4514_string writes."""
    oids = {
        "CN": x509.NameOID.COMMON_NAME,
        "O": x509.NameOID.ORGANIZATION_NAME,
        "OU": x509.NameOID.ORGANIZATIONAL_UNIT_NAME,
        "L": x509.NameOID.LOCALITY_NAME,
        "ST": x509.NameOID.STATE_OR_PROVINCE_NAME,
        "DC": x509.NameOID.DOMAIN_COMPONENT,
        "UID": x509.NameOID.USER_ID,
    }
    name = x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts])
    assert pki.parse_name(name.rfc4514_string()) == name


def test_crl_lists_revocations() -> None:
    """build_crl signs a CRL naming the revoked serials and their times."""
    chain = pki.quick_chain(NOW, with_intermediate=True)
    crl = chain.crl([chain.leaf.serial_number], now=NOW)
    assert crl.is_signature_valid(chain.issuing_ca.certificate.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(chain.leaf.serial_number)
    assert entry is not None
    assert entry.revocation_date_utc == NOW


def test_store_lifecycle(tmp_path: Path) -> None:
    """init, issue, revoke and crl work on a directory and persist across loads."""
    store = pki.CaStore.init(tmp_path / "ca", now=NOW, with_intermediate=True)
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca" / "intermediate.key").stat().st_mode) == 0o600
    issued = store.issue(now=NOW, subject="CN=w1", sans=["dns:w1.example"])
    again = pki.CaStore(tmp_path / "ca")
    assert again.intermediate is not None
    issued.certificate.verify_directly_issued_by(again.intermediate.certificate)
    record = again.revoke(issued.certificate.serial_number, now=NOW)
    assert record.revoked_at == NOW.isoformat()
    crl = again.crl(now=NOW)
    assert crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert [r.subject for r in again.records()] == [
        "CN=elsewhere development intermediate CA",
        "CN=w1",
    ]
    with pytest.raises(pki.CaStoreError, match="already holds a CA"):
        pki.CaStore.init(tmp_path / "ca", now=NOW)
    with pytest.raises(pki.CaStoreError, match="not issued"):
        again.revoke(12345, now=NOW)


def test_store_missing(tmp_path: Path) -> None:
    """Using a directory without a CA says how to create one."""
    with pytest.raises(pki.CaStoreError, match="ca init"):
        pki.CaStore(tmp_path).issue(now=NOW, subject="CN=x")
