"""CreateSession throughput and latency against a real server process with one uvicorn worker.

The server runs as ``elsewhere server --log-level warning`` (one worker, SQLite in a temporary
directory). Load comes from a separate process on loopback that replays requests signed in
advance (signing is the client's cost, not the server's; the server does not deduplicate
replays, and every replay is fully verified: signature, path from the warm cache, trust policy,
token sealing). Each figure is the median of rounds; every round is bounded in time.

- ``createsession.rsa2048.per_second`` / ``createsession.p256.per_second``: closed-loop maximum
  with an RSA-2048 / P-256 leaf and one intermediate.
- ``trivial.per_second``: an authenticated trivial call (STS GetCallerIdentity, HMAC-signed).
- ``createsession.rsa2048.ratio_to_trivial``: the first divided by the third.
- ``createsession.rsa2048.p99_ms_at_half_load``: p99 latency of RSA-2048 CreateSession at an
  open-loop rate of half the measured maximum (p50 is printed as well).
- ``*.load_cpu_share``: CPU time of the load process over the round's length; near 1.0 the load
  generator, not the server, set the closed-loop rate.
- ``*.per_cpu_second``: requests served per CPU-second of the server process (user + system
  time, all its threads, from ``/proc``), measured over the same rounds. On a shared machine the
  closed-loop rate also depends on what else runs; this is the per-core capacity, and
  ``createsession.rsa2048.cpu_ratio_to_trivial`` the ratio that follows from it.
- ``bare_uvicorn.per_cpu_second``: the yardstick, a trivial Starlette endpoint on uvicorn
  (``bench/_bare.py``) under the same load, and ``rsa2048.verify.per_second`` one core's
  RSA-2048 signature checks with cryptography. ``createsession.rsa2048.ratio_to_bare_uvicorn``
  divides CreateSession's per-CPU-second rate by the yardstick's; it travels between machines,
  and ``createsession.rsa2048.per_core_at_25k_bare`` is that ratio times 25,000, what a core
  serving the bare endpoint at 25,000 requests/s would do (an estimate, not a measurement).
"""

from __future__ import annotations

import asyncio
import configparser
import datetime as dt
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["run"]

_ROUNDS = 3
_SECONDS = 2.0
_CONNECTIONS = 16
_SIGNED = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wire(method: str, path: str, query: str, headers: Any, body: bytes) -> bytes:
    target = path + (f"?{query}" if query else "")
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{n}: {v}" for n, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> int:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _closed_loop(port: int, requests: list[bytes], seconds: float) -> tuple[int, int, float]:
    """Requests done, failed, and the share of the round the load process spent on a CPU."""
    done = 0
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            status = await _exchange(reader, writer, requests[i % len(requests)])
            i += 1
            if status in (200, 201):
                done += 1
            else:
                errors += 1
        writer.close()

    cpu = time.process_time()
    await asyncio.gather(*(worker(k) for k in range(_CONNECTIONS)))
    return done, errors, (time.process_time() - cpu) / seconds


async def _open_loop(port: int, requests: list[bytes], rate: float, seconds: float) -> list[float]:
    """Send at ``rate`` per second (spread over connections); latency from scheduled send time."""
    latencies: list[float] = []
    per_connection = rate / _CONNECTIONS
    start = time.perf_counter() + 0.05

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        interval = 1.0 / per_connection
        phase = offset * interval / _CONNECTIONS
        while True:
            scheduled = start + phase + n * interval
            if scheduled - start > seconds:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await _exchange(reader, writer, requests[(offset + n) % len(requests)])
            latencies.append(time.perf_counter() - scheduled)
            n += 1
        writer.close()

    await asyncio.gather(*(worker(k) for k in range(_CONNECTIONS)))
    return latencies


def _load(
    kind: str, port: int, requests: list[bytes], arg: float, out: Any
) -> None:  # pragma: no cover - runs in the load process
    """Entry point of the load process."""
    if kind == "closed":
        out.put(asyncio.run(_closed_loop(port, requests, arg)))
    else:
        out.put(asyncio.run(_open_loop(port, requests, arg, _SECONDS)))


def _in_load_process(kind: str, port: int, requests: list[bytes], arg: float) -> Any:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_load, args=(kind, port, requests, arg, out))
    proc.start()
    try:
        return out.get(timeout=_SECONDS * 10 + 30)
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


