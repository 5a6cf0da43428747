"""Key and certificate sources: every format AWS's helper reads, and their failures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from elsewhere.client import (
    CredentialSourceError,
    FileCredentialSource,
    KeyMismatchError,
    SigningIdentity,
    StaticCredentialSource,
    build_credential_source,
    load_certificate,
    load_certificate_bundle,
    load_pkcs12,
    load_private_key,
)
from elsewhere.pki import Chain, quick_chain
from tests.unit.client.conftest import Files, write_files

PASSWORD = "correct horse"
Enc = serialization.Encoding
Fmt = serialization.PrivateFormat


def _key_bytes(chain: Chain, encoding: Enc, fmt: Fmt, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return chain.leaf_key.private_bytes(encoding, fmt, encryption)


@pytest.fixture(scope="module")
def rsa_chain() -> Chain:
    """An RSA-2048 leaf under a root."""
    return quick_chain(dt.datetime.now(dt.UTC), "rsa2048")


@pytest.fixture(scope="module")
def ec_chain() -> Chain:
    """A P-384 leaf under a root."""
    return quick_chain(dt.datetime.now(dt.UTC), "p384")


KEY_FORMATS: list[tuple[str, str, Enc, Fmt, str | None]] = [
    ("ok/rsa-pkcs8-pem", "rsa", Enc.PEM, Fmt.PKCS8, None),
    ("ok/rsa-pkcs1-pem", "rsa", Enc.PEM, Fmt.TraditionalOpenSSL, None),
    ("ok/rsa-pkcs8-der", "rsa", Enc.DER, Fmt.PKCS8, None),
    ("ok/rsa-pkcs8-encrypted-pem", "rsa", Enc.PEM, Fmt.PKCS8, PASSWORD),
    ("ok/rsa-pkcs8-encrypted-der", "rsa", Enc.DER, Fmt.PKCS8, PASSWORD),
    ("ok/ec-sec1-pem", "ec", Enc.PEM, Fmt.TraditionalOpenSSL, None),
    ("ok/ec-pkcs8-pem", "ec", Enc.PEM, Fmt.PKCS8, None),
    ("ok/ec-pkcs8-encrypted-pem", "ec", Enc.PEM, Fmt.PKCS8, PASSWORD),
]


@pytest.mark.parametrize(
    ("kind", "encoding", "fmt", "password"),
    [pytest.param(*case[1:], id=case[0]) for case in KEY_FORMATS],
)
def test_private_key_formats(
    tmp_path: Path,
    rsa_chain: Chain,
    ec_chain: Chain,
    kind: str,
    encoding: Enc,
    fmt: Fmt,
    password: str | None,
) -> None:
    """PKCS#8 (plain and encrypted), PKCS#1 and SEC1, PEM and DER, load to the same key."""
    chain = rsa_chain if kind == "rsa" else ec_chain
    path = tmp_path / "key"
    path.write_bytes(_key_bytes(chain, encoding, fmt, password))
    key = load_private_key(path, password)
    assert key.private_numbers() == chain.leaf_key.private_numbers()
    assert isinstance(key, rsa.RSAPrivateKey if kind == "rsa" else ec.EllipticCurvePrivateKey)


@pytest.mark.parametrize(
    ("content", "password", "message"),
    [
        pytest.param("encrypted", None, "--pkcs8-password", id="fail/encrypted-no-password"),
        pytest.param("encrypted", "", "--pkcs8-password", id="fail/encrypted-empty-password"),
        pytest.param("encrypted", "wrong", "wrong password", id="fail/wrong-password"),
        pytest.param("garbage", None, "no PKCS#8, PKCS#1 or SEC1", id="fail/garbage"),
        pytest.param("ed25519", None, "RSA, EC or ML-DSA", id="fail/ed25519"),
        pytest.param(None, None, "not found", id="fail/missing"),
    ],
)
def test_private_key_failures(
    tmp_path: Path, rsa_chain: Chain, content: str | None, password: str | None, message: str
) -> None:
    """Each unusable key file gives a clear CredentialSourceError."""
    path = tmp_path / "key.pem"
    if content == "encrypted":
        path.write_bytes(_key_bytes(rsa_chain, Enc.PEM, Fmt.PKCS8, PASSWORD))
    elif content == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    elif content == "ed25519":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        path.write_bytes(
            ed25519.Ed25519PrivateKey.generate().private_bytes(
                Enc.PEM, Fmt.PKCS8, serialization.NoEncryption()
            )
        )
    with pytest.raises(CredentialSourceError, match=message):
        load_private_key(path, password)


