"""Bad input never gets a 500 or a crash: every refusal is a 4xx in the AWS format of its protocol.

A real ``elsewhere server`` process of this module's own is sent garbage, signed and unsigned:
random bodies, wrong JSON types, deep nesting, huge strings, invalid UTF-8, percent-encoding
garbage, overlong URLs and headers, chunked and oversized bodies, bad content types, malformed
``Authorization`` headers (texts from aws-protocols.md §4.5), presigned-URL garbage, query-protocol
garbage, odd methods and requests that stop half-way. After every test the server must still
answer ``/ping`` and its log must hold no Python traceback and no secret.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import re
import socket
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx
import pytest
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elsewhere.pki import Chain, quick_chain
from elsewhere.sigv4 import HttpRequest, format_amz_date, sign_hmac_request, sign_x509_request
from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.integration

FORM = "application/x-www-form-urlencoded; charset=utf-8"
JSON = "application/json"
MIB = 1024 * 1024
# A session token of our own making: it must never show up in the server log.
FAKE_SESSION_TOKEN = "IQoJb3JpZ2luX2VjRobustnessCanary" + "x" * 64
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
# What the server answers when uvicorn's HTTP parser refuses the bytes before the gateway sees
# them (elsewhere.app renders it in AWS's JSON error format).
PARSER_REFUSAL = b'{"message": "Invalid HTTP request received."}'
SIGNED_00 = "SignedHeaders=host;x-amz-date, Signature=00"

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, so its log holds only this module's traffic."""
    handle = start_server(tmp_path_factory.mktemp("robustness") / "data")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def http(srv: ServerProcess) -> Iterator[httpx.Client]:
    """A keep-alive client for the module's server."""
    with httpx.Client(base_url=srv.endpoint, timeout=20) as client:
        yield client


@pytest.fixture(scope="module")
def _log_seen() -> dict[str, int]:
    """How many bytes of the server log earlier tests have checked already."""
    return {"offset": 0}


@pytest.fixture(autouse=True)
def _still_healthy(srv: ServerProcess, _log_seen: dict[str, int]) -> Iterator[None]:
    """After each test: the process lives, /ping answers, the log has no traceback or secret."""
    yield
    assert srv.process.poll() is None, "the server process died"
    answer = httpx.get(f"{srv.endpoint}/ping", timeout=10)
    assert answer.status_code == 200
    # Only the part written since the last check (with some overlap), so the suite stays fast.
    with srv.log_path.open("rb") as handle:
        handle.seek(max(0, _log_seen["offset"] - 256))
        log = handle.read().decode("utf-8", errors="replace")
        _log_seen["offset"] = handle.tell()
    assert "Traceback" not in log, log[log.find("Traceback") - 2000 :][:6000]
    assert not re.search(r"elsewhere\.access .* 5\d\d [\d.]+ms", log), "the access log shows a 5xx"
    assert "InternalFailure" not in log
    _, secret = srv.admin_keys()
    assert secret not in log
    assert FAKE_SESSION_TOKEN not in log


# --- helpers ----------------------------------------------------------------------------------


def _sign(
    srv: ServerProcess,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    service: str = "rolesanywhere",
    now: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """The headers of a request signed with the root key."""
    key, secret = srv.admin_keys()
    request = HttpRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=(("host", f"127.0.0.1:{srv.port}"), *headers),
        body=body,
    )
    signed = sign_hmac_request(
        request,
        access_key_id=key,
        secret_access_key=secret,
        region=srv.region,
        service=service,
        now=now or dt.datetime.now(dt.UTC),
    )
    return list(signed.headers)


@dataclass(frozen=True)
class RawAnswer:
    """A response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes


def _raw(srv: ServerProcess, data: bytes, *, timeout: float = 10) -> RawAnswer:
    """Send ``data`` as-is on a fresh connection and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            got = b"".join(chunks)
            head, sep, body = got.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break
    out = b"".join(chunks)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {out[:200]!r}"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(lines[0].split()[1]), headers, body)


def _request_head(
    srv: ServerProcess, method: str, target: str, headers: list[tuple[str, str]] = ()
) -> bytes:
    """An HTTP/1.1 request head with Host and ``Connection: close``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in headers if n.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _assert_json_error(
    status: int, headers: dict[str, str] | httpx.Headers, body: bytes
) -> tuple[str, str]:
    """A restJson1 error (§1.7): 4xx, request id, x-amzn-ErrorType and a JSON ``message``."""
    assert 400 <= status < 500, (status, body[:300])
    assert headers.get("x-amzn-requestid"), headers
    code = headers.get("x-amzn-errortype")
    assert code, (status, headers, body[:300])
    assert headers.get("content-type", "").startswith(JSON)
    if not body:  # HEAD
        return code, ""
    doc = json.loads(body)
    assert isinstance(doc.get("message"), str)
    assert doc["message"]
    return code, doc["message"]


def _assert_xml_error(
    status: int, headers: dict[str, str] | httpx.Headers, body: bytes
) -> tuple[str, str]:
    """A query-protocol error (§2.5): 4xx, request id, ``ErrorResponse`` with Code and Message."""
    assert 400 <= status < 500, (status, body[:300])
    request_id = headers.get("x-amzn-requestid")
    assert request_id, headers
    root = ET.fromstring(body)  # noqa: S314 - our own server's answer
    assert root.tag.endswith("ErrorResponse"), body[:300]
    ns = root.tag[: -len("ErrorResponse")]
    assert ns in {STS_NS, IAM_NS}, root.tag
    error = root.find(f"{ns}Error")
    assert error is not None
    assert error.findtext(f"{ns}Type") == "Sender"
    code, message = error.findtext(f"{ns}Code"), error.findtext(f"{ns}Message")
    assert code
    assert message
    assert root.findtext(f"{ns}RequestId") == request_id
    return code, message


def _assert_error(answer: httpx.Response | RawAnswer) -> tuple[str, str]:
    """Either protocol's error form, chosen by the content type."""
    if isinstance(answer, httpx.Response):
        status, headers, body = answer.status_code, answer.headers, answer.content
    else:
        status, headers, body = answer.status, answer.headers, answer.body
    if headers.get("content-type", "").startswith("text/xml"):
        return _assert_xml_error(status, headers, body)
    return _assert_json_error(status, headers, body)


def _assert_no_5xx(answer: httpx.Response, *, parser_may_refuse: bool = False) -> None:
    """A success, or an error in AWS's format; never a 5xx."""
    assert answer.status_code < 500, answer.text[:300]
    if parser_may_refuse and answer.content == PARSER_REFUSAL:
        assert answer.status_code == 400
        return
    if answer.status_code >= 400:
        _assert_error(answer)


def _assert_parser_refusal(answer: RawAnswer) -> None:
    """The HTTP parser refused the bytes before the gateway saw them: a 400 in AWS's format."""
    assert answer.status == 400
    assert answer.body == PARSER_REFUSAL
    code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
    assert code == "BadRequestException"


# --- random and malformed bodies --------------------------------------------------------------


