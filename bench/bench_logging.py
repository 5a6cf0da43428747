"""What the access log costs per request: through the logging module as before, and buffered.

Times are CPU time of this process (``time.process_time``) per request, the median of several
rounds; log lines go to a file in a temporary directory, as standard error redirected to a file
does.

- ``log.access_line.logging_us``: one access line through ``logging`` (a ``LogRecord``, the
  ``%(asctime)s ...`` formatter and a ``StreamHandler`` that writes and flushes per record), as
  the gateway wrote it before.
- ``log.access_line.buffered_us``: the same line pre-formatted by ``elsewhere.app``'s
  ``AccessLog`` into the buffered ``LogStream``, written out every 100 lines (the server writes
  it every 0.1 s, so this is a busy server's batch at 1,000 requests/s).
- ``log.gateway.off_us`` / ``logging_us`` / ``buffered_us``: a whole signed STS
  GetCallerIdentity through the gateway, in process, with no access line (``--log-level
  warning``), with the line through ``logging``, and with the buffered line;
  ``log.gateway.line_share_logging`` / ``line_share_buffered`` are the line's share of the
  request's CPU time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from elsewhere.api import Gateway
from elsewhere.app._logging import AccessLog, LogStream
from elsewhere.clock import FixedClock
from elsewhere.service import Principal
from elsewhere.service._authn import AccessKeySecret, Authenticator
from elsewhere.sigv4 import HttpRequest, sign_hmac_request

__all__ = ["run"]

_ROUNDS = 7
_LINES = 20_000
_REQUESTS = 2_000
_FIELDS = (
    "127.0.0.1",
    "POST",
    "/sessions",
    201,
    1.234,
    "CreateSession",
    "-",
    "5f0c2a9d-8e7b-4c5a-8f3e-2d1c0b9a8f7e",
)
_FORMAT = "%s %s %s %d %.1fms op=%s principal=%s request_id=%s"
_NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
_KEY_ID = "AKIAEXAMPLEROOT00001"
_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS documentation example


def _per_call_us(step: Callable[[], object], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        step()
    return (time.process_time() - start) / count * 1e6


def _logging_logger(path: Path, name: str) -> logging.Logger:
    """A logger like the server's before: StreamHandler, the text format, INFO."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(path.open("a"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _line_costs(folder: Path) -> Iterator[tuple[str, float, str]]:
    logger = _logging_logger(folder / "logging.log", "bench.access")

    def through_logging() -> None:
        logger.info(_FORMAT, *_FIELDS)

    fd = os.open(folder / "buffered.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    stream = LogStream(fd)
    access = AccessLog(stream)
    counter = [0]

    def buffered() -> None:
        access.access(*_FIELDS)
        counter[0] += 1
        if counter[0] % 100 == 0:
            stream.flush()

    try:
        old = statistics.median(_per_call_us(through_logging, _LINES) for _ in range(_ROUNDS))
        new = statistics.median(_per_call_us(buffered, _LINES) for _ in range(_ROUNDS))
    finally:
        stream.flush()
        os.close(fd)
        for handler in logger.handlers:
            handler.close()
    yield "log.access_line.logging_us", old, "us"
    yield "log.access_line.buffered_us", new, "us"


def _gateway(access: AccessLog | None) -> Gateway:
    root = Principal(
        arn="arn:aws:iam::123456789012:root",
        account="123456789012",
        kind="root",
        user_id="123456789012",
        name="root",
        access_key_id=_KEY_ID,
    )

    def lookup(access_key_id: str) -> AccessKeySecret | None:
        return AccessKeySecret(_KEY_ID, _SECRET, root, True) if access_key_id == _KEY_ID else None

    def sts(operation: str, params: dict[str, Any], caller: Principal) -> dict[str, Any]:
        return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}

    return Gateway(
        authenticator=Authenticator(lookup, region="us-east-1"),
        handlers={"sts": sts},
        clock=FixedClock(_NOW),
        access_log=access,
    )


def _drive(gateway: Gateway, count: int) -> float:
    """CPU microseconds per signed GetCallerIdentity through ``gateway``."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = sign_hmac_request(
        HttpRequest(
            "POST",
            "/",
            "",
            (("Host", "localhost"), ("Content-Type", "application/x-www-form-urlencoded")),
            body,
        ),
        access_key_id=_KEY_ID,
        secret_access_key=_SECRET,
        region="us-east-1",
        service="sts",
        now=_NOW,
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(n.lower().encode(), v.encode()) for n, v in request.headers],
        "client": ("127.0.0.1", 5555),
        "scheme": "http",
    }
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: dict[str, Any]) -> None:
        return None

    async def loop() -> float:
        start = time.process_time()
        for _ in range(count):
            await gateway(scope, receive, send)
        return (time.process_time() - start) / count * 1e6

    return asyncio.run(loop())


def _gateway_costs(folder: Path) -> Iterator[tuple[str, float, str]]:
    access_logger = logging.getLogger("elsewhere.access")
    saved = (list(access_logger.handlers), access_logger.level, access_logger.propagate)
    fd = os.open(folder / "gateway.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    stream = LogStream(fd)
    try:
        _logging_logger(folder / "gateway-logging.log", "elsewhere.access")
        through_logging = _gateway(None)
        buffered = _gateway(AccessLog(stream))
        _drive(through_logging, 200)  # warm caches (signing key, models)
        logging_us = statistics.median(_drive(through_logging, _REQUESTS) for _ in range(_ROUNDS))
        buffered_us = []
        for _ in range(_ROUNDS):
            buffered_us.append(_drive(buffered, _REQUESTS))
            stream.flush()
        access_logger.setLevel(logging.WARNING)
        off_us = statistics.median(_drive(through_logging, _REQUESTS) for _ in range(_ROUNDS))
    finally:
        stream.flush()
        os.close(fd)
        for handler in access_logger.handlers:
            handler.close()
        access_logger.handlers[:], access_logger.level, access_logger.propagate = saved
    new_us = statistics.median(buffered_us)
    yield "log.gateway.off_us", off_us, "us"
    yield "log.gateway.logging_us", logging_us, "us"
    yield "log.gateway.buffered_us", new_us, "us"
    yield "log.gateway.line_share_logging", max(logging_us - off_us, 0) / logging_us, ""
    yield "log.gateway.line_share_buffered", max(new_us - off_us, 0) / new_us, ""


def run() -> Iterator[tuple[str, float, str]]:
    """Yield the per-line and per-request figures."""
    with tempfile.TemporaryDirectory(prefix="elsewhere-bench-log-") as folder:
        yield from _line_costs(Path(folder))
        yield from _gateway_costs(Path(folder))
