"""Prometheus's ``promtool check metrics``, for tests that check the exposition format."""

from __future__ import annotations

import shutil
import subprocess

import pytest

PROMTOOL = shutil.which("promtool")


def promtool_check(text: bytes) -> str:
    """Run ``promtool check metrics`` on ``text``; its findings (empty when clean).

    Skips the test when promtool is not installed (``make system-deps`` installs Debian's
    ``prometheus`` package, which ships it).
    """
    if PROMTOOL is None:
        pytest.skip("promtool is not installed (make system-deps installs Debian's prometheus)")
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=60, check=False
    )
    findings = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, findings
    return findings.strip()
