"""X-Forwarded-For is believed only from proxies named with --forwarded-allow-ips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from elsewhere.pki import quick_chain
from elsewhere.sigv4 import HttpRequest
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import (
    TRUST,
    make_anchor,
    make_profile,
    make_role,
    signed_request,
)

pytestmark = pytest.mark.integration

PROXIED = "203.0.113.7"


def _only_from_documentation_net() -> dict[str, Any]:
    statement = dict(TRUST["Statement"][0])  # type: ignore[index]
    statement["Condition"] = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _forwarded(server: ServerProcess, request: HttpRequest) -> httpx.Response:
    # X-Forwarded-For is a proxy's header: added after signing and not signed.
    url = f"{server.endpoint}/sessions?{request.raw_query}"
    headers = [*request.headers, ("X-Forwarded-For", PROXIED)]
    return httpx.post(url, headers=headers, content=request.body, timeout=30)


def _attempt(server: ServerProcess) -> httpx.Response:
    chain = quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "p256")
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server, _only_from_documentation_net())
    profile = make_profile(server, [role])
    return _forwarded(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
    )


@pytest.mark.parametrize(
    ("args", "status"),
    [
        pytest.param((), 403, id="fail/not-believed-by-default"),
        pytest.param(
            ("--forwarded-allow-ips", "127.0.0.1"), 201, id="ok/believed-from-named-proxy"
        ),
        pytest.param(("--forwarded-allow-ips", "192.0.2.1"), 403, id="fail/other-proxy-named"),
    ],
)
def test_source_ip_follows_forwarded_for_only_from_named_proxies(
    tmp_path: Path, args: tuple[str, ...], status: int
) -> None:
    """aws:SourceIp is the peer unless the peer is a named proxy, then X-Forwarded-For."""
    server = start_server(tmp_path / "data", args=args)
    try:
        answer = _attempt(server)
    finally:
        server.stop()
    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["message"].startswith("Unable to assume role for ")
