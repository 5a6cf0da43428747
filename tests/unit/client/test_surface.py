"""The package's public surface: every exported name resolves; boto3 loads only when used."""

from __future__ import annotations

import subprocess
import sys

import elsewhere.client


def test_every_exported_name_resolves() -> None:
    """Each name of __all__ is an attribute of the package (the boto3 ones lazily)."""
    for name in elsewhere.client.__all__:
        assert getattr(elsewhere.client, name) is not None, name


def test_credential_process_path_does_not_import_boto3() -> None:
    """Importing the package and the CLI module leaves boto3 unloaded (fast credential-process)."""
    code = "import sys, elsewhere.client, elsewhere.cli._client; print('boto3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