class TestGarbageBodies:
    """Random bytes and random JSON to the JSON and query APIs, signed and unsigned."""

    @FUZZ
    @given(body=st.binary(max_size=2048), signed=st.booleans())
    def test_random_bytes_to_rolesanywhere(
        self, srv: ServerProcess, http: httpx.Client, body: bytes, signed: bool
    ) -> None:
        """Random bytes as a CreateProfile body are a 4xx JSON error."""
        headers = (("content-type", JSON),)
        sent = _sign(srv, "POST", "/profiles", body, headers=headers) if signed else list(headers)
        answer = http.post("/profiles", content=body, headers=sent)
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        if not signed:
            assert code == "MissingAuthenticationTokenException"

    @FUZZ
    @given(body=st.binary(max_size=2048), service=st.sampled_from(["sts", "iam"]))
    def test_random_bytes_to_query(
        self, srv: ServerProcess, http: httpx.Client, body: bytes, service: str
    ) -> None:
        """Random bytes as a signed form body are a 4xx XML error."""
        headers = (("content-type", FORM),)
        answer = http.post(
            "/",
            content=body,
            headers=_sign(srv, "POST", "/", body, headers=headers, service=service),
        )
        _assert_xml_error(answer.status_code, answer.headers, answer.content)

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )

    @FUZZ
    @given(
        doc=st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "roleArns",
                    "sessionPolicy",
                    "managedPolicyArns",
                    "durationSeconds",
                    "enabled",
                    "tags",
                    "requireInstanceProperties",
                    "acceptRoleSessionName",
                    "x",
                ]
            ),
            json_values,
            max_size=6,
        )
    )
    def test_random_json_members(
        self, srv: ServerProcess, http: httpx.Client, doc: dict[str, object]
    ) -> None:
        """Any JSON values under CreateProfile's member names: a success or a 4xx, never a 5xx."""
        body = json.dumps(doc).encode()
        headers = (("content-type", JSON),)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=headers),
        )
        _assert_no_5xx(answer)

    @FUZZ
    @given(
        pairs=st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "Action",
                        "Version",
                        "RoleArn",
                        "RoleSessionName",
                        "DurationSeconds",
                        "Tags.member.1.Key",
                        "Tags.member.1.Value",
                        "Tags.member.x.Key",
                        "Tags.member.999999999.Key",
                        "PolicyArns.member.1.arn",
                        "Policy",
                        "TransitiveTagKeys.member.1",
                        "Tags",
                        "Tags.member",
                        "..",
                        "",
                    ]
                )
                | st.text(max_size=20),
                st.text(max_size=40),
            ),
            max_size=10,
        ),
        service=st.sampled_from(["sts", "iam"]),
    )
    def test_random_form_pairs(
        self, srv: ServerProcess, http: httpx.Client, pairs: list[tuple[str, str]], service: str
    ) -> None:
        """Any form pairs, signed: a success or a 4xx XML error."""
        body = urlencode([("Action", "AssumeRole"), *pairs]).encode()
        headers = (("content-type", FORM),)
        answer = http.post(
            "/",
            content=body,
            headers=_sign(srv, "POST", "/", body, headers=headers, service=service),
        )
        _assert_no_5xx(answer)


WRONG_TYPES: list[object] = [
    5,
    -1,
    2**70,
    1.5,
    1e308,
    "x",
    "",
    True,
    [],
    [1, "a"],
    {},
    {"a": {"b": []}},
    "9999-12-31T23:59:59-01:00",
    "\u0000\ud7ff",
]
RESOURCE = "00000000-0000-4000-8000-000000000000"
OPERATIONS = [
    ("POST", "/trustanchors", ["name", "source", "enabled", "tags", "notificationSettings"]),
    (
        "POST",
        "/profiles",
        [
            "name",
            "roleArns",
            "sessionPolicy",
            "managedPolicyArns",
            "durationSeconds",
            "enabled",
            "tags",
            "requireInstanceProperties",
            "acceptRoleSessionName",
            "attributeMappings",
        ],
    ),
    ("PATCH", f"/profile/{RESOURCE}", ["name", "roleArns", "durationSeconds", "sessionPolicy"]),
    ("POST", "/crls", ["name", "crlData", "trustAnchorArn", "enabled", "tags"]),
    ("POST", "/TagResource", ["resourceArn", "tags"]),
    ("PUT", f"/profiles/{RESOURCE}/mappings", ["certificateField", "mappingRules"]),
]


class TestWrongTypes:
    """Every member of a few operations with values of every wrong JSON type."""

    @pytest.mark.parametrize(
        ("method", "path", "members"), OPERATIONS, ids=[o[1] for o in OPERATIONS]
    )
    def test_every_member_every_type(
        self, srv: ServerProcess, http: httpx.Client, method: str, path: str, members: list[str]
    ) -> None:
        """A wrong type anywhere is a 4xx JSON error (or, when the value fits, a success)."""
        headers = (("content-type", JSON),)
        for member in members:
            for value in WRONG_TYPES:
                body = json.dumps({member: value}).encode()
                answer = http.request(
                    method,
                    path,
                    content=body,
                    headers=_sign(srv, method, path, body, headers=headers),
                )
                _assert_no_5xx(answer)

    @pytest.mark.parametrize(
        "body",
        [
            b"null",
            b"[]",
            b"5",
            b'"x"',
            b"{",
            b"\xff\xfe{}",
            b'{"name": "\\ud800"}',
            b'{"durationSeconds": NaN}',
            b'{"durationSeconds": 1e999}',
            b'{"a":1,"a":2}',
            b"\xef\xbb\xbf{}",
        ],
        ids=lambda b: repr(b)[:30],
    )
    def test_not_an_object(self, srv: ServerProcess, http: httpx.Client, body: bytes) -> None:
        """A body that is not a JSON object (or not JSON, or not UTF-8) is a 400."""
        headers = (("content-type", JSON),)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=headers),
        )
        _assert_no_5xx(answer)

    @pytest.mark.parametrize("depth", [40, 1000, 200_000])
    def test_deep_nesting(self, srv: ServerProcess, http: httpx.Client, depth: int) -> None:
        """Deeply nested arrays and objects, in a typed member and in a free one, are 400s."""
        headers = (("content-type", JSON),)
        for body in (
            b'{"tags":' + b"[" * depth + b"]" * depth + b"}",
            b'{"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}",
            b'{"attributeMappings":' + b"[" * depth + b"]" * depth + b"}",
        ):
            if len(body) > MIB:
                continue
            answer = http.post(
                "/profiles",
                content=body,
                headers=_sign(srv, "POST", "/profiles", body, headers=headers),
            )
            _assert_no_5xx(answer)
            if b'"x"' not in body:
                assert answer.status_code == 400

    @pytest.mark.parametrize("depth", [1000, 3000, 20_000])
    def test_deep_policy_documents(
        self, srv: ServerProcess, http: httpx.Client, depth: int
    ) -> None:
        """Policy text nested past the JSON decoder's recursion limit is a 4xx everywhere."""
        for doc in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            body = json.dumps({"name": "deep", "roleArns": [], "sessionPolicy": doc}).encode()
            headers = (("content-type", JSON),)
            answer = http.post(
                "/profiles",
                content=body,
                headers=_sign(srv, "POST", "/profiles", body, headers=headers),
            )
            code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
            assert code == "ValidationException"
            for service, pairs in (
                ("iam", [("Action", "CreatePolicy"), ("PolicyName", "deep")]),
                ("iam", [("Action", "CreateRole"), ("RoleName", "deep")]),
                ("iam", [("Action", "PutRolePolicy"), ("RoleName", "deep"), ("PolicyName", "p")]),
                ("iam", [("Action", "SimulateCustomPolicy"), ("ActionNames.member.1", "s3:Get")]),
                ("sts", [("Action", "AssumeRole"), ("RoleSessionName", "deep")]),
            ):
                name = {"CreateRole": "AssumeRolePolicyDocument", "AssumeRole": "Policy"}.get(
                    pairs[0][1], "PolicyDocument"
                )
                if pairs[0][1] == "SimulateCustomPolicy":
                    name = "PolicyInputList.member.1"
                extra = [("RoleArn", f"arn:aws:iam::{srv.account_id}:role/deep")]
                form = urlencode([*pairs, (name, doc), *extra]).encode()
                headers = (("content-type", FORM),)
                answer = http.post(
                    "/",
                    content=form,
                    headers=_sign(srv, "POST", "/", form, headers=headers, service=service),
                )
                _assert_xml_error(answer.status_code, answer.headers, answer.content)

    def test_huge_strings(self, srv: ServerProcess, http: httpx.Client) -> None:
        """Strings just under the body limit in JSON and in a form are 400 validation errors."""
        huge = "A" * (MIB - 1000)
        body = json.dumps({"name": huge, "roleArns": []}).encode()
        headers = (("content-type", JSON),)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=headers),
        )
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        assert code == "ValidationException"
        form = urlencode(
            {"Action": "AssumeRole", "Version": "2011-06-15", "RoleSessionName": huge}
        ).encode()
        headers = (("content-type", FORM),)
        answer = http.post(
            "/", content=form, headers=_sign(srv, "POST", "/", form, headers=headers, service="sts")
        )
        code, _ = _assert_xml_error(answer.status_code, answer.headers, answer.content)
        assert code == "ValidationError"


