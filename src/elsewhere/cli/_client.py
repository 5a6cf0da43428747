"""The credential-helper commands: a drop-in for AWS's ``aws_signing_helper``.

``credential-process``, ``serve``, ``update``, ``sign-string``, ``read-certificate-data`` and
``version``, with the helper's flags, defaults and mutual exclusions (reference §7). Every failure
is one line on stderr and exit status 1; ``--debug`` logs to stderr, never to stdout, so it cannot
corrupt ``credential_process`` output (the helper's 1.1.0 regression, reference §7.6).

This module is imported on every ``credential-process`` run: what only ``serve`` or ``update``
needs is imported inside those commands.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from elsewhere import __version__
from elsewhere.client import (
    CONTAINER_CREDENTIALS_PATH,
    DEFAULT_HOP_LIMIT,
    DEFAULT_PORT,
    DEFAULT_SESSION_DURATION,
    ENV_PREFIX,
    STDIN,
    ClientConfigurationError,
    CredentialCache,
    CredentialSource,
    SessionCredentials,
    SessionParameters,
    build_credential_source,
    create_session,
    format_credential_process,
    load_certificate,
    load_private_key,
    resolve_region,
)
from elsewhere.errors import ElsewhereError

__all__ = ["helper", "helper_main", "register"]

_log = logging.getLogger("elsewhere.client")
F = TypeVar("F", bound=Callable[..., Any])

# Pairs the helper refuses together (cmd/credentials.go), restricted to the flags we offer.
_EXCLUSIVE = (
    ("certificate", "cert_selector"),
    ("private_key", "cert_selector"),
    ("cert_selector", "intermediates"),
    ("cert_selector", "reuse_pin"),
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _setup_logging(debug: bool) -> None:
    logger = logging.getLogger("elsewhere.client")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)  # never stdout: see the module docstring
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _guarded(func: F) -> F:
    """Turn every error into one line on stderr and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        _setup_logging(debug)
        try:
            return func(*args, **kwargs)
        except ElsewhereError as exc:
            _fail(exc.message)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:  # the last line of defence: a message, not a traceback
            if debug:
                _log.exception("unexpected error")
            _fail(f"unexpected error: {type(exc).__name__}: {exc}")
        return None

    return wrapper  # type: ignore[return-value]


