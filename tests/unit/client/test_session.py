"""CreateSession from the client: the known answer, the request's shape, and every failure path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import ssl
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.client import (
    ClientConfigurationError,
    CreateSessionRefusedError,
    EndpointUnreachableError,
    FileCredentialSource,
    HttpAnswer,
    HttpCall,
    SessionParameters,
    SigningIdentity,
    create_session,
    default_endpoint,
    format_credential_process,
    load_certificate,
    load_private_key,
    parse_create_session_response,
    resolve_region,
    sign_create_session_request,
)
from tests.unit.client._fake import FakeCreateSession, FakeServer
from tests.unit.client.conftest import ANCHOR, PROFILE, ROLE, Files

KAT_DIR = Path(__file__).parents[2] / "data" / "sigv4-x509" / "salrashid123-example"


def _kat() -> dict[str, object]:
    vectors = json.loads((KAT_DIR / "kat.json").read_text())["vectors"]
    return next(v for v in vectors if v["id"] == "salrashid123-rsa")


def _source(files: Files, *, intermediates: bool = True) -> FileCredentialSource:
    return FileCredentialSource(
        certificate_path=files.certificate,
        private_key_path=files.private_key,
        intermediates_path=files.intermediates if intermediates else None,
    )


def test_known_answer_rsa_reproduced_byte_for_byte() -> None:
    """The signature AWS's helper made (salrashid123 capture) comes out of our signer unchanged."""
    vector = _kat()
    query = vector["query"]
    assert isinstance(query, dict)
    identity = SigningIdentity(
        certificate=load_certificate(KAT_DIR / str(vector["certificate_file"])),
        private_key=load_private_key(KAT_DIR / str(vector["private_key_file"])),
    )
    signed = sign_create_session_request(
        identity,
        trust_anchor_arn=query["trustAnchorArn"],
        profile_arn=query["profileArn"],
        role_arn=query["roleArn"],
        host="127.0.0.1:8080",
        region=str(vector["region"]),
        now=dt.datetime(2024, 7, 6, 11, 38, 59, tzinfo=dt.UTC),
    )
    assert signed.header("Authorization") == vector["expected_authorization"]
    assert signed.body == str(vector["body"]).encode()
    headers = vector["headers"]
    assert isinstance(headers, dict)
    assert signed.header("X-Amz-X509") == headers["x-amz-x509"]
    assert signed.header("X-Amz-X509-Chain") is None


def test_known_answer_with_role_session_name_changes_only_the_body() -> None:
    """A role session name goes in the body after durationSeconds, compact JSON."""
    vector = _kat()
    identity = SigningIdentity(
        certificate=load_certificate(KAT_DIR / str(vector["certificate_file"])),
        private_key=load_private_key(KAT_DIR / str(vector["private_key_file"])),
    )
    signed = sign_create_session_request(
        identity,
        trust_anchor_arn=ANCHOR,
        profile_arn=PROFILE,
        role_arn=ROLE,
        host="h",
        region="us-east-1",
        now=dt.datetime(2024, 7, 6, tzinfo=dt.UTC),
        session_duration=900,
        role_session_name="alice",
    )
    assert signed.body == b'{"durationSeconds":900,"roleSessionName":"alice"}'


def test_create_session_returns_credentials_from_a_verifying_server(
    files: Files, fake: FakeCreateSession, params: SessionParameters
) -> None:
    """A signed request verifies at the server; the 201 answer becomes credentials."""
    credentials = create_session(_source(files), params)
    assert credentials.access_key_id == "ASIAFAKE00000001"
    assert credentials.secret_access_key == "secret-1"
    assert credentials.session_token == "token-1"
    assert credentials.role_arn == "arn:aws:iam::123456789012:role/demo"
    assert credentials.expiration > dt.datetime.now(dt.UTC)
    assert "secret" not in repr(credentials)
    (received,) = fake.requests
    assert received.verified
    assert received.path == "/sessions"
    assert parse_qs(received.query) == {
        "profileArn": [PROFILE],
        "roleArn": [ROLE],
        "trustAnchorArn": [ANCHOR],
    }
    assert received.body == b'{"durationSeconds":3600}'
    assert received.headers["content-type"] == "application/json"
    assert received.chain_length == 1
    signed_headers = received.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert signed_headers == "content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain"