# --- encodings, paths, URLs and headers -------------------------------------------------------


LABEL_GARBAGE = [
    "%zz",
    "%00",
    "%2F",
    "a%2Fb",
    "%ff%fe",
    "%",
    "%%",
    "%C0%AF",
    "..%2F..",
    "%E2%80%AE",
    "x" * 3000,
]


class TestPathsAndEncodings:
    """Percent-encoding garbage, invalid UTF-8, and raw bytes the HTTP parser refuses."""

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        segments=st.lists(
            st.sampled_from(
                [
                    "profile",
                    "profiles",
                    "trustanchor",
                    "crl",
                    "subject",
                    "tags",
                    "enable",
                    "disable",
                    "mappings",
                    RESOURCE,
                    "",
                    ".",
                    "..",
                ]
            )
            | st.text(max_size=12).map(lambda t: quote(t, safe="")),
            max_size=5,
        ),
        query=st.text(max_size=40).map(lambda t: quote(t, safe="=&")),
    )
    def test_random_paths(
        self, srv: ServerProcess, method: str, segments: list[str], query: str
    ) -> None:
        """Any signed method, path and query: a success or a 4xx JSON error."""
        path = "/" + "/".join(segments)
        answer = _raw(
            srv,
            _request_head(
                srv,
                method,
                path + (f"?{query}" if query else ""),
                [*_sign(srv, method, path, query=query), ("Content-Length", "0")],
            ),
        )
        assert answer.status < 500, answer.body[:300]
        if answer.status >= 400:
            _assert_json_error(answer.status, answer.headers, answer.body)

    @pytest.mark.parametrize("label", LABEL_GARBAGE)
    def test_label_garbage(self, srv: ServerProcess, http: httpx.Client, label: str) -> None:
        """Garbage in a path label is a 4xx JSON error, signed and unsigned."""
        for method, template in (
            ("GET", "/profile/{}"),
            ("DELETE", "/trustanchor/{}"),
            ("POST", "/profile/{}/enable"),
        ):
            path = template.format(label)
            for headers in (_sign(srv, method, path), []):
                answer = _raw(srv, _request_head(srv, method, path, headers))
                code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
                if not headers:
                    assert code == "MissingAuthenticationTokenException"

    @pytest.mark.parametrize(
        "query",
        [
            "nextToken=%zz",
            "pageSize=%00",
            "pageSize=abc",
            "pageSize=99999999999999999999",
            "pageSize=%C2%B2",
            "nextToken=%ff",
            "a=b&&&==&%",
            "pageSize=1&pageSize=x",
        ],
    )
    def test_query_garbage(self, srv: ServerProcess, http: httpx.Client, query: str) -> None:
        """Garbage in a restJson query string is a success or a 4xx JSON error."""
        for headers in (_sign(srv, "GET", "/profiles", query=query), []):
            answer = _raw(srv, _request_head(srv, "GET", f"/profiles?{query}", headers))
            assert answer.status < 500
            if answer.status >= 400:
                _assert_json_error(answer.status, answer.headers, answer.body)

    def test_invalid_utf8_in_headers(self, srv: ServerProcess) -> None:
        """Bytes that are not UTF-8 in header values are read as Latin-1 and refused as 4xx."""
        for extra in (
            [("X-Junk", "\xff\xfe")],
            [("Authorization", "AWS4-HMAC-SHA256 Credential=\xff/\xfe")],
            [("Content-Type", "application/json; charset=\xff")],
            [("X-Amz-Security-Token", "\xff" * 10)],
        ):
            answer = _raw(srv, _request_head(srv, "GET", "/profiles", extra))
            _assert_json_error(answer.status, answer.headers, answer.body)

    def test_invalid_utf8_in_signed_header(self, srv: ServerProcess) -> None:
        """A signed request carrying a non-UTF-8 header still gets an AWS answer, not a 500."""
        headers = _sign(srv, "GET", "/profiles", headers=(("x-amz-meta", "\xe9t\xe9"),))
        answer = _raw(srv, _request_head(srv, "GET", "/profiles", headers))
        assert answer.status < 500
        if answer.status >= 400:
            _assert_json_error(answer.status, answer.headers, answer.body)

    def test_invalid_utf8_in_bodies(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A form body that is not UTF-8 is a 4xx XML error; a JSON one a 4xx JSON error."""
        form = b"Action=GetCallerIdentity&Version=2011-06-15&X=\xff\xfe"
        headers = (("content-type", FORM),)
        answer = http.post(
            "/", content=form, headers=_sign(srv, "POST", "/", form, headers=headers, service="sts")
        )
        _assert_xml_error(answer.status_code, answer.headers, answer.content)
        unsigned = http.post("/", content=form, headers=list(headers))
        _assert_error(unsigned)
        body = b'{"name": "\xff"}'
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=(("content-type", JSON),)),
        )
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        assert code == "SerializationException"

    @pytest.mark.parametrize(
        "target",
        [
            b"/profile/\xff\xfe",
            b"/profiles?nextToken=\xff",
            b"/pro file",
            b"/\x00",
            b"/profiles?a=\x7f",
        ],
        ids=repr,
    )
    def test_raw_bytes_in_request_target(self, srv: ServerProcess, target: bytes) -> None:
        """Raw non-ASCII or control bytes in the request target: a 4xx, and the server lives on."""
        data = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        answer = _raw(srv, data)
        assert 400 <= answer.status < 500
        if answer.body != PARSER_REFUSAL:
            _assert_json_error(answer.status, answer.headers, answer.body)


class TestSizes:
    """Overlong URLs and headers, many and duplicate headers, chunked and oversized bodies."""

    def test_long_url_within_parser_limit(self, srv: ServerProcess) -> None:
        """A 20 KiB path or query reaches elsewhere and gets a 4xx JSON error."""
        for target in ("/" + "a" * 20_000, "/profiles?nextToken=" + "b" * 20_000):
            for headers in (
                _sign(srv, "GET", target.split("?")[0], query=target.partition("?")[2]),
                [],
            ):
                answer = _raw(srv, _request_head(srv, "GET", target, headers))
                _assert_json_error(answer.status, answer.headers, answer.body)

    def test_url_beyond_parser_limit(self, srv: ServerProcess) -> None:
        """A 200 KiB URL is refused with a 400 and does not hurt the server."""
        answer = _raw(srv, _request_head(srv, "GET", "/" + "a" * 200_000))
        assert 400 <= answer.status < 500

    @pytest.mark.parametrize("size", [17_000, 100_000, 1_000_000])
    def test_long_header(self, srv: ServerProcess, size: int) -> None:
        """A header above 16 KiB is a 413 RequestEntityTooLargeException, signed or not."""
        for signed in (False, True):
            extra = [("X-Long", "v" * size)]
            headers = _sign(srv, "GET", "/profiles") + extra if signed else extra
            answer = _raw(srv, _request_head(srv, "GET", "/profiles", headers))
            if answer.body == PARSER_REFUSAL:
                continue
            code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
            assert (answer.status, code) == (413, "RequestEntityTooLargeException")

    def test_many_headers(self, srv: ServerProcess) -> None:
        """Thousands of small headers are a 413; a hundred are fine."""
        many = [(f"X-H{i}", "v") for i in range(3000)]
        answer = _raw(srv, _request_head(srv, "GET", "/profiles", many))
        code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
        assert (answer.status, code) == (413, "RequestEntityTooLargeException")
        some = [(f"X-H{i}", "v") for i in range(100)]
        answer = _raw(
            srv, _request_head(srv, "GET", "/profiles", _sign(srv, "GET", "/profiles") + some)
        )
        assert answer.status == 200, answer.body[:300]

    @pytest.mark.parametrize(
        "name",
        [
            "Authorization",
            "X-Amz-Date",
            "Content-Type",
            "X-Amz-Security-Token",
            "X-Amz-Content-Sha256",
            "Host",
        ],
    )
    def test_duplicate_headers(self, srv: ServerProcess, name: str) -> None:
        """A signed request with one header repeated is a 4xx JSON error, never a 5xx."""
        headers = _sign(srv, "GET", "/profiles")
        value = {n.lower(): v for n, v in headers}.get(name.lower(), FAKE_SESSION_TOKEN)
        answer = _raw(
            srv, _request_head(srv, "GET", "/profiles", [*headers, (name, value), (name, "other")])
        )
        assert answer.status < 500
        if answer.status >= 400:
            _assert_json_error(answer.status, answer.headers, answer.body)

    def test_chunked_body(self, srv: ServerProcess) -> None:
        """A signed body sent chunked is read whole and handled like any other."""
        body = json.dumps({"name": f"chunked-{uuid.uuid4().hex[:8]}", "roleArns": []}).encode()
        headers = _sign(srv, "POST", "/profiles", body, headers=(("content-type", JSON),))
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7])
            for i in range(0, len(body), 7)
        )
        data = _request_head(srv, "POST", "/profiles", [*headers, ("Transfer-Encoding", "chunked")])
        answer = _raw(srv, data + chunks + b"0\r\n\r\n")
        assert answer.status == 201, answer.body[:300]

    def test_chunked_over_limit(self, srv: ServerProcess) -> None:
        """A chunked body above 1 MiB (no declared length) is a 413 JSON error."""
        data = _request_head(
            srv, "POST", "/profiles", [("Transfer-Encoding", "chunked"), ("Content-Type", JSON)]
        )
        chunk = b"%x\r\n%s\r\n" % (256 * 1024, b"a" * 256 * 1024)
        answer = _raw(srv, data + chunk * 5 + b"0\r\n\r\n")
        code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
        assert (answer.status, code) == (413, "RequestEntityTooLargeException")

    def test_declared_length_over_limit(self, srv: ServerProcess) -> None:
        """A Content-Length above 1 MiB is refused with 413 before any body byte is sent."""
        for length in (MIB + 1, 10**15):
            data = _request_head(
                srv, "POST", "/profiles", [("Content-Length", str(length)), ("Content-Type", JSON)]
            )
            answer = _raw(srv, data)
            code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
            assert (answer.status, code) == (413, "RequestEntityTooLargeException")

    def test_sent_body_over_limit(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A 2 MiB body, signed, to the JSON and the query API, is a 413 in each one's format."""
        body = b" " * (2 * MIB)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=(("content-type", JSON),)),
        )
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        assert (answer.status_code, code) == (413, "RequestEntityTooLargeException")
        answer = http.post(
            "/",
            content=body,
            headers=_sign(srv, "POST", "/", body, headers=(("content-type", FORM),), service="sts"),
        )
        assert answer.status_code == 413
        _assert_error(answer)

    @pytest.mark.parametrize("value", ["-1", "+5", "1e3", "\xb2", "5, 6", " "])
    def test_malformed_content_length(self, srv: ServerProcess, value: str) -> None:
        """A malformed Content-Length is a 400 (from the HTTP parser), never a 5xx."""
        answer = _raw(
            srv, _request_head(srv, "POST", "/profiles", [("Content-Length", value)]) + b"abcde"
        )
        assert 400 <= answer.status < 500

    @pytest.mark.parametrize(
        "ctype",
        [
            "text/plain",
            FORM,
            "multipart/form-data; boundary=x",
            ";;;",
            "application/json; charset=latin-1",
            "\x7f",
        ],
    )
    def test_bad_content_type(self, srv: ServerProcess, http: httpx.Client, ctype: str) -> None:
        """An odd Content-Type on a JSON call or a JSON body on a query call: never a 5xx."""
        body = b'{"name": 5}'
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=(("content-type", ctype),)),
        )
        _assert_no_5xx(answer, parser_may_refuse=True)
        body = b'{"Action": "GetCallerIdentity"}'
        answer = http.post(
            "/",
            content=body,
            headers=_sign(
                srv, "POST", "/", body, headers=(("content-type", ctype),), service="sts"
            ),
        )
        _assert_no_5xx(answer, parser_may_refuse=True)


