"""A trust anchor whose CA would break every CreateSession later is refused when it is made:
CreateTrustAnchor and UpdateTrustAnchor answer 400 ValidationException and store nothing."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from elsewhere.errors import ValidationError
from elsewhere.pki import quick_chain
from elsewhere.service import ControlPlane
from tests.malformed_x509 import Malformed, certificate_corpus
from tests.unit.service.conftest import CALLER, T0, make_ca, pem_of

CHAIN = quick_chain(T0 - dt.timedelta(hours=1), "p256")
ROOTS = {c.name: c for c in certificate_corpus(CHAIN.root, CHAIN.root_key, mutations=0)}  # type: ignore[arg-type]


def _pem(case: Malformed) -> str:
    body = base64.encodebytes(case.der).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def _rsa_1024_ca() -> str:
    """A CA whose RSA key is below the 2048 bits every path certificate needs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    cert, _ = make_ca()
    name = x509.Name.from_rfc4514_string("CN=small")
    rebuilt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for extension in cert.extensions:
        if not isinstance(extension.value, x509.SubjectKeyIdentifier):
            rebuilt = rebuilt.add_extension(extension.value, extension.critical)
    return pem_of(rebuilt.sign(key, hashes.SHA256()))


CASES = [
    ("fail/empty-common-name", "subject-empty-cn", "has an empty commonName in its subject"),
    ("fail/empty-rdn", "subject-empty-rdn", "has a name that does not decode"),
    ("fail/nul-in-name", "subject-nul-in-cn", "has a NUL character in the commonName"),
    ("fail/name-not-utf8", "subject-bad-utf8", "has a name that does not decode"),
    ("fail/negative-serial", "serial-negative", "serial number that is negative"),
    ("fail/serial-over-20-octets", "serial-30-bytes", "longer than 20 octets"),
    ("fail/unknown-critical-extension", "extension-unknown-critical", "critical extension"),
    ("fail/duplicated-extension", "extension-duplicated", "duplicated extension"),
    ("fail/key-of-unknown-algorithm", "spki-unknown-algorithm", "public key that cannot be used"),
    ("fail/signature-algorithms-differ", "signature-algorithm-mismatch", "differs"),
    ("fail/version-v4", "version-v4", "could not be parsed"),
]


def _source(pem: str) -> dict[str, object]:
    return {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pem}}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("case", "entry", "fragment"), CASES)
def test_create_and_update_refuse(cp: ControlPlane, case: str, entry: str, fragment: str) -> None:
    """The CA is refused at CreateTrustAnchor and at UpdateTrustAnchor, naming the problem."""
    pem = _pem(ROOTS[entry])
    with pytest.raises(ValidationError) as refused:
        cp.handle("CreateTrustAnchor", {"name": "a", "source": _source(pem)}, CALLER)
    assert fragment in refused.value.message, (case, refused.value.message)
    assert cp.handle("ListTrustAnchors", {}, CALLER)["trustAnchors"] == []
    made = cp.handle(
        "CreateTrustAnchor", {"name": "b", "source": _source(CHAIN.anchor_pem)}, CALLER
    )["trustAnchor"]
    with pytest.raises(ValidationError) as refused:
        cp.handle(
            "UpdateTrustAnchor",
            {"trustAnchorId": made["trustAnchorId"], "source": _source(pem)},
            CALLER,
        )
    assert fragment in refused.value.message, (case, refused.value.message)
    stored = cp.handle("GetTrustAnchor", {"trustAnchorId": made["trustAnchorId"]}, CALLER)
    assert stored["trustAnchor"]["source"] == made["source"]


def test_small_rsa_key_is_refused(cp: ControlPlane) -> None:
    """A CA with an RSA key below 2048 bits, which no path accepts, is refused at once."""
    with pytest.raises(ValidationError, match="RSA key of 1024 bits"):
        cp.handle("CreateTrustAnchor", {"name": "a", "source": _source(_rsa_1024_ca())}, CALLER)


@pytest.mark.filterwarnings("ignore::UserWarning")  # cryptography's, on a serial of zero
@pytest.mark.parametrize("entry", ["serial-zero", "signature-algorithm-unknown"])
def test_what_a_path_never_reads_is_accepted(cp: ControlPlane, entry: str) -> None:
    """ok/ a root with serial 0, or a self-signature over an unknown algorithm, is accepted."""
    pem = _pem(ROOTS[entry])
    cp.handle("CreateTrustAnchor", {"name": "a", "source": _source(pem)}, CALLER)
