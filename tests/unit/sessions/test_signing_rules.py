"""CreateSession's signature rules beyond the signature itself: the body must be signed, and a
presigned (query-signed) request is good for no longer than a header-signed one."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from elsewhere.errors import AccessDenied
from elsewhere.pki import Chain, quick_chain
from elsewhere.sigv4 import (
    CredentialScope,
    HttpRequest,
    canonical_request,
    format_amz_date,
    sign_x509_request,
    string_to_sign,
    x509_algorithm_for_key,
)

from .conftest import HOST, NOW, REGION, World


def _setup(world: World) -> tuple[Chain, str, str, str]:
    chain = quick_chain(NOW - dt.timedelta(hours=1), "p256")
    role = world.add_role("r" + str(len(world.store.list_roles())))
    anchor = world.add_anchor(chain)
    return chain, anchor, role, world.add_profile([role])


def _arns(anchor: str, profile: str, role: str) -> list[tuple[str, str]]:
    return [("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor)]


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)


def unsigned_payload_request(
    chain: Chain,
    anchor: str,
    profile: str,
    role: str,
    body: bytes,
    *,
    host: str = HOST,
    now: dt.datetime = NOW,
) -> HttpRequest:
    """A header-signed CreateSession whose payload hash is ``UNSIGNED-PAYLOAD``."""
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        _query(_arns(anchor, profile, role)),
        (
            ("Host", host),
            ("Content-Type", "application/json"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ),
        body,
    )
    return sign_x509_request(
        unsigned, certificate=chain.leaf, private_key=chain.leaf_key, region=REGION, now=now
    )


def presigned_request(
    chain: Chain,
    anchor: str,
    profile: str,
    role: str,
    *,
    signed_at: dt.datetime,
    expires: int = 604800,
    host: str = HOST,
) -> HttpRequest:
    """CreateSession in the query-signed form (X-Amz-* in the query string, as a URL carries it)."""
    key = chain.leaf_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    amz_date = format_amz_date(signed_at)
    scope = CredentialScope(amz_date[:8], REGION, "rolesanywhere", "aws4_request")
    algorithm = x509_algorithm_for_key(key)
    pairs = [
        *_arns(anchor, profile, role),
        ("X-Amz-Algorithm", algorithm),
        ("X-Amz-Credential", f"{chain.leaf.serial_number}/{scope.format()}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host;x-amz-x509"),
    ]
    der = chain.leaf.public_bytes(serialization.Encoding.DER)
    headers = (("Host", host), ("X-Amz-X509", base64.b64encode(der).decode("ascii")))
    request = HttpRequest("POST", "/sessions", _query(pairs), headers, b"")
    creq = canonical_request(
        request, ("host", "x-amz-x509"), hashlib.sha256(b"").hexdigest(), presigned=True
    )
    sts = string_to_sign(algorithm, amz_date, scope, creq)
    signature = key.sign(sts.encode("utf-8"), ec.ECDSA(hashes.SHA256())).hex()
    return HttpRequest(
        "POST", "/sessions", _query([*pairs, ("X-Amz-Signature", signature)]), headers, b""
    )


def test_fail_unsigned_payload_with_a_body(world: World) -> None:
    """UNSIGNED-PAYLOAD over a body is refused: the body is not covered by the signature."""
    chain, anchor, role, profile = _setup(world)
    request = unsigned_payload_request(chain, anchor, profile, role, b'{"durationSeconds":900}')
    with pytest.raises(AccessDenied) as refused:
        world.call(request)
    assert refused.value.message == "Invalid signature"
    assert "UNSIGNED-PAYLOAD" in refused.value.reason


def test_ok_unsigned_payload_without_a_body(world: World) -> None:
    """UNSIGNED-PAYLOAD with an empty body (ARNs in the query string) still works."""
    chain, anchor, role, profile = _setup(world)
    assert world.call(unsigned_payload_request(chain, anchor, profile, role, b"")).status == 201


@pytest.mark.parametrize(
    ("case", "age", "expires", "ok"),
    [
        ("ok/fresh", dt.timedelta(0), 604800, True),
        ("ok/four-minutes-old", dt.timedelta(minutes=4), 604800, True),
        ("ok/short-expiry-within", dt.timedelta(seconds=30), 60, True),
        ("fail/six-minutes-old-despite-a-week", dt.timedelta(minutes=6), 604800, False),
        ("fail/a-day-old-despite-a-week", dt.timedelta(days=1), 604800, False),
        ("fail/past-its-own-short-expiry", dt.timedelta(seconds=90), 60, False),
        ("fail/from-the-future", -dt.timedelta(minutes=6), 604800, False),
    ],
)
def test_presigned_window_is_the_header_window(
    world: World, case: str, age: dt.timedelta, expires: int, ok: bool
) -> None:
    """A presigned CreateSession is good for ±5 minutes at most, whatever X-Amz-Expires says."""
    chain, anchor, role, profile = _setup(world)
    request = presigned_request(
        chain, anchor, profile, role, signed_at=NOW - age, expires=expires
    )
    if ok:
        assert world.call(request).status == 201, case
        return
    with pytest.raises(AccessDenied, match=r"^Signature (expired|not yet current)") as refused:
        world.call(request)
    assert refused.value.status == 403, case