# --- authentication garbage -------------------------------------------------------------------


def _auth_case(
    srv: ServerProcess, authorization: str, *, date: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """GET /profiles with a hand-written Authorization header (and a current X-Amz-Date)."""
    headers = [("Authorization", authorization)]
    if date:
        headers.append(("X-Amz-Date", format_amz_date(dt.datetime.now(dt.UTC))))
    answer = _raw(srv, _request_head(srv, "GET", "/profiles", headers))
    return answer.status, answer.headers, answer.body


def _scope(
    srv: ServerProcess,
    *,
    region: str | None = None,
    service: str = "rolesanywhere",
    term: str = "aws4_request",
    day: str | None = None,
    key: str | None = None,
) -> str:
    """A credential ``key/date/region/service/terminator``."""
    today = format_amz_date(dt.datetime.now(dt.UTC))[:8]
    return f"{key or srv.admin_keys()[0]}/{day or today}/{region or srv.region}/{service}/{term}"


class TestAuthorizationGarbage:
    """Every malformed Authorization form of aws-protocols.md §4.5, with AWS's texts."""

    def test_missing_parts(self, srv: ServerProcess) -> None:
        """An algorithm alone names every missing parameter and echoes the header."""
        status, headers, body = _auth_case(srv, "AWS4-HMAC-SHA256")
        code, message = _assert_json_error(status, headers, body)
        assert (status, code) == (403, "IncompleteSignatureException")
        assert message == (
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=AWS4-HMAC-SHA256"
        )

    def test_missing_date(self, srv: ServerProcess) -> None:
        """Without X-Amz-Date or Date the date sentence is added."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv)}, SignedHeaders=host, Signature=00"
        status, headers, body = _auth_case(srv, auth, date=False)
        code, message = _assert_json_error(status, headers, body)
        assert code == "IncompleteSignatureException"
        assert message == (
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            f"Authorization={auth}"
        )

    def test_missing_equal_sign(self, srv: ServerProcess) -> None:
        """A parameter without '=' is named, with the whole header."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv)}, SignedHeaders, Signature=00"
        status, headers, body = _auth_case(srv, auth)
        code, message = _assert_json_error(status, headers, body)
        assert code == "IncompleteSignatureException"
        assert message == (
            "'SignedHeaders' not a valid key=value pair (missing equal-sign) in "
            f"Authorization header: '{auth}'"
        )

    @pytest.mark.parametrize("credential", ["a/b/c", "a", "a/b/c/d/e/f", "////"])
    def test_credential_parts(self, srv: ServerProcess, credential: str) -> None:
        """A credential without exactly five parts is named back."""
        auth = (
            f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-amz-date, Signature=00"
        )
        status, headers, body = _auth_case(srv, auth)
        code, message = _assert_json_error(status, headers, body)
        if credential == "////":  # five empty parts parse; the scope check refuses them
            assert code == "InvalidSignatureException"
            return
        assert code == "IncompleteSignatureException"
        assert message == (
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )

    @pytest.mark.parametrize(
        "algorithm", ["AWS4-HMAC-SHA1", "aws4-hmac-sha256", "Bearer", "AWS", "\xff"]
    )
    def test_unsupported_algorithm(self, srv: ServerProcess, algorithm: str) -> None:
        """An unknown algorithm is named back."""
        status, headers, body = _auth_case(srv, f"{algorithm} Credential={_scope(srv)}")
        code, message = _assert_json_error(status, headers, body)
        assert code == "IncompleteSignatureException"
        # A non-UTF-8 byte is echoed however the gateway decodes header bytes (U+FFFD or Latin-1).
        shown = (
            algorithm
            if algorithm.isascii()
            else message[len("Unsupported AWS 'algorithm': '") : -1]
        )
        assert message == f"Unsupported AWS 'algorithm': '{shown}'"

    def test_host_not_signed(self, srv: ServerProcess) -> None:
        """A signature that leaves Host out is refused."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv)}, SignedHeaders=x-amz-date, Signature=00"
        code, message = _assert_json_error(*_auth_case(srv, auth))
        assert code == "IncompleteSignatureException"
        assert (
            message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )

    def test_scope_sentences(self, srv: ServerProcess) -> None:
        """Wrong region, terminator and date are all reported, concatenated."""
        auth = (
            "AWS4-HMAC-SHA256 Credential="
            + _scope(srv, region="xx-nowhere-9", term="aws5_request", day="20000101")
            + ", SignedHeaders=host;x-amz-date, Signature=00"
        )
        status, headers, body = _auth_case(srv, auth)
        code, message = _assert_json_error(status, headers, body)
        assert (status, code) == (403, "InvalidSignatureException")
        assert message.startswith(
            "Credential should be scoped to a valid region, not 'xx-nowhere-9'. "
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            "not 'aws5_request'. "
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: "
            "'20000101' != '"
        )

    @pytest.mark.parametrize("service", ["s3", "", "ROLESANYWHERE", "\xe9"])
    def test_unknown_service(self, srv: ServerProcess, service: str) -> None:
        """A scope naming a service elsewhere does not serve is InvalidSignatureException."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv, service=service)}, {SIGNED_00}"
        code, message = _assert_json_error(*_auth_case(srv, auth))
        assert code == "InvalidSignatureException"
        assert message.startswith("Credential should be scoped to correct service: ")

    def test_unknown_key_and_bad_signature(self, srv: ServerProcess) -> None:
        """An unknown key and a wrong signature get AWS's two texts."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv, key='AKIAIOSFODNN7EXAMPLE')}, {SIGNED_00}"
        code, message = _assert_json_error(*_auth_case(srv, auth))
        assert (code, message) == (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv)}, {SIGNED_00}{'0' * 62}"
        code, message = _assert_json_error(*_auth_case(srv, auth))
        assert code == "InvalidSignatureException"
        assert message.startswith(
            "The request signature we calculated does not match the signature you provided."
        )

    @pytest.mark.parametrize(
        "date",
        [
            "zz",
            "99999999T999999Z",
            "20260101T000000",
            "Fri, 31 Dec 9999 23:59:59 -0100",
            "Mon, 01 Jan 0001 00:00:00 +0100",
            "Mon, 99 Foo 99999 99:99:99 GMT",
            "",
        ],
    )
    def test_bad_dates(self, srv: ServerProcess, date: str) -> None:
        """Garbage in X-Amz-Date or Date is a 4xx auth error."""
        auth = f"AWS4-HMAC-SHA256 Credential={_scope(srv)}, {SIGNED_00}"
        for name in ("X-Amz-Date", "Date"):
            answer = _raw(
                srv, _request_head(srv, "GET", "/profiles", [("Authorization", auth), (name, date)])
            )
            code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
            assert code in {"IncompleteSignatureException", "InvalidSignatureException"}

    def test_far_dates_signed(self, srv: ServerProcess, http: httpx.Client) -> None:
        """Rightly signed requests dated far off are 'Signature expired' / 'not yet current'."""
        for when in (
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
        ):
            answer = http.get("/profiles", headers=_sign(srv, "GET", "/profiles", now=when))
            code, message = _assert_json_error(answer.status_code, answer.headers, answer.content)
            assert code == "InvalidSignatureException"
            assert message.startswith(("Signature expired: ", "Signature not yet current: "))

    def test_session_token_garbage(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A garbage session token is UnrecognizedClient / InvalidClientTokenId, never logged."""
        for token in (FAKE_SESSION_TOKEN, "x", "A" * 8000, "\u00e9\u00e8"):
            extra = (("x-amz-security-token", token),)
            headers = [(n, v.encode()) for n, v in _sign(srv, "GET", "/profiles", headers=extra)]
            code, _ = _assert_json_error(
                *(lambda a: (a.status_code, a.headers, a.content))(
                    http.get("/profiles", headers=headers)
                )
            )
            assert code == "UnrecognizedClientException"
            form = b"Action=GetCallerIdentity&Version=2011-06-15"
            extra2 = (("content-type", FORM), *extra)
            headers = [
                (n, v.encode())
                for n, v in _sign(srv, "POST", "/", form, headers=extra2, service="sts")
            ]
            answer = http.post("/", content=form, headers=headers)
            code, _ = _assert_xml_error(answer.status_code, answer.headers, answer.content)
            assert code == "InvalidClientTokenId"

    def test_query_protocol_auth_errors(self, srv: ServerProcess, http: httpx.Client) -> None:
        """For STS the same faults use the query codes: IncompleteSignature is a 400 there."""
        form = b"Action=GetCallerIdentity&Version=2011-06-15"
        auth = (
            f"AWS4-HMAC-SHA256 Credential={_scope(srv, service='sts')}, SignedHeaders, Signature=00"
        )
        headers = [
            ("Authorization", auth),
            ("X-Amz-Date", format_amz_date(dt.datetime.now(dt.UTC))),
            ("Content-Type", FORM),
        ]
        answer = http.post("/", content=form, headers=headers)
        code, _ = _assert_xml_error(answer.status_code, answer.headers, answer.content)
        assert (answer.status_code, code) == (400, "IncompleteSignature")
        answer = http.post("/", content=form, headers={"content-type": FORM})
        code, _ = _assert_xml_error(answer.status_code, answer.headers, answer.content)
        assert (answer.status_code, code) == (403, "MissingAuthenticationToken")

    def test_query_missing_token_text(self, http: httpx.Client) -> None:
        """Unsigned STS calls get AWS's query-protocol text for a missing token."""
        answer = http.post(
            "/",
            content=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={"content-type": FORM},
        )
        _, message = _assert_xml_error(answer.status_code, answer.headers, answer.content)
        assert message == "Request is missing Authentication Token"


PRESIGN_GARBAGE = [
    ("X-Amz-Expires", "abc"),
    ("X-Amz-Expires", "-5"),
    ("X-Amz-Expires", "\u00b2"),
    ("X-Amz-Expires", "\u0663"),
    ("X-Amz-Expires", "604801"),
    ("X-Amz-Expires", "9" * 40),
    ("X-Amz-Expires", ""),
    ("X-Amz-Date", "zz"),
    ("X-Amz-Date", "00010101T000000Z"),
    ("X-Amz-Date", "99991231T235959Z"),
    ("X-Amz-Date", ""),
    ("X-Amz-Algorithm", "nope"),
    ("X-Amz-Credential", "a/b"),
    ("X-Amz-SignedHeaders", "x-amz-date"),
    ("X-Amz-Signature", ""),
]


class TestPresignedGarbage:
    """Presigned URLs with broken parameters are 4xx auth errors."""

    @pytest.mark.parametrize(("name", "value"), PRESIGN_GARBAGE, ids=lambda v: repr(v)[:20])
    def test_bad_parameter(
        self, srv: ServerProcess, http: httpx.Client, name: str, value: str
    ) -> None:
        """One broken parameter in an otherwise complete presigned query."""
        now = format_amz_date(dt.datetime.now(dt.UTC))
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": _scope(srv),
            "X-Amz-Date": now,
            "X-Amz-Expires": "60",
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": "0" * 64,
        }
        params[name] = value
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        answer = http.get(f"/profiles?{query}")
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        assert code in {
            "IncompleteSignatureException",
            "InvalidSignatureException",
            "SerializationException",
        }

    def test_presigned_query_service(self, srv: ServerProcess, http: httpx.Client) -> None:
        """Presigned garbage for STS answers in XML."""
        query = (
            "Action=GetCallerIdentity&Version=2011-06-15"
            "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=%C2%B2"
        )
        answer = http.get(f"/?{query}")
        _assert_xml_error(answer.status_code, answer.headers, answer.content)


