"""README.md's CreateSession refusal table is what a live server sends, row by row.

The table is read from README.md; each row's case names a scenario below that provokes exactly
that refusal over HTTP. A row without a scenario, a scenario without a row, or an answer that
differs from the row (status, ``x-amzn-ErrorType``, message) fails, so the manual and the server
cannot drift apart. ``<name>`` in a message stands for a part that varies: the scenario gives its
exact value when it knows it (``<roleArn>``), otherwise any text matches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import (
    Chain,
    Revocation,
    build_intermediate_ca,
    issue_certificate,
    quick_chain,
)
from elsewhere.sigv4 import HttpRequest, sign_x509_request
from tests.conftest import ServerProcess, start_server
from tests.integration.test_createsession import (
    TRUST,
    make_anchor,
    make_profile,
    make_role,
    send,
    signed_request,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own: each case makes a trust anchor of its own."""
    handle = start_server(tmp_path_factory.mktemp("readme") / "data")
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _no_anchors_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Delete the trust anchors a case made, so the cases stay under the quota of 50."""
    yield
    if "server" not in request.fixturenames:
        return
    ra = request.getfixturevalue("server").client("rolesanywhere")
    for anchor in ra.list_trust_anchors()["trustAnchors"]:
        ra.delete_trust_anchor(trustAnchorId=anchor["trustAnchorId"])


README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "| case | status | code | message |"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of the README table."""

    case: str
    status: int
    code: str
    message: str


def _cell(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == "`" else text


def read_table(text: str) -> list[Row]:
    """The rows of the CreateSession refusal table in ``text`` (README.md)."""
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, line
        rows.append(Row(cells[0], int(cells[1]), _cell(cells[2]), _cell(cells[3])))
    return rows


ROWS = read_table(README.read_text(encoding="utf-8"))


def _pattern(template: str, values: dict[str, str]) -> re.Pattern[str]:
    parts = re.split(r"<([A-Za-z]+)>", template)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append(re.escape(values[part]) if part in values else ".*?")
    return re.compile("".join(out), re.DOTALL)


# -- scenarios -------------------------------------------------------------------------------

Outcome = tuple[httpx.Response, dict[str, str]]


@dataclasses.dataclass
class Setup:
    """A chain, an anchor holding its root, a role and a profile listing the role."""

    chain: Chain
    anchor: str
    role: str
    profile: str

    def request(self, server: ServerProcess, **kwargs: Any) -> HttpRequest:
        """A signed CreateSession request for this setup (overrides in ``kwargs``)."""
        args: dict[str, Any] = {
            "anchor": self.anchor,
            "profile": self.profile,
            "role": self.role,
            **kwargs,
        }
        chain = args.pop("chain", self.chain)
        return signed_request(server, chain, **args)

    def send(self, server: ServerProcess, **kwargs: Any) -> Outcome:
        """Send :meth:`request` and give the role ARN as the ``<roleArn>`` value."""
        return send(server, self.request(server, **kwargs)), {"roleArn": self.role}


def _setup(
    server: ServerProcess,
    *,
    chain: Chain | None = None,
    trust: dict[str, Any] | None = None,
    with_intermediate: bool = False,
    **profile: Any,
) -> Setup:
    chain = chain or quick_chain(NOW - dt.timedelta(hours=1), "p256", with_intermediate)
    anchor = make_anchor(server, chain.anchor_pem)
    role = make_role(server, trust or TRUST)
    return Setup(chain, anchor, role, make_profile(server, [role], **profile))


def _missing(arn: str) -> str:
    return arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())


def _with_headers(request: HttpRequest, change: Callable[[str, str], str]) -> HttpRequest:
    headers = tuple((name, change(name.lower(), value)) for name, value in request.headers)
    return dataclasses.replace(request, headers=headers)


def body_changed(server: ServerProcess) -> Outcome:
    """The body is edited after signing."""
    s = _setup(server)
    request = s.request(server)
    tampered = dataclasses.replace(request, body=request.body.replace(b"3600", b"3601"))
    return send(server, tampered), {}


def header_changed(server: ServerProcess) -> Outcome:
    """A signed header (Content-Type) is edited after signing."""
    s = _setup(server)
    request = _with_headers(
        s.request(server),
        lambda name, value: "application/x-amz-json-1.0" if name == "content-type" else value,
    )
    return send(server, request), {}


def serial_changed(server: ServerProcess) -> Outcome:
    """The Authorization credential names the next serial."""
    s = _setup(server)
    serial = str(s.chain.leaf.serial_number)
    request = _with_headers(
        s.request(server),
        lambda name, value: (
            value.replace(f"Credential={serial}/", f"Credential={int(serial) + 1}/")
            if name == "authorization"
            else value
        ),
    )
    return send(server, request), {}