def test_certificate_pem_and_der(tmp_path: Path, rsa_chain: Chain) -> None:
    """A certificate loads from PEM and from DER."""
    pem = tmp_path / "c.pem"
    der = tmp_path / "c.der"
    pem.write_bytes(rsa_chain.leaf.public_bytes(Enc.PEM))
    der.write_bytes(rsa_chain.leaf.public_bytes(Enc.DER))
    assert load_certificate(pem) == rsa_chain.leaf
    assert load_certificate(der) == rsa_chain.leaf


def test_certificate_failures(tmp_path: Path) -> None:
    """Missing, directory and garbage certificate paths fail clearly."""
    with pytest.raises(CredentialSourceError, match="not found"):
        load_certificate(tmp_path / "none.pem")
    with pytest.raises(CredentialSourceError, match="directory"):
        load_certificate(tmp_path)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a certificate")
    with pytest.raises(CredentialSourceError, match="no valid PEM or DER"):
        load_certificate(junk)


def test_intermediates_bundle_keeps_file_order(tmp_path: Path) -> None:
    """A PEM bundle is read in file order, without reordering (reference §3.5)."""
    now = dt.datetime.now(dt.UTC)
    a = quick_chain(now, "p256").leaf
    b = quick_chain(now, "p256").leaf
    path = tmp_path / "bundle.pem"
    path.write_bytes(b.public_bytes(Enc.PEM) + a.public_bytes(Enc.PEM))
    assert load_certificate_bundle(path) == (b, a)


def _p12(chain: Chain, password: str | None, *, with_ca: bool = True) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    cas = [chain.root] if with_ca else None
    return pkcs12.serialize_key_and_certificates(
        b"leaf", chain.leaf_key, chain.leaf, cas, encryption
    )


def test_pkcs12_bundle_gives_leaf_key_and_rest(tmp_path: Path, rsa_chain: Chain) -> None:
    """The leaf is the certificate matching the key; the others become the chain (no leaf copy)."""
    path = tmp_path / "bundle.p12"
    path.write_bytes(_p12(rsa_chain, None))
    identity = load_pkcs12(path)
    assert identity.certificate == rsa_chain.leaf
    assert identity.intermediates == (rsa_chain.root,)


def test_pkcs12_with_password_through_the_file_source(tmp_path: Path, ec_chain: Chain) -> None:
    """--certificate bundle.p12 without --private-key reads PKCS#12; the password is used."""
    path = tmp_path / "bundle.p12"
    path.write_bytes(_p12(ec_chain, PASSWORD))
    source = build_credential_source(certificate=str(path), pkcs8_password=PASSWORD)
    assert source.load().certificate == ec_chain.leaf
    with pytest.raises(CredentialSourceError, match="wrong password"):
        load_pkcs12(path, "nope")


def test_pem_certificate_without_key_is_refused(files: Files) -> None:
    """A PEM certificate needs --private-key (only PKCS#12 stands alone)."""
    source = FileCredentialSource(certificate_path=files.certificate)
    with pytest.raises(CredentialSourceError, match="--private-key is required"):
        source.load()


def test_key_not_matching_certificate(tmp_path: Path, files: Files) -> None:
    """Another key than the certificate's gives KeyMismatchError naming the certificate."""
    other = quick_chain(dt.datetime.now(dt.UTC), "p256", fresh_keys=True)
    wrong = tmp_path / "other.key"
    wrong.write_text(other.leaf_key_pem)
    source = FileCredentialSource(certificate_path=files.certificate, private_key_path=wrong)
    with pytest.raises(KeyMismatchError, match="does not match"):
        source.load()
    static = StaticCredentialSource(
        SigningIdentity(certificate=files.chain.leaf, private_key=other.leaf_key)
    )
    with pytest.raises(KeyMismatchError):
        static.load()


def test_files_are_reread_on_every_load(tmp_path: Path) -> None:
    """A rotated certificate and key are picked up by the next load()."""
    now = dt.datetime.now(dt.UTC)
    first = write_files(tmp_path, quick_chain(now, "p256", fresh_keys=True))
    source = FileCredentialSource(
        certificate_path=first.certificate, private_key_path=first.private_key
    )
    assert source.load().certificate == first.chain.leaf
    second = write_files(tmp_path, quick_chain(now, "p256", fresh_keys=True))
    assert source.load().certificate == second.chain.leaf


def test_intermediates_come_with_the_identity(files: Files) -> None:
    """--intermediates adds the bundle's certificates to the identity."""
    source = build_credential_source(
        certificate=str(files.certificate),
        private_key=str(files.private_key),
        intermediates=str(files.intermediates),
    )
    identity = source.load()
    assert identity.intermediates == files.chain.intermediates
    assert isinstance(identity.certificate, x509.Certificate)
