"""RFC 5280 §7.1 name comparison: the ASCII fast path agrees with asn1crypto's preparation."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.x509._pkix import _ascii_key, _full_key, same_name

_ASCII = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=127), min_size=1, max_size=12
)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@settings(max_examples=300, deadline=None)
@given(_ASCII, _ASCII, _ASCII, _ASCII)
def test_ascii_key_equality_is_asn1crypto_equality(a: str, b: str, c: str, d: str) -> None:
    """For ASCII values, fast-key equality is exactly asn1crypto's §7.1 equality."""
    first, second = _name(a, b), _name(c, d)
    fast = _ascii_key(first) == _ascii_key(second)
    full_first, full_second = _full_key(first), _full_key(second)
    if full_first is None or full_second is None:
        return  # asn1crypto refuses to prepare it; same_name then compares bytes only
    assert fast == (full_first == full_second)


@settings(max_examples=200, deadline=None)
@given(_ASCII, _ASCII)
def test_case_and_space_variants_are_equal(cn: str, org: str) -> None:
    """Upper-casing a value and doubling its spaces never changes §7.1 equality."""
    plain = _name(cn, org)
    varied = _name(cn.upper().replace(" ", "  "), "  " + org.upper() + " ")
    assert same_name(plain, varied)


def test_examples() -> None:
    """ok/ and fail/ examples of §7.1 equality."""
    assert same_name(_name("Issuing  CA", "Example"), _name("issuing ca", "EXAMPLE"))
    assert same_name(_name("Ｅｘａｍｐｌｅ", "x"), _name("example", "x"))  # NFKC, via asn1crypto
    assert not same_name(_name("Issuing CA", "Example"), _name("Issuing CB", "Example"))
    assert not same_name(_name("a", "b"), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a")]))
