"""CreateSession end to end against a real ``elsewhere server`` process, over HTTP.

Certificates come from ``elsewhere.pki``; requests are signed with ``sign_x509_request`` exactly
as AWS's helper signs them and sent with httpx. The credentials are then used with boto3.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from elsewhere.pki import Chain, Revocation, build_intermediate_ca, issue_certificate, quick_chain
from elsewhere.sigv4 import HttpRequest, sign_x509_request
from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }
    ],
}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _seed(server: ServerProcess, action: Callable[[Any], None]) -> None:
    """Write to the server's store directly (while the IAM API is not yet served)."""
    from elsewhere.storage import open_store

    store = open_store(f"sqlite:///{server.data_dir / 'elsewhere.db'}")
    try:
        action(store)
    finally:
        store.close()


def make_role(
    server: ServerProcess,
    trust: dict[str, Any] | None = None,
    *,
    max_session_duration: int = 3600,
    name: str | None = None,
) -> str:
    """Create a role through IAM (or the store while IAM is not served); return its ARN."""
    name = name or _name("role")
    document = json.dumps(trust or TRUST)
    try:
        out = server.client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=document,
            MaxSessionDuration=max_session_duration,
        )
        return str(out["Role"]["Arn"])
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] not in (404, 400):
            raise
    from elsewhere.domain._iam import Role

    arn = f"arn:aws:iam::{server.account_id}:role/{name}"
    role = Role(
        role_id="AROA" + uuid.uuid4().hex[:17].upper(),
        arn=arn,
        name=name,
        path="/",
        assume_role_policy=document,
        description="",
        max_session_duration=max_session_duration,
        permissions_boundary_arn=None,
        tags=(),
        created_at=dt.datetime.now(dt.UTC),
    )
    _seed(server, lambda store: store.add_role(role))
    return arn


def put_role_policy(server: ServerProcess, role_name: str, name: str, document: str) -> None:
    """PutRolePolicy through the IAM API (or the store when IAM is not served)."""
    try:
        server.client("iam").put_role_policy(
            RoleName=role_name, PolicyName=name, PolicyDocument=document
        )
        return
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] not in (404, 400):
            raise
    _seed(server, lambda store: store.put_inline_policy("role", role_name, name, document))


def make_anchor(server: ServerProcess, pem: str, *, enabled: bool = True) -> str:
    """A CERTIFICATE_BUNDLE trust anchor."""
    ra = server.client("rolesanywhere")
    out = ra.create_trust_anchor(
        name=_name("ta"),
        enabled=enabled,
        source={"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": pem}},
    )
    return str(out["trustAnchor"]["trustAnchorArn"])


def make_profile(server: ServerProcess, roles: list[str], **extra: Any) -> str:
    """An enabled profile."""
    ra = server.client("rolesanywhere")
    out = ra.create_profile(name=_name("p"), roleArns=roles, enabled=True, **extra)
    return str(out["profile"]["profileArn"])


def signed_request(
    server: ServerProcess,
    chain: Chain,
    *,
    anchor: str,
    profile: str,
    role: str,
    form: str = "query",
    body: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    intermediates: tuple[Any, ...] | None = None,
) -> HttpRequest:
    """A CreateSession request as the AWS helper (query) or the Python session (body) sends it."""
    payload: dict[str, Any] = {"durationSeconds": 3600}
    query = ""
    ctype = "application/json"
    if form == "body":
        payload = {"profileArn": profile, "roleArn": role, "trustAnchorArn": anchor}
        ctype = "application/x-amz-json-1.0"
    else:
        query = "&".join(
            f"{k}={quote(v, safe='')}"
            for k, v in (("profileArn", profile), ("roleArn", role), ("trustAnchorArn", anchor))
        )
    payload.update(body or {})
    unsigned = HttpRequest(
        "POST",
        "/sessions",
        query,
        (("Host", f"127.0.0.1:{server.port}"), ("Content-Type", ctype)),
        json.dumps(payload, separators=(",", ":")).encode(),
    )
    return sign_x509_request(
        unsigned,
        certificate=chain.leaf,
        private_key=chain.leaf_key,  # type: ignore[arg-type]
        region=server.region,
        now=now or dt.datetime.now(dt.UTC),
        intermediates=chain.intermediates if intermediates is None else intermediates,
    )


def send(server: ServerProcess, request: HttpRequest, *, chunked: bool = False) -> httpx.Response:
    """POST the signed request as is (optionally with a chunked body)."""
    url = f"{server.endpoint}{request.raw_path}" + (
        f"?{request.raw_query}" if request.raw_query else ""
    )
    content: Any = request.body
    if chunked:
        data = request.body

        def pieces() -> Iterator[bytes]:
            yield data[:5]
            yield data[5:]

        content = pieces()
    return httpx.post(url, headers=list(request.headers), content=content, timeout=30)