# --- query protocol garbage -------------------------------------------------------------------


QUERY_CASES = [
    ("missing Action", "Version=2011-06-15", "MissingAction"),
    ("empty Action", "Action=&Version=2011-06-15", "MissingAction"),
    ("unknown Action", "Action=DescribeInstances&Version=2011-06-15", "InvalidAction"),
    (
        "bad member index",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&Tags.member.x.Key=a",
        None,
    ),
    (
        "huge member index",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&Tags.member.999999999.Key=a&Tags.member.999999999.Value=b",
        None,
    ),
    (
        "index with no value",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&Tags.member.1.Key=k",
        None,
    ),
    (
        "scalar as list",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&Tags=x&Tags.member.1=y",
        None,
    ),
    ("deep keys", "Action=AssumeRole&" + ".".join(["Tags"] + ["member.1"] * 200) + "=v", None),
    (
        "int overflow",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&DurationSeconds="
        + "9" * 30,
        "ValidationError",
    ),
    (
        "int unicode",
        "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&DurationSeconds=%C2%B2",
        "ValidationError",
    ),
    ("many params", "Action=GetCallerIdentity&" + "&".join(f"p{i}=v" for i in range(12_000)), None),
    ("percent garbage", "Action=GetCallerIdentity&%zz=%zz&%=%", None),
]


