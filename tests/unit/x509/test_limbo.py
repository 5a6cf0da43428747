"""x509-limbo path-validation cases run through validate_path (skips in skips.json, each reasoned).

The policy is adapted per case only where the case states a requirement of its own: the key
usage and extended key usage it asks of the leaf, and its maximum chain depth. Subjects may be
empty (an RFC 5280 matter, not a path matter). Every other rule is elsewhere's real policy,
including Roles Anywhere's refusal of CA leaves. Cases without a validation time are judged at
2025-01-01, inside the validity of every certificate of the suite.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography import utils, x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from elsewhere.x509 import PathPolicy, UntrustedCertificate, validate_path

DATA = Path(__file__).parents[2] / "data" / "x509-limbo"
CASES: list[dict[str, Any]] = json.loads((DATA / "limbo.json").read_text())["testcases"]
SKIPS: dict[str, str] = json.loads((DATA / "skips.json").read_text())["skip"]
DEFAULT_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_EKUS = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


def _policy(case: dict[str, Any]) -> PathPolicy:
    """elsewhere's policy with the case's own leaf requirements and depth."""
    ekus = [_EKUS[e] for e in case["extended_key_usage"] if e in _EKUS]
    depth = case["max_chain_depth"]
    return PathPolicy(
        require_digital_signature="digitalSignature" in case["key_usage"],
        require_nonempty_subject=False,
        required_eku=ekus[0] if ekus else None,
        max_chain_depth=8 if depth is None else depth,
    )


def _run(case: dict[str, Any]) -> str:
    """SUCCESS or FAILURE of validate_path on one case."""

    def load(pems: list[str]) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(p.encode()) for p in pems]

    with warnings.catch_warnings():
        # A few cases carry non-positive serials on purpose; cryptography warns when parsing them.
        warnings.simplefilter("ignore", utils.CryptographyDeprecationWarning)
        anchors = load(case["trusted_certs"])
        intermediates = load(case["untrusted_intermediates"])
        (leaf,) = load([case["peer_certificate"]])
        crls = [x509.load_pem_x509_crl(c.encode()) for c in case["crls"]]
        when = case["validation_time"]
        now = dt.datetime.fromisoformat(when) if when else DEFAULT_TIME
        try:
            validate_path(leaf, intermediates, anchors, crls, now=now, policy=_policy(case))
        except UntrustedCertificate:
            return "FAILURE"
    return "SUCCESS"


def test_skip_list_names_real_cases() -> None:
    """Every skip entry names a case of the suite and gives a reason."""
    ids = {c["id"] for c in CASES}
    assert set(SKIPS) <= ids
    assert all(reason.strip() for reason in SKIPS.values())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_limbo(case: dict[str, Any]) -> None:
    """validate_path reaches the case's expected result."""
    if case["id"] in SKIPS:
        pytest.skip(SKIPS[case["id"]])
    assert _run(case) == case["expected_result"], case["description"]