def test_credential_process_json_is_compact_and_ordered(
    files: Files, params: SessionParameters
) -> None:
    """The credential_process document: Version 1, five keys, compact, expiration verbatim."""
    credentials = create_session(_source(files), params)
    text = format_credential_process(credentials)
    assert text.startswith('{"Version":1,"AccessKeyId":"ASIAFAKE00000001","SecretAccessKey"')
    assert " " not in text
    assert not text.endswith("\n")
    assert json.loads(text)["Expiration"] == credentials.expiration_text


def test_endpoint_path_prefix_is_sent_but_sessions_is_signed(
    files: Files, fake: FakeCreateSession, server: FakeServer
) -> None:
    """--endpoint http://h/ra sends to /ra/sessions but signs /sessions, as AWS's helper does."""
    params = SessionParameters(
        trust_anchor_arn=ANCHOR, profile_arn=PROFILE, role_arn=ROLE, endpoint=server.url + "/ra/"
    )
    with pytest.raises(CreateSessionRefusedError, match="Invalid signature"):
        create_session(_source(files), params)
    assert fake.requests[0].path == "/ra/sessions"


def test_retries_on_503_then_succeeds(
    files: Files, fake: FakeCreateSession, params: SessionParameters
) -> None:
    """A 503 is retried (up to three attempts, each re-signed), like the SDK's standard retryer."""
    fake.fail_next = 2
    credentials = create_session(_source(files), params)
    assert credentials.access_key_id == "ASIAFAKE00000001"
    assert len(fake.requests) == 3
    assert all(r.verified for r in fake.requests)


@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        pytest.param(
            (403, "AccessDeniedException", "Untrusted signing certificate"),
            "HTTP 403, AccessDeniedException: Untrusted signing certificate",
            id="fail/untrusted",
        ),
        pytest.param(
            (403, "AccessDeniedException", "Unable to assume role for " + ROLE + "."),
            "Unable to assume role for " + ROLE,
            id="fail/trust-policy",
        ),
        pytest.param(
            (400, "ValidationException", "1 validation error detected"),
            "HTTP 400, ValidationException: 1 validation error detected",
            id="fail/validation",
        ),
    ],
)
def test_server_refusal_reaches_the_user(
    files: Files,
    fake: FakeCreateSession,
    params: SessionParameters,
    refusal: tuple[int, str, str],
    expected: str,
) -> None:
    """The AWS error code and message end up in the exception's message."""
    fake.refuse = refusal
    with pytest.raises(CreateSessionRefusedError) as caught:
        create_session(_source(files), params)
    assert expected in caught.value.message
    assert caught.value.aws_code == refusal[1]
    assert caught.value.http_status == refusal[0]


def test_untrusted_certificate_is_refused(
    files: Files, fake: FakeCreateSession, params: SessionParameters, now: dt.datetime
) -> None:
    """The fake trusts another leaf: the refusal text is AWS's."""
    from elsewhere.pki import quick_chain

    fake.trusted_leaves.append(quick_chain(now, "p256").leaf)
    with pytest.raises(CreateSessionRefusedError, match="Untrusted signing certificate"):
        create_session(_source(files), params)


