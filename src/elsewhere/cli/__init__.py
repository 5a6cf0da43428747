"""The ``elsewhere`` command tree; the only code that prints or exits."""

from __future__ import annotations

from elsewhere.cli._main import main

__all__ = ["main"]
