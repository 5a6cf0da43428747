"""``elsewhere server`` as a process: first start, settings, shutdown, authentication, limits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import ssl
import stat
import subprocess
import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from elsewhere.pki import issue_certificate, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_hmac_request
from tests.conftest import ELSEWHERE, ServerProcess, free_port, start_server

pytestmark = pytest.mark.integration


def _signed(
    server: ServerProcess,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    now: dt.datetime | None = None,
    secret: str | None = None,
    key: str | None = None,
    service: str = "rolesanywhere",
    region: str | None = None,
) -> httpx.Response:
    """Send a hand-made request signed with the root key (or the given one)."""
    admin_key, admin_secret = server.admin_keys()
    request = HttpRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=(("host", f"127.0.0.1:{server.port}"), *headers),
        body=body,
    )
    signed = sign_hmac_request(
        request,
        access_key_id=key or admin_key,
        secret_access_key=secret or admin_secret,
        region=region or server.region,
        service=service,
        now=now or dt.datetime.now(dt.UTC),
    )
    url = f"{server.endpoint}{path}" + (f"?{query}" if query else "")
    return httpx.request(method, url, headers=list(signed.headers), content=body, timeout=10)


class TestFirstStart:
    """What the server creates on first start."""

    def test_files_and_modes(self, server: ServerProcess) -> None:
        """The master key and admin credentials exist, readable by the owner only."""
        for name in ("master.key", "admin.credentials"):
            mode = stat.S_IMODE((server.data_dir / name).stat().st_mode)
            assert mode == 0o600, name
        key, secret = server.admin_keys()
        assert key.startswith("AKIA")
        assert len(key) == 20
        assert len(secret) == 40

    def test_announces_how_to_use_it(self, server: ServerProcess) -> None:
        """The first lines tell the user how to point the AWS CLI and boto3 at the server."""
        log = server.log()
        assert "AWS_SHARED_CREDENTIALS_FILE=" in log
        assert "boto3" in log
        _, secret = server.admin_keys()
        assert secret not in log

    def test_restart_keeps_state_and_key(self, tmp_path: Path) -> None:
        """A restart reuses the store, the master key and the root key."""
        first = start_server(tmp_path / "data")
        try:
            keys = first.admin_keys()
            tid = first.client("rolesanywhere").create_profile(
                name="kept", roleArns=["arn:aws:iam::123456789012:role/r"]
            )["profile"]["profileId"]
        finally:
            assert first.stop() == 0
        second = start_server(tmp_path / "data")
        try:
            assert second.admin_keys() == keys
            got = second.client("rolesanywhere").get_profile(profileId=tid)
            assert got["profile"]["name"] == "kept"
        finally:
            second.stop()

    def test_wrong_master_key_is_a_clear_error(self, tmp_path: Path) -> None:
        """A store opened with another master.key refuses to start and says why."""
        data = tmp_path / "data"
        first = start_server(data)
        assert first.stop() == 0
        (data / "master.key").write_bytes(base64.b64encode(os.urandom(32)) + b"\n")
        result = subprocess.run(
            [ELSEWHERE, "server", "--port", str(free_port()), "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "does not match the store" in result.stderr
        assert "Traceback" not in result.stderr

    def test_sigint_is_graceful(self, tmp_path: Path) -> None:
        """SIGINT stops the server cleanly, like SIGTERM."""
        handle = start_server(tmp_path / "data")
        assert handle.stop(signal.SIGINT) == 0

    def test_settings_from_environment(self, tmp_path: Path) -> None:
        """ELSEWHERE_ACCOUNT_ID and ELSEWHERE_REGION set the identity of the server."""
        handle = start_server(
            tmp_path / "data",
            env={"ELSEWHERE_ACCOUNT_ID": "210987654321", "ELSEWHERE_REGION": "eu-west-1"},
        )
        handle.region, handle.account_id = "eu-west-1", "210987654321"
        try:
            profile = handle.client("rolesanywhere").create_profile(
                name="env", roleArns=["arn:aws:iam::210987654321:role/r"]
            )["profile"]
            assert profile["profileArn"].startswith("arn:aws:rolesanywhere:eu-west-1:210987654321:")
        finally:
            handle.stop()

    def test_https(self, tmp_path: Path) -> None:
        """With --tls-certificate and --tls-key the server speaks HTTPS only."""
        now = dt.datetime.now(dt.UTC)
        chain = quick_chain(now, "p256")
        tls = issue_certificate(
            chain.root_ca,
            now=now,
            subject="CN=localhost",
            sans=["dns:localhost", "ip:127.0.0.1"],
            extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
        )
        cert = tmp_path / "tls.pem"
        key = tmp_path / "tls.key"
        cert.write_bytes(tls.certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            tls.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ca = tmp_path / "ca.pem"
        ca.write_text(chain.anchor_pem)
        handle = start_server(
            tmp_path / "data",
            args=("--tls-certificate", str(cert), "--tls-key", str(key)),
            scheme="https",
        )
        try:
            client = handle.client("rolesanywhere", verify=str(ca))
            assert client.list_trust_anchors()["trustAnchors"] == []
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{handle.port}/ping", timeout=2)
            # An idle pooled TLS connection must not hold the shutdown for its grace period.
            with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as idle:
                assert idle.get(f"{handle.endpoint}/ping").status_code == 200
                assert handle.stop() == 0
            assert "graceful shutdown exceeded" not in handle.log()
        finally:
            handle.stop()

    def test_region_must_be_a_region_name(self, tmp_path: Path) -> None:
        """A region ARNs could not carry is refused before anything starts."""
        result = subprocess.run(
            [ELSEWHERE, "server", "--region", "local", "--data-dir", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert "--region 'local'" in result.stderr
        assert not (tmp_path / "d").exists()

    def test_bad_flags_are_usage_errors(self, tmp_path: Path) -> None:
        """A TLS certificate without its key is refused before anything starts."""
        cert = tmp_path / "c.pem"
        cert.write_text("x")
        result = subprocess.run(
            [
                str(Path(__import__("sys").executable).parent / "elsewhere"),
                "server",
                "--port",
                str(free_port()),
                "--data-dir",
                str(tmp_path / "d"),
                "--tls-certificate",
                str(cert),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert "--tls-key" in result.stderr


class TestAuthentication:
    """SigV4 failures answered as AWS answers them."""

    def test_ping_is_open_and_says_nothing(self, server: ServerProcess) -> None:
        """/ping needs no signature and returns no data."""
        answer = httpx.get(f"{server.endpoint}/ping")
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}

    def test_unsigned(self, server: ServerProcess) -> None:
        """No signature at all is 403 MissingAuthenticationTokenException."""
        client = boto3.client(
            "rolesanywhere",
            endpoint_url=server.endpoint,
            region_name=server.region,
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError) as exc:
            client.list_trust_anchors()
        assert exc.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
        assert exc.value.response["Error"]["Message"] == "Missing Authentication Token"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    def test_unknown_key(self, server: ServerProcess) -> None:
        """An access key the server never issued is UnrecognizedClientException."""
        client = server.client(
            "rolesanywhere",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        with pytest.raises(ClientError) as exc:
            client.list_trust_anchors()
        err = exc.value.response["Error"]
        assert err["Code"] == "UnrecognizedClientException"
        assert err["Message"] == "The security token included in the request is invalid."
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    def test_wrong_secret(self, server: ServerProcess) -> None:
        """The right key with the wrong secret is InvalidSignatureException."""
        key, _ = server.admin_keys()
        client = server.client("rolesanywhere", aws_secret_access_key="x" * 40)
        with pytest.raises(ClientError) as exc:
            client.list_trust_anchors()
        err = exc.value.response["Error"]
        assert err["Code"] == "InvalidSignatureException"
        assert err["Message"].startswith(
            "The request signature we calculated does not match the signature you provided."
        )
        assert key

    def test_expired_date(self, server: ServerProcess) -> None:
        """A request signed 10 minutes ago is refused with 'Signature expired'."""
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        answer = _signed(server, "GET", "/trustanchors", now=old)
        assert answer.status_code == 403
        assert answer.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
        assert answer.json()["message"].startswith("Signature expired: ")

    def test_wrong_region(self, server: ServerProcess) -> None:
        """A signature scoped to another region is refused."""
        answer = _signed(server, "GET", "/trustanchors", region="eu-central-1")
        assert answer.status_code == 403
        assert answer.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
        assert "eu-central-1" in answer.json()["message"]

    def test_presigned_url(self, server: ServerProcess) -> None:
        """A presigned GET authenticates like a signed header."""
        client = server.client("rolesanywhere")
        url = client.generate_presigned_url("list_trust_anchors", Params={}, ExpiresIn=60)
        answer = httpx.get(url)
        assert answer.status_code == 200, answer.text
        assert "trustAnchors" in answer.json()


class TestBadRequests:
    """Bad input gets a clear 4xx in AWS's format, never a 500."""

    def test_malformed_json(self, server: ServerProcess) -> None:
        """A body that is not JSON is 400 SerializationException."""
        answer = _signed(
            server,
            "POST",
            "/trustanchors",
            b"{not json",
            headers=(("content-type", "application/json"),),
        )
        assert answer.status_code == 400
        assert answer.headers["x-amzn-ErrorType"] == "SerializationException"
        assert answer.headers["x-amzn-RequestId"]

    def test_wrong_json_type(self, server: ServerProcess) -> None:
        """A member of the wrong JSON type is a 400, not a crash."""
        body = json.dumps({"name": 5, "source": "x"}).encode()
        answer = _signed(
            server, "POST", "/trustanchors", body, headers=(("content-type", "application/json"),)
        )
        assert answer.status_code == 400
        assert answer.headers["x-amzn-ErrorType"] in {
            "SerializationException",
            "ValidationException",
        }

    def test_oversized_body(self, server: ServerProcess) -> None:
        """A body above the limit is 413 before it is read whole."""
        body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
        answer = _signed(
            server, "POST", "/trustanchors", body, headers=(("content-type", "application/json"),)
        )
        assert answer.status_code == 413
        assert answer.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"

    def test_unknown_route(self, server: ServerProcess) -> None:
        """A signed request to no operation is a 404 with an error type."""
        answer = _signed(server, "GET", "/no/such/thing")
        assert answer.status_code == 404
        assert answer.headers["x-amzn-ErrorType"]
        assert answer.json()["message"]

    def test_label_with_slash(self, server: ServerProcess) -> None:
        """An id with an encoded slash is matched on the raw path and reported not found."""
        answer = _signed(server, "GET", "/trustanchor/a%2Fb")
        assert answer.status_code in {400, 404}
        assert answer.headers["x-amzn-ErrorType"] in {
            "ValidationException",
            "ResourceNotFoundException",
        }


