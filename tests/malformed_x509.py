"""A corpus of malformed certificates and CRLs, for "refused, never a crash" tests.

Each entry is built from a valid chain of ``elsewhere.pki`` by editing its DER: a field is
replaced (a bad version, a name that does not decode, a duplicated, malformed or unknown
extension, an unknown key or signature algorithm, ...) and the result is signed again with the
issuer's real key, so a validator that checks signatures first still has to look at the defect.
Random byte mutations of the to-be-signed part, also signed again, add what nobody thought of.
The defects are the ones X.509 parsers are known to trip on (RFC 5280 §4.1, §4.2, §5.1; the
x509-limbo and Wycheproof suites name most of them); every entry must be refused with a 4xx by
every entry point that takes certificates or CRLs, and must never cause a 500.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x25519

from elsewhere.pki import Chain

__all__ = ["Malformed", "certificate_corpus", "crl_corpus", "der_items", "tlv"]

# --- a minimal DER toolkit (single-byte tags, definite lengths: all X.509 needs) -------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element."""
    return bytes([tag]) + _length(len(content)) + content


def _read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """The element at ``at``: its tag, its content and where the next one starts."""
    tag = data[at]
    first = data[at + 1]
    at += 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    return tag, data[at : at + size], at + size


def der_items(content: bytes) -> list[tuple[int, bytes]]:
    """The elements of a constructed value's content, as (tag, content)."""
    out = []
    at = 0
    while at < len(content):
        tag, value, at = _read(content, at)
        out.append((tag, value))
    return out


