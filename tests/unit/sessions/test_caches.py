"""CreateSession's caches: nothing kept before a request is authenticated, every cache bounded."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any
from unittest import mock

import pytest

from elsewhere.pki import Chain, issue_certificate, quick_chain
from elsewhere.service import _sessions
from elsewhere.service._session_caches import CACHE_BYTES
from elsewhere.sigv4 import HttpRequest
from elsewhere.x509 import UntrustedCertificate
from tests.unit.x509.test_key_sizes import PublicOnly, rsa_public

from .conftest import NOW, World, session_request

ALL_CACHES = ("leaves", "chains", "inputs", "subjects", "tags", "plans", "contexts", "trust")


def _tamper(request: HttpRequest) -> HttpRequest:
    """The request with its signature's last bytes changed."""
    headers = tuple(
        (name, value[:-4] + ("0000" if not value.endswith("0000") else "1111"))
        if name == "Authorization"
        else (name, value)
        for name, value in request.headers
    )
    return HttpRequest(request.method, request.raw_path, request.raw_query, headers, request.body)


def _leaves(chain: Chain, count: int) -> list[Chain]:
    """``count`` distinct leaves under the chain's issuing CA, with its leaf key."""
    out = []
    for i in range(count):
        leaf = issue_certificate(
            chain.issuing_ca, now=NOW, subject=f"CN=workload-{i},O=elsewhere", key=chain.leaf_key
        )
        out.append(dataclasses.replace(chain, leaf=leaf.certificate))
    return out


@pytest.fixture
def setup(world: World) -> tuple[World, Chain, str, str, str]:
    """A trusted chain with an intermediate, its anchor, a role and a profile."""
    chain = quick_chain(NOW, "p256", with_intermediate=True)
    role = world.add_role("cached")
    anchor = world.add_anchor(chain)
    profile = world.add_profile([role])
    return world, chain, anchor, profile, role


def _empty(world: World) -> dict[str, tuple[int, int]]:
    """The caches that hold anything."""
    return {name: size for name, size in world.handler.cache_usage().items() if size[0]}


def test_fail_bad_signatures_leave_nothing(setup: tuple[World, Chain, str, str, str]) -> None:
    """fail/ requests with a tampered signature (each its own certificate) are kept nowhere."""
    world, chain, anchor, profile, role = setup
    for each in _leaves(chain, 20):
        request = _tamper(session_request(each, anchor=anchor, profile=profile, role=role))
        assert world.call_status(request) == 403
    assert _empty(world) == {}


def test_fail_untrusted_path_leaves_nothing(setup: tuple[World, Chain, str, str, str]) -> None:
    """fail/ validly signed requests whose path does not reach the anchor are kept nowhere."""
    world, _, anchor, profile, role = setup
    for _ in range(5):
        stranger = quick_chain(NOW, "p256", with_intermediate=True)
        request = session_request(stranger, anchor=anchor, profile=profile, role=role)
        assert world.call_status(request) == 403
    assert _empty(world) == {}


def test_ok_authenticated_request_is_remembered(setup: tuple[World, Chain, str, str, str]) -> None:
    """ok/ a trusted request fills the caches once; repeating it adds nothing."""
    world, chain, anchor, profile, role = setup
    request = session_request(chain, anchor=anchor, profile=profile, role=role)
    assert world.call_status(request) == 201
    first = world.handler.cache_usage()
    assert all(first[name][0] == 1 for name in (*ALL_CACHES, "paths")), first
    assert world.call_status(request) == 201
    assert world.handler.cache_usage() == first


def _deep_size(obj: object, seen: set[int]) -> int:
    """Bytes of the Python objects reachable from ``obj`` and not in ``seen``."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(_deep_size(item, seen) for item in obj)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        size += sum(_deep_size(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    else:
        if hasattr(obj, "__dict__"):
            size += _deep_size(vars(obj), seen)
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and hasattr(obj, slot):
                    size += _deep_size(getattr(obj, slot), seen)
    return size


@pytest.mark.parametrize("name", ["inputs", "subjects", "tags", "plans", "contexts", "trust"])
def test_ok_weights_cover_what_entries_hold(
    setup: tuple[World, Chain, str, str, str], name: str
) -> None:
    """ok/ each entry's weight is at least what its Python objects measure (shared ones aside)."""
    world, chain, anchor, profile, role = setup
    for each in _leaves(chain, 10):
        request = session_request(each, anchor=anchor, profile=profile, role=role)
        assert world.call_status(request) == 201
    handler: Any = world.handler
    caches = {
        "leaves": handler._leaves,
        "inputs": handler._inputs,
        "subjects": handler._subjects,
        "tags": handler._tags,
        "plans": handler._plans,
        "contexts": handler._contexts,
        "trust": handler._trust_decisions,
    }
    cache = caches[name]
    # What the snapshot and the leaf cache hold is theirs: count it there, not here.
    shared: set[int] = set()
    _deep_size(handler._snapshot, shared)
    if name != "leaves":
        _deep_size(caches["leaves"]._entries, shared)
    # Each entry: its key, its value, and a slot with a link in the cache's ordered dict.
    measured = sum(
        _deep_size(key, shared) + _deep_size(entry, shared) + 100
        for key, entry in cache._entries.items()
    )
    assert cache.weight >= 0.8 * measured, (cache.weight, measured)
    assert cache.weight <= 4 * measured, (cache.weight, measured)


def test_ok_caches_stay_within_their_bytes(setup: tuple[World, Chain, str, str, str]) -> None:
    """ok/ however many certificates come, no cache passes its byte bound."""
    world, chain, anchor, profile, role = setup
    handler: Any = world.handler
    # Small bounds, so a few dozen certificates reach them.
    for name, attribute in (("leaves", "_leaves"), ("plans", "_plans")):
        bound = CACHE_BYTES[name] // 2048
        cache = getattr(handler, attribute)
        setattr(handler, attribute, type(cache)(max_entries=10_000, max_weight=bound))
    for each in _leaves(chain, 40):
        request = session_request(each, anchor=anchor, profile=profile, role=role)
        assert world.call_status(request) == 201
    sizes = world.handler.cache_usage()
    for name in ("leaves", "plans"):
        entries, weight = sizes[name]
        assert 0 < entries < 40
        assert weight <= CACHE_BYTES[name] // 2048


def test_fail_oversized_leaf_key_refused_before_its_signature(
    setup: tuple[World, Chain, str, str, str],
) -> None:
    """fail/ a leaf with an RSA-8192 key is untrusted before its signature is checked at all."""
    world, chain, anchor, profile, role = setup
    big = issue_certificate(
        chain.issuing_ca,
        now=NOW,
        subject="CN=big,O=elsewhere",
        key=PublicOnly(rsa_public(8192)),  # type: ignore[arg-type]
    ).certificate
    # Signed with another key: the signature could never verify, and is never tried.
    request = session_request(
        dataclasses.replace(chain, leaf=big), anchor=anchor, profile=profile, role=role
    )
    with mock.patch.object(
        _sessions, "verify_x509_signature", wraps=_sessions.verify_x509_signature
    ) as verify, pytest.raises(UntrustedCertificate) as caught:
        world.call(request)
    assert verify.call_count == 0
    assert caught.value.message == "Untrusted signing certificate"
    assert "RSA key of 8192 bits, above the maximum of 4096" in caught.value.reason
    assert _empty(world) == {}