class TestQueryGarbage:
    """Form bodies for STS and IAM that do not make sense, signed and unsigned."""

    @pytest.mark.parametrize(("name", "form", "code"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
    def test_form(
        self, srv: ServerProcess, http: httpx.Client, name: str, form: str, code: str | None
    ) -> None:
        """A 4xx XML error (or a success) for STS and IAM; unsigned, MissingAuthenticationToken."""
        for service in ("sts", "iam"):
            body = form.encode()
            headers = _sign(
                srv, "POST", "/", body, headers=(("content-type", FORM),), service=service
            )
            answer = http.post("/", content=body, headers=headers)
            _assert_no_5xx(answer)
            if code is not None:
                got, _ = _assert_xml_error(answer.status_code, answer.headers, answer.content)
                # AssumeRole is not an IAM action, so IAM stops at InvalidAction.
                expected = (
                    "InvalidAction" if service == "iam" and code == "ValidationError" else code
                )
                assert got == expected
        answer = http.post("/", content=form.encode(), headers={"content-type": FORM})
        got, _ = _assert_error(answer)
        assert got in {
            "MissingAuthenticationToken",
            "MissingAuthenticationTokenException",
            "MalformedInput",
            "RequestEntityTooLarge",
            "SerializationException",
        }

    def test_get_form(self, srv: ServerProcess, http: httpx.Client) -> None:
        """The same garbage in a GET query string is a 4xx XML error."""
        query = "Action=AssumeRole&Tags.member.999999999.Key=a&DurationSeconds=x"
        answer = http.get(f"/?{query}", headers=_sign(srv, "GET", "/", query=query, service="sts"))
        _assert_xml_error(answer.status_code, answer.headers, answer.content)


# --- methods and half requests ----------------------------------------------------------------


class TestMethodsAndHalfRequests:
    """HEAD, OPTIONS and unknown methods; requests that stop or stall half-way."""

    @pytest.mark.parametrize(
        "method", ["HEAD", "OPTIONS", "TRACE", "PATCH", "DELETE", "PUT", "GET", "POST"]
    )
    @pytest.mark.parametrize("path", ["/", "/profiles", "/nothing/here", "/sessions", "/ping/x"])
    def test_method_path(self, srv: ServerProcess, method: str, path: str) -> None:
        """Any standard method on any path, signed or unsigned: success or a 4xx AWS error."""
        for headers in (_sign(srv, method, path), []):
            answer = _raw(
                srv, _request_head(srv, method, path, [*headers, ("Content-Length", "0")])
            )
            assert answer.status < 500
            if answer.status >= 400:
                if method == "HEAD":
                    assert answer.headers.get("x-amzn-requestid")
                    assert answer.headers.get("x-amzn-errortype")
                else:
                    _assert_error(answer)

    @pytest.mark.parametrize("method", ["FOO", "CONNECT", "PRI", "get"])
    def test_unknown_method(self, srv: ServerProcess, method: str) -> None:
        """Methods the HTTP parser does not know are a 400, and the server lives on."""
        answer = _raw(srv, _request_head(srv, method, "/profiles"))
        assert 400 <= answer.status < 500

    def test_websocket_upgrade(self, srv: ServerProcess) -> None:
        """An Upgrade to WebSocket is answered as plain HTTP in AWS's format (no bare 500)."""
        extra = [
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ]
        data = _request_head(srv, "GET", "/", extra).replace(
            b"Connection: close", b"Connection: Upgrade"
        )
        answer = _raw(srv, data)
        code, _ = _assert_json_error(answer.status, answer.headers, answer.body)
        assert code == "MissingAuthenticationTokenException"

    @pytest.mark.parametrize(
        "data",
        [
            b"GE",
            b"GET /profiles HTTP/1.1\r\nHost: x\r\n",
            b'POST /profiles HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"na',
            b"POST /profiles HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
            b"\x00" * 64,
        ],
        ids=["method", "head", "body", "chunk", "tls", "nul"],
    )
    def test_closing_early(self, srv: ServerProcess, data: bytes) -> None:
        """A client that sends part of a request and hangs up leaves the server unharmed."""
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                with contextlib.suppress(ConnectionResetError, TimeoutError):
                    sock.recv(4096)

    def test_parser_refusal_is_logged_under_its_request_id(self, srv: ServerProcess) -> None:
        """A request the HTTP parser refuses carries a request id, and the log says why under it."""
        answer = _raw(srv, b"GET /pro\x01files HTTP/1.1\r\nHost: x\r\n\r\n")
        _assert_parser_refusal(answer)
        line = f"request_id={answer.headers['x-amzn-requestid']} op=- code=BadRequestException"
        deadline = time.monotonic() + 10
        while line not in srv.log():
            assert time.monotonic() < deadline, "the refusal was not logged under its id"
            time.sleep(0.05)

    def test_stalled_request_does_not_block(self, srv: ServerProcess, http: httpx.Client) -> None:
        """While a client stalls mid-body, other requests are answered at once."""
        stalled = []
        try:
            for _ in range(5):
                sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                stalled.append(sock)
                sock.sendall(
                    _request_head(srv, "POST", "/profiles", [("Content-Length", "1000")]) + b"{"
                )
            started = time.monotonic()
            answer = http.get("/profiles", headers=_sign(srv, "GET", "/profiles"))
            assert answer.status_code == 200
            assert time.monotonic() - started < 5
        finally:
            for sock in stalled:
                sock.close()


class TestCreateSessionGarbage:
    """The X.509 data plane with broken signatures, headers and bodies."""

    @pytest.mark.parametrize(
        ("x509", "chain", "body"),
        [
            ("", None, b"{}"),
            ("!!!", None, b"{}"),
            ("QUJD" * 1000, None, b"{}"),
            ("MIIB", "a,,b," * 20, b"{}"),
            ("MIIB", None, b"\xff\xfe"),
            ("MIIB", None, b"[" * 50_000 + b"]" * 50_000),
            ("MIIB", None, b'{"durationSeconds": 1e999, "trustAnchorArn": 5}'),
            ("MIIB", None, b"null"),
        ],
        ids=["empty", "not-base64", "long", "chain", "utf8", "nested", "types", "null"],
    )
    def test_garbage(
        self, srv: ServerProcess, http: httpx.Client, x509: str, chain: str | None, body: bytes
    ) -> None:
        """Every broken CreateSession is a 4xx JSON error."""
        now = format_amz_date(dt.datetime.now(dt.UTC))
        headers = {
            "content-type": JSON,
            "x-amz-date": now,
            "x-amz-x509": x509,
            "authorization": (
                f"AWS4-X509-RSA-SHA256 Credential=1/{now[:8]}/{srv.region}/rolesanywhere/"
                "aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature=00"
            ),
        }
        if chain is not None:
            headers["x-amz-x509-chain"] = chain
        answer = http.post("/sessions", content=body, headers=headers)
        _assert_json_error(answer.status_code, answer.headers, answer.content)

    def test_x509_signature_elsewhere(self, http: httpx.Client) -> None:
        """An X.509 signature on a control-plane route is a 4xx."""
        headers = {
            "authorization": (
                "AWS4-X509-ECDSA-SHA256 Credential=1/20260101/us-east-1/rolesanywhere/"
                "aws4_request, SignedHeaders=host;x-amz-date, Signature=zz"
            ),
            "x-amz-date": "20260101T000000Z",
        }
        answer = http.get("/profiles", headers=headers)
        _assert_json_error(answer.status_code, answer.headers, answer.content)


def test_log_records_every_request_id(srv: ServerProcess, http: httpx.Client) -> None:
    """A refused request's id is in the access log, so an operator can find its reason."""
    answer = http.get("/profiles")
    request_id = answer.headers["x-amzn-requestid"]
    deadline = time.monotonic() + 5
    while request_id not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert request_id in srv.log()


class TestSecretsStayOutOfTheLog:
    """Issued secrets and session tokens never reach the log, even on refused requests."""

    def test_session_credentials(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A user key and an AssumeRole session, used rightly and wrongly, leave no secret."""
        name = f"robust-{uuid.uuid4().hex[:8]}"
        iam = srv.client("iam")
        iam.create_user(UserName=name)
        allow = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
        iam.put_user_policy(
            UserName=name,
            PolicyName="assume",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
        )
        trust = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{srv.account_id}:user/{name}"},
            "Action": "sts:AssumeRole",
        }
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )["Role"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sts = srv.client(
            "sts",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="robust")["Credentials"]
        token = creds["SessionToken"]
        session = srv.client(
            "sts",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=token,
        )
        assert session.get_caller_identity()["Arn"].endswith(f"assumed-role/{name}/robust")
        # Now wrongly: a bad signature with the token, a tampered token, a presigned URL with it.
        bad = srv.client(
            "rolesanywhere",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key="x" * 40,
            aws_session_token=token,
        )
        with pytest.raises(ClientError):
            bad.list_profiles()
        tampered = srv.client(
            "sts",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=token[:-8] + "AAAAAAAA",
        )
        with pytest.raises(ClientError):
            tampered.get_caller_identity()
        url = srv.client(
            "rolesanywhere",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key="y" * 40,
            aws_session_token=token,
        ).generate_presigned_url("list_profiles", Params={}, ExpiresIn=60)
        _assert_json_error(*(lambda a: (a.status_code, a.headers, a.content))(httpx.get(url)))
        log = srv.log()
        for secret in (key["SecretAccessKey"], creds["SecretAccessKey"], token, token[:32]):
            assert secret not in log


@dataclass(frozen=True)
class SessionSetup:
    """A trust anchor, profile and role that accept ``chain``'s leaf."""

    chain: Chain
    query: str


@pytest.fixture(scope="module")
def session_setup(srv: ServerProcess) -> SessionSetup:
    """Configure CreateSession for one P-256 chain."""
    chain = quick_chain(dt.datetime.now(dt.UTC), "p256")
    name = f"robust-{uuid.uuid4().hex[:8]}"
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    }
    role = srv.client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    ra = srv.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name=name,
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]["trustAnchorArn"]
    profile = ra.create_profile(name=name, roleArns=[role], enabled=True)["profile"]["profileArn"]
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
    )
    return SessionSetup(chain, query)