def wrong_key(server: ServerProcess) -> Outcome:
    """The request is signed with another key than the certificate's."""
    s = _setup(server)
    other = quick_chain(NOW, "p256", key_slot="readme-other", fresh_keys=True)
    return s.send(server, chain=dataclasses.replace(s.chain, leaf_key=other.leaf_key))


def date_past(server: ServerProcess) -> Outcome:
    """X-Amz-Date ten minutes old."""
    return _setup(server).send(server, now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))


def date_future(server: ServerProcess) -> Outcome:
    """X-Amz-Date ten minutes ahead."""
    return _setup(server).send(server, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))


def anchor_missing(server: ServerProcess) -> Outcome:
    """The trust anchor ARN names no anchor."""
    s = _setup(server)
    return s.send(server, anchor=_missing(s.anchor))


def anchor_disabled(server: ServerProcess) -> Outcome:
    """The trust anchor is disabled."""
    s = _setup(server)
    server.client("rolesanywhere").disable_trust_anchor(trustAnchorId=s.anchor.rsplit("/", 1)[1])
    return s.send(server)


def other_ca(server: ServerProcess) -> Outcome:
    """The leaf comes from a CA the anchor does not hold."""
    s = _setup(server)
    return s.send(server, chain=quick_chain(NOW - dt.timedelta(hours=1), "p256"))


def _leaf_valid(
    server: ServerProcess, not_before: dt.timedelta, not_after: dt.timedelta
) -> Outcome:
    base = quick_chain(NOW - dt.timedelta(days=30), "p256")
    leaf = issue_certificate(
        base.root_ca,
        now=NOW,
        subject="CN=readme-validity",
        key=base.leaf_key,
        not_before=NOW + not_before,
        not_after=NOW + not_after,
    )
    chain = Chain(base.root, base.root_key, None, None, leaf.certificate, leaf.key)
    return _setup(server, chain=chain).send(server)


def leaf_expired(server: ServerProcess) -> Outcome:
    """The leaf expired yesterday."""
    return _leaf_valid(server, dt.timedelta(days=-10), dt.timedelta(days=-1))


def leaf_not_yet_valid(server: ServerProcess) -> Outcome:
    """The leaf becomes valid tomorrow."""
    return _leaf_valid(server, dt.timedelta(days=1), dt.timedelta(days=10))


def intermediate_expired(server: ServerProcess) -> Outcome:
    """The intermediate CA expired yesterday; the leaf itself is current."""
    base = quick_chain(NOW - dt.timedelta(days=30), "p256")
    intermediate = build_intermediate_ca(
        base.root_ca,
        now=NOW,
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW - dt.timedelta(days=1),
    )
    leaf = issue_certificate(
        intermediate,
        now=NOW,
        subject="CN=readme-expired-intermediate",
        key=base.leaf_key,
        not_before=NOW - dt.timedelta(hours=1),
        not_after=NOW + dt.timedelta(days=1),
    )
    chain = Chain(
        base.root,
        base.root_key,
        intermediate.certificate,
        intermediate.key,
        leaf.certificate,
        leaf.key,
    )
    return _setup(server, chain=chain).send(server)


def _revoked(server: ServerProcess, which: str) -> Outcome:
    s = _setup(server, with_intermediate=True)
    then = NOW - dt.timedelta(minutes=5)
    if which == "leaf":
        crl = s.chain.crl([s.chain.leaf.serial_number], now=then)
    else:
        assert s.chain.intermediate is not None
        crl = s.chain.crl(
            [Revocation(s.chain.intermediate.serial_number, then)], now=then, issuer="root"
        )
    server.client("rolesanywhere").import_crl(
        name="readme-" + which,
        crlData=crl.public_bytes(serialization.Encoding.DER),
        trustAnchorArn=s.anchor,
        enabled=True,
    )
    return s.send(server)


def leaf_revoked(server: ServerProcess) -> Outcome:
    """The leaf is on an enabled CRL of the anchor."""
    return _revoked(server, "leaf")


def intermediate_revoked(server: ServerProcess) -> Outcome:
    """The intermediate CA is on an enabled CRL of the anchor (issued by the root)."""
    return _revoked(server, "intermediate")


def profile_missing(server: ServerProcess) -> Outcome:
    """The profile ARN names no profile."""
    s = _setup(server)
    return s.send(server, profile=_missing(s.profile))


def profile_disabled(server: ServerProcess) -> Outcome:
    """The profile is disabled."""
    s = _setup(server)
    server.client("rolesanywhere").disable_profile(profileId=s.profile.rsplit("/", 1)[1])
    return s.send(server)


def role_not_listed(server: ServerProcess) -> Outcome:
    """The role exists but the profile does not list it."""
    s = _setup(server)
    other = make_role(server)
    return s.send(server, role=other)[0], {"roleArn": other}


