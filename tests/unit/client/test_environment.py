"""What the helper takes from its environment: the endpoint, the CA bundle, and key material.

A helper whose ``--endpoint`` was forgotten must not send its signed request to AWS when the
host's AWS tools are pointed at elsewhere (``AWS_ENDPOINT_URL*``); a private CA is trusted
through ``AWS_CA_BUNDLE`` or ``--ca-bundle``; and the certificate and key may come from standard
input (``-``) or an environment variable (``env:NAME``) instead of files.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from elsewhere.client import (
    ClientConfigurationError,
    CreateSessionRefusedError,
    CredentialSourceError,
    EndpointUnreachableError,
    FileCredentialSource,
    HttpAnswer,
    HttpCall,
    Inputs,
    SessionParameters,
    Transport,
    configured_endpoint,
    create_session,
)
from tests.unit.client._fake import FakeCreateSession, FakeServer, private_ca_tls
from tests.unit.client.conftest import ANCHOR, PROFILE, ROLE, Files

_AWS = "https://rolesanywhere.us-east-1.amazonaws.com"


def _recording() -> tuple[list[HttpCall], Transport]:
    seen: list[HttpCall] = []

    def answer(call: HttpCall) -> HttpAnswer:
        seen.append(call)
        return HttpAnswer(403, {}, b'{"message": "stop here"}')

    return seen, answer


def _source(files: Files) -> FileCredentialSource:
    return FileCredentialSource(files.certificate, files.private_key, files.intermediates)


@pytest.mark.parametrize(
    ("case", "endpoint", "environ", "expected"),
    [
        ("ok/no-setting", None, {}, _AWS),
        (
            "ok/flag",
            "http://flag.test",
            {"AWS_ENDPOINT_URL": "http://env.test"},
            "http://flag.test",
        ),
        (
            "ok/service-variable",
            None,
            {
                "AWS_ENDPOINT_URL_ROLESANYWHERE": "http://ra.test:8080",
                "AWS_ENDPOINT_URL": "http://all.test",
            },
            "http://ra.test:8080",
        ),
        ("ok/global-variable", None, {"AWS_ENDPOINT_URL": "https://all.test"}, "https://all.test"),
        (
            "ok/ignored",
            None,
            {"AWS_ENDPOINT_URL": "http://all.test", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            _AWS,
        ),
        ("ok/empty-variable", None, {"AWS_ENDPOINT_URL_ROLESANYWHERE": " "}, _AWS),
    ],
)
def test_endpoint_comes_from_flag_then_environment_then_aws(
    files: Files, case: str, endpoint: str | None, environ: dict[str, str], expected: str
) -> None:
    """--endpoint, else AWS_ENDPOINT_URL_ROLESANYWHERE, else AWS_ENDPOINT_URL, else AWS's."""
    seen, answer = _recording()
    params = SessionParameters(ANCHOR, PROFILE, ROLE, endpoint=endpoint)
    with pytest.raises(CreateSessionRefusedError, match="stop here"):
        create_session(_source(files), params, transport=answer, environ=environ)
    (call,) = seen
    assert call.url.startswith(f"{expected}/sessions?"), call.url
    host = expected.split("://", 1)[1]
    assert {k.lower(): v for k, v in call.headers}["host"] == host


def test_configured_endpoint_names_its_variable() -> None:
    """The service variable wins over the global one, and each says where it came from."""
    both = {"AWS_ENDPOINT_URL_STS": "http://sts.test", "AWS_ENDPOINT_URL": "http://all.test"}
    assert configured_endpoint("STS", both) == ("http://sts.test", "AWS_ENDPOINT_URL_STS")
    assert configured_endpoint("ROLESANYWHERE", both) == ("http://all.test", "AWS_ENDPOINT_URL")
    assert configured_endpoint("ROLESANYWHERE", {}) is None