def _x509_send(
    srv: ServerProcess, setup: SessionSetup, query: str, body: bytes, ctype: str = JSON
) -> httpx.Response:
    """POST /sessions signed with the setup's leaf key (so the body and query are trusted)."""
    request = HttpRequest(
        "POST",
        "/sessions",
        query,
        (("Host", f"127.0.0.1:{srv.port}"), ("Content-Type", ctype)),
        body,
    )
    signed = sign_x509_request(
        request,
        certificate=setup.chain.leaf,
        private_key=setup.chain.leaf_key,  # type: ignore[arg-type]
        region=srv.region,
        now=dt.datetime.now(dt.UTC),
        intermediates=setup.chain.intermediates,
    )
    url = f"{srv.endpoint}/sessions" + (f"?{query}" if query else "")
    return httpx.post(url, headers=list(signed.headers), content=body, timeout=30)


SESSION_BODIES = [
    b"null",
    b"[]",
    b"5",
    b"{",
    b"\xff",
    b'{"durationSeconds":"x"}',
    b'{"durationSeconds":1e999}',
    b'{"durationSeconds":1.5}',
    b'{"durationSeconds":-1}',
    b'{"durationSeconds":99999999999999999999999999}',
    b'{"durationSeconds":true}',
    b'{"roleSessionName":5}',
    b'{"roleSessionName":"' + b"a" * 5000 + b'"}',
    b'{"roleSessionName":"\\u0000"}',
    b'{"profileArn":{}}',
    b'{"trustAnchorArn":"arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/\\ud800"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


class TestCreateSessionValidlySigned:
    """CreateSession with a good signature over garbage: the pipeline past authentication."""

    def test_good_request_works(self, srv: ServerProcess, session_setup: SessionSetup) -> None:
        """The setup is right: a plain request gets credentials."""
        answer = _x509_send(srv, session_setup, session_setup.query, b'{"durationSeconds":900}')
        assert answer.status_code == 201, answer.text[:300]
        token = answer.json()["credentialSet"][0]["credentials"]["sessionToken"]
        assert token not in srv.log()

    @pytest.mark.parametrize("body", SESSION_BODIES, ids=lambda b: repr(b[:24]))
    def test_garbage_body(
        self, srv: ServerProcess, session_setup: SessionSetup, body: bytes
    ) -> None:
        """A signed garbage body is a 4xx JSON error (SerializationException or validation)."""
        answer = _x509_send(srv, session_setup, session_setup.query, body)
        code, _ = _assert_json_error(answer.status_code, answer.headers, answer.content)
        assert code in {"SerializationException", "ValidationException"}

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "profileArn=%ff&roleArn=%zz&trustAnchorArn=%00",
            "profileArn=" + "a" * 20_000,
            "profileArn=x&profileArn=y",
            "durationSeconds=x&" + "&".join(f"k{i}=v" for i in range(2000)),
        ],
        ids=["empty", "percent", "long", "twice", "many"],
    )
    def test_garbage_query(
        self, srv: ServerProcess, session_setup: SessionSetup, query: str
    ) -> None:
        """A signed garbage query is a 4xx JSON error."""
        answer = _x509_send(srv, session_setup, query, b"{}")
        _assert_json_error(answer.status_code, answer.headers, answer.content)


