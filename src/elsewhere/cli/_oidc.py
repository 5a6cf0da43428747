"""``elsewhere oidc``: the OIDC issuer of outbound web identity federation (keys, documents)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from elsewhere.app import ServerSettings
from elsewhere.app._oidc import (
    SigningKeyEntry,
    export_issuer_documents,
    list_signing_keys,
    rotate_issuer_keys,
)
from elsewhere.errors import ElsewhereError
from elsewhere.oidc import validate_issuer_url

__all__ = ["register"]

_data_dir = click.option(
    "--data-dir",
    default=".elsewhere",
    show_default=True,
    envvar="ELSEWHERE_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory (for master.key and the default SQLite store).",
)
_database_url = click.option(
    "--database-url", default=None, envvar="ELSEWHERE_DATABASE_URL", help="The server's store."
)


def _show(entries: list[SigningKeyEntry]) -> None:
    click.echo("kid\talg\tphase\tcreated\tactivates\tpublished until")
    for e in entries:
        click.echo(
            f"{e.kid}\t{e.alg}\t{e.phase}\t{e.created_at}\t{e.activates_at}\t{e.published_until}"
        )


@click.group("oidc")
def oidc() -> None:
    """The OIDC issuer: its signing keys and its public documents."""


@oidc.command("keys")
@_data_dir
@_database_url
def keys(data_dir: Path, database_url: str | None) -> None:
    """List the signing keys: key id, algorithm, phase (pending, active, retired), times."""
    try:
        _show(list_signing_keys(ServerSettings(data_dir=data_dir, database_url=database_url)))
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except ElsewhereError as exc:
        raise click.ClickException(exc.message) from exc


@oidc.command("rotate")
@_data_dir
@_database_url
@click.option(
    "--activate-after",
    default=300,
    show_default=True,
    type=click.IntRange(0, 7 * 86400),
    help="Seconds the new keys are published before they sign (at least the JWKS cache "
    "lifetime of your relying parties; more if you upload the JWKS by hand).",
)
def rotate(data_dir: Path, database_url: str | None, activate_after: int) -> None:
    """Add a new RS256 and ES384 key; the old ones stay published until their tokens expire."""
    try:
        entries = rotate_issuer_keys(
            ServerSettings(data_dir=data_dir, database_url=database_url),
            activation_delay=dt.timedelta(seconds=activate_after),
        )
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except ElsewhereError as exc:  # IssuerStateConflict: other writers kept winning
        raise click.ClickException(exc.message) from exc
    _show(entries)


@oidc.command("export")
@_data_dir
@_database_url
@click.option(
    "--public-url",
    required=True,
    envvar="ELSEWHERE_PUBLIC_URL",
    help="The issuer URL, as the server's --public-url: where relying parties fetch the files.",
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(data_dir: Path, database_url: str | None, public_url: str, directory: Path) -> None:
    """Write DIRECTORY/.well-known/openid-configuration and jwks.json for static hosting."""
    try:
        issuer = validate_issuer_url(public_url)
    except ValueError as exc:
        raise click.UsageError(f"--public-url: {exc}") from None
    settings = ServerSettings(data_dir=data_dir, database_url=database_url, public_url=issuer)
    try:
        written = export_issuer_documents(settings, directory)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except ElsewhereError as exc:
        raise click.ClickException(exc.message) from exc
    for path in written:
        click.echo(str(path))
    click.echo(f"Publish {directory} so that {issuer}/.well-known/... serves these files.")


def register(cli: click.Group) -> None:
    """Add ``elsewhere oidc`` to the command tree."""
    cli.add_command(oidc)
