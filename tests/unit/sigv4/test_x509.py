"""X.509 SigV4 (AWS4-X509-*): known answers from AWS's helper and others, signing, tampering."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa

from elsewhere.errors import ElsewhereError, IncompleteSignature, InvalidSignature
from elsewhere.pki import quick_chain
from elsewhere.sigv4 import (
    HttpRequest,
    SigningCertificate,
    canonical_request,
    encode_query_component,
    parse_amz_date,
    parse_signed_request,
    required_x509_headers,
    sign_x509_request,
    string_to_sign,
    verify_x509_signature,
)
from tests.unit.sigv4._vectors import X509

SALRASHID = X509 / "salrashid123-example"
NEEDROLESHERE = X509 / "needroleshere-examples"
SALRASHID_KAT = json.loads((SALRASHID / "kat.json").read_text())["vectors"]
RSA_KAT = json.loads((X509 / "kat-rsa.json").read_text())["vectors"]


def _query(query: dict[str, str] | str) -> str:
    if isinstance(query, str):
        return query
    return "&".join(
        f"{encode_query_component(k)}={encode_query_component(v)}" for k, v in query.items()
    )


def _request(vector: dict[str, Any], *, signed: bool = True) -> HttpRequest:
    """The vector's request; with ``signed`` it carries the expected Authorization."""
    raw = vector["headers"]
    headers = list(raw.items()) if isinstance(raw, dict) else [tuple(h) for h in raw]
    if signed:
        headers.append(("Authorization", vector["expected_authorization"]))
    return HttpRequest(
        vector["method"],
        vector["path"],
        _query(vector["query"]),
        tuple(headers),
        vector["body"].encode("utf-8"),
    )


def _certificate(vector: dict[str, Any]) -> x509.Certificate:
    raw = vector["headers"]
    headers = raw if isinstance(raw, dict) else dict(raw)
    return x509.load_der_x509_certificate(base64.b64decode(headers["x-amz-x509"]))


def _load_key(path: Any) -> Any:
    return serialization.load_pem_private_key(path.read_bytes(), None)


ALL_KAT = [(v["id"], v) for v in SALRASHID_KAT] + [(v["id"], v) for v in RSA_KAT]


@pytest.mark.parametrize("vector", [v for _, v in ALL_KAT], ids=[i for i, _ in ALL_KAT])
def test_known_answer_verifies_with_intermediates(vector: dict[str, Any]) -> None:
    """Each known answer parses, rebuilds its canonical request and string to sign, and verifies."""
    request = _request(vector)
    signed = parse_signed_request(request)
    assert signed.algorithm == vector["algorithm"]
    assert signed.credential == vector["credential_serial_decimal"]
    creq = canonical_request(request, signed.signed_headers, signed.payload_hash)
    assert creq == vector["expected_canonical_request"]
    sts = string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq)
    assert sts == vector["expected_string_to_sign"]
    assert signed.signature == vector["expected_signature_hex"]
    verify_x509_signature(request, signed, _certificate(vector))


def test_salrashid_rsa_signature_reproduced_byte_for_byte() -> None:
    """sign_x509_request reproduces aws_signing_helper's RSA signature byte for byte."""
    vector = SALRASHID_KAT[0]
    certificate = x509.load_pem_x509_certificate(
        (SALRASHID / vector["certificate_file"]).read_bytes()
    )
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        _query(vector["query"]),
        (("Content-Type", "application/json"), ("Host", vector["headers"]["host"])),
        vector["body"].encode(),
    )
    signed_request = sign_x509_request(
        unsigned,
        certificate=certificate,
        private_key=_load_key(SALRASHID / vector["private_key_file"]),
        region=vector["region"],
        now=parse_amz_date(vector["headers"]["x-amz-date"]),
    )
    assert signed_request.header("authorization") == vector["expected_authorization"]
    assert signed_request.header("x-amz-x509") == vector["headers"]["x-amz-x509"]
    assert signed_request.header("x-amz-x509-chain") is None


def test_needroleshere_rsa_signature_reproduced_with_chain() -> None:
    """Signing with needroleshere's key and intermediate reproduces its vector and chain."""
    (vector,) = [v for v in RSA_KAT if v["id"] == "needroleshere::signature-rsa"]
    headers = dict(vector["headers"])
    subca = x509.load_pem_x509_certificate((NEEDROLESHERE / "subca.pem").read_bytes())
    signed_request = sign_x509_request(
        HttpRequest(
            "POST",
            vector["path"],
            "",
            (("content-type", headers["content-type"]), ("host", headers["host"])),
            vector["body"].encode(),
        ),
        certificate=_certificate(vector),
        private_key=_load_key(NEEDROLESHERE / "cert-key.pem"),
        region=vector["region"],
        now=parse_amz_date(headers["x-amz-date"]),
        intermediates=(subca,),
        service=vector["service"],
    )
    assert signed_request.header("authorization") == vector["expected_authorization"]
    assert signed_request.header("x-amz-x509-chain") == headers["x-amz-x509-chain"]