class TestQueryOperationsFuzz:
    """Every IAM and STS operation with seeded-random members drawn from its input shape."""

    STRINGS = (
        "",
        "a",
        "x" * 300,
        "/",
        "/a/",
        "*",
        "\u0000",
        "\u00b2",
        "v\u00b2",
        "-1",
        "%",
        "rob",
        "arn:aws:iam::123456789012:role/rob",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
        '{"Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"*"}}',
        "[]",
        "null",
    )
    NUMBERS = ("0", "-1", "1", "1000", "99999999999", "x", "\u00b2")

    def _value(self, rnd: random.Random, shape: Shape, name: str) -> str:
        """A value for a scalar member, biased towards ones that reach the service."""
        kind = shape.type_name
        if kind in ("integer", "long"):
            return rnd.choice(self.NUMBERS)
        if kind == "boolean":
            return rnd.choice(("true", "false", "yes"))
        if kind == "timestamp":
            return rnd.choice(("2020-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "x"))
        if rnd.random() < 0.6:
            if name.endswith("Name"):
                return rnd.choice(("rob", "robust"))
            if name == "VersionId":
                return rnd.choice(("v1", "v\u00b2", "v99999999999999999999"))
            if name == "Marker":
                return rnd.choice(("1", "\u00b2", "999999999999"))
        return rnd.choice(self.STRINGS)

    def _flatten(
        self, rnd: random.Random, prefix: str, shape: Shape, out: list[tuple[str, str]], depth: int
    ) -> None:
        """The query pairs of a random value for ``shape`` (botocore's serialization)."""
        if depth > 4:
            return
        kind = shape.type_name
        if isinstance(shape, StructureShape):
            for name, member in shape.members.items():
                if rnd.random() < 0.7:
                    self._flatten(
                        rnd, f"{prefix}.{name}" if prefix else name, member, out, depth + 1
                    )
        elif isinstance(shape, ListShape):
            for _ in range(rnd.choice((1, 2))):
                index = rnd.choice((1, 1, 2, 999_999))
                self._flatten(rnd, f"{prefix}.member.{index}", shape.member, out, depth + 1)
        elif isinstance(shape, MapShape):
            self._flatten(rnd, f"{prefix}.entry.1.key", shape.key, out, depth + 1)
            self._flatten(rnd, f"{prefix}.entry.1.value", shape.value, out, depth + 1)
        elif kind != "blob":
            out.append((prefix, self._value(rnd, shape, prefix.rsplit(".", 1)[-1])))

    @pytest.mark.parametrize("service", ["iam", "sts"])
    def test_every_operation(self, srv: ServerProcess, http: httpx.Client, service: str) -> None:
        """Two random requests per operation: each a success or a 4xx XML error."""
        from elsewhere.protocol import load_service_model

        model = load_service_model(service)
        rnd = random.Random(f"robustness-{service}")  # seeded: failures reproduce
        version = model.metadata["apiVersion"]
        for operation in model.operation_names:
            shape = model.operation_model(operation).input_shape
            for _ in range(2):
                pairs = [("Action", operation), ("Version", version)]
                if shape is not None:
                    self._flatten(rnd, "", shape, pairs, 0)
                body = urlencode(pairs).encode()
                headers = (("content-type", FORM),)
                answer = http.post(
                    "/",
                    content=body,
                    headers=_sign(srv, "POST", "/", body, headers=headers, service=service),
                )
                assert answer.status_code < 500, (operation, pairs, answer.text[:300])
                if answer.status_code >= 400:
                    _assert_xml_error(answer.status_code, answer.headers, answer.content)


class TestLogHygiene:
    """What callers send cannot forge or flood the log."""

    def test_newline_cannot_forge_a_line(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A value with a newline, quoted back in a validation reason, stays on its own line."""
        marker = f"forged-{uuid.uuid4().hex}"
        forged = f"x\n2026-01-01 00:00:00,000 INFO elsewhere.access 10.0.0.1 GET /{marker} 200"
        body = json.dumps({"name": forged, "roleArns": ["bad"]}).encode()
        headers = (("content-type", JSON),)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=headers),
        )
        _assert_json_error(answer.status_code, answer.headers, answer.content)
        lines = [line for line in srv.log().splitlines() if marker in line]
        assert lines, "the reason is logged"
        assert all("request_id=" in line for line in lines)
        assert not any(line.startswith("2026-01-01") for line in lines)

    def test_huge_value_is_cut_in_the_log(self, srv: ServerProcess, http: httpx.Client) -> None:
        """A 500 KB value quoted in a reason does not put 500 KB in the log."""
        before = srv.log_path.stat().st_size
        body = json.dumps({"name": "B" * 500_000, "roleArns": []}).encode()
        headers = (("content-type", JSON),)
        answer = http.post(
            "/profiles",
            content=body,
            headers=_sign(srv, "POST", "/profiles", body, headers=headers),
        )
        _assert_json_error(answer.status_code, answer.headers, answer.content)
        # The access line is written after the reason: once it is there, the reason is too.
        request_id = answer.headers["x-amzn-requestid"]
        deadline = time.monotonic() + 5
        while f"request_id={request_id}" not in srv.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"request_id={request_id}" in srv.log()
        assert srv.log_path.stat().st_size - before < 20_000
