"""``elsewhere quickstart``: working Roles Anywhere credentials against a server in one command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from elsewhere.quickstart._defaults import (
    DEFAULT_DATA_DIR,
    DEFAULT_DIRECTORY,
    DEFAULT_ENDPOINT,
    DEFAULT_KEY_TYPE,
    DEFAULT_NAME,
    DEFAULT_WORKLOAD_CN,
)

if TYPE_CHECKING:
    from elsewhere.quickstart import Step

__all__ = ["register"]

# The key types the server accepts with its default settings (pki also makes rsa1024 and p521).
_KEY_TYPES = click.Choice(["rsa2048", "rsa3072", "rsa4096", "p256", "p384"])


def _echo_step(step: Step) -> None:
    click.echo(f"  {step.what:<21} {step.action:<8} {step.value}")


@click.command("quickstart")
@click.option(
    "--endpoint",
    default=DEFAULT_ENDPOINT,
    show_default=True,
    help="Base URL of the elsewhere server (also put in the credential_process line).",
)
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Admin credentials (AWS shared-credentials format). "
    "[default: .elsewhere/admin.credentials, or <data-dir>/admin.credentials with --start-server]",
)
@click.option(
    "--admin-profile",
    default="default",
    show_default=True,
    help="Profile of --credentials-file to use.",
)
@click.option(
    "--region",
    help="The server's region (given to --start-server). [default: the first the server "
    "accepts of $ELSEWHERE_REGION, us-east-1, $AWS_REGION, $AWS_DEFAULT_REGION]",
)
@click.option("--account-id", help="The server's account (checked; given to --start-server).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIRECTORY,
    show_default=True,
    help="Where the development CA and the workload certificate and key go.",
)
@click.option(
    "--name",
    default=DEFAULT_NAME,
    show_default=True,
    help="Name of the trust anchor, role, profile and AWS config profile.",
)
@click.option(
    "--workload-cn",
    default=DEFAULT_WORKLOAD_CN,
    show_default=True,
    help="CN of the workload certificate; the role trusts only this CN.",
)
@click.option("--key-type", type=_KEY_TYPES, default=DEFAULT_KEY_TYPE, show_default=True)
@click.option(
    "--start-server",
    is_flag=True,
    help="Start 'elsewhere server' in the background at --endpoint (unless one answers there).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Data directory of the server started by --start-server.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AWS_CA_BUNDLE",
    help="PEM file of the private CA of an https:// server: trusted for these calls, and put "
    "in the printed lines (--ca-bundle, ca_bundle). [default: $AWS_CA_BUNDLE]",
)
@click.option(
    "--no-verify-ssl",
    is_flag=True,
    help="Do not verify the server's TLS certificate; the printed line does not either.",
)
def quickstart(
    endpoint: str,
    credentials_file: Path | None,
    admin_profile: str,
    region: str | None,
    account_id: str | None,
    directory: Path,
    name: str,
    workload_cn: str,
    key_type: str,
    start_server: bool,
    data_dir: Path,
    ca_bundle: Path | None,
    no_verify_ssl: bool,
) -> None:
    """Make a CA, trust anchor, role, profile and workload certificate, and prove they work.

    Prints the credential_process line for ~/.aws/config, then gets credentials with it and calls
    STS GetCallerIdentity. Running it again reuses what exists (same names, same CA directory).
    """
    # Imported here: boto3 is slow to import, and every 'elsewhere' command loads this module.
    from elsewhere.errors import ElsewhereError
    from elsewhere.quickstart import QuickstartOptions, run_quickstart, start_background_server

    endpoint = endpoint.rstrip("/")
    try:
        if start_server:
            started = start_background_server(
                endpoint, data_dir, region=region, account_id=account_id
            )
            if started.reused:
                click.echo(f"A server already answers at {endpoint}; using it.")
            else:
                click.echo(
                    f"Started elsewhere server (pid {started.pid}) at {endpoint}, data in "
                    f"{started.data_dir}, log in {started.log_path}."
                )
                click.echo(f"It keeps running; stop it with: kill $(cat {started.pid_path})")
            if credentials_file is None:
                credentials_file = data_dir / "admin.credentials"
        options = QuickstartOptions(
            endpoint=endpoint,
            credentials_file=credentials_file or Path(".elsewhere/admin.credentials"),
            admin_profile=admin_profile,
            region=region,
            account_id=account_id,
            directory=directory,
            name=name,
            workload_cn=workload_cn,
            key_type=key_type,
            verify_ssl=not no_verify_ssl,
            ca_bundle=ca_bundle,
        )
        click.echo(f"Setting up Roles Anywhere on {endpoint}:")
        result = run_quickstart(options, on_step=_echo_step)
    except ElsewhereError as exc:
        click.echo(f"elsewhere quickstart: {exc.message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo("")
    click.echo("Add this to ~/.aws/config:")
    click.echo("")
    click.echo(result.config_snippet)
    if no_verify_ssl:
        click.echo(
            "(That line does not verify the server's certificate, as --no-verify-ssl asked; "
            "give --ca-bundle instead to trust a private CA.)"
        )
        click.echo("")
    click.echo("Proof (CreateSession with that command's code path, then STS GetCallerIdentity):")
    click.echo(f"  {result.caller_arn}")
    click.echo("")
    click.echo("Try it:")
    insecure = " --no-verify-ssl" if no_verify_ssl else ""
    click.echo(
        f"  AWS_PROFILE={result.profile_name} aws sts get-caller-identity "
        f"--endpoint-url {result.endpoint}{insecure}"
    )


def register(cli: click.Group) -> None:
    """Add ``quickstart`` to the root group."""
    cli.add_command(quickstart)