def test_ca_bundle_from_the_environment_or_the_parameter(
    files: Files, tmp_path: Path, now: dt.datetime
) -> None:
    """A private CA's server is refused, then trusted through AWS_CA_BUNDLE or ca_bundle."""
    context, ca = private_ca_tls(tmp_path, now)
    fake = FakeCreateSession()
    with FakeServer(fake, tls=context) as server:
        params = SessionParameters(ANCHOR, PROFILE, ROLE, endpoint=server.url)
        with pytest.raises(EndpointUnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
            create_session(_source(files), params, environ={})
        by_environment = create_session(_source(files), params, environ={"AWS_CA_BUNDLE": str(ca)})
        assert by_environment.access_key_id.startswith("ASIA")
        by_parameter = dataclasses.replace(params, ca_bundle=str(ca))
        assert create_session(_source(files), by_parameter, environ={}).access_key_id
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("fail/missing", None, "not found"),
        ("fail/not-pem", b"no certificates here", "holds no usable PEM certificates"),
    ],
)
def test_bad_ca_bundle_is_a_configuration_error(
    files: Files, tmp_path: Path, case: str, content: bytes | None, message: str
) -> None:
    """A CA bundle that is absent or holds no certificate is named before any request."""
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_bytes(content)
    params = SessionParameters(ANCHOR, PROFILE, ROLE, endpoint="https://127.0.0.1:1")
    with pytest.raises(ClientConfigurationError, match=message):
        create_session(_source(files), params, environ={"AWS_CA_BUNDLE": str(bundle)})


def _stdin(data: bytes) -> Inputs:
    return Inputs(stdin=lambda: data, environ={})


def test_certificate_key_and_chain_from_standard_input(files: Files) -> None:
    """'-' for all three: the first certificate is the leaf, the rest the chain, then the key."""
    leaf = files.certificate.read_bytes()
    data = leaf + files.intermediates.read_bytes() + files.private_key.read_bytes()
    identity = FileCredentialSource("-", "-", "-", inputs=_stdin(data)).load()
    assert identity.certificate == files.chain.leaf
    assert identity.intermediates == tuple(files.chain.intermediates)
    alone = FileCredentialSource("-", "-", inputs=_stdin(leaf + files.private_key.read_bytes()))
    assert alone.load().intermediates == ()


def test_standard_input_is_read_once(files: Files) -> None:
    """Every flag that names '-' shares one read; a second load reads nothing more."""
    reads: list[int] = []
    data = files.certificate.read_bytes() + files.private_key.read_bytes()

    def stdin() -> bytes:
        reads.append(1)
        return data

    source = FileCredentialSource("-", "-", inputs=Inputs(stdin=stdin, environ={}))
    source.load()
    source.load()
    assert reads == [1]


def test_certificate_and_key_from_environment_variables(files: Files, tmp_path: Path) -> None:
    """env:NAME holds PEM text, or base64 of DER; a PKCS#12 bundle stands alone."""
    key_der = files.chain.leaf_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    environ = {
        "CERT": files.certificate.read_text(),
        "KEY_DER": base64.b64encode(key_der).decode(),
        "CHAIN": files.intermediates.read_text(),
        "BUNDLE": base64.encodebytes(
            pkcs12.serialize_key_and_certificates(
                b"w",
                files.chain.leaf_key,
                files.chain.leaf,
                None,
                serialization.NoEncryption(),
            )
        ).decode(),
    }
    inputs = Inputs(stdin=lambda: b"", environ=environ)
    pem = FileCredentialSource("env:CERT", "env:KEY_DER", "env:CHAIN", inputs=inputs).load()
    assert pem.certificate == files.chain.leaf
    assert pem.intermediates == tuple(files.chain.intermediates)
    bundle = FileCredentialSource("env:BUNDLE", inputs=inputs).load()
    assert bundle.certificate == files.chain.leaf


@pytest.mark.parametrize(
    ("case", "certificate", "environ", "stdin", "message"),
    [
        ("fail/unset", "env:NOPE", {}, b"", "environment variable NOPE is not set"),
        ("fail/garbage", "env:BAD", {"BAD": "%%%"}, b"", "holds neither PEM nor base64"),
        ("fail/empty-stdin", "-", {}, b"", "standard input is empty"),
        (
            "fail/not-a-certificate",
            "-",
            {},
            b"-----BEGIN JUNK-----\nAAAA\n-----END JUNK-----\n",
            "certificate on standard input holds no valid PEM or DER X.509 certificate",
        ),
    ],
)
def test_unusable_inputs_say_where_they_looked(
    files: Files,
    case: str,
    certificate: str,
    environ: dict[str, str],
    stdin: bytes,
    message: str,
) -> None:
    """A missing variable, garbage or empty standard input is one clear error naming its place."""
    inputs = Inputs(stdin=lambda: stdin, environ=environ)
    source = FileCredentialSource(certificate, files.private_key, inputs=inputs)
    with pytest.raises(CredentialSourceError, match=message):
        source.load()
