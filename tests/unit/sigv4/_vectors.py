"""Loading the SigV4 test-suite files of tests/data/sigv4 into HttpRequest values."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from elsewhere.sigv4 import HttpRequest

DATA = Path(__file__).resolve().parents[2] / "data"
SIGV4 = DATA / "sigv4"
X509 = DATA / "sigv4-x509"
WYCHEPROOF = DATA / "wycheproof"


def parse_http_text(text: str) -> HttpRequest:
    """A request from the suites' text form: request line, headers (folded lines allowed), body.

    The suites write the request target unencoded (``/example space/``, ``/ሴ``); it is used as
    the raw path verbatim (see PROVENANCE.md, "decisions").
    """
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # drop " HTTP/1.1"
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in {" ", "\t"} and headers:
            # obs-fold (RFC 7230 §3.2.4): a continuation line belongs to the previous value.
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return HttpRequest(method, path, query, tuple(headers), body.encode("utf-8") if sep else b"")


@dataclass(frozen=True)
class AwsCAuthCase:
    """One aws-c-auth v4 case: context, request and the expected header/query outputs."""

    name: str
    context: dict[str, object]
    request: HttpRequest
    files: dict[str, str]

    @property
    def now(self) -> dt.datetime:
        """The signing time of the case."""
        stamp = str(self.context["timestamp"])
        return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)

    @property
    def credentials(self) -> dict[str, str]:
        """access_key_id, secret_access_key and maybe token."""
        creds = self.context["credentials"]
        assert isinstance(creds, dict)
        return {str(k): str(v) for k, v in creds.items()}


def aws_c_auth_cases() -> list[AwsCAuthCase]:
    """Every case of tests/data/sigv4/aws-c-auth-v4."""
    cases = []
    for folder in sorted((SIGV4 / "aws-c-auth-v4").iterdir()):
        if not folder.is_dir():
            continue
        files = {f.name: f.read_text(encoding="utf-8") for f in folder.iterdir()}
        cases.append(
            AwsCAuthCase(
                folder.name,
                json.loads(files["context.json"]),
                parse_http_text(files["request.txt"]),
                files,
            )
        )
    return cases


@dataclass(frozen=True)
class ClassicCase:
    """One case of the classic suite: .req, .creq, .sts, .authz, .sreq."""

    name: str
    request: HttpRequest
    creq: str
    sts: str
    authz: str
    signed: HttpRequest


def classic_cases() -> list[ClassicCase]:
    """Every case of tests/data/sigv4/aws-sig-v4-test-suite (nested folders included)."""
    cases = []
    root = SIGV4 / "aws-sig-v4-test-suite"
    for req in sorted(root.rglob("*.req")):
        stem = req.with_suffix("")

        def read(ext: str, stem: Path = stem) -> str:
            return stem.with_suffix(ext).read_text(encoding="utf-8")

        cases.append(
            ClassicCase(
                str(req.relative_to(root).with_suffix("")),
                parse_http_text(read(".req")),
                read(".creq"),
                read(".sts"),
                read(".authz"),
                parse_http_text(read(".sreq")),
            )
        )
    return cases
