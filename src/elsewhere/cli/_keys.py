"""``elsewhere keys``: the session-token key ring of a server's store."""

from __future__ import annotations

from pathlib import Path

import click

from elsewhere.app import ServerSettings
from elsewhere.app._keys import RingEntry, list_session_keys, rotate_session_keys
from elsewhere.errors import ElsewhereError

__all__ = ["register"]


def _settings(data_dir: Path, database_url: str | None) -> ServerSettings:
    return ServerSettings(data_dir=data_dir, database_url=database_url)


def _show(entries: list[RingEntry]) -> None:
    for entry in entries:
        click.echo(f"{entry.key_id}\t{entry.state}\t{entry.created_at}")


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


@click.group("keys")
def keys() -> None:
    """The keys that seal session tokens (list, rotate)."""


@keys.command("list")
@_data_dir
@_database_url
def list_keys(data_dir: Path, database_url: str | None) -> None:
    """Print the ring's keys: id, state (active seals, retired only opens), created."""
    try:
        _show(list_session_keys(_settings(data_dir, database_url)))
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@keys.command("rotate")
@_data_dir
@_database_url
def rotate_keys(data_dir: Path, database_url: str | None) -> None:
    """Seal new sessions with a fresh key; live sessions keep working until they expire."""
    try:
        _show(rotate_session_keys(_settings(data_dir, database_url)))
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except ElsewhereError as exc:  # KeyRotationConflict: other rotations kept winning
        raise click.ClickException(exc.message) from exc


def register(cli: click.Group) -> None:
    """Add ``elsewhere keys`` to the command tree."""
    cli.add_command(keys)