class TestAwsCli:
    """The AWS CLI works unchanged against the server."""

    def test_create_and_list_trust_anchor(self, server: ServerProcess, tmp_path: Path) -> None:
        """The README's example: create-trust-anchor from a PEM file, then list."""
        chain = quick_chain(dt.datetime.now(dt.UTC), "rsa2048")
        pem = chain.root.public_bytes(serialization.Encoding.PEM).decode()
        name = f"cli-{uuid.uuid4().hex[:8]}"
        created = server.aws(
            "rolesanywhere",
            "create-trust-anchor",
            "--name",
            name,
            "--enabled",
            "--source",
            f"sourceType=CERTIFICATE_BUNDLE,sourceData={{x509CertificateData={pem}}}",
        )
        assert created.returncode == 0, created.stderr
        anchor = json.loads(created.stdout)["trustAnchor"]
        assert anchor["name"] == name
        listed = server.aws("rolesanywhere", "list-trust-anchors")
        assert listed.returncode == 0, listed.stderr
        assert anchor["trustAnchorId"] in {
            a["trustAnchorId"] for a in json.loads(listed.stdout)["trustAnchors"]
        }

    def test_error_reaches_the_user(self, server: ServerProcess) -> None:
        """A 404 is shown by the CLI with AWS's code."""
        result = server.aws("rolesanywhere", "get-profile", "--profile-id", str(uuid.uuid4()))
        assert result.returncode != 0
        assert "ResourceNotFoundException" in result.stderr


