"""Malformed certificates and CRLs against a live server: always a 4xx, never a 500.

The corpus of ``tests/malformed_x509`` arrives where certificates and CRLs arrive: as the
``X-Amz-X509`` leaf and in ``X-Amz-X509-Chain`` of CreateSession, in a trust anchor's bundle at
CreateTrustAnchor and UpdateTrustAnchor, and as ``crlData`` at ImportCrl. What is accepted is then
used: a session is asked for through the odd anchor or with the odd CRL imported. After all of it
the server's log holds no traceback and its access log no 5xx.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from elsewhere.pki import Chain, Revocation, build_crl, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_x509_request
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import make_profile, make_role
from tests.malformed_x509 import (
    Malformed,
    certificate_corpus,
    crl_corpus,
    foreign_key_certificates,
)

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class _Raw:
    """Stands in for a certificate when signing: its DER is sent as is (it may not parse)."""

    der: bytes
    serial_number: int

    def public_bytes(self, _encoding: object) -> bytes:
        return self.der


@dataclass
class World:
    """A server with a chain, an anchor holding its root, a role and a profile."""

    srv: ServerProcess
    chain: Chain
    anchor: str
    role: str
    profile: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server of this module's own and one valid setup on it."""
    srv = start_server(tmp_path_factory.mktemp("malformed") / "data")
    chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", True)
    ra = srv.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name="good",
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]["trustAnchorArn"]
    role = make_role(srv)
    yield World(srv, chain, anchor, role, make_profile(srv, [role]))
    log = srv.log()
    srv.stop()
    assert "Traceback" not in log, log[log.find("Traceback") - 2000 :][:6000]
    assert not re.search(r"elsewhere\.access .* 5\d\d [\d.]+ms", log), "the access log has a 5xx"


def _session(
    w: World,
    *,
    leaf: Any = None,
    key: Any = None,
    intermediates: tuple[Any, ...] | None = None,
    anchor: str | None = None,
) -> httpx.Response:
    """CreateSession for the world's profile and role, with the given leaf, chain and anchor."""
    query = "&".join(
        f"{k}={v}"
        for k, v in (
            ("profileArn", w.profile),
            ("roleArn", w.role),
            ("trustAnchorArn", anchor or w.anchor),
        )
    )
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        query,
        (("Host", f"127.0.0.1:{w.srv.port}"), ("Content-Type", "application/json")),
        b'{"durationSeconds":3600}',
    )
    request = sign_x509_request(
        unsigned,
        certificate=leaf or w.chain.leaf,
        private_key=key or w.chain.leaf_key,
        region=w.srv.region,
        now=dt.datetime.now(dt.UTC),
        intermediates=w.chain.intermediates if intermediates is None else intermediates,
    )
    url = f"{w.srv.endpoint}/sessions?{request.raw_query}"
    return httpx.post(url, headers=list(request.headers), content=request.body, timeout=30)


# Corpus entries that are not defects for elsewhere: an unknown extension that is not critical is
# ignored (RFC 5280 §4.2), and a dNSName's bytes outside ASCII are decoded leniently by
# cryptography and then held to STS's tag rules like any certificate attribute.
ACCEPTABLE = frozenset({"extension-unknown-not-critical", "extension-san-dns-not-ascii"})


def _is_defect(case: Malformed) -> bool:
    """Whether ``case`` must be refused: a named defect (random mutations may be harmless)."""
    return not case.name.startswith("mutation-") and case.name not in ACCEPTABLE


def _no_5xx(answer: httpx.Response | int, case: str) -> None:
    status = answer if isinstance(answer, int) else answer.status_code
    text = "" if isinstance(answer, int) else answer.text[:300]
    assert status < 500, (case, status, text)


def _status(error: ClientError) -> int:
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


def _pem(case: Malformed) -> str:
    body = base64.encodebytes(case.der).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def test_the_valid_setup_works(world: World) -> None:
    """The corpus's base chain gets credentials (so refusals below are about the defects)."""
    assert _session(world).status_code == 201


