"""The root ``elsewhere`` command group; subcommands register themselves here."""

from __future__ import annotations

import click

from elsewhere import __version__

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--elsewhere-version", prog_name="elsewhere")
def cli() -> None:
    """elsewhere: self-hosted AWS IAM Roles Anywhere."""


def _register() -> None:
    # Subcommand modules are imported here so that each stays in its own file.
    import importlib

    names = ("_server", "_keys", "_oidc", "_ca", "_verify", "_client", "_web_identity")
    for name in (*names, "_quickstart"):
        try:
            module = importlib.import_module(f"elsewhere.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"elsewhere.cli.{name}":
                raise
            continue
        module.register(cli)


def main() -> None:
    """Entry point of the ``elsewhere`` script."""
    _register()
    cli()