def _join(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(tlv(tag, value) for tag, value in items)


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


SEQ, SET, INT, OCTETS, BOOL, BITS, UTF8, BMP, PRINTABLE, IA5 = (
    0x30,
    0x31,
    0x02,
    0x04,
    0x01,
    0x03,
    0x0C,
    0x1E,
    0x13,
    0x16,
)
CN = "2.5.4.3"
BASIC_CONSTRAINTS = "2.5.29.19"
KEY_USAGE = "2.5.29.15"
SAN = "2.5.29.17"
SKI = "2.5.29.14"
AKI = "2.5.29.35"
NAME_CONSTRAINTS = "2.5.29.30"
POLICIES = "2.5.29.32"
CRL_NUMBER = "2.5.29.20"
REASON = "2.5.29.21"
UNKNOWN = "1.3.6.1.4.1.55555.7.1"


def _extension(oid: str, value: bytes, *, critical: bool = False) -> tuple[int, bytes]:
    flag = tlv(BOOL, b"\xff") if critical else b""
    return SEQ, _oid(oid) + flag + tlv(OCTETS, value)


def _name(*rdns: list[tuple[str, int, bytes]]) -> bytes:
    """A Name of RDNs, each a list of (attribute OID, string tag, raw value bytes)."""
    return _join(
        [(SET, _join([(SEQ, _oid(oid) + tlv(tag, raw)) for oid, tag, raw in rdn])) for rdn in rdns]
    )


# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Malformed:
    """One corpus entry: its name and DER bytes."""

    name: str
    der: bytes


Signer = ec.EllipticCurvePrivateKey


@dataclass
class _Cert:
    """A certificate taken apart: its TBS elements and outer signature algorithm."""

    tbs: list[tuple[int, bytes]]
    algorithm: bytes  # the outer signatureAlgorithm element

    @classmethod
    def of(cls, cert: x509.Certificate) -> _Cert:
        outer_tag, outer, _ = _read(cert.public_bytes(serialization.Encoding.DER), 0)
        assert outer_tag == SEQ
        tbs, algorithm, _ = der_items(outer)
        return cls(der_items(tbs[1]), tlv(*algorithm))

    def index(self, tag: int, nth: int = 0) -> int:
        """Where the ``nth`` element with ``tag`` is."""
        return [i for i, (t, _) in enumerate(self.tbs) if t == tag][nth]

    def field(self, name: str) -> int:
        """The position of a named TBS field (v3 layout)."""
        base = 1 if self.tbs[0][0] == 0xA0 else 0
        order = ["serial", "signature", "issuer", "validity", "subject", "spki"]
        return base + order.index(name)

    def extensions(self) -> list[tuple[int, bytes]]:
        """The extension elements."""
        ((_, inner),) = der_items(self.tbs[self.index(0xA3)][1])
        return der_items(inner)

    def set_extensions(self, extensions: list[tuple[int, bytes]]) -> None:
        """Replace the extensions."""
        self.tbs[self.index(0xA3)] = (0xA3, tlv(SEQ, _join(extensions)))

    def without(self, oid: str) -> list[tuple[int, bytes]]:
        """The extensions except ``oid``'s."""
        marker = _oid(oid)
        return [e for e in self.extensions() if not e[1].startswith(marker)]

    def sign(self, key: Signer, algorithm: bytes | None = None) -> bytes:
        """The certificate with its TBS signed again by ``key`` (ECDSA with SHA-256)."""
        tbs = tlv(SEQ, _join(self.tbs))
        signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        return tlv(SEQ, tbs + (algorithm or self.algorithm) + tlv(BITS, b"\x00" + signature))


def _edits(cert: x509.Certificate) -> Iterator[tuple[str, Callable[[_Cert], bytes | None]]]:
    """Named edits of a certificate's TBS; each returns the outer algorithm to use, or None."""

    def version(value: int) -> Callable[[_Cert], None]:
        def edit(c: _Cert) -> None:
            c.tbs[0] = (0xA0, tlv(INT, bytes([value])))

        return edit

    def drop_version(c: _Cert) -> None:
        del c.tbs[0]  # v1 layout, extensions kept: not allowed (RFC 5280 §4.1.2.1)

    def serial(raw: bytes) -> Callable[[_Cert], None]:
        def edit(c: _Cert) -> None:
            c.tbs[c.field("serial")] = (INT, raw)

        return edit

    def name(which: str, value: bytes) -> Callable[[_Cert], None]:
        def edit(c: _Cert) -> None:
            c.tbs[c.field(which)] = (SEQ, value)

        return edit

    def extensions(make: Callable[[_Cert], list[tuple[int, bytes]]]) -> Callable[[_Cert], None]:
        def edit(c: _Cert) -> None:
            c.set_extensions(make(c))

        return edit

    def spki_algorithm(c: _Cert) -> None:
        (_, spki) = c.tbs[c.field("spki")]
        _, key_bits = der_items(spki)
        algorithm = tlv(SEQ, _oid("1.2.840.10045.2.1") + _oid("1.3.132.0.99"))  # unknown curve
        c.tbs[c.field("spki")] = (SEQ, algorithm + tlv(*key_bits))

    def spki_unknown_oid(c: _Cert) -> None:
        (_, spki) = c.tbs[c.field("spki")]
        _, key_bits = der_items(spki)
        c.tbs[c.field("spki")] = (SEQ, tlv(SEQ, _oid(UNKNOWN)) + tlv(*key_bits))

    def signature_algorithm(c: _Cert) -> bytes:
        unknown = tlv(SEQ, _oid(UNKNOWN))
        c.tbs[c.field("signature")] = (SEQ, der_items(unknown)[0][1])
        return unknown

    def mismatched_algorithm(c: _Cert) -> bytes:
        return tlv(SEQ, _oid("1.2.840.10045.4.3.3"))  # outer says SHA-384, TBS says SHA-256

    def validity(c: _Cert) -> None:
        c.tbs[c.field("validity")] = (SEQ, tlv(0x17, b"991399999999Z") * 2)

    yield "version-v4", version(3)
    yield "version-255", version(255)
    yield "version-v1-with-extensions", drop_version
    yield "serial-zero", serial(b"\x00")
    yield "serial-negative", serial(b"\xff")
    yield "serial-30-bytes", serial(b"\x01" * 30)
    yield "serial-not-minimal", serial(b"\x00\x01")
    bad_utf8 = _name([(CN, UTF8, b"\xff\xfe")])
    yield "subject-bad-utf8", name("subject", bad_utf8)
    yield "issuer-bad-utf8", name("issuer", bad_utf8)
    yield "subject-odd-bmpstring", name("subject", _name([(CN, BMP, b"\x00a\x00")]))
    yield "subject-bmp-lone-surrogate", name("subject", _name([(CN, BMP, b"\xd8\x00")]))
    yield "subject-empty-rdn", name("subject", _join([(SET, b"")]))
    yield "subject-empty-cn", name("subject", _name([(CN, UTF8, b"")]))
    yield "subject-nul-in-cn", name("subject", _name([(CN, UTF8, b"a\x00b")]))
    yield "subject-printable-bad-chars", name("subject", _name([(CN, PRINTABLE, b"a@*")]))
    yield "subject-unknown-string-type", name("subject", _name([(CN, 0x1F, b"abc")]))
    yield "subject-not-a-set", name("subject", tlv(SEQ, b""))
    yield "extensions-empty", extensions(lambda c: [])
    yield "extension-duplicated", extensions(lambda c: [*c.extensions(), c.extensions()[0]])
    yield (
        "extension-basic-constraints-garbage",
        extensions(
            lambda c: [*c.without(BASIC_CONSTRAINTS), _extension(BASIC_CONSTRAINTS, b"\x30\x05")]
        ),
    )
    yield (
        "extension-key-usage-garbage",
        extensions(lambda c: [*c.without(KEY_USAGE), _extension(KEY_USAGE, b"\x03\x09\x00")]),
    )
    yield (
        "extension-key-usage-empty-bits",
        extensions(
            lambda c: [
                *c.without(KEY_USAGE),
                _extension(KEY_USAGE, tlv(BITS, b"\x00"), critical=True),
            ]
        ),
    )
    yield (
        "extension-unknown-critical",
        extensions(lambda c: [*c.extensions(), _extension(UNKNOWN, tlv(0x05, b""), critical=True)]),
    )
    yield (
        "extension-unknown-not-critical",
        extensions(lambda c: [*c.extensions(), _extension(UNKNOWN, b"\xff\xff\xff")]),
    )
    yield (
        "extension-san-garbage",
        extensions(lambda c: [*c.without(SAN), _extension(SAN, tlv(SEQ, b"\x82\x05ab"))]),
    )
    yield (
        "extension-san-x400",
        extensions(lambda c: [*c.without(SAN), _extension(SAN, tlv(SEQ, tlv(0xA3, b"")))]),
    )
    yield (
        "extension-san-empty",
        extensions(lambda c: [*c.without(SAN), _extension(SAN, tlv(SEQ, b""))]),
    )
    yield (
        "extension-san-bad-ip",
        extensions(lambda c: [*c.without(SAN), _extension(SAN, tlv(SEQ, tlv(0x87, b"\x01\x02")))]),
    )
    yield (
        "extension-san-dns-not-ascii",
        extensions(lambda c: [*c.without(SAN), _extension(SAN, tlv(SEQ, tlv(0x82, b"\xc3\xa9")))]),
    )
    yield (
        "extension-ski-not-octets",
        extensions(lambda c: [*c.without(SKI), _extension(SKI, tlv(INT, b"\x01"))]),
    )
    yield (
        "extension-aki-garbage",
        extensions(lambda c: [*c.without(AKI), _extension(AKI, tlv(SEQ, b"\x80\x09ab"))]),
    )
    yield (
        "extension-name-constraints-garbage",
        extensions(
            lambda c: [
                *c.extensions(),
                _extension(NAME_CONSTRAINTS, tlv(SEQ, b"\xa0\x03\x30"), critical=True),
            ]
        ),
    )
    yield (
        "extension-name-constraints-empty",
        extensions(
            lambda c: [*c.extensions(), _extension(NAME_CONSTRAINTS, tlv(SEQ, b""), critical=True)]
        ),
    )
    yield (
        "extension-policies-garbage",
        extensions(lambda c: [*c.extensions(), _extension(POLICIES, tlv(SEQ, tlv(SEQ, b"")))]),
    )
    yield (
        "extension-critical-false-encoded",
        extensions(
            lambda c: [
                *c.without(SKI),
                (SEQ, _oid(SKI) + tlv(BOOL, b"\x00") + tlv(OCTETS, tlv(OCTETS, b"\x01"))),
            ]
        ),
    )
    yield "spki-unknown-curve", spki_algorithm
    yield "spki-unknown-algorithm", spki_unknown_oid
    yield "signature-algorithm-unknown", signature_algorithm
    yield "signature-algorithm-mismatch", mismatched_algorithm
    yield "validity-not-a-time", validity


def _mutations(c: _Cert, rng: random.Random) -> None:
    """Flip, drop or insert a few bytes inside one TBS element (never the key)."""
    spki = c.field("spki")
    at = rng.choice([i for i in range(len(c.tbs)) if i != spki])
    tag, value = c.tbs[at]
    data = bytearray(value)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        where = rng.randrange(len(data))
        action = rng.random()
        if action < 0.6:
            data[where] ^= 1 << rng.randrange(8)
        elif action < 0.8:
            del data[where]
        else:
            data.insert(where, rng.randrange(256))
    c.tbs[at] = (tag, bytes(data))


def certificate_corpus(
    cert: x509.Certificate, issuer_key: Signer, *, mutations: int = 40, seed: int = 5
) -> list[Malformed]:
    """Malformed versions of ``cert``, each signed again by ``issuer_key``."""
    out = []
    for label, edit in _edits(cert):
        c = _Cert.of(cert)
        algorithm = edit(c)
        out.append(Malformed(label, c.sign(issuer_key, algorithm)))
    rng = random.Random(seed)
    for n in range(mutations):
        c = _Cert.of(cert)
        _mutations(c, rng)
        out.append(Malformed(f"mutation-{n}", c.sign(issuer_key)))
    return out


def foreign_key_certificates(chain: Chain) -> list[tuple[Malformed, object]]:
    """Leaves with keys Roles Anywhere does not take (Ed25519, Ed448, X25519), issued by the
    chain's CA, with their private keys."""
    ca = chain.issuing_ca
    out: list[tuple[Malformed, object]] = []
    keys: tuple[tuple[str, object], ...] = (
        ("key-ed25519", ed25519.Ed25519PrivateKey.generate()),
        ("key-ed448", ed448.Ed448PrivateKey.generate()),
        ("key-x25519", x25519.X25519PrivateKey.generate()),
    )
    for label, key in keys:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name.from_rfc4514_string(f"CN={label}"))
            .issuer_name(ca.certificate.subject)
            .public_key(key.public_key())  # type: ignore[attr-defined]
            .serial_number(x509.random_serial_number())
            .not_valid_before(chain.leaf.not_valid_before_utc)
            .not_valid_after(chain.leaf.not_valid_after_utc)
        )
        cert = builder.sign(ca.key, hashes.SHA256())  # type: ignore[arg-type]
        out.append((Malformed(label, cert.public_bytes(serialization.Encoding.DER)), key))
    return out