def test_salrashid_ecdsa_p384_uses_sha256_not_sha384() -> None:
    """The helper's P-384 signature verifies with SHA-256 and not with SHA-384 (reference §3.6)."""
    vector = SALRASHID_KAT[1]
    key = _certificate(vector).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    data = vector["expected_string_to_sign"].encode()
    sig = bytes.fromhex(vector["expected_signature_hex"])
    key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(CryptoInvalidSignature):
        key.verify(sig, data, ec.ECDSA(hashes.SHA384()))


def _flip(text: str, bit: int) -> str:
    raw = bytearray(text.encode("latin-1"))
    raw[bit // 8] ^= 1 << (bit % 8)
    return raw.decode("latin-1")


def _with_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    return replace(
        request,
        headers=tuple((n, value if n.lower() == name else v) for n, v in request.headers),
    )


def _fails(request: HttpRequest, certificate: x509.Certificate) -> bool:
    try:
        verify_x509_signature(request, parse_signed_request(request), certificate)
    except ElsewhereError:
        return True
    return False


@pytest.mark.parametrize("index", [0, 1], ids=["rsa", "ecdsa-p384"])
def test_every_signature_bit_flip_fails(index: int) -> None:
    """Flipping any single bit of the signature makes verification fail (exhaustive)."""
    vector = SALRASHID_KAT[index]
    request = _request(vector, signed=False)
    certificate = _certificate(vector)
    sig = bytes.fromhex(vector["expected_signature_hex"])
    signed = parse_signed_request(
        replace(
            request, headers=(*request.headers, ("Authorization", vector["expected_authorization"]))
        )
    )
    for bit in range(len(sig) * 8):
        bad = bytearray(sig)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSignature):
            verify_x509_signature(request, replace(signed, signature=bad.hex()), certificate)


@pytest.mark.parametrize("vector", [v for _, v in ALL_KAT], ids=[i for i, _ in ALL_KAT])
def test_every_body_and_signed_header_bit_flip_fails(vector: dict[str, Any]) -> None:
    """Flipping any bit of the body, or of any signed header value, makes verification fail."""
    request = _request(vector)
    certificate = _certificate(vector)
    body = request.body
    for bit in range(len(body) * 8):
        bad = bytearray(body)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert _fails(replace(request, body=bytes(bad)), certificate), f"body bit {bit}"
    for name in parse_signed_request(request).signed_headers:
        value = request.header(name)
        assert value is not None
        # Every bit of short values; a spread sample of the long certificate headers.
        bits = range(len(value.encode("latin-1")) * 8)
        sample = bits if len(bits) <= 512 else bits[:: max(1, len(bits) // 256)]
        for bit in sample:
            assert _fails(_with_header(request, name, _flip(value, bit)), certificate), (
                f"{name} bit {bit}"
            )


def test_wrong_certificate_fails() -> None:
    """A valid signature checked against another certificate is refused."""
    other = x509.load_pem_x509_certificate((NEEDROLESHERE / "cert.pem").read_bytes())
    request = _request(SALRASHID_KAT[0])
    with pytest.raises(InvalidSignature):
        verify_x509_signature(request, parse_signed_request(request), other)


def _unsigned_sessions() -> HttpRequest:
    return HttpRequest(
        "POST",
        "/sessions",
        "profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Aprofile%2Fp",
        (("Content-Type", "application/json"), ("Host", "127.0.0.1:8080")),
        b'{"durationSeconds":3600}',
    )


NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _pki_pair(name: str) -> tuple[x509.Certificate, Any]:
    cert = x509.load_pem_x509_certificate((NEEDROLESHERE / f"{name}.pem").read_bytes())
    return cert, _load_key(NEEDROLESHERE / f"{name}-key.pem")


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("cert", "AWS4-X509-RSA-SHA256"),
        ("cert-ec", "AWS4-X509-ECDSA-SHA256"),
        ("cert-p384", "AWS4-X509-ECDSA-SHA256"),
    ],
)
def test_ok_sign_then_verify_round_trip(name: str, algorithm: str) -> None:
    """ok/...: RSA, P-256 and P-384 requests signed by us verify, with SHA-256 on every curve."""
    cert, key = _pki_pair(name)
    subca = x509.load_pem_x509_certificate((NEEDROLESHERE / "subca.pem").read_bytes())
    request = sign_x509_request(
        _unsigned_sessions(),
        certificate=cert,
        private_key=key,
        region="us-east-1",
        now=NOW,
        intermediates=(subca,),
    )
    signed = parse_signed_request(request)
    assert signed.algorithm == algorithm
    assert signed.credential == str(cert.serial_number)
    assert "x-amz-x509-chain" in signed.signed_headers
    verify_x509_signature(request, signed, cert)


