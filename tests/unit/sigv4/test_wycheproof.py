"""Wycheproof ECDSA P-256 and P-384 with SHA-256 through our X.509 ECDSA verification primitive.

``AWS4-X509-ECDSA-SHA256`` is ECDSA over SHA-256 with a DER signature on every curve, which is
exactly what these two files test. ``valid`` must verify, ``invalid`` must be refused (BER
encodings, modified integers, out-of-range r/s and so on). ``acceptable`` cases (none in these
two files at the pinned commit; the test asserts that) would be allowed either way, with their
flags noted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_der_public_key

from elsewhere.errors import InvalidSignature
from elsewhere.sigv4 import ALGORITHM_X509_ECDSA, verify_string_signature
from tests.unit.sigv4._vectors import WYCHEPROOF

FILES = ["ecdsa_secp256r1_sha256_test.json", "ecdsa_secp384r1_sha256_test.json"]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WYCHEPROOF / "testvectors_v1" / name).read_text())
    return data


@pytest.mark.parametrize("name", FILES)
def test_wycheproof_ecdsa_sha256(name: str) -> None:
    """Every valid vector verifies and every invalid one is refused."""
    data = _load(name)
    counts = {"valid": 0, "invalid": 0, "acceptable": 0}
    wrong = []
    for group in data["testGroups"]:
        assert group["sha"] == "SHA-256"
        key = load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
        for test in group["tests"]:
            msg, sig = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
            result = test["result"]
            counts[result] += 1
            try:
                verify_string_signature(key, ALGORITHM_X509_ECDSA, msg, sig)
                accepted = True
            except InvalidSignature:
                accepted = False
            # "acceptable" allows either outcome (Wycheproof's own definition).
            if result != "acceptable" and accepted != (result == "valid"):
                wrong.append(f"tcId {test['tcId']} {result} {test['comment']} {test['flags']}")
    assert wrong == []
    assert counts["valid"] > 0
    assert counts["invalid"] > 0
    assert counts["acceptable"] == 0
    assert sum(counts.values()) == data["numberOfTests"]