def _source_options(func: F) -> F:
    options = [
        click.option(
            "--certificate",
            help="Certificate file (PEM, DER or PKCS#12), pkcs11: URI, '-' (standard input) "
            "or env:NAME (an environment variable).",
        ),
        click.option(
            "--private-key",
            help="Private key file (PKCS#8, PKCS#1, SEC1), pkcs11: URI, '-' or env:NAME.",
        ),
        click.option(
            "--intermediates",
            help="PEM bundle of intermediate certificates, '-' or env:NAME.",
        ),
        click.option("--pkcs8-password", help="Password of an encrypted PKCS#8 (or PKCS#12) key."),
        click.option("--pkcs11-lib", help="PKCS#11 module (default: p11-kit-proxy.so)."),
        click.option("--reuse-pin", is_flag=True, help="Reuse the token PIN for key logins."),
        click.option(
            "--cert-selector",
            help="OS certificate-store selector (macOS/Windows only; not supported here).",
        ),
        click.option("--debug", is_flag=True, help="Debug logging to stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _session_options(func: F) -> F:
    options = [
        click.option("--trust-anchor-arn", help="ARN of the trust anchor (required)."),
        click.option("--profile-arn", help="ARN of the profile (required)."),
        click.option("--role-arn", help="ARN of the role to assume (required)."),
        click.option(
            "--session-duration",
            type=int,
            default=DEFAULT_SESSION_DURATION,
            show_default=True,
            help="Session duration in seconds (900..43200).",
        ),
        click.option("--region", help="Signing region (default: the trust anchor ARN's)."),
        click.option(
            "--endpoint",
            help="CreateSession base URL (default: $AWS_ENDPOINT_URL_ROLESANYWHERE, else "
            "$AWS_ENDPOINT_URL, else the regional AWS endpoint).",
        ),
        click.option("--no-verify-ssl", is_flag=True, help="Do not verify the TLS certificate."),
        click.option(
            "--ca-bundle",
            help="PEM file of the CAs to trust for TLS instead of the system's "
            "(default: $AWS_CA_BUNDLE).",
        ),
        click.option("--with-proxy", is_flag=True, help="Use HTTP(S)_PROXY from the environment."),
        click.option("--role-session-name", help="Role session name (the profile must accept it)."),
        click.option(
            "--use-fips-endpoint",
            is_flag=True,
            envvar="AWS_USE_FIPS_ENDPOINT",
            help="Use the FIPS endpoint rolesanywhere-fips.<region> (env AWS_USE_FIPS_ENDPOINT).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return _source_options(func)


def _check_exclusive(kwargs: dict[str, Any]) -> None:
    for first, second in _EXCLUSIVE:
        if kwargs.get(first) and kwargs.get(second):
            raise ClientConfigurationError(
                f"{_flag(first)} and {_flag(second)} cannot be used together"
            )


def _prompt_password(private_key: str | None) -> str | None:
    """Ask on the terminal for an encrypted key's password, as AWS's helper does (never piped)."""
    if (
        not private_key
        or private_key == STDIN
        or private_key.startswith(("pkcs11:", ENV_PREFIX))
        or not sys.stdin.isatty()
    ):
        return None
    try:
        head = Path(private_key).read_bytes()[:100]
    except OSError:
        return None  # the source reports the missing file with its own message
    if b"ENCRYPTED PRIVATE KEY" not in head:
        return None
    password: str = click.prompt(
        "Please enter your PKCS#8 password",
        hide_input=True,
        err=True,
        default="",
        show_default=False,
    )
    return password or None


def _build(kwargs: dict[str, Any]) -> tuple[CredentialSource, SessionParameters]:
    _check_exclusive(kwargs)
    if kwargs.get("cert_selector"):
        raise ClientConfigurationError(
            "--cert-selector needs an OS certificate store (macOS Keychain or Windows), which "
            "this helper does not read; use --certificate/--private-key or a pkcs11: URI"
        )
    for name in ("trust_anchor_arn", "profile_arn", "role_arn"):
        if not kwargs.get(name):
            raise ClientConfigurationError(f"{_flag(name)} is required")
    if not kwargs.get("certificate"):
        raise ClientConfigurationError("--certificate is required")
    source = build_credential_source(
        certificate=kwargs["certificate"],
        private_key=kwargs.get("private_key"),
        intermediates=kwargs.get("intermediates"),
        pkcs8_password=kwargs.get("pkcs8_password") or _prompt_password(kwargs.get("private_key")),
        pkcs11_lib=kwargs.get("pkcs11_lib"),
        reuse_pin=bool(kwargs.get("reuse_pin")),
    )
    params = SessionParameters(
        trust_anchor_arn=kwargs["trust_anchor_arn"],
        profile_arn=kwargs["profile_arn"],
        role_arn=kwargs["role_arn"],
        session_duration=kwargs["session_duration"],
        region=kwargs.get("region"),
        endpoint=kwargs.get("endpoint"),
        verify_ssl=not kwargs.get("no_verify_ssl"),
        ca_bundle=kwargs.get("ca_bundle"),
        with_proxy=bool(kwargs.get("with_proxy")),
        role_session_name=kwargs.get("role_session_name"),
        use_fips_endpoint=bool(kwargs.get("use_fips_endpoint")),
    )
    resolve_region(params)
    return source, params


def _fetcher(kwargs: dict[str, Any]) -> Callable[[], SessionCredentials]:
    source, params = _build(kwargs)
    return lambda: create_session(source, params)


@click.command("credential-process")
@_session_options
@_guarded
def credential_process(**kwargs: Any) -> None:
    """Print credentials for the AWS CLI/SDK ``credential_process`` setting."""
    credentials = _fetcher(kwargs)()
    click.echo(format_credential_process(credentials), nl=False)


def _container_token(path: Path) -> str:
    """The container-endpoint token: read from ``path``, or made and written there (mode 0600)."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    except OSError as exc:
        raise ClientConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    if token:
        return token
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing empty file may have been more open
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token)
    except OSError as exc:
        raise ClientConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    return token


@click.command("serve")
@_session_options
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on.",
)
@click.option(
    "--hop-limit",
    type=click.IntRange(1, 255),
    default=DEFAULT_HOP_LIMIT,
    show_default=True,
    help="IP TTL / IPv6 hop limit of the answers (1 keeps them on this host's link).",
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (IPv6 allowed, e.g. ::1).",
)
@click.option(
    "--container-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Also serve ECS-style container credentials at "
        f"{CONTAINER_CREDENTIALS_PATH}, authorized by the token in this file (made if absent)."
    ),
)
@_guarded
def serve(
    port: int,
    hop_limit: int,
    address: str,
    container_token_file: Path | None,
    **kwargs: Any,
) -> None:
    """Serve credentials on an IMDSv2-compatible local endpoint, refreshed before expiry."""
    from elsewhere.client import MetadataServer

    cache = CredentialCache(_fetcher(kwargs))
    # Fail fast: no endpoint without credentials (the helper's PR #200).
    cache.get()
    token = _container_token(container_token_file) if container_token_file else None
    try:
        server = MetadataServer(
            cache,
            role_arn=kwargs["role_arn"],
            address=address,
            port=port,
            hop_limit=hop_limit,
            container_token=token,
        )
    except OSError as exc:
        raise ClientConfigurationError(
            f"cannot listen on {address}:{port}: {exc.strerror}"
        ) from None
    if address not in ("127.0.0.1", "::1", "localhost"):
        _log.warning("listening on %s: other hosts can ask for these credentials", address)
    _log.info("export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", server.url)
    if token is not None:
        _log.info(
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s%s "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
            server.url,
            CONTAINER_CREDENTIALS_PATH,
            container_token_file,
        )
    try:
        server.serve_forever()
    finally:
        server.shutdown()


@click.command("update")
@_session_options
@click.option("--profile", default="default", show_default=True, help="Profile to write.")
@click.option("--once", is_flag=True, help="Write once and exit.")
@_guarded
def update(profile: str, once: bool, **kwargs: Any) -> None:
    """Write credentials into the shared credentials file and keep them fresh."""
    from elsewhere.client import default_credentials_file, run_update

    run_update(_fetcher(kwargs), path=default_credentials_file(), profile=profile, once=once)


_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}


@click.command("sign-string")
@_source_options
@click.option(
    "--digest",
    type=click.Choice(sorted(_DIGESTS)),
    default="SHA256",
    show_default=True,
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "text", "bin"]),
    default="json",
    show_default=True,
)
@_guarded
def sign_string(digest: str, output_format: str, **kwargs: Any) -> None:
    """Sign standard input with the private key; print the signature (hex, JSON string or raw)."""
    _check_exclusive(kwargs)
    if kwargs.get("cert_selector"):
        raise ClientConfigurationError("--cert-selector needs an OS certificate store")
    if STDIN in (kwargs.get("private_key"), kwargs.get("certificate")):
        raise ClientConfigurationError(
            "sign-string signs what it reads on standard input: give the key as a file or "
            "env:NAME, not '-'"
        )
    private_key = kwargs.get("private_key")
    certificate = kwargs.get("certificate")
    if (
        private_key
        and not private_key.startswith("pkcs11:")
        and not (certificate or "").startswith("pkcs11:")
    ):
        key: Any = load_private_key(private_key, kwargs.get("pkcs8_password"))
    elif private_key or certificate:
        key = (
            build_credential_source(
                certificate=certificate,
                private_key=private_key,
                pkcs8_password=kwargs.get("pkcs8_password"),
                pkcs11_lib=kwargs.get("pkcs11_lib"),
                reuse_pin=bool(kwargs.get("reuse_pin")),
            )
            .load()
            .private_key
        )
    else:
        raise ClientConfigurationError("--private-key is required")
    data = sys.stdin.buffer.read()
    algorithm = _DIGESTS[digest]
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(algorithm))
    else:
        signature = key.sign(data)  # ML-DSA signs the message itself
    if output_format == "bin":
        sys.stdout.buffer.write(signature)
        sys.stdout.buffer.flush()
    elif output_format == "json":
        click.echo(json.dumps(signature.hex()), nl=False)
    else:
        click.echo(signature.hex(), nl=False)


def _certificate_data(certificate: x509.Certificate) -> dict[str, Any]:
    public = certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key_type, family = "RSA", "RSA"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key_type, family = "EC", "EC"
    else:
        key_type, family = type(public).__name__.removesuffix("PublicKey").upper(), ""
    algorithms = [f"{family}SHA{n}" for n in (256, 384, 512)] if family else [key_type]
    return {
        "keyType": key_type,
        "certificateData": base64.b64encode(
            certificate.public_bytes(serialization.Encoding.DER)
        ).decode("ascii"),
        "serialNumber": str(certificate.serial_number),
        "supportedAlgorithms": algorithms,
    }


@click.command("read-certificate-data")
@click.option("--certificate", help="Certificate file (PEM or DER).")
@click.option("--cert-selector", help="Certificate-store selector (not on this platform).")
@click.option("--pkcs11-lib", help="PKCS#11 module.")
@click.option("--debug", is_flag=True, help="Debug logging to stderr.")
@_guarded
def read_certificate_data(
    certificate: str | None, cert_selector: str | None, pkcs11_lib: str | None, debug: bool
) -> None:
    """Print a certificate's key type, base64 DER, decimal serial and algorithms as JSON."""
    if certificate and cert_selector:
        raise ClientConfigurationError("--certificate and --cert-selector cannot be used together")
    if cert_selector:
        raise ClientConfigurationError("--cert-selector needs an OS certificate store")
    if not certificate:
        raise ClientConfigurationError("--certificate is required")
    if certificate.startswith("pkcs11:"):
        from elsewhere.client._pkcs11 import Pkcs11CredentialSource

        source = Pkcs11CredentialSource.from_flags(
            certificate=certificate,
            private_key=None,
            intermediates=None,
            module=pkcs11_lib,
            reuse_pin=False,
        )
        _print_identities(source.list_certificates())
        return
    parsed = load_certificate(certificate)
    click.echo(json.dumps(_certificate_data(parsed), separators=(",", ":")), nl=False)


def _print_identities(found: list[tuple[x509.Certificate, str]]) -> None:
    # The helper's listing (DefaultCertContainerToString): SHA-1 fingerprint, subject, URI.
    if not found:
        click.echo("No matching identities")
        return
    click.echo("Matching identities")
    for index, (certificate, uri) in enumerate(found, start=1):
        fingerprint = certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (an identifier)
        click.echo(f'{index}) {fingerprint} "{certificate.subject.rfc4514_string()}"')
        click.echo(f"\tURI: {uri}")


@click.command("version")
def version() -> None:
    """Print the helper's version."""
    click.echo(__version__)


_COMMANDS = (credential_process, serve, update, sign_string, read_certificate_data, version)


def register(cli: click.Group) -> None:
    """Add the credential-helper commands to the ``elsewhere`` command tree."""
    for command in _COMMANDS:
        cli.add_command(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def helper() -> None:
    """elsewhere's credential helper (same commands and flags as aws_signing_helper)."""


register(helper)


def helper_main() -> None:
    """Entry point for a standalone ``aws_signing_helper``-style script."""
    helper()