class TestAwsCliFlows:
    """A whole configuration made with the AWS CLI alone."""

    def test_profile_crl_tags(self, server: ServerProcess, tmp_path: Path) -> None:
        """create-profile, import-crl from a file, tag-resource, list-tags, delete: all with aws."""
        now = dt.datetime.now(dt.UTC)
        chain = quick_chain(now, "p256")
        pem = chain.anchor_pem
        anchor = server.aws(
            "rolesanywhere",
            "create-trust-anchor",
            "--name",
            f"cli-{uuid.uuid4().hex[:8]}",
            "--source",
            f"sourceType=CERTIFICATE_BUNDLE,sourceData={{x509CertificateData={pem}}}",
        )
        assert anchor.returncode == 0, anchor.stderr
        anchor_arn = json.loads(anchor.stdout)["trustAnchor"]["trustAnchorArn"]
        crl_file = tmp_path / "ca.crl"
        crl_file.write_bytes(chain.crl([7], now=now).public_bytes(serialization.Encoding.DER))
        crl = server.aws(
            "rolesanywhere",
            "import-crl",
            "--name",
            "cli-crl",
            "--trust-anchor-arn",
            anchor_arn,
            "--crl-data",
            f"fileb://{crl_file}",
            "--enabled",
        )
        assert crl.returncode == 0, crl.stderr
        crl_id = json.loads(crl.stdout)["crl"]["crlId"]
        profile = server.aws(
            "rolesanywhere",
            "create-profile",
            "--name",
            "cli-profile",
            "--enabled",
            "--role-arns",
            "arn:aws:iam::123456789012:role/cli",
            "--duration-seconds",
            "900",
        )
        assert profile.returncode == 0, profile.stderr
        profile_arn = json.loads(profile.stdout)["profile"]["profileArn"]
        tagged = server.aws(
            "rolesanywhere",
            "tag-resource",
            "--resource-arn",
            profile_arn,
            "--tags",
            "key=team,value=platform",
        )
        assert tagged.returncode == 0, tagged.stderr
        tags = server.aws("rolesanywhere", "list-tags-for-resource", "--resource-arn", profile_arn)
        assert json.loads(tags.stdout)["tags"] == [{"key": "team", "value": "platform"}]
        deleted = server.aws("rolesanywhere", "delete-crl", "--crl-id", crl_id)
        assert json.loads(deleted.stdout)["crl"]["crlId"] == crl_id

    def test_validation_error_reaches_the_user(self, server: ServerProcess) -> None:
        """A constraint violation is printed with AWS's ValidationException text."""
        result = server.aws(
            "rolesanywhere",
            "create-profile",
            "--name",
            "bad!name",
            "--role-arns",
            "arn:aws:iam::123456789012:role/x",
        )
        assert result.returncode != 0
        assert "ValidationException" in result.stderr
        assert "1 validation error detected" in result.stderr


