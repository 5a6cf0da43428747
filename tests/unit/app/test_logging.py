"""The server's logs: the buffered stream, the access line in text and JSON, the plain-HTTP
warning."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from elsewhere.app import ServerSettings
from elsewhere.app._logging import AccessLog, JsonFormatter, LogStream
from elsewhere.app._run import plain_http_warning

# 2026-03-01 12:30:05.250 UTC
WHEN = 1772368205.25
FIELDS = ("192.0.2.7", "POST", "/sessions", 201, 1.234, "CreateSession", "-", "rid-1")


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe: the stream writes to its write end, the test reads the other."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    os.close(read)
    os.close(write)


def _read(fd: int) -> str:
    """Everything written to the pipe so far."""
    try:
        return os.read(fd, 1 << 20).decode()
    except BlockingIOError:
        return ""


def test_access_lines_wait_for_a_flush(pipe: tuple[int, int]) -> None:
    """Access lines are buffered: nothing is written until flush, then all, in order."""
    read, write = pipe
    stream = LogStream(write)
    stream.write("one\n")
    stream.write("two\n")
    assert _read(read) == ""
    stream.flush()
    assert _read(read) == "one\ntwo\n"
    stream.flush()
    assert _read(read) == ""


def test_other_records_are_written_at_once_after_what_waits(pipe: tuple[int, int]) -> None:
    """A log record goes out at once, behind the access lines queued before it."""
    read, write = pipe
    stream = LogStream(write)
    stream.write("access\n")
    stream.write_now("error\n")
    assert _read(read) == "access\nerror\n"


def test_a_full_buffer_is_written(pipe: tuple[int, int]) -> None:
    """Past its size the buffer is written without waiting for the tick."""
    read, write = pipe
    stream = LogStream(write, max_buffer=10)
    stream.write("12345\n")
    assert _read(read) == ""
    stream.write("67890\n")
    assert _read(read) == "12345\n67890\n"


def test_text_access_line_reads_as_the_logging_module_wrote_it(pipe: tuple[int, int]) -> None:
    """The pre-formatted text line is byte for byte what logging's format gave."""
    read, write = pipe
    stream = LogStream(write)
    AccessLog(stream, clock=lambda: WHEN).access(*FIELDS)
    stream.flush()
    record = logging.makeLogRecord(
        {
            "name": "elsewhere.access",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "%s %s %s %d %.1fms op=%s principal=%s request_id=%s",
            "args": FIELDS,
            "created": WHEN,
            "msecs": 250.0,
        }
    )
    expected = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)
    assert _read(read) == expected + "\n"


def test_json_access_line(pipe: tuple[int, int]) -> None:
    """In JSON the access line's fields are members, time in UTC with milliseconds."""
    read, write = pipe
    stream = LogStream(write)
    AccessLog(stream, json_lines=True, clock=lambda: WHEN).access(
        "192.0.2.7", "GET", '/odd"path\\', 404, 0.05, "-", "-", "rid-2"
    )
    stream.flush()
    line = _read(read)
    assert line.endswith("\n")
    assert line.count("\n") == 1
    assert json.loads(line) == {
        "time": "2026-03-01T12:30:05.250Z",
        "level": "INFO",
        "logger": "elsewhere.access",
        "client": "192.0.2.7",
        "method": "GET",
        "path": '/odd"path\\',
        "status": 404,
        "duration_ms": 0.1,
        "operation": "-",
        "principal": "-",
        "request_id": "rid-2",
    }


DECISION = (
    "203.0.113.9",
    "rid-3",
    "deny",
    403,
    0.42,
    "orders",
    "prod",
    "arn:aws:sts::123456789012:assumed-role/app/s",
    "arn:aws:execute-api:us-east-1:123456789012:orders/prod/GET/admin",
    "implicitDeny (no identity-based policy allows)",
)


def test_decision_line_text_and_json(pipe: tuple[int, int]) -> None:
    """An authorizer decision is one buffered line: its id, outcome, caller, resource, reason."""
    read, write = pipe
    stream = LogStream(write)
    AccessLog(stream, clock=lambda: WHEN).decision(*DECISION)
    AccessLog(stream, json_lines=True, clock=lambda: WHEN).decision(*DECISION)
    assert _read(read) == ""
    stream.flush()
    text, member = _read(read).splitlines()
    assert text.endswith(
        " INFO elsewhere.authorizer request_id=rid-3 decision=deny status=403 0.4ms "
        "client=203.0.113.9 api=orders stage=prod "
        "principal=arn:aws:sts::123456789012:assumed-role/app/s "
        "resource=arn:aws:execute-api:us-east-1:123456789012:orders/prod/GET/admin "
        "reason=implicitDeny (no identity-based policy allows)"
    )
    assert json.loads(member) == {
        "time": "2026-03-01T12:30:05.250Z",
        "level": "INFO",
        "logger": "elsewhere.authorizer",
        "client": "203.0.113.9",
        "request_id": "rid-3",
        "decision": "deny",
        "status": 403,
        "duration_ms": 0.4,
        "api": "orders",
        "stage": "prod",
        "principal": "arn:aws:sts::123456789012:assumed-role/app/s",
        "resource": "arn:aws:execute-api:us-east-1:123456789012:orders/prod/GET/admin",
        "reason": "implicitDeny (no identity-based policy allows)",
    }


def test_json_formatter_fields_and_exception() -> None:
    """Other records in JSON: extra fields kept, uvicorn's color_message dropped, tracebacks
    inside the one line."""
    formatter = JsonFormatter()
    record = logging.makeLogRecord(
        {
            "name": "elsewhere.errors",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "request_id=%s code=%s",
            "args": ("rid-3", "AccessDeniedException"),
            "created": WHEN,
            "request_id": "rid-3",
            "code": "AccessDeniedException",
            "color_message": "\x1b[1m...",
        }
    )
    assert json.loads(formatter.format(record)) == {
        "time": "2026-03-01T12:30:05.250Z",
        "level": "INFO",
        "logger": "elsewhere.errors",
        "message": "request_id=rid-3 code=AccessDeniedException",
        "request_id": "rid-3",
        "code": "AccessDeniedException",
    }
    try:
        raise ValueError("boom")
    except ValueError:
        failing = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()}
        )
    line = formatter.format(failing)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


@pytest.mark.parametrize(
    ("case", "host", "tls"),
    [
        ("ok/loopback-v4", "127.0.0.1", False),
        ("ok/loopback-v4-other", "127.0.0.2", False),
        ("ok/loopback-v6", "::1", False),
        ("ok/localhost", "localhost", False),
        ("ok/tls-everywhere", "0.0.0.0", True),  # noqa: S104 - the case under test
        ("fail/every-interface", "0.0.0.0", False),  # noqa: S104 - the case under test
        ("fail/every-interface-v6", "::", False),
        ("fail/an-address", "192.0.2.10", False),
        ("fail/a-host-name", "elsewhere.example.com", False),
    ],
)
def test_plain_http_warning(case: str, host: str, tls: bool) -> None:
    """Plain HTTP beyond loopback is warned about; loopback or TLS is not."""
    settings = ServerSettings(
        host=host,
        tls_certificate=Path("cert.pem") if tls else None,
        tls_key=Path("key.pem") if tls else None,
    )
    warning = plain_http_warning(settings)
    if case.startswith("ok/"):
        assert warning is None
    else:
        assert warning is not None
        assert f"serving plain HTTP on {host}" in warning
        assert "--tls-certificate" in warning