class _Server:
    """A server process in a temporary directory, with its trust anchors, role and profile."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="elsewhere-bench-"))
        self.port = _free_port()
        exe = Path(sys.executable).parent / "elsewhere"
        self.log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(exe),
                "server",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.root / "data"),
                "--log-level",
                "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.endpoint}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.1)
        parser = configparser.ConfigParser()
        parser.read(self.root / "data" / "admin.credentials")
        self.key = parser["default"]["aws_access_key_id"]
        self.secret = parser["default"]["aws_secret_access_key"]

    def client(self, service: str) -> Any:
        """A boto3 client with the root key."""
        import boto3

        return boto3.client(
            service,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
            endpoint_url=self.endpoint,
        )

    def role(self) -> str:
        """A role that trusts rolesanywhere (through IAM, or the store if IAM is not served)."""
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                    }
                ],
            }
        )
        name = f"bench-{uuid.uuid4().hex[:8]}"
        try:
            out = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)
            return str(out["Role"]["Arn"])
        except Exception:
            from elsewhere.domain._iam import Role
            from elsewhere.storage import open_store

            arn = f"arn:aws:iam::123456789012:role/{name}"
            store = open_store(f"sqlite:///{self.root / 'data' / 'elsewhere.db'}")
            store.add_role(  # type: ignore[attr-defined]
                Role(
                    role_id="AROA" + uuid.uuid4().hex[:17].upper(),
                    arn=arn,
                    name=name,
                    path="/",
                    assume_role_policy=trust,
                    description="",
                    max_session_duration=3600,
                    permissions_boundary_arn=None,
                    tags=(),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
            store.close()
            return arn

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


class _BareServer:
    """``bench/_bare.py`` in its own process: the trivial Starlette/uvicorn yardstick."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench._bare", str(self.port)],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the yardstick server did not start")
            time.sleep(0.1)

    def requests(self) -> list[bytes]:
        """The one request the yardstick answers, with a body like a small API call's."""
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        headers = (
            ("Host", f"127.0.0.1:{self.port}"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        )
        return [_wire("POST", "/", "", headers, body)]

    def close(self) -> None:
        """Stop the yardstick."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _rsa_verifications_per_second() -> float:
    """Median RSA-2048 PKCS#1 v1.5 / SHA-256 verifications per second on one core."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    message = b"x" * 200
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    rates = []
    for _ in range(_ROUNDS):
        count = 0
        start = time.process_time()
        while (elapsed := time.process_time() - start) < 0.5:
            for _ in range(100):
                public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            count += 100
        rates.append(count / elapsed)
    return statistics.median(rates)


def _session_requests(server: _Server, key_type: str, role: str) -> list[bytes]:
    from elsewhere.pki import quick_chain
    from elsewhere.sigv4 import HttpRequest, sign_x509_request

    now = dt.datetime.now(dt.UTC)
    chain = quick_chain(now - dt.timedelta(hours=1), key_type, True)
    ra = server.client("rolesanywhere")
    anchor = ra.create_trust_anchor(
        name=f"bench-{key_type}",
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": chain.anchor_pem},
        },
    )["trustAnchor"]["trustAnchorArn"]
    profile = ra.create_profile(name=f"bench-{key_type}", roleArns=[role], enabled=True)["profile"][
        "profileArn"
    ]
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
    )
    out = []
    for _ in range(_SIGNED):
        unsigned = HttpRequest(
            "POST",
            "/sessions",
            query,
            (("Host", f"127.0.0.1:{server.port}"), ("Content-Type", "application/json")),
            b'{"durationSeconds":3600}',
        )
        signed = sign_x509_request(
            unsigned,
            certificate=chain.leaf,
            private_key=chain.leaf_key,
            region="us-east-1",
            now=now,
            intermediates=chain.intermediates,
        )
        out.append(_wire("POST", "/sessions", query, signed.headers, signed.body))
    return out


