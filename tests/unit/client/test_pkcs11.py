"""PKCS#11 keys and certificates through SoftHSM2, and RFC 7512 URI parsing.

The SoftHSM2 tests need ``softhsm2-util`` and ``libsofthsm2.so`` (Debian/Ubuntu: ``apt-get install
softhsm2``); without them they are skipped with that reason.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.cli._client import helper
from elsewhere.client import (
    CredentialSourceError,
    SessionParameters,
    build_credential_source,
    create_session,
)
from elsewhere.client._pkcs11 import parse_pkcs11_uri
from elsewhere.pki import Chain, quick_chain
from tests.unit.client._fake import FakeCreateSession, FakeServer
from tests.unit.client.conftest import ANCHOR, PROFILE, ROLE

PIN = "1234"
MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@pytest.mark.parametrize(
    ("uri", "path", "object_id", "query"),
    [
        pytest.param("pkcs11:", {}, None, {}, id="ok/empty"),
        pytest.param(
            "pkcs11:token=My%20Token;object=leaf;type=private?pin-value=1234",
            {"token": "My Token", "object": "leaf", "type": "private"},
            None,
            {"pin-value": "1234"},
            id="ok/token-object-pin",
        ),
        pytest.param(
            "pkcs11:id=%01%ff;serial=abc?module-path=/usr/lib/x.so&pin-source=file:/p",
            {"serial": "abc"},
            b"\x01\xff",
            {"module-path": "/usr/lib/x.so", "pin-source": "file:/p"},
            id="ok/id-bytes-module-path",
        ),
    ],
)
def test_parse_pkcs11_uri(
    uri: str, path: dict[str, str], object_id: bytes | None, query: dict[str, str]
) -> None:
    """RFC 7512 path attributes (id as bytes, percent-decoded) and query attributes."""
    parsed = parse_pkcs11_uri(uri)
    assert (parsed.path, parsed.object_id, parsed.query) == (path, object_id, query)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param("file:/x", "not a PKCS#11 URI", id="fail/scheme"),
        pytest.param("pkcs11:colour=red", "unknown path attribute", id="fail/unknown"),
        pytest.param("pkcs11:object=a;object=b", "repeats", id="fail/repeat"),
        pytest.param("pkcs11:type=secret-key", "not supported", id="fail/type"),
        pytest.param("pkcs11:?pin-value", "has no value", id="fail/query"),
    ],
)
def test_parse_pkcs11_uri_failures(uri: str, message: str) -> None:
    """Malformed URIs are refused with a reason."""
    with pytest.raises(CredentialSourceError, match=message):
        parse_pkcs11_uri(uri)


def _module() -> str | None:
    return next((m for m in MODULE_CANDIDATES if Path(m).exists()), None)


softhsm = pytest.mark.skipif(
    shutil.which("softhsm2-util") is None or _module() is None,
    reason="SoftHSM2 not installed (apt-get install softhsm2): PKCS#11 tests skipped",
)


@dataclass(frozen=True)
class Token:
    """A SoftHSM2 token with an RSA key+certificate (id 01) and a P-384 key (id 02)."""

    module: str
    rsa: Chain
    ec: Chain
    ec_certificate: Path


def _pkcs8(chain: Chain, path: Path) -> Path:
    path.write_bytes(
        chain.leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """Initialise a SoftHSM2 token in a temporary directory and load keys and a certificate."""
    if shutil.which("softhsm2-util") is None or _module() is None:
        pytest.skip("SoftHSM2 not installed (apt-get install softhsm2)")
    module = _module()
    assert module is not None
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    now = dt.datetime.now(dt.UTC)
    rsa_chain = quick_chain(now, "rsa2048")
    ec_chain = quick_chain(now, "p384")
    util = ["softhsm2-util"]
    subprocess.run(
        [*util, "--init-token", "--free", "--label", "elsewhere", "--pin", PIN, "--so-pin", "5678"],
        check=True,
        capture_output=True,
    )
    for chain, label, key_id in ((rsa_chain, "rsa-leaf", "01"), (ec_chain, "ec-leaf", "02")):
        subprocess.run(
            [
                *util,
                "--import",
                str(_pkcs8(chain, base / f"{label}.key")),
                "--token",
                "elsewhere",
                "--label",
                label,
                "--id",
                key_id,
                "--pin",
                PIN,
            ],
            check=True,
            capture_output=True,
        )
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    lib = pkcs11.lib(module)
    lib.reinitialize()  # pick up the token made above even if the module was loaded before
    with lib.get_token(token_label="elsewhere").open(user_pin=PIN, rw=True) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "rsa-leaf",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: rsa_chain.leaf.subject.public_bytes(),
                Attribute.VALUE: rsa_chain.leaf.public_bytes(serialization.Encoding.DER),
            }
        )
    ec_certificate = base / "ec-leaf.pem"
    ec_certificate.write_bytes(ec_chain.leaf.public_bytes(serialization.Encoding.PEM))
    yield Token(module=module, rsa=rsa_chain, ec=ec_chain, ec_certificate=ec_certificate)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@softhsm
def test_rsa_key_and_certificate_from_the_token(
    token: Token, fake: FakeCreateSession, params: SessionParameters
) -> None:
    """Certificate and key both from the token: the signature verifies at the server."""
    uri = f"pkcs11:token=elsewhere;object=rsa-leaf?pin-value={PIN}"
    source = build_credential_source(certificate=uri, pkcs11_lib=token.module)
    identity = source.load()
    assert identity.certificate == token.rsa.leaf
    credentials = create_session(source, params)
    assert credentials.access_key_id == "ASIAFAKE00000001"
    assert fake.requests[0].verified
    assert fake.requests[0].headers["authorization"].startswith("AWS4-X509-RSA-SHA256 ")


@softhsm
def test_p384_key_in_token_with_certificate_file(
    token: Token, fake: FakeCreateSession, params: SessionParameters
) -> None:
    """Hybrid: certificate file, P-384 key in the token by id; ECDSA-SHA256 verifies."""
    source = build_credential_source(
        certificate=str(token.ec_certificate),
        private_key=f"pkcs11:token=elsewhere;id=%02?pin-value={PIN}&module-path={token.module}",
    )
    create_session(source, params)
    assert fake.requests[0].verified
    assert fake.requests[0].headers["authorization"].startswith("AWS4-X509-ECDSA-SHA256 ")


@softhsm
@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param(
            "pkcs11:token=elsewhere;object=rsa-leaf?pin-value=0000", "wrong PIN", id="fail/pin"
        ),
        pytest.param("pkcs11:token=nope?pin-value=1234", "no PKCS#11 token", id="fail/token"),
        pytest.param(
            "pkcs11:token=elsewhere;object=absent?pin-value=1234",
            "no certificate",
            id="fail/object",
        ),
    ],
)
def test_token_failures(token: Token, uri: str, message: str) -> None:
    """Wrong PIN, unknown token and unknown object each give a clear error."""
    import pkcs11

    # Log out every session first: PKCS#11 login is per process, and a logged-in process is
    # never asked for the PIN again.
    pkcs11.lib(token.module).reinitialize()
    source = build_credential_source(certificate=uri, pkcs11_lib=token.module)
    with pytest.raises(CredentialSourceError, match=message):
        source.load()


@softhsm
def test_cli_with_token(token: Token, server: FakeServer) -> None:
    """credential-process and read-certificate-data accept pkcs11: URIs with --pkcs11-lib."""
    uri = f"pkcs11:token=elsewhere;object=rsa-leaf?pin-value={PIN}"
    common = ["--certificate", uri, "--pkcs11-lib", token.module]
    args = [*common, "--trust-anchor-arn", ANCHOR, "--profile-arn", PROFILE, "--role-arn", ROLE]
    result = CliRunner().invoke(helper, ["credential-process", *args, "--endpoint", server.url])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"] == "ASIAFAKE00000001"
    result = CliRunner().invoke(helper, ["read-certificate-data", *common])
    fingerprint = token.rsa.leaf.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (identifier)
    assert result.stdout.splitlines() == [
        "Matching identities",
        f'1) {fingerprint} "{token.rsa.leaf.subject.rfc4514_string()}"',
        "\tURI: pkcs11:token=elsewhere;object=rsa-leaf;id=%01;type=cert",
    ]


@softhsm
# python-pkcs11 finalises the dead session's search context in __del__, which raises (ignored).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_source_reopens_its_session_after_a_module_reset(token: Token) -> None:
    """A dead session (module reset, token reinserted) is replaced at the next load()."""
    import pkcs11

    uri = f"pkcs11:token=elsewhere;object=rsa-leaf?pin-value={PIN}"
    source = build_credential_source(certificate=uri, pkcs11_lib=token.module)
    source.load()
    pkcs11.lib(token.module).reinitialize()
    identity = source.load()
    assert identity.certificate == token.rsa.leaf
    assert identity.private_key.sign(b"x", *_rsa_args()) != b""


def _rsa_args() -> tuple[object, object]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


_attr_values = st.text(min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    token_label=_attr_values,
    label=_attr_values,
    object_id=st.binary(min_size=1, max_size=8),
    pin=_attr_values,
)
def test_parse_pkcs11_uri_round_trip(
    token_label: str, label: str, object_id: bytes, pin: str
) -> None:
    """Property: percent-encoded attribute values (any text, any id bytes) parse back exactly."""

    def enc(value: bytes) -> str:
        return quote_from_bytes(value, safe="")

    uri = (
        f"pkcs11:token={enc(token_label.encode())};object={enc(label.encode())};"
        f"id={enc(object_id)}?pin-value={enc(pin.encode())}"
    )
    parsed = parse_pkcs11_uri(uri)
    assert parsed.path == {"token": token_label, "object": label}
    assert parsed.object_id == object_id
    assert parsed.query == {"pin-value": pin}