def test_server_unreachable_is_a_clear_error(files: Files) -> None:
    """Nothing listens: EndpointUnreachableError names the endpoint, after three attempts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = SessionParameters(
        trust_anchor_arn=ANCHOR,
        profile_arn=PROFILE,
        role_arn=ROLE,
        endpoint=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(EndpointUnreachableError, match=f"127.0.0.1:{port}"):
        create_session(_source(files), params)


@pytest.mark.parametrize(
    ("anchor", "profile", "role", "region", "expected"),
    [
        pytest.param(ANCHOR, PROFILE, ROLE, None, "us-east-1", id="ok/anchor-region"),
        pytest.param(ANCHOR, PROFILE, ROLE, "eu-west-1", "eu-west-1", id="ok/region-flag"),
        pytest.param(
            "arn:aws:rolesanywhere:eu-west-1:123456789012:alias/trust-anchor/prod/eu",
            "arn:aws:rolesanywhere:eu-west-1:123456789012:alias/profile/web",
            ROLE,
            None,
            "eu-west-1",
            id="ok/alias-arns",
        ),
        pytest.param(
            ANCHOR,
            ANCHOR.replace(":trust-anchor/", ":alias/trust-anchor/"),
            ROLE,
            None,
            "--profile-arn",
            id="fail/profile-is-an-anchor-alias",
        ),
        pytest.param(
            ANCHOR,
            PROFILE,
            ROLE.replace(":role/", ":alias/role/"),
            None,
            "--role-arn",
            id="fail/role-alias",
        ),
        pytest.param(
            ANCHOR.replace("us-east-1", "eu-west-1"),
            PROFILE,
            ROLE,
            None,
            "same region",
            id="fail/region-mismatch",
        ),
        pytest.param(
            "arn:aws:iam::1:role/x", PROFILE, ROLE, None, "--trust-anchor-arn", id="fail/anchor"
        ),
        pytest.param(ANCHOR, ANCHOR, ROLE, None, "--profile-arn", id="fail/profile"),
        pytest.param(ANCHOR, PROFILE, PROFILE, None, "--role-arn", id="fail/role"),
    ],
)
def test_resolve_region(
    anchor: str, profile: str, role: str, region: str | None, expected: str
) -> None:
    """The region comes from --region or the trust anchor; bad or mismatched ARNs are refused."""
    params = SessionParameters(
        trust_anchor_arn=anchor, profile_arn=profile, role_arn=role, region=region
    )
    if expected.endswith("-1"):
        assert resolve_region(params) == expected
    else:
        with pytest.raises(ClientConfigurationError, match=expected):
            resolve_region(params)


def test_default_endpoint_follows_the_partition() -> None:
    """aws → amazonaws.com, aws-cn → amazonaws.com.cn."""
    assert default_endpoint(ANCHOR, "us-east-1") == "https://rolesanywhere.us-east-1.amazonaws.com"
    china = ANCHOR.replace("arn:aws:", "arn:aws-cn:")
    assert default_endpoint(china, "cn-north-1").endswith(".amazonaws.com.cn")


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        pytest.param(
            403,
            {},
            b'{"__type":"x#AccessDeniedException","Message":"m"}',
            "AccessDeniedException: m",
            id="fail/type-in-body",
        ),
        pytest.param(
            403,
            {"x-amzn-ErrorType": "AccessDeniedException:http://x"},
            b'{"message":"m"}',
            "AccessDeniedException: m",
            id="fail/type-header-suffix",
        ),
        pytest.param(502, {}, b"<html>bad gateway</html>", "HTTP 502: <html>", id="fail/not-json"),
        pytest.param(201, {}, b'{"credentialSet":[]}', "empty credentialSet", id="fail/empty-set"),
        pytest.param(201, {}, b"nope", "not JSON", id="fail/2xx-not-json"),
    ],
)
def test_parse_create_session_errors(
    status: int, headers: dict[str, str], body: bytes, expected: str
) -> None:
    """Error decoding as aws-sdk-go-v2: header type, then body __type/code; message any case."""
    with pytest.raises(CreateSessionRefusedError) as caught:
        parse_create_session_response(status, httpx.Headers(headers), body)
    assert expected in caught.value.message


@settings(max_examples=60, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=15), inner, max_size=4)
            ),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode()),
    ),
)
def test_response_parser_never_crashes(status: int, body: bytes) -> None:
    """Property: any answer yields credentials or CreateSessionRefusedError, nothing else."""
    refusal = ""
    try:
        credentials = parse_create_session_response(status, httpx.Headers({}), body)
    except CreateSessionRefusedError as exc:
        refusal = exc.message
    if refusal:
        assert refusal.startswith(("CreateSession", "unable to obtain"))
    else:
        assert 200 <= status < 300
        assert credentials.expiration.tzinfo is not None


def _tls_context(tmp_path: Path, now: dt.datetime) -> ssl.SSLContext:
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from elsewhere.pki import issue_certificate, quick_chain

    root = quick_chain(now, "p256").root_ca
    server = issue_certificate(
        root,
        now=now,
        subject="CN=127.0.0.1",
        sans=["ip:127.0.0.1"],
        extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
    )
    cert = tmp_path / "server.pem"
    key = tmp_path / "server.key"
    cert.write_bytes(server.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        server.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_tls_verification_and_no_verify_ssl(
    tmp_path: Path, files: Files, fake: FakeCreateSession, now: dt.datetime
) -> None:
    """An untrusted server certificate fails; --no-verify-ssl accepts it."""
    with FakeServer(fake, tls=_tls_context(tmp_path, now)) as tls_server:
        params = SessionParameters(
            trust_anchor_arn=ANCHOR,
            profile_arn=PROFILE,
            role_arn=ROLE,
            endpoint=tls_server.url,
        )
        with pytest.raises(EndpointUnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
            create_session(_source(files), params)
        insecure = dataclasses.replace(params, verify_ssl=False)
        assert create_session(_source(files), insecure).access_key_id.startswith("ASIA")


def test_proxies_come_from_the_environment_only_with_with_proxy(
    files: Files, params: SessionParameters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY is ignored unless --with-proxy; then the (dead) proxy is used."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert create_session(_source(files), params).access_key_id.startswith("ASIA")
    with pytest.raises(EndpointUnreachableError):
        create_session(_source(files), dataclasses.replace(params, with_proxy=True))


def _mldsa_files(tmp_path: Path, now: dt.datetime) -> Files:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import mldsa

    from elsewhere.pki import quick_chain

    root = quick_chain(now, "p256")
    key = mldsa.MLDSA65PrivateKey.generate()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=ml-dsa workload"))
        .issuer_name(root.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(root.root_key, hashes.SHA256())
    )
    certificate = tmp_path / "ml.pem"
    private_key = tmp_path / "ml.key"
    certificate.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    return Files(root, certificate, private_key, empty)


@pytest.mark.parametrize("key_type", ["rsa2048", "p256", "p384", "p521", "ml-dsa-65"])
def test_every_key_type_signs_a_verifying_request(
    tmp_path: Path,
    fake: FakeCreateSession,
    params: SessionParameters,
    now: dt.datetime,
    key_type: str,
) -> None:
    """RSA, EC on every curve (SHA-256 always) and ML-DSA requests verify at the server."""
    from elsewhere.pki import quick_chain
    from tests.unit.client.conftest import write_files

    if key_type == "ml-dsa-65":
        files = _mldsa_files(tmp_path, now)
    else:
        files = write_files(tmp_path, quick_chain(now, key_type))
    create_session(_source(files, intermediates=False), params)
    (received,) = fake.requests
    assert received.verified
    expected = {"r": "AWS4-X509-RSA-SHA256", "p": "AWS4-X509-ECDSA-SHA256", "m": "AWS4-X509-MLDSA"}
    assert received.headers["authorization"].startswith(expected[key_type[0]] + " ")


@pytest.mark.parametrize(
    ("region", "use_fips", "host", "scope_region"),
    [
        pytest.param(
            None, False, "rolesanywhere.us-east-1.amazonaws.com", "us-east-1", id="ok/plain"
        ),
        pytest.param(
            None, True, "rolesanywhere-fips.us-east-1.amazonaws.com", "us-east-1", id="ok/flag"
        ),
        pytest.param(
            "us-east-1-fips",
            False,
            "rolesanywhere-fips.us-east-1.amazonaws.com",
            "us-east-1",
            id="ok/suffix-microformat",
        ),
        pytest.param(
            "fips-us-east-1",
            False,
            "rolesanywhere-fips.us-east-1.amazonaws.com",
            "us-east-1",
            id="ok/prefix-microformat",
        ),
    ],
)
def test_default_and_fips_endpoints(
    files: Files, region: str | None, use_fips: bool, host: str, scope_region: str
) -> None:
    """The regional (or FIPS) host is used; a FIPS region never reaches the signing scope."""
    seen: list[HttpCall] = []

    def answer(call: HttpCall) -> HttpAnswer:
        seen.append(call)
        return HttpAnswer(403, {}, b'{"message": "stop here"}')

    params = SessionParameters(
        trust_anchor_arn=ANCHOR,
        profile_arn=PROFILE,
        role_arn=ROLE,
        region=region,
        use_fips_endpoint=use_fips,
    )
    with pytest.raises(CreateSessionRefusedError, match="stop here"):
        create_session(_source(files), params, transport=answer, environ={})
    (call,) = seen
    assert call.url.startswith(f"https://{host}/sessions?")
    headers = {name.lower(): value for name, value in call.headers}
    assert headers["host"] == host
    assert f"/{scope_region}/rolesanywhere/aws4_request" in headers["authorization"]
