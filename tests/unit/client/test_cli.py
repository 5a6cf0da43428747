"""The helper's commands from the command line: output, flags, and failures without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from elsewhere import __version__
from elsewhere.cli._client import helper
from tests.unit.client._fake import FAKE_REQUEST_ID, FakeCreateSession, FakeServer
from tests.unit.client.conftest import ANCHOR, PROFILE, ROLE, Files


def _args(files: Files, server: FakeServer, *extra: str) -> list[str]:
    return [
        "--certificate",
        str(files.certificate),
        "--private-key",
        str(files.private_key),
        "--intermediates",
        str(files.intermediates),
        "--trust-anchor-arn",
        ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        server.url,
        *extra,
    ]


def _run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(helper, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_credential_process_prints_only_the_json(files: Files, server: FakeServer) -> None:
    """stdout is exactly the credential_process document, even with --debug."""
    code, out, err = _run("credential-process", *_args(files, server, "--debug"))
    assert code == 0, err
    document = json.loads(out)
    assert document["Version"] == 1
    assert document["AccessKeyId"] == "ASIAFAKE00000001"
    assert set(document) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    assert "CreateSession" in err  # the debug log went to stderr


def test_role_session_name_and_duration_reach_the_body(
    files: Files, fake: FakeCreateSession, server: FakeServer
) -> None:
    """--session-duration and --role-session-name end up in the signed JSON body."""
    args = _args(files, server, "--session-duration", "900", "--role-session-name", "alice")
    code, _, err = _run("credential-process", *args)
    assert code == 0, err
    assert fake.requests[0].body == b'{"durationSeconds":900,"roleSessionName":"alice"}'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"--certificate": "/nonexistent.pem"}, "not found", id="fail/missing-cert"),
        pytest.param({"--private-key": "/nonexistent.key"}, "not found", id="fail/missing-key"),
        pytest.param(
            {"--trust-anchor-arn": ANCHOR.replace("us-east-1", "eu-west-1")},
            "same region",
            id="fail/region-mismatch",
        ),
        pytest.param({"--role-arn": ""}, "--role-arn is required", id="fail/no-role"),
        pytest.param(
            {"--cert-selector": "Key=x509Subject,Value=CN=x"}, "cannot be used", id="fail/exclusive"
        ),
        pytest.param({"--session-duration": "50000"}, "900 and 43200", id="fail/duration"),
    ],
)
def test_failures_are_one_line_on_stderr(
    files: Files, server: FakeServer, change: dict[str, str], message: str
) -> None:
    """Bad flags and files: exit 1, a clear message on stderr, nothing on stdout, no traceback."""
    args = _args(files, server)
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    code, out, err = _run("credential-process", *args)
    assert code == 1
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_wrong_key_password_and_mismatch(tmp_path: Path, files: Files, server: FakeServer) -> None:
    """An encrypted key with a wrong password, and a key of another certificate, fail clearly."""
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        files.chain.leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right"),
        )
    )
    args = _args(files, server)
    args[args.index("--private-key") + 1] = str(encrypted)
    code, _, err = _run("credential-process", *args, "--pkcs8-password", "wrong")
    assert (code, "wrong password" in err) == (1, True)
    code, out, err = _run("credential-process", *args, "--pkcs8-password", "right")
    assert code == 0, err
    assert json.loads(out)["Version"] == 1
    other = tmp_path / "other.key"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    args[args.index("--private-key") + 1] = str(other)
    code, _, err = _run("credential-process", *args)
    assert code == 1
    assert "does not match the certificate" in err


def test_server_refusal_message_reaches_stderr(
    files: Files, fake: FakeCreateSession, server: FakeServer
) -> None:
    """The AWS error text is what the user reads, with the request id, on one line."""
    fake.refuse = (403, "AccessDeniedException", "Unable to assume role for " + ROLE + ".")
    code, out, err = _run("credential-process", *_args(files, server))
    assert code == 1
    assert out == ""
    assert "AccessDeniedException: Unable to assume role for" in err
    assert err.strip().endswith(f"(request id {FAKE_REQUEST_ID})")
    assert len(err.strip().splitlines()) == 1


def test_sign_string_formats(files: Files) -> None:
    """sign-string signs stdin; json (default) quotes the hex, text is bare hex, bin is raw."""
    key = ["--private-key", str(files.private_key)]
    public = files.chain.leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    code, out, err = _run("sign-string", *key, stdin=b"hello")
    assert code == 0, err
    public.verify(bytes.fromhex(json.loads(out)), b"hello", ec.ECDSA(hashes.SHA256()))
    code, out, _ = _run("sign-string", *key, "--format", "text", "--digest", "SHA384", stdin=b"x")
    public.verify(bytes.fromhex(out), b"x", ec.ECDSA(hashes.SHA384()))
    result = CliRunner().invoke(helper, ["sign-string", *key, "--format", "bin"], input=b"y")
    public.verify(result.stdout_bytes, b"y", ec.ECDSA(hashes.SHA256()))


def test_read_certificate_data(files: Files) -> None:
    """read-certificate-data prints key type, base64 DER, decimal serial and algorithms."""
    code, out, err = _run("read-certificate-data", "--certificate", str(files.certificate))
    assert code == 0, err
    data = json.loads(out)
    assert data["keyType"] == "EC"
    assert data["serialNumber"] == str(files.chain.leaf.serial_number)
    assert data["supportedAlgorithms"] == ["ECSHA256", "ECSHA384", "ECSHA512"]
    code, _, err = _run("read-certificate-data", "--certificate", "/nope")
    assert code == 1
    assert "not found" in err


def test_version() -> None:
    """version prints the package version."""
    assert _run("version") == (0, __version__ + "\n", "")


def test_update_once_writes_the_profile(
    tmp_path: Path, files: Files, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """update --once writes the profile into $AWS_SHARED_CREDENTIALS_FILE and exits."""
    target = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(target))
    code, _, err = _run("update", *_args(files, server, "--profile", "ra", "--once"))
    assert code == 0, err
    text = target.read_text()
    assert text.startswith("[ra]\naws_access_key_id = ASIAFAKE00000001\n")
    assert target.stat().st_mode & 0o777 == 0o600


def test_serve_fails_fast_when_the_first_call_fails(
    files: Files, fake: FakeCreateSession, server: FakeServer
) -> None:
    """serve exits 1 with the server's message when the first CreateSession is refused."""
    fake.refuse = (403, "AccessDeniedException", "Untrusted signing certificate")
    code, _, err = _run("serve", *_args(files, server, "--port", "0"))
    assert code == 1
    assert "Untrusted signing certificate" in err


def test_password_prompt_only_for_encrypted_keys_on_a_terminal(
    tmp_path: Path, files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encrypted key without --pkcs8-password prompts on a terminal, and only there."""
    from elsewhere.cli import _client

    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        files.chain.leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right"),
        )
    )
    asked: list[str] = []

    def prompt(text: str, **kwargs: object) -> str:
        asked.append(text)
        return "right"

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(_client.click, "prompt", prompt)
    assert _client._prompt_password(str(encrypted)) is None  # pytest's stdin is no terminal
    monkeypatch.setattr(_client.sys, "stdin", Terminal())
    assert _client._prompt_password(str(files.private_key)) is None
    assert _client._prompt_password(str(encrypted)) == "right"
    assert asked == ["Please enter your PKCS#8 password"]


def test_container_token_file_is_made_private_and_reused(tmp_path: Path) -> None:
    """The ECS token is generated into a 0600 file once, then read back unchanged."""
    from elsewhere.cli import _client

    path = tmp_path / "token"
    first = _client._container_token(path)
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert _client._container_token(path) == first
    path.write_text("chosen-by-admin\n")
    assert _client._container_token(path) == "chosen-by-admin"
