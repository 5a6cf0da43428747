"""The ``elsewhere`` command tree: each command loads only its own module, never boto3 up front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from elsewhere.cli import _quickstart
from elsewhere.quickstart import (
    DEFAULT_DIRECTORY,
    DEFAULT_ENDPOINT,
    DEFAULT_NAME,
    DEFAULT_WORKLOAD_CN,
)


def test_registering_every_command_does_not_import_boto3() -> None:
    """credential-process and the rest start without importing boto3; quickstart loads it late."""
    probe = (
        "import sys\n"
        "from elsewhere.cli import _main\n"
        "_main._register()\n"
        "print('boto3' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_command_table_names_every_command_of_every_module() -> None:
    """The lazy table lists exactly the commands each module registers, under their names."""
    import importlib
    import pkgutil

    import click

    import elsewhere.cli
    from elsewhere.cli._main import COMMANDS

    registering = {
        info.name
        for info in pkgutil.iter_modules(elsewhere.cli.__path__)
        if hasattr(importlib.import_module(f"elsewhere.cli.{info.name}"), "register")
    }
    assert registering == {module for module, _ in COMMANDS.values()}
    for module_name in sorted(registering):
        group = click.Group()
        importlib.import_module(f"elsewhere.cli.{module_name}").register(group)
        listed = {name for name, (module, _) in COMMANDS.items() if module == module_name}
        assert set(group.commands) == listed, module_name
        for name, command in group.commands.items():
            attribute = COMMANDS[name][1]
            assert getattr(importlib.import_module(f"elsewhere.cli.{module_name}"), attribute) is (
                command
            )


# What credential-process must not load: the server, the pure core it does not use, and the
# libraries a workload host does not install.
_NOT_FOR_THE_HELPER = (
    "elsewhere.app",
    "elsewhere.api",
    "elsewhere.service",
    "elsewhere.storage",
    "elsewhere.protocol",
    "elsewhere.policy",
    "elsewhere.x509",
    "elsewhere.client._serve",
    "elsewhere.client._update",
    "elsewhere.client._web_identity",
    "httpx",
    "boto3",
    "botocore",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "pyhanko_certvalidator",
    "filelock",
)


def test_credential_process_loads_only_what_it_needs() -> None:
    """Resolving credential-process imports none of the server's or other commands' modules."""
    probe = (
        "import sys\n"
        "import click\n"
        "from elsewhere.cli._main import cli\n"
        "command = cli.get_command(click.Context(cli), 'credential-process')\n"
        "assert command is not None and command.name == 'credential-process'\n"
        f"names = {_NOT_FOR_THE_HELPER!r}\n"
        "print(sorted(m for m in sys.modules if m.startswith(names)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    """--help still shows every command, loaded or not."""
    from elsewhere.cli._main import COMMANDS, cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_quickstart_flags_default_to_the_package_defaults() -> None:
    """The CLI's defaults are the quickstart package's own, and --help shows them."""
    defaults = {p.name: p.default for p in _quickstart.quickstart.params}
    assert defaults["name"] == DEFAULT_NAME
    assert defaults["workload_cn"] == DEFAULT_WORKLOAD_CN
    assert defaults["endpoint"] == DEFAULT_ENDPOINT
    assert defaults["directory"] == DEFAULT_DIRECTORY
    result = CliRunner().invoke(_quickstart.quickstart, ["--help"])
    assert result.exit_code == 0
    assert DEFAULT_ENDPOINT in "".join(result.output.split())


def test_forwarded_allow_ips_must_be_addresses_or_networks(tmp_path: Path) -> None:
    """A typo in --forwarded-allow-ips is a usage error (exit 2), not a proxy silently ignored."""
    from elsewhere.cli import _server

    result = CliRunner().invoke(
        _server.server,
        ["--data-dir", str(tmp_path), "--forwarded-allow-ips", "10.0.0.0/8,not-an-ip"],
    )
    assert result.exit_code == 2
    assert "'not-an-ip' is not an IP address or network" in result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fail/no-port", "must be HOST:PORT"),
        ("fail/port-zero", "must be HOST:PORT"),
        ("fail/not-a-port", "must be HOST:PORT"),
        ("fail/the-api-port", "uses the API's port 8080"),
    ],
)
@pytest.mark.parametrize("flag", ["--metrics-address", "--envoy-grpc-address"])
def test_listener_address_is_checked(tmp_path: Path, flag: str, value: str, message: str) -> None:
    """--metrics-address and --envoy-grpc-address: HOST:PORT, not the API's port (exit 2)."""
    from elsewhere.cli import _server

    given = {
        "fail/no-port": "127.0.0.1",
        "fail/port-zero": "127.0.0.1:0",
        "fail/not-a-port": "127.0.0.1:http",
        "fail/the-api-port": "0.0.0.0:8080",
    }[value]
    result = CliRunner().invoke(_server.server, ["--data-dir", str(tmp_path), flag, given])
    assert result.exit_code == 2
    assert f"{flag} {given!r}" in result.output
    assert message in result.output


@pytest.mark.parametrize("url", ["fail/ftp://example.com/hook", "fail/not a url", "fail//hook"])
def test_notify_webhook_must_be_http(tmp_path: Path, url: str) -> None:
    """--notify-webhook takes only absolute http(s) URLs (exit 2)."""
    from elsewhere.cli import _server

    result = CliRunner().invoke(
        _server.server, ["--data-dir", str(tmp_path), "--notify-webhook", url.split("/", 1)[1]]
    )
    assert result.exit_code == 2
    assert "must be an http:// or https:// URL" in result.output
