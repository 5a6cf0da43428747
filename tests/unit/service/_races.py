"""IAM calls as the account root, for the service race tests (two ``IamService`` nodes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from elsewhere.errors import ElsewhereError
from elsewhere.service._authn import Principal
from elsewhere.service._iam import IamService

__all__ = ["ACCOUNT", "ROOT", "T0", "call", "outcome"]

ACCOUNT = "123456789012"
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "root", ACCOUNT, "root", "AKIAROOT")
T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def call(iam: IamService, op: str, **params: Any) -> dict[str, Any]:
    """Run one IAM operation as the account root."""
    return iam.handle(op, params, ROOT)


def outcome(iam: IamService, op: str, **params: Any) -> Callable[[], object]:
    """An action running ``op``: its output, or the AWS error it raised (others escape)."""

    def run() -> object:
        try:
            return call(iam, op, **params)
        except ElsewhereError as exc:
            return exc

    return run