class TestSlowClients:
    """Clients that send too slowly are cut off with AWS-format answers."""

    def test_trickled_headers_time_out(self, tmp_path: Path) -> None:
        """Headers not complete within --request-timeout get 408 and the connection closes."""
        import socket
        import time

        handle = start_server(tmp_path / "data", args=("--request-timeout", "1"))
        try:
            with socket.create_connection(("127.0.0.1", handle.port), timeout=10) as sock:
                sock.sendall(b"GET /trustanchors HTTP/1.1\r\nHost: x\r\n")  # never finished
                started = time.monotonic()
                data = b""
                while chunk := sock.recv(4096):
                    data += chunk
                waited = time.monotonic() - started
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 ")
            assert b"x-amzn-errortype: RequestTimeoutException" in head
            assert b"x-amzn-requestid: " in head
            assert json.loads(body)["message"].startswith("The request headers were not received")
            assert waited < 9  # cut off by the server, not by this test's socket timeout
            assert httpx.get(f"{handle.endpoint}/ping").status_code == 200
        finally:
            handle.stop()

    def test_stalled_body_times_out(self, tmp_path: Path) -> None:
        """A body that stops arriving gets 408 RequestTimeoutException from the gateway."""
        import socket

        handle = start_server(tmp_path / "data", args=("--request-timeout", "1"))
        try:
            with socket.create_connection(("127.0.0.1", handle.port), timeout=10) as sock:
                sock.sendall(
                    b"POST /trustanchors HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
                )
                data = b""
                while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
                    data += chunk
            assert data.startswith(b"HTTP/1.1 408 ")
            assert b"requesttimeoutexception" in data.lower()
        finally:
            handle.stop()