# --- CRLs -----------------------------------------------------------------------------------


def crl_corpus(
    crl: x509.CertificateRevocationList, issuer_key: Signer, *, mutations: int = 30, seed: int = 7
) -> list[Malformed]:
    """Malformed versions of ``crl`` (which must revoke one serial), signed again."""
    (outer_tag, outer, _) = _read(crl.public_bytes(serialization.Encoding.DER), 0)
    assert outer_tag == SEQ
    tbs_element, algorithm, _ = der_items(outer)
    base = der_items(tbs_element[1])
    algorithm_tlv = tlv(*algorithm)

    def sign(items: list[tuple[int, bytes]], algorithm: bytes = algorithm_tlv) -> bytes:
        tbs = tlv(SEQ, _join(items))
        signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        return tlv(SEQ, tbs + algorithm + tlv(BITS, b"\x00" + signature))

    # version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] extensions
    assert [t for t, _ in base] == [INT, SEQ, SEQ, 0x17, 0x17, SEQ, 0xA0], [t for t, _ in base]
    issuer, revoked, extensions_at = 2, 5, 6

    def edited(at: int, value: tuple[int, bytes]) -> list[tuple[int, bytes]]:
        items = list(base)
        items[at] = value
        return items

    (entry,) = der_items(base[revoked][1])
    serial, when, *_ = der_items(entry[1])
    crl_extensions = der_items(der_items(base[extensions_at][1])[0][1])

    def entry_with(*extra: tuple[int, bytes]) -> tuple[int, bytes]:
        body = tlv(*serial) + tlv(*when) + tlv(SEQ, _join(list(extra)))
        return SEQ, tlv(SEQ, body)

    def crl_extensions_with(*extra: tuple[int, bytes]) -> tuple[int, bytes]:
        return 0xA0, tlv(SEQ, _join([*crl_extensions, *extra]))

    out = [
        Malformed("crl-version-v3", sign(edited(0, (INT, b"\x02")))),
        Malformed("crl-issuer-bad-utf8", sign(edited(issuer, (SEQ, _name([(CN, UTF8, b"\xff")]))))),
        Malformed("crl-issuer-empty-rdn", sign(edited(issuer, (SEQ, _join([(SET, b"")]))))),
        Malformed(
            "crl-entry-reason-garbage",
            sign(edited(revoked, entry_with(_extension(REASON, b"\x0a")))),
        ),
        Malformed(
            "crl-entry-reason-unknown-value",
            sign(edited(revoked, entry_with(_extension(REASON, tlv(0x0A, b"\x63"))))),
        ),
        Malformed(
            "crl-entry-extension-duplicated",
            sign(
                edited(
                    revoked,
                    entry_with(
                        _extension(REASON, tlv(0x0A, b"\x01")),
                        _extension(REASON, tlv(0x0A, b"\x01")),
                    ),
                )
            ),
        ),
        Malformed(
            "crl-entry-unknown-critical",
            sign(edited(revoked, entry_with(_extension(UNKNOWN, b"\x05\x00", critical=True)))),
        ),
        Malformed(
            "crl-extension-duplicated",
            sign(edited(extensions_at, crl_extensions_with(crl_extensions[0]))),
        ),
        Malformed(
            "crl-number-garbage",
            sign(edited(extensions_at, (0xA0, tlv(SEQ, tlv(*_extension(CRL_NUMBER, b"\x02")))))),
        ),
        Malformed(
            "crl-extension-unknown-critical",
            sign(
                edited(
                    extensions_at,
                    crl_extensions_with(_extension(UNKNOWN, b"\x05\x00", critical=True)),
                )
            ),
        ),
        Malformed("crl-this-update-garbage", sign(edited(3, (0x17, b"99999999")))),
        Malformed("crl-revoked-empty", sign(edited(revoked, (SEQ, b"")))),
        Malformed(
            "crl-signature-algorithm-unknown",
            sign(edited(1, (SEQ, _oid(UNKNOWN))), tlv(SEQ, _oid(UNKNOWN))),
        ),
    ]
    rng = random.Random(seed)
    for n in range(mutations):
        items = list(base)
        at = rng.randrange(len(items))
        tag, value = items[at]
        data = bytearray(value)
        for _ in range(rng.randint(1, 3)):
            if data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        items[at] = (tag, bytes(data))
        out.append(Malformed(f"crl-mutation-{n}", sign(items)))
    return out
