"""The root ``elsewhere`` command group; each subcommand's module is imported when it runs.

The AWS CLI runs ``elsewhere credential-process`` before every one of its commands, so a
command must not pay for the others: ``server`` alone imports the web, SQL and policy stacks
(about 2 s of CPU). :data:`COMMANDS` names the module of every command, and the group imports
only the one asked for (click's "lazily loading subcommands" pattern); ``--help`` lists them all.
"""

from __future__ import annotations

import importlib

import click

from elsewhere import __version__

__all__ = ["COMMANDS", "cli", "main"]

#: Command name -> (module of ``elsewhere.cli``, attribute holding the click command).
COMMANDS: dict[str, tuple[str, str]] = {
    "server": ("_server", "server"),
    "keys": ("_keys", "keys"),
    "oidc": ("_oidc", "oidc"),
    "ca": ("_ca", "ca"),
    "verify-certificate": ("_verify", "verify_certificate"),
    "credential-process": ("_client", "credential_process"),
    "serve": ("_client", "serve"),
    "update": ("_client", "update"),
    "sign-string": ("_client", "sign_string"),
    "read-certificate-data": ("_client", "read_certificate_data"),
    "version": ("_client", "version"),
    "web-identity-token": ("_web_identity", "web_identity_token"),
    "quickstart": ("_quickstart", "quickstart"),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported from their modules on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module if it is not loaded yet."""
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module_name, attribute = COMMANDS[cmd_name]
        try:
            module = importlib.import_module(f"elsewhere.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"elsewhere.cli.{module_name}":
                raise
            return None
        loaded: click.Command = getattr(module, attribute)
        self.add_command(loaded, cmd_name)
        return loaded


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--elsewhere-version", prog_name="elsewhere")
def cli() -> None:
    """elsewhere: self-hosted AWS IAM Roles Anywhere."""


def _register() -> None:
    """Load every command now (what ``--help`` does; tests use it to check the table)."""
    for name in COMMANDS:
        cli.get_command(click.Context(cli), name)


def main() -> None:
    """Entry point of the ``elsewhere`` script."""
    cli()