def sts_for(server: ServerProcess, creds: dict[str, str]) -> Any:
    """An STS client using temporary credentials from CreateSession."""
    return boto3.client(
        "sts",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )


def _pem(cert: Any) -> str:
    return str(cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture(scope="module")
def setup(server: ServerProcess) -> Callable[..., tuple[Chain, str, str, str]]:
    """Make a chain, an anchor for it, a role and a profile listing the role."""

    def make(
        key_type: str = "p256",
        with_intermediate: bool = False,
        *,
        anchor_pem: str | None = None,
        trust: dict[str, Any] | None = None,
        profile_extra: dict[str, Any] | None = None,
        chain: Chain | None = None,
        max_session_duration: int = 3600,
    ) -> tuple[Chain, str, str, str]:
        chain = chain or quick_chain(NOW - dt.timedelta(hours=1), key_type, with_intermediate)
        anchor = make_anchor(server, anchor_pem or chain.anchor_pem)
        role = make_role(server, trust, max_session_duration=max_session_duration)
        profile = make_profile(server, [role], **(profile_extra or {}))
        return chain, anchor, role, profile

    return make


class TestHappyPath:
    """Certificates of every key type get credentials that boto3 can use."""

    @pytest.mark.parametrize(
        ("key_type", "with_intermediate", "form"),
        [
            ("rsa2048", False, "query"),
            ("rsa2048", True, "body"),
            ("rsa4096", True, "query"),
            ("rsa4096", False, "body"),
            ("p256", False, "body"),
            ("p256", True, "query"),
            ("p384", True, "body"),
            ("p384", False, "query"),
        ],
    )
    def test_credentials_work_with_boto3(
        self,
        server: ServerProcess,
        setup: Callable[..., tuple[Chain, str, str, str]],
        key_type: str,
        with_intermediate: bool,
        form: str,
    ) -> None:
        """201 with one credential set; GetCallerIdentity returns the assumed-role ARN."""
        chain, anchor, role, profile = setup(key_type, with_intermediate)
        response = send(
            server,
            signed_request(server, chain, anchor=anchor, profile=profile, role=role, form=form),
        )
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
        entry = response.json()["credentialSet"][0]
        role_name = role.rsplit("/", 1)[1]
        identity = sts_for(server, entry["credentials"]).get_caller_identity()
        assert identity["Arn"] == entry["assumedRoleUser"]["arn"]
        assert identity["Arn"].startswith(
            f"arn:aws:sts::{server.account_id}:assumed-role/{role_name}/"
        )
        assert identity["UserId"] == entry["assumedRoleUser"]["assumedRoleId"]
        assert identity["Account"] == server.account_id

    def test_intermediate_only_in_anchor(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """An anchor holding only the intermediate CA accepts its leaves without a chain header."""
        chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", True)
        chain, anchor, role, profile = setup(chain=chain, anchor_pem=_pem(chain.intermediate))
        request = signed_request(
            server, chain, anchor=anchor, profile=profile, role=role, intermediates=()
        )
        assert send(server, request).status_code == 201

    def test_chunked_body(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A body sent with Transfer-Encoding: chunked is hashed as received (reference §2.1)."""
        chain, anchor, role, profile = setup("rsa2048", True)
        request = signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        response = send(server, request, chunked=True)
        assert response.status_code == 201, response.text

    def test_subjects_recorded(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """ListSubjects/GetSubject show the subject, its certificate, and failed attempts."""
        subject = f"CN={_name('subject')},O=elsewhere"
        chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", subject=subject)
        chain, anchor, role, profile = setup(chain=chain)
        ok = send(server, signed_request(server, chain, anchor=anchor, profile=profile, role=role))
        assert ok.status_code == 201
        subject_arn = ok.json()["subjectArn"]
        other_role = make_role(server)
        refused = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=other_role)
        )
        assert refused.status_code == 403
        ra = server.client("rolesanywhere")
        subject_id = subject_arn.rsplit("/", 1)[1]
        deadline = time.monotonic() + 5
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                detail = ra.get_subject(subjectId=subject_id)["subject"]
                if len(detail.get("credentials", [])) >= 1 and any(
                    c["failed"] for c in detail["credentials"]
                ):
                    break
            except ra.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.2)
        assert detail["subjectArn"] == subject_arn
        assert detail["x509Subject"] == subject
        serials = {c["serialNumber"] for c in detail["credentials"]}
        assert str(chain.leaf.serial_number) in serials
        assert any(c["failed"] for c in detail["credentials"])
        listed = ra.list_subjects()["subjects"]
        assert subject_arn in {s["subjectArn"] for s in listed}


def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.headers.get("x-amzn-errortype", ""),
        response.json().get("message", ""),
    )


class TestRefusals:
    """One test per refusal of reference §9: status, error type and AWS's message."""

    def test_wrong_ca(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A leaf from another CA: 403 Untrusted signing certificate."""
        _, anchor, role, profile = setup()
        stranger = quick_chain(NOW - dt.timedelta(hours=1), "p256")
        response = send(
            server, signed_request(server, stranger, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            "Untrusted signing certificate",
        )
        assert "request_id=" + response.headers["x-amzn-requestid"] in server.log()

    @pytest.mark.parametrize(
        ("label", "not_before", "not_after"),
        [
            ("expired", dt.timedelta(days=-10), dt.timedelta(days=-1)),
            ("not-yet-valid", dt.timedelta(days=1), dt.timedelta(days=10)),
        ],
    )
    def test_leaf_outside_validity(
        self,
        server: ServerProcess,
        setup: Callable[..., tuple[Chain, str, str, str]],
        label: str,
        not_before: dt.timedelta,
        not_after: dt.timedelta,
    ) -> None:
        """An expired or not yet valid leaf: 403 Untrusted signing certificate."""
        base = quick_chain(NOW - dt.timedelta(days=30), "p256")
        leaf = issue_certificate(
            base.root_ca,
            now=NOW,
            subject=f"CN={label}",
            key=base.leaf_key,
            not_before=NOW + not_before,
            not_after=NOW + not_after,
        )
        chain = Chain(base.root, base.root_key, None, None, leaf.certificate, leaf.key)
        chain, anchor, role, profile = setup(chain=chain)
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (403, "AccessDeniedException", "Untrusted signing certificate")

    @pytest.mark.parametrize("which", ["leaf", "intermediate"])
    def test_revoked(
        self,
        server: ServerProcess,
        setup: Callable[..., tuple[Chain, str, str, str]],
        which: str,
    ) -> None:
        """A leaf or intermediate on an enabled CRL of the anchor: 403 Untrusted."""
        chain, anchor, role, profile = setup("p256", True)
        assert (
            send(
                server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
            ).status_code
            == 201
        )
        if which == "leaf":
            crl = chain.crl([chain.leaf.serial_number], now=NOW - dt.timedelta(minutes=5))
        else:
            assert chain.intermediate is not None
            crl = chain.crl(
                [Revocation(chain.intermediate.serial_number, NOW - dt.timedelta(minutes=5))],
                now=NOW - dt.timedelta(minutes=5),
                issuer="root",
            )
        ra = server.client("rolesanywhere")
        ra.import_crl(
            name=_name("crl"),
            crlData=crl.public_bytes(serialization.Encoding.DER),
            trustAnchorArn=anchor,
            enabled=True,
        )
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (403, "AccessDeniedException", "Untrusted signing certificate")

    def test_disabled_anchor(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A disabled trust anchor: 403 Untrusted signing certificate."""
        chain, anchor, role, profile = setup()
        server.client("rolesanywhere").disable_trust_anchor(trustAnchorId=anchor.rsplit("/", 1)[1])
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (403, "AccessDeniedException", "Untrusted signing certificate")

    def test_disabled_profile(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A disabled profile: 403 Unable to assume role."""
        chain, anchor, role, profile = setup()
        server.client("rolesanywhere").disable_profile(profileId=profile.rsplit("/", 1)[1])
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            f"Unable to assume role for {role}.",
        )

    def test_role_not_in_profile(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A role the profile does not list: 403 Unable to assume role."""
        chain, anchor, _, profile = setup()
        other = make_role(server)
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=other)
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            f"Unable to assume role for {other}.",
        )

    def test_trust_condition_not_met(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A trust policy requiring another x509Subject/CN: 403 Unable to assume role."""
        trust = json.loads(json.dumps(TRUST))
        trust["Statement"][0]["Condition"] = {
            "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "someone-else"}
        }
        chain, anchor, role, profile = setup(trust=trust)
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            f"Unable to assume role for {role}.",
        )

    def test_trust_condition_met(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """The same condition naming the certificate's CN and the anchor as SourceArn allows."""
        trust = json.loads(json.dumps(TRUST))
        trust["Statement"][0]["Condition"] = {
            "StringEquals": {"aws:PrincipalTag/x509Subject/CN": "elsewhere-test-workload"}
        }
        chain, anchor, role, profile = setup(trust=trust)
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert response.status_code == 201

    def test_duration_above_role_maximum(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """min(profile, request) above MaxSessionDuration: 403 with AWS's suffix."""
        chain, anchor, role, profile = setup(profile_extra={"durationSeconds": 7200})
        response = send(
            server,
            signed_request(
                server,
                chain,
                anchor=anchor,
                profile=profile,
                role=role,
                body={"durationSeconds": 7200},
            ),
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            f"Unable to assume role for {role}. The requested DurationSeconds exceeds the "
            "MaxSessionDuration set for this role.",
        )

    def test_session_name_not_allowed(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """roleSessionName with acceptRoleSessionName false: 403 Not authorized."""
        chain, anchor, role, profile = setup()
        response = send(
            server,
            signed_request(
                server,
                chain,
                anchor=anchor,
                profile=profile,
                role=role,
                body={"roleSessionName": "custom"},
            ),
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            "Not authorized to set roleSessionName",
        )

    def test_tag_value_with_parentheses(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A CN with parentheses cannot be a session tag: 403 with AWS's mapping text."""
        chain = quick_chain(
            NOW - dt.timedelta(hours=1), "p256", subject="CN=web (prod),O=elsewhere"
        )
        chain, anchor, role, profile = setup(chain=chain)
        response = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        )
        assert _refusal(response) == (
            403,
            "AccessDeniedException",
            f"Unable to assume role for {role}. Some attributes failed to be mapped into session "
            "tags. Issuer: [  ]; Subject: [ CN ]; SAN: [  ]",
        )

    def test_skewed_date(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """X-Amz-Date 10 minutes old: 403 with the SigV4 skew text."""
        chain, anchor, role, profile = setup()
        then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        response = send(
            server,
            signed_request(server, chain, anchor=anchor, profile=profile, role=role, now=then),
        )
        status, kind, message = _refusal(response)
        assert (status, kind) == (403, "AccessDeniedException")
        assert message.startswith("Signature expired: ")
        assert "(" in message
        assert "- 5 min.)" in message

    def test_tampered_body(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A body changed after signing: 403 Invalid signature."""
        chain, anchor, role, profile = setup()
        request = signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        tampered = HttpRequest(
            request.method,
            request.raw_path,
            request.raw_query,
            request.headers,
            request.body.replace(b"3600", b"3601"),
        )
        assert _refusal(send(server, tampered)) == (
            403,
            "AccessDeniedException",
            "Invalid signature",
        )

    def test_tampered_header(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A signed header changed after signing: 403 Invalid signature."""
        chain, anchor, role, profile = setup()
        request = signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        headers = tuple(
            (n, "application/x-amz-json-1.0") if n.lower() == "content-type" else (n, v)
            for n, v in request.headers
        )
        tampered = HttpRequest(
            request.method, request.raw_path, request.raw_query, headers, request.body
        )
        assert _refusal(send(server, tampered)) == (
            403,
            "AccessDeniedException",
            "Invalid signature",
        )

    def test_serial_mismatch(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A credential naming another serial: 403 Invalid signature."""
        chain, anchor, role, profile = setup()
        request = signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        serial = str(chain.leaf.serial_number)
        headers = tuple(
            (n, v.replace(f"Credential={serial}/", f"Credential={int(serial) + 1}/"))
            if n.lower() == "authorization"
            else (n, v)
            for n, v in request.headers
        )
        tampered = HttpRequest(
            request.method, request.raw_path, request.raw_query, headers, request.body
        )
        assert _refusal(send(server, tampered)) == (
            403,
            "AccessDeniedException",
            "Invalid signature",
        )

    def test_chain_longer_than_five(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """Six certificates in X-Amz-X509-Chain: 400 ValidationException."""
        chain, anchor, role, profile = setup("p256", True)
        assert chain.intermediate is not None
        extra = tuple(
            build_intermediate_ca(chain.root_ca, now=NOW - dt.timedelta(hours=1)).certificate
            for _ in range(5)
        )
        request = signed_request(
            server,
            chain,
            anchor=anchor,
            profile=profile,
            role=role,
            intermediates=(chain.intermediate, *extra),
        )
        status, kind, message = _refusal(send(server, request))
        assert (status, kind) == (400, "ValidationException")
        assert "at most 5" in message


class TestSessionCredentials:
    """Temporary credentials on the rest of the API."""

    def test_tampered_token_is_invalid(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A session token changed by one character: 403 InvalidClientTokenId."""
        chain, anchor, role, profile = setup()
        creds = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        ).json()["credentialSet"][0]["credentials"]
        token = creds["sessionToken"]
        flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
        client = sts_for(server, {**creds, "sessionToken": flipped})
        with pytest.raises(client.exceptions.ClientError) as err:
            client.get_caller_identity()
        assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    def test_presigned_get_caller_identity(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """A presigned GetCallerIdentity URL answers for the session (Vault/Kubernetes style)."""
        chain, anchor, role, profile = setup()
        creds = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        ).json()["credentialSet"][0]["credentials"]
        client = sts_for(server, creds)
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
        answer = httpx.get(url, timeout=30)
        assert answer.status_code == 200, answer.text
        assert f":assumed-role/{role.rsplit('/', 1)[1]}/" in answer.text
        # botocore's default presigned URL is signed for POST (with the empty body's hash).
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=60)
        answer = httpx.post(url, timeout=30)
        assert answer.status_code == 200, answer.text

    def test_role_chaining_and_revocation(
        self, server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
    ) -> None:
        """AssumeRole from a session works, keeps the source identity, and a deny on
        aws:TokenIssueTime in the first role stops older sessions from chaining."""
        chain, anchor, role, profile = setup()
        creds = send(
            server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
        ).json()["credentialSet"][0]["credentials"]
        target = make_role(
            server,
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": role},
                        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                    }
                ],
            },
        )
        client = sts_for(server, creds)
        out = client.assume_role(RoleArn=target, RoleSessionName="hop", DurationSeconds=3600)
        assert out["AssumedRoleUser"]["Arn"].endswith(f"/{target.rsplit('/', 1)[1]}/hop")
        assert out["SourceIdentity"] == "CN=elsewhere-test-workload"
        with pytest.raises(client.exceptions.ClientError) as err:
            client.assume_role(RoleArn=target, RoleSessionName="long", DurationSeconds=7200)
        assert err.value.response["Error"]["Code"] == "ValidationError"

        later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        put_role_policy(
            server,
            role.rsplit("/", 1)[1],
            "AWSRevokeOlderSessions",
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Action": ["*"],
                            "Resource": ["*"],
                            "Condition": {"DateLessThan": {"aws:TokenIssueTime": later}},
                        }
                    ],
                }
            ),
        )
        with pytest.raises(client.exceptions.ClientError) as err:
            client.assume_role(RoleArn=target, RoleSessionName="again")
        assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_session_calls_follow_role_policies(
    server: ServerProcess, setup: Callable[..., tuple[Chain, str, str, str]]
) -> None:
    """Session credentials may call what the role allows, and a deny on aws:TokenIssueTime
    revokes sessions issued before it (the console's "Revoke active sessions")."""
    chain, anchor, role, profile = setup()
    role_name = role.rsplit("/", 1)[1]
    put_role_policy(
        server,
        role_name,
        "read-profiles",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "rolesanywhere:ListProfiles", "Resource": "*"}
                ],
            }
        ),
    )
    creds = send(
        server, signed_request(server, chain, anchor=anchor, profile=profile, role=role)
    ).json()["credentialSet"][0]["credentials"]
    ra = boto3.client(
        "rolesanywhere",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        region_name=server.region,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}),
    )
    ra.list_profiles()
    with pytest.raises(ClientError) as err:
        ra.list_trust_anchors()
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    put_role_policy(
        server,
        role_name,
        "AWSRevokeOlderSessions",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["*"],
                        "Resource": ["*"],
                        "Condition": {"DateLessThan": {"aws:TokenIssueTime": later}},
                    }
                ],
            }
        ),
    )
    with pytest.raises(ClientError) as err:
        ra.list_profiles()
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "explicit deny" in err.value.response["Error"]["Message"]


def test_subjects_flushed_on_graceful_shutdown(tmp_path: Any) -> None:
    """Subjects queued at SIGTERM are written before the process exits."""
    handle = start_server(tmp_path / "data")
    try:
        chain = quick_chain(NOW - dt.timedelta(hours=1), "p256", subject="CN=shutdown-flush")
        anchor = make_anchor(handle, chain.anchor_pem)
        role = make_role(handle)
        profile = make_profile(handle, [role])
        response = send(
            handle, signed_request(handle, chain, anchor=anchor, profile=profile, role=role)
        )
        assert response.status_code == 201
        subject_id = response.json()["subjectArn"].rsplit("/", 1)[1]
        # Stop at once: the record is still queued (the recorder writes every 0.5 s).
    finally:
        assert handle.stop() == 0
    from elsewhere.storage import open_store

    store = open_store(f"sqlite:///{handle.data_dir / 'elsewhere.db'}")
    try:
        subject = store.subjects.get(subject_id)
        assert subject is not None
        assert subject.x509_subject == "CN=shutdown-flush"
    finally:
        store.close()