@pytest.mark.parametrize(
    "key_class", [mldsa.MLDSA44PrivateKey, mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey]
)
def test_ok_mldsa_round_trip(key_class: Any) -> None:
    """ok/mldsa: ML-DSA signatures (pure, empty context) verify against the certificate."""
    key = key_class.generate()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "mldsa")])
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )
    request = sign_x509_request(
        _unsigned_sessions(), certificate=cert, private_key=key, region="us-east-1", now=NOW
    )
    signed = parse_signed_request(request)
    assert signed.algorithm == "AWS4-X509-MLDSA"
    verify_x509_signature(request, signed, cert)


def test_ok_sha384_algorithm_suffix_verified_with_sha256() -> None:
    """ok/sha384-suffix: AWS4-X509-ECDSA-SHA384 (awslabs session) is verified with SHA-256."""
    cert, key = _pki_pair("cert-p384")
    request = _unsigned_sessions()
    signed_request = sign_x509_request(
        request, certificate=cert, private_key=key, region="us-east-1", now=NOW
    )
    signed = parse_signed_request(signed_request)
    renamed = replace(signed, algorithm="AWS4-X509-ECDSA-SHA384")
    creq = canonical_request(signed_request, signed.signed_headers, signed.payload_hash)
    sts = string_to_sign(renamed.algorithm, signed.amz_date, signed.scope, creq)
    sig = key.sign(sts.encode(), ec.ECDSA(hashes.SHA256()))
    verify_x509_signature(signed_request, replace(renamed, signature=sig.hex()), cert)


def _signed_ec() -> tuple[HttpRequest, x509.Certificate]:
    cert, key = _pki_pair("cert-ec")
    subca = x509.load_pem_x509_certificate((NEEDROLESHERE / "subca.pem").read_bytes())
    return (
        sign_x509_request(
            _unsigned_sessions(),
            certificate=cert,
            private_key=key,
            region="us-east-1",
            now=NOW,
            intermediates=(subca,),
        ),
        cert,
    )


def _drop_signed(request: HttpRequest, header: str) -> HttpRequest:
    signed = parse_signed_request(request)
    auth = request.header("authorization") or ""
    names = ";".join(h for h in signed.signed_headers if h != header)
    auth = auth.replace(";".join(signed.signed_headers), names)
    return _with_header(request, "authorization", auth)


@pytest.mark.parametrize("header", ["x-amz-x509", "x-amz-x509-chain"])
def test_fail_required_header_not_signed(header: str) -> None:
    """fail/unsigned-<header>: X.509 requests must sign x-amz-x509, and the chain when sent."""
    request, cert = _signed_ec()
    bad = _drop_signed(request, header)
    signed = parse_signed_request(bad)
    assert header in required_x509_headers(bad, signed)
    with pytest.raises(InvalidSignature) as info:
        verify_x509_signature(bad, signed, cert)
    assert header in (info.value.reason or "")


def test_fail_date_header_not_signed() -> None:
    """fail/unsigned-x-amz-date: an unsigned X-Amz-Date header is refused at parse time."""
    request, _ = _signed_ec()
    with pytest.raises(IncompleteSignature):
        parse_signed_request(_drop_signed(request, "x-amz-date"))


@pytest.mark.parametrize(
    ("case", "mutate"),
    [
        ("fail/serial-mismatch", lambda s: replace(s, credential="1")),
        ("fail/hmac-algorithm", lambda s: replace(s, algorithm="AWS4-HMAC-SHA256")),
        ("fail/rsa-algorithm-for-ec-key", lambda s: replace(s, algorithm="AWS4-X509-RSA-SHA256")),
        ("fail/mldsa-algorithm-for-ec-key", lambda s: replace(s, algorithm="AWS4-X509-MLDSA")),
        ("fail/signature-not-hex", lambda s: replace(s, signature="zz" + s.signature[2:])),
        ("fail/empty-signature", lambda s: replace(s, signature="")),
    ],
)
def test_fail_signature_parts(case: str, mutate: Any) -> None:
    """fail/...: wrong serial, algorithm family or signature encoding are refused."""
    request, cert = _signed_ec()
    with pytest.raises(InvalidSignature):
        verify_x509_signature(request, mutate(parse_signed_request(request)), cert)


