"""Every malformed certificate and CRL of the corpus is refused with an ElsewhereError (a 4xx),
never another exception (a 500), by every parser and by path validation (tests/malformed_x509)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt

import pytest
from cryptography import x509

from elsewhere.errors import ElsewhereError
from elsewhere.pki import Revocation, build_crl, quick_chain
from elsewhere.service._content import check_crl
from elsewhere.service._sessions import _leaf_facts
from elsewhere.x509 import (
    PathPolicy,
    parse_ca_bundle,
    parse_certificate_header,
    parse_chain_header,
    parse_crl,
    validate_path,
)
from tests.malformed_x509 import (
    Malformed,
    certificate_corpus,
    crl_corpus,
    foreign_key_certificates,
)

NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)
CHAIN = quick_chain(NOW - dt.timedelta(hours=1), "p256", True)
assert CHAIN.intermediate is not None
assert CHAIN.intermediate_key is not None
LEAVES = certificate_corpus(CHAIN.leaf, CHAIN.intermediate_key)  # type: ignore[arg-type]
INTERMEDIATES = certificate_corpus(CHAIN.intermediate, CHAIN.root_key)  # type: ignore[arg-type]
ROOTS = certificate_corpus(CHAIN.root, CHAIN.root_key)  # type: ignore[arg-type]
CRL = build_crl(CHAIN.issuing_ca, [Revocation(4242, NOW - dt.timedelta(minutes=5))], now=NOW)
CRLS = crl_corpus(CRL, CHAIN.intermediate_key)  # type: ignore[arg-type]


def _b64(case: Malformed) -> str:
    return base64.b64encode(case.der).decode("ascii")


def _pem(case: Malformed) -> str:
    body = base64.encodebytes(case.der).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def _refused_or_accepted(call: object) -> None:
    """Run ``call``: it may succeed or raise an ElsewhereError, nothing else."""
    with contextlib.suppress(ElsewhereError):
        call()  # type: ignore[operator]


# cryptography warns (and will refuse, in a later release) about some of these defects, such as a
# serial that is not positive; its warnings are not what is tested here.
@pytest.mark.parametrize("case", LEAVES, ids=lambda c: c.name)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_leaf_header_and_path(case: Malformed) -> None:
    """A malformed leaf in X-Amz-X509: CreateSession's leaf facts and its path, never a crash."""
    _refused_or_accepted(lambda: _leaf_facts(_b64(case)))

    def path() -> None:
        leaf = parse_certificate_header(_b64(case))
        validate_path(leaf, CHAIN.intermediates, [CHAIN.root], [], now=NOW, policy=PathPolicy())

    _refused_or_accepted(path)


@pytest.mark.parametrize("case", INTERMEDIATES, ids=lambda c: c.name)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chain_header_and_path(case: Malformed) -> None:
    """A malformed intermediate in X-Amz-X509-Chain, never a crash."""

    def path() -> None:
        intermediates = parse_chain_header(_b64(case))
        validate_path(CHAIN.leaf, intermediates, [CHAIN.root], [], now=NOW, policy=PathPolicy())

    _refused_or_accepted(path)


@pytest.mark.parametrize("case", ROOTS, ids=lambda c: c.name)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_trust_anchor_bundle_and_path(case: Malformed) -> None:
    """A malformed CA in a trust anchor's bundle: refused, or accepted and then never a crash."""
    try:
        roots = parse_ca_bundle(_pem(case))
    except ElsewhereError:
        return
    _refused_or_accepted(
        lambda: validate_path(
            CHAIN.leaf, CHAIN.intermediates, roots, [], now=NOW, policy=PathPolicy()
        )
    )


@pytest.mark.parametrize("case", CRLS, ids=lambda c: c.name)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_crl_import_and_revocation(case: Malformed) -> None:
    """A malformed CRL: ImportCrl refuses it, or path validation with it never crashes."""
    try:
        check_crl(case.der)
    except ElsewhereError:
        return
    crl = parse_crl(case.der)
    _refused_or_accepted(
        lambda: validate_path(
            CHAIN.leaf, CHAIN.intermediates, [CHAIN.root], [crl], now=NOW, policy=PathPolicy()
        )
    )


@pytest.mark.parametrize(
    ("case", "key"), foreign_key_certificates(CHAIN), ids=lambda c: getattr(c, "name", "key")
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_unknown_key_types(case: Malformed, key: object) -> None:
    """A leaf with a key Roles Anywhere does not take (Ed25519, Ed448, X25519) never crashes."""
    _refused_or_accepted(lambda: _leaf_facts(_b64(case)))

    def path() -> None:
        leaf = x509.load_der_x509_certificate(case.der)
        validate_path(leaf, CHAIN.intermediates, [CHAIN.root], [], now=NOW, policy=PathPolicy())

    _refused_or_accepted(path)


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("fail/version-v4", "not a DER X.509 certificate"),
        ("fail/subject-bad-utf8", "has a name that does not decode"),
        ("fail/subject-empty-rdn", "has a name that does not decode"),
        ("fail/extension-duplicated", "has a malformed or duplicated extension"),
    ],
)
def test_named_defects_are_refused_at_the_parse(case: str, fragment: str) -> None:
    """Defects that used to escape the parser are ValidationErrors that say what is wrong."""
    (malformed,) = [c for c in LEAVES if c.name == case.removeprefix("fail/")]
    with pytest.raises(ElsewhereError) as refused:
        parse_certificate_header(_b64(malformed))
    assert refused.value.status == 400
    assert fragment in refused.value.message, refused.value.message


def test_crl_with_a_bad_version_is_refused() -> None:
    """A CRL whose version field is not v1 or v2 is a ValidationError (it was a crash)."""
    (malformed,) = [c for c in CRLS if c.name == "crl-version-v3"]
    with pytest.raises(ElsewhereError, match=r"not a PEM or DER X\.509 CRL"):
        parse_crl(malformed.der)