def _trivial_requests(server: _Server) -> list[bytes]:
    from elsewhere.sigv4 import HttpRequest, sign_hmac_request

    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    out = []
    for _ in range(_SIGNED):
        signed = sign_hmac_request(
            HttpRequest(
                "POST",
                "/",
                "",
                (
                    ("Host", f"127.0.0.1:{server.port}"),
                    ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ),
                body,
            ),
            access_key_id=server.key,
            secret_access_key=server.secret,
            region="us-east-1",
            service="sts",
            now=dt.datetime.now(dt.UTC),
        )
        out.append(_wire("POST", "/", "", signed.headers, signed.body))
    return out


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (every thread), or None without ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rate(
    server: _Server | _BareServer, requests: list[bytes]
) -> tuple[float, float | None, float]:
    """Median closed-loop rate, requests per server CPU-second (None if unknown), load share.

    A load share near 1.0 means the load process, not the server, limited the rate.
    """
    port = server.port
    _in_load_process("closed", port, requests, 0.5)  # warm the caches and the connections
    rates = []
    per_cpu: list[float] = []
    load: list[float] = []
    for _ in range(_ROUNDS):
        before = _cpu_seconds(server.process.pid)
        done, errors, load_share = _in_load_process("closed", port, requests, _SECONDS)
        load.append(load_share)
        after = _cpu_seconds(server.process.pid)
        if errors:
            raise RuntimeError(f"{errors} requests failed during the benchmark")
        rates.append(done / _SECONDS)
        if before is not None and after is not None and after > before:
            per_cpu.append(done / (after - before))
    median_cpu = statistics.median(per_cpu) if per_cpu else None
    return statistics.median(rates), median_cpu, statistics.median(load)


def run() -> Iterator[tuple[str, float, str]]:
    """Start a server, measure, and yield (name, value, unit)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    server = _Server()
    try:
        role = server.role()
        rsa = _session_requests(server, "rsa2048", role)
        p256 = _session_requests(server, "p256", role)
        trivial = _trivial_requests(server)
        time.sleep(0.5)  # let the configuration snapshot see the new anchors and profiles
        rsa_rate, rsa_cpu, rsa_load = _rate(server, rsa)
        yield "createsession.rsa2048.per_second", rsa_rate, "req/s"
        p256_rate, p256_cpu, _ = _rate(server, p256)
        yield "createsession.p256.per_second", p256_rate, "req/s"
        trivial_rate, trivial_cpu, trivial_load = _rate(server, trivial)
        yield "trivial.per_second", trivial_rate, "req/s"
        yield "createsession.rsa2048.ratio_to_trivial", rsa_rate / trivial_rate, "ratio"
        if rsa_cpu is not None and p256_cpu is not None and trivial_cpu is not None:
            yield "createsession.rsa2048.per_cpu_second", rsa_cpu, "req/cpu-s"
            yield "createsession.p256.per_cpu_second", p256_cpu, "req/cpu-s"
            yield "trivial.per_cpu_second", trivial_cpu, "req/cpu-s"
            yield "createsession.rsa2048.cpu_ratio_to_trivial", rsa_cpu / trivial_cpu, "ratio"
        yield "createsession.rsa2048.load_cpu_share", rsa_load, "ratio"
        yield "trivial.load_cpu_share", trivial_load, "ratio"
        p50s, p99s = [], []
        for _ in range(_ROUNDS):
            latencies = sorted(_in_load_process("open", server.port, rsa, rsa_rate / 2))
            p50s.append(latencies[len(latencies) // 2] * 1000)
            p99s.append(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)
        yield "createsession.rsa2048.p50_ms_at_half_load", statistics.median(p50s), "ms"
        yield "createsession.rsa2048.p99_ms_at_half_load", statistics.median(p99s), "ms"
    finally:
        server.close()
    bare = _BareServer()
    try:
        bare_rate, bare_cpu, _ = _rate(bare, bare.requests())
    finally:
        bare.close()
    yield "bare_uvicorn.per_second", bare_rate, "req/s"
    if bare_cpu is not None:
        yield "bare_uvicorn.per_cpu_second", bare_cpu, "req/cpu-s"
    yield "rsa2048.verify.per_second", _rsa_verifications_per_second(), "ops/s"
    if bare_cpu is not None and rsa_cpu is not None:
        ratio = rsa_cpu / bare_cpu
        yield "createsession.rsa2048.ratio_to_bare_uvicorn", ratio, "ratio"
        yield "createsession.rsa2048.per_core_at_25k_bare", ratio * 25_000, "req/s (estimate)"