def test_fail_certificate_header_is_another_certificate() -> None:
    """fail/x509-header-mismatch: the certificate checked must be the one in X-Amz-X509."""
    request, _ = _signed_ec()
    other, _ = _pki_pair("cert-p384")
    with pytest.raises(InvalidSignature):
        verify_x509_signature(request, parse_signed_request(request), other)


def test_fail_declared_payload_hash_not_the_body() -> None:
    """fail/content-sha256: a signed X-Amz-Content-SHA256 that is not the body's hash is refused."""
    vector = RSA_KAT[0]  # envoy: signs x-amz-content-sha256
    request = replace(_request(vector), body=b'{"durationSeconds":43200}')
    with pytest.raises(InvalidSignature):
        verify_x509_signature(request, parse_signed_request(request), _certificate(vector))


def test_rsa_key_type_is_rsa() -> None:
    """The salrashid RSA certificate really holds an RSA key (guards the fixture)."""
    assert isinstance(_certificate(SALRASHID_KAT[0]).public_key(), rsa.RSAPublicKey)


@pytest.mark.parametrize("vector", [v for _, v in ALL_KAT], ids=[i for i, _ in ALL_KAT])
def test_prepared_certificate_verifies_like_the_certificate(vector: dict[str, Any]) -> None:
    """A SigningCertificate verifies each known answer and refuses its one-bit changes alike."""
    request = _request(vector)
    signed = parse_signed_request(request)
    prepared = SigningCertificate.of(_certificate(vector))
    assert prepared.serial == vector["credential_serial_decimal"]
    verify_x509_signature(request, signed, prepared)
    flipped = signed.signature[:-1] + ("0" if signed.signature[-1] != "0" else "1")
    with pytest.raises(InvalidSignature):
        verify_x509_signature(request, replace(signed, signature=flipped), prepared)


def test_prepared_certificate_matches_any_base64_spelling_of_its_header() -> None:
    """X-Amz-X509 is compared as DER: a signed, non-canonical base64 spelling still matches."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    # A DER length that is not a multiple of 3 leaves unused low bits in the last character
    # before the padding: setting them changes the text but not the decoded bytes.
    for _ in range(20):
        chain = quick_chain(now - dt.timedelta(hours=1), "p256")
        prepared = SigningCertificate.of(chain.leaf)
        text = prepared.der_base64
        body = text.rstrip("=")
        spare = (len(body) * 6) % 8
        if spare:
            break
    assert spare
    last = alphabet[alphabet.index(body[-1]) | ((1 << spare) - 1)]
    variant = body[:-1] + last + text[len(body) :]
    assert variant != text
    assert base64.b64decode(variant) == prepared.der
    signed_request = sign_x509_request(
        HttpRequest("POST", "/sessions", "", (("Host", "h"),), b"{}"),
        certificate=chain.leaf,
        private_key=chain.leaf_key,  # type: ignore[arg-type]
        region="us-east-1",
        now=now,
    )
    request = replace(
        signed_request,
        headers=tuple(
            (n, variant) if n.lower() == "x-amz-x509" else (n, v)
            for n, v in signed_request.headers
        ),
    )
    signed = parse_signed_request(request)
    creq = canonical_request(request, signed.signed_headers, signed.payload_hash)
    sts = string_to_sign(signed.algorithm, signed.amz_date, signed.scope, creq)
    signature = chain.leaf_key.sign(sts.encode(), ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
    verify_x509_signature(request, replace(signed, signature=signature.hex()), prepared)


def test_prepared_certificate_refuses_another_certificates_header() -> None:
    """A request whose X-Amz-X509 is another certificate fails against a prepared certificate."""
    first, second = SALRASHID_KAT[0], RSA_KAT[0]
    request = _request(first)
    signed = replace(
        parse_signed_request(request), credential=second["credential_serial_decimal"]
    )
    with pytest.raises(InvalidSignature) as caught:
        verify_x509_signature(request, signed, SigningCertificate.of(_certificate(second)))
    assert caught.value.reason == "certificate is not the one in X-Amz-X509"