def role_deleted(server: ServerProcess) -> Outcome:
    """The profile lists the role, which was deleted."""
    s = _setup(server)
    server.client("iam").delete_role(RoleName=s.role.rsplit("/", 1)[1])
    return s.send(server)


def trust_refuses(server: ServerProcess) -> Outcome:
    """The trust policy wants another certificate CN."""
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "someone-else"}
    }
    return _setup(server, trust=trust).send(server)


def cn_too_long(server: ServerProcess) -> Outcome:
    """Two CNs of 40 characters: joined, more than the 64 a source identity may hold."""
    chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", subject=f"CN={'a' * 40},CN={'b' * 40}")
    return _setup(server, chain=chain).send(server)


def packed_too_large(server: ServerProcess) -> Outcome:
    """Fifty incompressible managed policy ARNs overflow the packed-policy budget."""
    arns = [
        f"arn:aws:iam::{server.account_id}:policy/" + hashlib.sha256(str(i).encode()).hexdigest()
        for i in range(50)
    ]
    return _setup(server, managedPolicyArns=arns).send(server)


def duration_above_role(server: ServerProcess) -> Outcome:
    """The profile and the request ask for two hours; the role allows one."""
    s = _setup(server, durationSeconds=7200)
    return s.send(server, body={"durationSeconds": 7200})


def tag_rules(server: ServerProcess) -> Outcome:
    """A subject CN with parentheses cannot be a session tag value."""
    chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", subject="CN=web (prod),O=elsewhere")
    response, values = _setup(server, chain=chain).send(server)
    return response, {**values, "issuer": "", "subject": "CN", "san": ""}


def session_name_refused(server: ServerProcess) -> Outcome:
    """roleSessionName sent while the profile's acceptRoleSessionName is false."""
    return _setup(server).send(server, body={"roleSessionName": "custom"})


def chain_too_long(server: ServerProcess) -> Outcome:
    """Six certificates in X-Amz-X509-Chain."""
    s = _setup(server, with_intermediate=True)
    assert s.chain.intermediate is not None
    extra = tuple(
        build_intermediate_ca(s.chain.root_ca, now=NOW - dt.timedelta(hours=1)).certificate
        for _ in range(5)
    )
    response, _ = s.send(server, intermediates=(s.chain.intermediate, *extra))
    return response, {"count": "6"}


def arn_missing(server: ServerProcess) -> Outcome:
    """The body form without a profileArn."""
    response, _ = _setup(server).send(server, form="body", body={"profileArn": None})
    return response, {"member": "profileArn"}


def arn_malformed(server: ServerProcess) -> Outcome:
    """A profileArn that names a trust anchor."""
    s = _setup(server)
    response, _ = s.send(server, form="body", body={"profileArn": s.anchor})
    return response, {"value": s.anchor, "member": "profileArn"}


def duration_low(server: ServerProcess) -> Outcome:
    """durationSeconds 899."""
    response, _ = _setup(server).send(server, body={"durationSeconds": 899})
    return response, {"value": "899"}


def duration_high(server: ServerProcess) -> Outcome:
    """durationSeconds 43201."""
    response, _ = _setup(server).send(server, body={"durationSeconds": 43201})
    return response, {"value": "43201"}


def arn_with_nul(server: ServerProcess) -> Outcome:
    """A profileArn ending in a NUL character (the model's pattern lets it through)."""
    s = _setup(server)
    response, _ = s.send(server, form="body", body={"profileArn": s.profile + "\x00"})
    return response, {"member": "profileArn"}


def arn_with_surrogate(server: ServerProcess) -> Outcome:
    """A profileArn ending in a lone surrogate (echoed as U+FFFD)."""
    s = _setup(server)
    response, _ = s.send(server, form="body", body={"profileArn": s.profile + "\ud800"})
    return response, {"member": "profileArn", "value": s.profile + "\ufffd"}


def too_many_properties(server: ServerProcess) -> Outcome:
    """Fifty-one instanceProperties."""
    props = {f"k{i}": "v" for i in range(51)}
    return _setup(server).send(server, body={"instanceProperties": props})


def property_too_long(server: ServerProcess) -> Outcome:
    """An instanceProperties value of 201 characters."""
    return _setup(server).send(server, body={"instanceProperties": {"host": "x" * 201}})


def property_surrogate(server: ServerProcess) -> Outcome:
    """An instanceProperties key holding a lone surrogate."""
    return _setup(server).send(server, body={"instanceProperties": {"k\udc00": "v"}})


