"""Tests of certificate attributes, the subject string, source identity and session name."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere import pki
from elsewhere.x509 import (
    certificate_attributes,
    default_session_name,
    format_subject_dn,
    source_identity,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _leaf(
    subject: str | x509.Name,
    sans: tuple[str, ...] = (),
    serial: int | None = None,
    issuer_subject: str = "CN=issuer",
) -> x509.Certificate:
    """A leaf issued by a throwaway root named ``issuer_subject``."""
    root = pki.build_root_ca(now=NOW, subject=issuer_subject, key=pki.cached_key("p256", "root"))
    return pki.issue_certificate(
        root, now=NOW, subject=subject, sans=sans, serial=serial, key=pki.cached_key("p256")
    ).certificate


def test_user_guide_example() -> None:
    """The User Guide's Alice example yields exactly the documented tags (reference §5.1)."""
    issuer = "/C=US/O=Amazon/OU=IAM/ST=Washington/CN=RolesAnywhere/L=Seattle"
    cert = _leaf(
        "CN=Alice",
        (
            "dns:example.com",
            "uri:spiffe://example.com/workload/alice",
            "dirname:CN=Alice",
            "dns:second.example.com",
            "email:alice@example.com",
            "ip:10.0.0.1",
        ),
        issuer_subject=issuer,
    )
    assert certificate_attributes(cert).tags() == (
        ("x509Subject/CN", "Alice"),
        ("x509Issuer/C", "US"),
        ("x509Issuer/O", "Amazon"),
        ("x509Issuer/OU", "IAM"),
        ("x509Issuer/ST", "Washington"),
        ("x509Issuer/CN", "RolesAnywhere"),
        ("x509Issuer/L", "Seattle"),
        ("x509SAN/DNS", "example.com"),
        ("x509SAN/URI", "spiffe://example.com/workload/alice"),
        ("x509SAN/Name/CN", "Alice"),
    )


def test_multi_valued_rdn_joined_in_order() -> None:
    """Three OUs become one value joined with '/' in certificate order."""
    cert = _leaf("/O=Org/OU=Security/OU=Engineering/OU=Research/CN=w")
    assert dict(certificate_attributes(cert).subject)["OU"] == "Security/Engineering/Research"


def test_unknown_rdn_not_mapped() -> None:
    """Attributes outside the recognised set (here title) produce no tag."""
    name = x509.Name(
        [x509.NameAttribute(NameOID.TITLE, "boss"), x509.NameAttribute(NameOID.COMMON_NAME, "w")]
    )
    assert certificate_attributes(_leaf(name)).subject == (("CN", "w"),)


def test_field_lookup() -> None:
    """field() returns one certificate field and refuses unknown names."""
    attrs = certificate_attributes(_leaf("CN=w", ("uri:urn:x",)))
    assert attrs.field("x509SAN") == (("URI", "urn:x"),)
    with pytest.raises(ValueError, match="unknown certificate field"):
        attrs.field("x509Other")


_OIDS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
}
# Unicode spaces are left out: RFC 4514 escapes only the ASCII space at the ends of a value.
_value = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x24F, exclude_categories=("Zs", "Cc")),
    min_size=1,
    max_size=12,
)
# DC is an IA5String (RFC 4519 §2.4), so its values are ASCII; cryptography refuses others.
_ia5_value = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
# C is left out: it must be a two-letter PrintableString, which the sampled values rarely are.
_attr = st.one_of(
    st.tuples(st.sampled_from(sorted(k for k in _OIDS if k != "DC")), _value),
    st.tuples(st.just("DC"), _ia5_value),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_attr, min_size=1, max_size=6))
def test_attributes_over_generated_subjects(parts: list[tuple[str, str]]) -> None:
    """For any subject, each tag is the '/'-join of that RDN's values, keys in first-seen order."""
    name = x509.Name([x509.NameAttribute(_OIDS[k], v) for k, v in parts])
    cert = _leaf(name)
    expected: dict[str, list[str]] = {}
    for k, v in parts:
        expected.setdefault(k, []).append(v)
    assert certificate_attributes(cert).subject == tuple(
        (k, "/".join(v)) for k, v in expected.items()
    )
    assert format_subject_dn(cert.subject) == name.rfc4514_string(
        {NameOID.EMAIL_ADDRESS: "emailAddress", NameOID.SERIAL_NUMBER: "serialNumber"}
    )
    assert pki.parse_name(format_subject_dn(cert.subject)) == name


@pytest.mark.parametrize(
    ("name", "subject", "expected"),
    [
        ("ok/rfc4514-order", "/C=US/O=Example/CN=web", "CN=web,O=Example,C=US"),
        ("ok/escaped-comma", "CN=a\\,b", "CN=a\\,b"),
        ("ok/email-address", "/CN=x/emailAddress=x@example.com", "emailAddress=x@example.com,CN=x"),
    ],
)
def test_format_subject_dn(name: str, subject: str, expected: str) -> None:
    """format_subject_dn prints RFC 4514, most specific RDN first."""
    assert format_subject_dn(pki.parse_name(subject)) == expected, name


@pytest.mark.parametrize(
    ("name", "subject", "serial", "expected"),
    [
        ("ok/short-cn", "CN=handson-client-01", 5, "CN=handson-client-01"),
        ("ok/cn-61", "CN=" + "a" * 61, 5, "CN=" + "a" * 61),
        ("ok/cn-62-no-prefix", "CN=" + "b" * 62, 5, "b" * 62),
        ("ok/cn-64-no-prefix", "CN=" + "c" * 64, 5, "c" * 64),
        ("ok/no-cn-serial-291", "O=Org", 291, "ID=0123"),
        ("ok/no-cn-serial-17767", "O=Org", 17767, "ID=4567"),
    ],
)
def test_source_identity(name: str, subject: str, serial: int, expected: str | None) -> None:
    """Source identity follows the User Guide's rules (reference §5.4)."""
    assert source_identity(_leaf(subject, serial=serial)) == expected, name


@pytest.mark.parametrize(
    ("serial", "expected"),
    [(3, "03"), (255, "ff"), (256, "0100"), (2**158 + 1, "4" + "0" * 38 + "1")],
)
def test_default_session_name(serial: int, expected: str) -> None:
    """The session name is the serial in lowercase hex, padded to an even length."""
    assert default_session_name(_leaf("CN=w", serial=serial)) == expected


# cryptography warns whenever it meets a CN over the X.520 upper bound; that is the point here.
@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")
def test_source_identity_cn_too_long() -> None:
    """A CN over 64 characters (not even legal X.520) gives no source identity."""
    long_cn = x509.NameAttribute(NameOID.COMMON_NAME, "d" * 65, _validate=False)
    assert source_identity(_leaf(x509.Name([long_cn]))) is None