def test_malformed_leaves(world: World) -> None:
    """Every malformed leaf in X-Amz-X509 is a 4xx; none gets credentials."""
    assert world.chain.intermediate_key is not None
    for case in certificate_corpus(world.chain.leaf, world.chain.intermediate_key):  # type: ignore[arg-type]
        answer = _session(world, leaf=_Raw(case.der, world.chain.leaf.serial_number))
        _no_5xx(answer, case.name)
        if _is_defect(case):
            assert 400 <= answer.status_code < 500, case.name


def test_leaves_with_keys_roles_anywhere_does_not_take(world: World) -> None:
    """Ed25519, Ed448 and X25519 leaves are 4xx refusals."""
    for case, _key in foreign_key_certificates(world.chain):
        serial = int.from_bytes(case.der[15:16], "big")  # any serial: the refusal comes first
        answer = _session(world, leaf=_Raw(case.der, serial))
        _no_5xx(answer, case.name)
        assert 400 <= answer.status_code < 500, case.name


def test_malformed_intermediates(world: World) -> None:
    """Every malformed intermediate in X-Amz-X509-Chain is a 4xx (or, when its defect does not
    matter to the path, a success)."""
    assert world.chain.intermediate is not None
    for case in certificate_corpus(world.chain.intermediate, world.chain.root_key):  # type: ignore[arg-type]
        raw = _Raw(case.der, world.chain.intermediate.serial_number)
        answer = _session(world, intermediates=(raw,))
        _no_5xx(answer, case.name)
        if _is_defect(case):
            assert 400 <= answer.status_code < 500, case.name


# What a trust anchor's own certificate may carry because a path never looks at it: a serial of
# zero (roots with serial 0 exist), and a self-signature over an algorithm nobody knows (RFC 5280
# §6.1 takes the anchor's name and key, not its signature). Either such anchor works.
ANCHOR_ACCEPTABLE = frozenset({"serial-zero", "signature-algorithm-unknown"})


def test_malformed_trust_anchor_bundles(world: World) -> None:
    """Every malformed CA at CreateTrustAnchor and UpdateTrustAnchor is a 4xx; one that is
    accepted is then used by CreateSession, still without a 5xx."""
    ra = world.srv.client("rolesanywhere")
    anchor_id = world.anchor.rsplit("/", 1)[1]
    for case in certificate_corpus(world.chain.root, world.chain.root_key):  # type: ignore[arg-type]
        source = {
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": _pem(case)},
        }
        try:
            created = ra.create_trust_anchor(name="odd", enabled=True, source=source)
        except ClientError as error:
            _no_5xx(_status(error), case.name)
        else:
            assert not _is_defect(case) or case.name in ANCHOR_ACCEPTABLE, case.name
            answer = _session(world, anchor=created["trustAnchor"]["trustAnchorArn"])
            _no_5xx(answer, case.name)
            if case.name in ANCHOR_ACCEPTABLE:
                # Accepted only because it does not matter: the anchor then works.
                assert answer.status_code == 201, case.name
            ra.delete_trust_anchor(trustAnchorId=created["trustAnchor"]["trustAnchorId"])
        try:
            ra.update_trust_anchor(trustAnchorId=anchor_id, source=source)
        except ClientError as error:
            _no_5xx(_status(error), case.name)
        else:
            _no_5xx(_session(world), case.name)
            ra.update_trust_anchor(
                trustAnchorId=anchor_id,
                source={
                    "sourceType": "CERTIFICATE_BUNDLE",
                    "sourceData": {"x509CertificateData": world.chain.anchor_pem},
                },
            )
    assert _session(world).status_code == 201


def test_malformed_crls(world: World) -> None:
    """Every malformed CRL at ImportCrl is a 4xx; one that is accepted is then applied by
    CreateSession, still without a 5xx."""
    ra = world.srv.client("rolesanywhere")
    assert world.chain.intermediate_key is not None
    crl = build_crl(
        world.chain.issuing_ca, [Revocation(4242, NOW - dt.timedelta(minutes=5))], now=NOW
    )
    for case in crl_corpus(crl, world.chain.intermediate_key):  # type: ignore[arg-type]
        try:
            imported = ra.import_crl(
                name="odd", crlData=case.der, trustAnchorArn=world.anchor, enabled=True
            )
        except ClientError as error:
            _no_5xx(_status(error), case.name)
            continue
        _no_5xx(_session(world), case.name)
        ra.delete_crl(crlId=imported["crl"]["crlId"])
    assert _session(world).status_code == 201
