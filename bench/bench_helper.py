"""How long the credential helper takes before its CreateSession request leaves.

The AWS CLI runs ``credential_process`` before each of its commands, so the helper's start-up is
paid on every command. Each round starts the helper as a process against a loopback listener
that answers a canned CreateSession 201; the listener notes when the request arrives and reads
the helper's CPU time from ``/proc/<pid>/stat`` at that moment. The helper runs as installed
(its modules' bytecode cached, as pip leaves an installed package, even where
``PYTHONDONTWRITEBYTECODE`` is set for this process). Medians over the rounds:

- ``helper.credential_process.startup_ms``: wall time from starting ``elsewhere
  credential-process`` to its request arriving (interpreter start, imports, reading the
  certificate and key, signing). On a loaded machine wall time includes waiting for a core; the
  next figure does not.
- ``helper.credential_process.cpu_ms``: the helper's CPU time (user + system) when its request
  arrives, in clock ticks of 10 ms: "interpreter time before the request is sent".
- ``helper.signing_helper.startup_ms`` / ``cpu_ms``: the same for the ``elsewhere-signing-helper``
  script (AWS's helper's command line).
- ``helper.python.startup_ms`` / ``cpu_ms``: a bare ``python -c pass`` on the same machine (wall
  time, and its whole CPU time), the floor.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from elsewhere import pki

__all__ = ["run"]

_ROUNDS = 9
_BIN = Path(sys.executable).parent
_UUID_TAIL = "-0000-0000-0000-000000000000"
_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
_ANCHOR = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/00000000" + _UUID_TAIL
_PROFILE = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/11111111" + _UUID_TAIL
_ROLE = "arn:aws:iam::123456789012:role/bench"
# An installed package has its bytecode compiled; a checkout gets it on the first (warm-up) run.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _answer() -> bytes:
    expiration = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(
        {
            "credentialSet": [
                {
                    "credentials": {
                        "accessKeyId": "ASIAEXAMPLEEXAMPLE00",
                        "secretAccessKey": "secret",
                        "sessionToken": "token",
                        "expiration": expiration,
                    },
                    "roleArn": _ROLE,
                }
            ]
        }
    ).encode()
    head = (
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) * _TICK_MS


def _one(argv: list[str], listener: socket.socket) -> tuple[float, float]:
    """(wall ms to the request, CPU ms of the helper then) for one run of ``argv``."""
    arrived: dict[str, float] = {}
    process: subprocess.Popen[bytes] | None = None
    ready = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            arrived["wall"] = time.perf_counter()
            ready.wait()
            assert process is not None
            arrived["cpu"] = _cpu_ms(process.pid)
            connection.sendall(_answer())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV)
    ready.set()
    out, err = process.communicate(timeout=120)
    thread.join(timeout=10)
    if process.returncode != 0 or b"AccessKeyId" not in out:
        raise RuntimeError(f"{argv[0]} failed: {err.decode(errors='replace')}")
    return (arrived["wall"] - started) * 1000, arrived["cpu"]


def _flags(directory: Path, port: int) -> list[str]:
    return [
        "credential-process",
        "--certificate",
        str(directory / "leaf.pem"),
        "--private-key",
        str(directory / "leaf.key"),
        "--trust-anchor-arn",
        _ANCHOR,
        "--profile-arn",
        _PROFILE,
        "--role-arn",
        _ROLE,
        "--endpoint",
        f"http://127.0.0.1:{port}",
    ]


def _bare_python_ms() -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(_ROUNDS):
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", "pass"], env=_ENV)
        _, status, usage = os.wait4(process.pid, 0)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
        process.returncode = os.waitstatus_to_exitcode(status)
    return statistics.median(walls), statistics.median(cpus)


def run() -> Iterator[tuple[str, float, str]]:
    """Yield the helper's start-up figures (see the module docstring)."""
    chain = pki.quick_chain(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "rsa2048")
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as listener:
        directory = Path(tmp)
        (directory / "leaf.pem").write_bytes(chain.leaf.public_bytes(serialization.Encoding.PEM))
        (directory / "leaf.key").write_text(chain.leaf_key_pem)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        commands = {
            "credential_process": [str(_BIN / "elsewhere"), *_flags(directory, port)],
            "signing_helper": [str(_BIN / "elsewhere-signing-helper"), *_flags(directory, port)],
        }
        for name, argv in commands.items():
            _one(argv, listener)  # warm the page cache and the .pyc files
            walls, cpus = zip(*(_one(argv, listener) for _ in range(_ROUNDS)), strict=True)
            yield f"helper.{name}.startup_ms", statistics.median(walls), "ms"
            yield f"helper.{name}.cpu_ms", statistics.median(cpus), "ms"
    wall, cpu = _bare_python_ms()
    yield "helper.python.startup_ms", wall, "ms"
    yield "helper.python.cpu_ms", cpu, "ms"