def body_not_object(server: ServerProcess) -> Outcome:
    """A JSON array for a body, correctly signed."""
    s = _setup(server)
    template = s.request(server)
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        template.raw_query,
        (("Host", f"127.0.0.1:{server.port}"), ("Content-Type", "application/json")),
        b"[1]",
    )
    request = sign_x509_request(
        unsigned,
        certificate=s.chain.leaf,
        private_key=s.chain.leaf_key,  # type: ignore[arg-type]
        region=server.region,
        now=dt.datetime.now(dt.UTC),
        intermediates=s.chain.intermediates,
    )
    return send(server, request), {}


def configuration_stale(server: ServerProcess) -> Outcome:
    """A server of its own whose store stops answering (the version table is moved away)."""
    with tempfile.TemporaryDirectory() as tmp:
        own = start_server(Path(tmp) / "data")
        try:
            s = _setup(own)
            db = sqlite3.connect(own.data_dir / "elsewhere.db", timeout=30)
            try:
                db.execute("ALTER TABLE config_version RENAME TO config_version_away")
                db.commit()
                deadline = time.monotonic() + 10
                while httpx.get(f"{own.endpoint}/ping").status_code != 503:
                    assert time.monotonic() < deadline, "the configuration never went stale"
                    time.sleep(0.05)
                return s.send(own)
            finally:
                db.execute("ALTER TABLE config_version_away RENAME TO config_version")
                db.commit()
                db.close()
        finally:
            own.stop()


SCENARIOS: dict[str, Callable[[ServerProcess], Outcome]] = {
    "a body changed after signing": body_changed,
    "a signed header changed after signing": header_changed,
    "the credential names another serial than the certificate's": serial_changed,
    "signed with a key that is not the certificate's": wrong_key,
    "`X-Amz-Date` more than 5 minutes in the past": date_past,
    "`X-Amz-Date` more than 5 minutes in the future": date_future,
    "a trust anchor that does not exist": anchor_missing,
    "a disabled trust anchor": anchor_disabled,
    "a certificate from a CA the anchor does not hold": other_ca,
    "an expired certificate": leaf_expired,
    "a certificate not yet valid": leaf_not_yet_valid,
    "an expired intermediate CA": intermediate_expired,
    "a certificate on an enabled CRL of the anchor": leaf_revoked,
    "an intermediate CA on an enabled CRL of the anchor": intermediate_revoked,
    "a profile that does not exist": profile_missing,
    "a disabled profile": profile_disabled,
    "a role the profile does not list": role_not_listed,
    "a role the profile lists that does not exist": role_deleted,
    "a trust policy that does not allow the session": trust_refuses,
    "subject CNs longer than 64 characters together (no source identity)": cn_too_long,
    "session policy, managed policy ARNs and tags over the packed-policy budget": packed_too_large,
    "a duration above the role's `MaxSessionDuration`": duration_above_role,
    "a mapped certificate attribute that breaks STS's tag rules (e.g. parentheses)": tag_rules,
    "`roleSessionName` sent to a profile that does not accept it": session_name_refused,
    "more than 5 certificates in `X-Amz-X509-Chain`": chain_too_long,
    "a missing ARN": arn_missing,
    "an ARN that does not match the model's pattern": arn_malformed,
    "`durationSeconds` below 900": duration_low,
    "`durationSeconds` above 43200": duration_high,
    "an ARN holding a NUL character": arn_with_nul,
    "an ARN holding an unpaired UTF-16 surrogate": arn_with_surrogate,
    "more than 50 `instanceProperties`": too_many_properties,
    "an `instanceProperties` value longer than 200 characters": property_too_long,
    "an unpaired UTF-16 surrogate in an `instanceProperties` key": property_surrogate,
    "the configuration cannot be confirmed within its 1 s bound (the store cannot be read)": (
        configuration_stale
    ),
    "a body that is not a JSON object": body_not_object,
}


def test_every_row_has_a_scenario_and_every_scenario_a_row() -> None:
    """The table and the scenarios name the same cases, each once."""
    cases = [row.case for row in ROWS]
    assert len(cases) == len(set(cases))
    assert set(cases) == set(SCENARIOS)


def test_table_parser_reads_cells() -> None:
    """The table reader takes status, code and message out of backticks."""
    text = "x\n\n" + HEADER + "\n|---|---|---|---|\n| a case | 403 | `Code` | `m <v>.` |\n\nnext"
    assert read_table(text) == [Row("a case", 403, "Code", "m <v>.")]


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_server_sends_what_the_readme_says(server: ServerProcess, row: Row) -> None:
    """The server's answer to the row's case has the row's status, code and message."""
    scenario = SCENARIOS.get(row.case)
    assert scenario is not None, f"README row without a scenario: {row.case!r}"
    response, values = scenario(server)
    message = response.json().get("message", "")
    assert (response.status_code, response.headers.get("x-amzn-errortype")) == (
        row.status,
        row.code,
    ), message
    assert _pattern(row.message, values).fullmatch(message), (row.message, message)
