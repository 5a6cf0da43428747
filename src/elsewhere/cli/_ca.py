"""``elsewhere ca``: the development CA (init, issue, revoke, crl)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere import pki
from elsewhere.clock import SystemClock

__all__ = ["register"]

_KEY_TYPES = click.Choice(pki.KEY_TYPES)
_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".elsewhere/ca"),
    show_default=True,
    envvar="ELSEWHERE_CA_DIR",
    help="Directory of the CA (ca.pem, ca.key, intermediate.*, index.json).",
)


@contextmanager
def _ca_errors() -> Iterator[None]:
    """A broken CA directory or an unwritable output is one line on stderr, not a traceback."""
    try:
        yield
    except (pki.CaStoreError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _write_pem(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@click.group("ca")
def ca() -> None:
    """A development CA: make a trust anchor and workload certificates in seconds."""


@ca.command("init")
@_DIR_OPTION
@click.option("--key-type", type=_KEY_TYPES, default="p256", show_default=True)
@click.option(
    "--subject",
    default="CN=elsewhere development root CA",
    show_default=True,
    help="Root CA subject, RFC 4514 (CN=x,O=y) or OpenSSL (/O=y/CN=x) form.",
)
@click.option("--with-intermediate", is_flag=True, help="Also create an issuing intermediate CA.")
@click.option("--days", type=click.FloatRange(min=1), default=3650, show_default=True)
def init(
    directory: Path, key_type: str, subject: str, with_intermediate: bool, days: float
) -> None:
    """Create a root CA (and optionally an intermediate) in --dir."""
    with _ca_errors():
        store = pki.CaStore.init(
            directory,
            now=SystemClock().now(),
            key_type=key_type,
            subject=subject,
            with_intermediate=with_intermediate,
            days=days,
        )
        root = store.root.certificate
    click.echo(f"Created CA {root.subject.rfc4514_string()} in {directory}")
    click.echo(f"Trust anchor bundle: {directory / 'ca.pem'}")
    if with_intermediate:
        click.echo(f"Issuing intermediate: {directory / 'intermediate.pem'}")


@ca.command("issue")
@_DIR_OPTION
@click.option("--subject", required=True, help="Subject, e.g. 'CN=web-01,O=Example'.")
@click.option(
    "--san",
    "sans",
    multiple=True,
    help="SAN: dns:NAME, uri:URI, email:ADDR, ip:ADDR, dirname:DN, rid:OID, othername:OID=TEXT.",
)
@click.option("--days", type=click.FloatRange(min=0.001), default=365, show_default=True)
@click.option("--key-type", type=_KEY_TYPES, default="p256", show_default=True)
@click.option("--out-cert", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--out-key", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--out-chain",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the intermediate (for --intermediates of the credential helper).",
)
def issue(
    directory: Path,
    subject: str,
    sans: tuple[str, ...],
    days: float,
    key_type: str,
    out_cert: Path,
    out_key: Path,
    out_chain: Path | None,
) -> None:
    """Issue a workload certificate and its private key (written with mode 0600)."""
    store = pki.CaStore(directory)
    with _ca_errors():
        issued = store.issue(
            now=SystemClock().now(), subject=subject, sans=sans, days=days, key_type=key_type
        )
        intermediate = store.intermediate
        _write_pem(out_cert, _cert_pem(issued.certificate))
        out_key.parent.mkdir(parents=True, exist_ok=True)
        pki.write_private_key(out_key, issued.key)
        if out_chain is not None:
            _write_pem(out_chain, _cert_pem(intermediate.certificate) if intermediate else b"")
    cert = issued.certificate
    click.echo(f"Issued {cert.subject.rfc4514_string()} serial {cert.serial_number:x}")
    click.echo(f"  valid until {cert.not_valid_after_utc.isoformat()}")
    click.echo(f"  certificate: {out_cert}  key: {out_key}")


@ca.command("revoke")
@_DIR_OPTION
@click.option("--serial", help="Serial number in hex (as printed by 'ca issue').")
@click.option("--cert", "cert_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def revoke(directory: Path, serial: str | None, cert_path: Path | None) -> None:
    """Record a certificate as revoked; it appears in the next 'ca crl'."""
    if serial is not None and cert_path is None:
        try:
            number = int(serial.removeprefix("0x").replace(":", ""), 16)
        except ValueError:
            raise click.UsageError(f"--serial {serial!r} is not hexadecimal") from None
    elif cert_path is not None and serial is None:
        try:
            number = x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number
        except ValueError as exc:
            raise click.UsageError(f"{cert_path} is not a PEM certificate: {exc}") from None
    else:
        raise click.UsageError("give exactly one of --serial or --cert")
    with _ca_errors():
        record = pki.CaStore(directory).revoke(number, now=SystemClock().now())
    click.echo(f"Revoked serial {number:x} ({record.subject}) at {record.revoked_at}")


@ca.command("crl")
@_DIR_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--issuer",
    type=click.Choice(["root", "intermediate"]),
    help="Which CA signs the CRL (default: the issuing CA).",
)
@click.option("--der", is_flag=True, help="Write DER instead of PEM.")
def crl(directory: Path, out: Path, issuer: str | None, der: bool) -> None:
    """Write a freshly signed CRL listing every revoked serial of that CA."""
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    with _ca_errors():
        revocations = pki.CaStore(directory).crl(now=SystemClock().now(), issuer=issuer)
        _write_pem(out, revocations.public_bytes(encoding))
    click.echo(f"Wrote CRL with {len(revocations)} revoked certificate(s) to {out}")


def register(cli: click.Group) -> None:
    """Add ``elsewhere ca`` to the root command group."""
    cli.add_command(ca)
