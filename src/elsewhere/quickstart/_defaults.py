"""The quickstart's defaults, importable without loading boto3 (the CLI shows them in --help)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_DIRECTORY",
    "DEFAULT_ENDPOINT",
    "DEFAULT_KEY_TYPE",
    "DEFAULT_NAME",
    "DEFAULT_WORKLOAD_CN",
]

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
DEFAULT_DIRECTORY = Path(".elsewhere/quickstart")
DEFAULT_NAME = "elsewhere-quickstart"
DEFAULT_WORKLOAD_CN = "elsewhere-quickstart-workload"
DEFAULT_KEY_TYPE = "p256"
DEFAULT_DATA_DIR = Path(".elsewhere")
