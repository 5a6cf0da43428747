"""``elsewhere quickstart``: from nothing to working Roles Anywhere credentials in one command.

Against an elsewhere server reached with its admin credentials, it makes (or finds again) a
development CA, a trust anchor from it, a role that trusts the workload's CN, a profile listing the
role and a workload certificate, then proves the whole chain with one CreateSession (the code path
of ``credential-process``) and one STS GetCallerIdentity.

Running it again reuses what is there: the CA directory, the trust anchor of the same name and CA,
the role and profile of the same name (re-enabled, trust policy rewritten), and the workload
certificate while it chains to the CA, names the CN and is valid for more than a day.
"""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from elsewhere.client import (
    ClientError as HelperError,
)
from elsewhere.client import (
    CreateSessionRefusedError,
    SessionCredentials,
    SessionParameters,
    build_credential_source,
    create_session,
    load_certificate,
    load_private_key,
    ssl_context,
    verify_key_matches_certificate,
)
from elsewhere.clock import Clock, SystemClock
from elsewhere.errors import ElsewhereError
from elsewhere.pki import CaStore, CaStoreError, write_private_key
from elsewhere.quickstart._defaults import (
    DEFAULT_DIRECTORY,
    DEFAULT_ENDPOINT,
    DEFAULT_KEY_TYPE,
    DEFAULT_NAME,
    DEFAULT_WORKLOAD_CN,
)

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_ENDPOINT",
    "DEFAULT_NAME",
    "DEFAULT_WORKLOAD_CN",
    "AdminConnection",
    "QuickstartError",
    "QuickstartOptions",
    "QuickstartResult",
    "StartedServer",
    "Step",
    "build_trust_policy",
    "candidate_regions",
    "credential_process_command",
    "ensure_ca",
    "ensure_profile",
    "ensure_role",
    "ensure_trust_anchor",
    "ensure_workload_certificate",
    "load_admin_credentials",
    "prove_credentials",
    "run_quickstart",
    "start_background_server",
]

_SERVICE_PRINCIPAL = "rolesanywhere.amazonaws.com"
# The server's configuration snapshot reaches CreateSession within 1 s (README, "CreateSession");
# a fresh profile may be refused until then, so the proof retries a refusal for a little longer.
_SNAPSHOT_WAIT_SECONDS = 3.0
_WORKLOAD_DAYS = 90
_MIN_REMAINING = dt.timedelta(days=1)


class QuickstartError(ElsewhereError):
    """A quickstart step failed; ``message`` says which and what to do."""

    code = "QuickstartError"
    status = 400
    default_message = "The quickstart failed."


@dataclass(frozen=True)
class Step:
    """One line of the quickstart's account: what, whether created or reused, and its id."""

    what: str
    action: str
    value: str


@dataclass(frozen=True)
class AdminConnection:
    """How to call the server's rolesanywhere, IAM and STS APIs as its administrator."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str
    session_token: str | None = None
    verify_ssl: bool = True
    ca_bundle: Path | None = None

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` signed with the admin key."""
        return boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=self.region,
        ).client(
            service,
            endpoint_url=self.endpoint,
            verify=_botocore_verify(self.verify_ssl, self.ca_bundle),
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )


def _botocore_verify(verify_ssl: bool, ca_bundle: Path | None) -> bool | str:
    """botocore's ``verify``: False, the CA bundle's path, or True (the system's roots)."""
    if not verify_ssl:
        return False
    return str(ca_bundle) if ca_bundle is not None else True


@dataclass(frozen=True)
class QuickstartOptions:
    """Everything ``run_quickstart`` needs; the CLI flags map one to one."""

    endpoint: str = DEFAULT_ENDPOINT
    credentials_file: Path = Path(".elsewhere/admin.credentials")
    admin_profile: str = "default"
    region: str | None = None
    account_id: str | None = None
    directory: Path = DEFAULT_DIRECTORY
    name: str = DEFAULT_NAME
    workload_cn: str = DEFAULT_WORKLOAD_CN
    key_type: str = DEFAULT_KEY_TYPE
    verify_ssl: bool = True
    # A private CA's PEM: trusted for this command's calls, and put in the pasted lines.
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class QuickstartResult:
    """What was set up and the proof that it works."""

    endpoint: str
    account_id: str
    region: str
    trust_anchor_arn: str
    role_arn: str
    profile_arn: str
    certificate: Path
    private_key: Path
    command: str
    caller_arn: str
    steps: tuple[Step, ...] = field(default=())
    ca_bundle: Path | None = None

    @property
    def config_snippet(self) -> str:
        """The profile section to paste into ``~/.aws/config``.

        With a CA bundle, the profile's ``ca_bundle`` makes the AWS CLI and SDKs trust the
        server's private CA for their own calls (the helper gets ``--ca-bundle`` in its line).
        """
        bundle = f"ca_bundle = {self.ca_bundle.resolve()}\n" if self.ca_bundle else ""
        return (
            f"[profile {self.profile_name}]\n"
            f"credential_process = {self.command}\n"
            f"region = {self.region}\n"
            f"{bundle}"
        )

    @property
    def profile_name(self) -> str:
        """The AWS config profile name the snippet uses (the role's name)."""
        return self.role_arn.rsplit("/", 1)[-1]


# --- admin access ------------------------------------------------------------------------------


def load_admin_credentials(path: Path, profile: str = "default") -> tuple[str, str, str | None]:
    """(access key id, secret, session token) from a shared-credentials file; raises clearly."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuickstartError(
            f"no admin credentials file at {path}: the server writes it to "
            "<data dir>/admin.credentials at first start; pass --credentials-file "
            "(or --start-server to start a server here)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuickstartError(f"cannot read admin credentials file {path}: {exc}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise QuickstartError(
            f"admin credentials file {path} is not an AWS credentials file: {first}"
        ) from None
    if not parser.has_section(profile):
        raise QuickstartError(f"admin credentials file {path} has no [{profile}] profile")
    section = parser[profile]
    key = section.get("aws_access_key_id", "").strip()
    secret = section.get("aws_secret_access_key", "").strip()
    if not key or not secret:
        raise QuickstartError(
            f"admin credentials file {path}: profile [{profile}] needs aws_access_key_id "
            "and aws_secret_access_key"
        )
    token = section.get("aws_session_token", "").strip() or None
    return key, secret, token


def _aws_call(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one boto3 call; any failure becomes a one-line :class:`QuickstartError`."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message", "")
        hint = ""
        if code in ("UnrecognizedClientException", "InvalidClientTokenId"):
            hint = " (the admin credentials are not this server's)"
        elif code in ("InvalidSignatureException", "SignatureDoesNotMatch"):
            hint = " (wrong secret key, or the server acts as another region: pass --region)"
        raise QuickstartError(f"{what} failed: {code}: {message}{hint}") from None
    except BotoCoreError as exc:
        raise QuickstartError(f"{what} failed: {exc}") from None


def _check_reachable(endpoint: str, verify_ssl: bool, ca_bundle: Path | None = None) -> None:
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL as exc:
        raise QuickstartError(f"--endpoint {endpoint!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise QuickstartError(f"--endpoint {endpoint!r} must be an http:// or https:// URL")
    try:
        verify = ssl_context(verify_ssl, str(ca_bundle) if ca_bundle else None)
        answer = httpx.get(f"{endpoint.rstrip('/')}/ping", timeout=5, verify=verify)
    except HelperError as exc:
        raise QuickstartError(exc.message) from None
    except httpx.InvalidURL as exc:
        raise QuickstartError(f"--endpoint {endpoint!r} is not a URL: {exc}") from None
    except httpx.HTTPError as exc:
        raise QuickstartError(
            f"cannot reach an elsewhere server at {endpoint}: "
            f"{str(exc).rstrip('.') or type(exc).__name__}. "
            "Start one with 'elsewhere server', or pass --start-server"
        ) from None
    if answer.status_code != 200:
        raise QuickstartError(
            f"{endpoint}/ping answered HTTP {answer.status_code}: is this an elsewhere server?"
        )


# --- the building blocks ---------------------------------------------------------------------


def build_trust_policy(workload_cn: str, trust_anchor_arn: str | None = None) -> dict[str, Any]:
    """A role trust policy letting Roles Anywhere assume the role for certificates of this CN.

    The actions and the ``aws:PrincipalTag/x509Subject/CN`` and ``aws:SourceArn`` conditions are
    those of AWS's "Trust policy" page of the Roles Anywhere user guide.
    """
    condition: dict[str, Any] = {
        "StringEquals": {"aws:PrincipalTag/x509Subject/CN": workload_cn},
    }
    if trust_anchor_arn is not None:
        condition["ArnEquals"] = {"aws:SourceArn": trust_anchor_arn}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": _SERVICE_PRINCIPAL},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                "Condition": condition,
            }
        ],
    }


def ensure_ca(
    directory: Path, *, now: dt.datetime, key_type: str = DEFAULT_KEY_TYPE
) -> tuple[CaStore, Step]:
    """The development CA in ``directory``: loaded if there, created otherwise."""
    try:
        if (directory / "ca.pem").exists():
            store = CaStore(directory)
            _ = store.root  # loads and checks ca.pem and ca.key
            action = "reused"
        else:
            store = CaStore.init(
                directory,
                now=now,
                key_type=key_type,
                subject="CN=elsewhere quickstart root CA",
            )
            action = "created"
    except (CaStoreError, ValueError, OSError) as exc:
        raise QuickstartError(f"development CA in {directory}: {exc}") from None
    return store, Step("CA", action, str((directory / "ca.pem").resolve()))


def _pages(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        page = _aws_call(f"rolesanywhere {key}", call, **args)
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


def _same_bundle(anchor: dict[str, Any], ca_pem: bytes) -> bool:
    data = anchor.get("source", {}).get("sourceData", {}).get("x509CertificateData", "")
    try:
        certificates = x509.load_pem_x509_certificates(data.encode())
    except ValueError:
        return False
    return [c.public_bytes(serialization.Encoding.DER) for c in certificates] == [
        x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    ]


def ensure_trust_anchor(rolesanywhere: Any, name: str, ca_pem: bytes) -> tuple[str, Step]:
    """An enabled trust anchor named ``name`` holding exactly ``ca_pem``: found or created."""
    for anchor in _pages(rolesanywhere.list_trust_anchors, "trustAnchors", pageSize=100):
        if anchor.get("name") == name and _same_bundle(anchor, ca_pem):
            if not anchor.get("enabled"):
                _aws_call(
                    "rolesanywhere EnableTrustAnchor",
                    rolesanywhere.enable_trust_anchor,
                    trustAnchorId=anchor["trustAnchorId"],
                )
                return anchor["trustAnchorArn"], Step(
                    "trust anchor", "enabled", anchor["trustAnchorArn"]
                )
            return anchor["trustAnchorArn"], Step(
                "trust anchor", "reused", anchor["trustAnchorArn"]
            )
    created = _aws_call(
        "rolesanywhere CreateTrustAnchor",
        rolesanywhere.create_trust_anchor,
        name=name,
        enabled=True,
        source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": ca_pem.decode("ascii")},
        },
    )["trustAnchor"]
    return created["trustAnchorArn"], Step("trust anchor", "created", created["trustAnchorArn"])


def ensure_role(
    iam: Any, name: str, workload_cn: str, trust_anchor_arn: str | None = None
) -> tuple[str, Step]:
    """A role ``name`` whose trust policy is :func:`build_trust_policy`: created or rewritten."""
    document = json.dumps(build_trust_policy(workload_cn, trust_anchor_arn))
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            _aws_call("iam GetRole", _reraise, exc=exc)
        role = None
    except BotoCoreError as exc:
        raise QuickstartError(f"iam GetRole failed: {exc}") from None
    if role is None:
        created = _aws_call(
            "iam CreateRole",
            iam.create_role,
            RoleName=name,
            AssumeRolePolicyDocument=document,
            Description="Made by elsewhere quickstart: trusts Roles Anywhere for one CN",
        )["Role"]
        return created["Arn"], Step("role", "created", created["Arn"])
    _aws_call(
        "iam UpdateAssumeRolePolicy",
        iam.update_assume_role_policy,
        RoleName=name,
        PolicyDocument=document,
    )
    return role["Arn"], Step("role", "reused", role["Arn"])


def _reraise(exc: Exception) -> None:
    raise exc


def ensure_profile(rolesanywhere: Any, name: str, role_arn: str) -> tuple[str, Step]:
    """An enabled profile ``name`` listing ``role_arn``: found (and fixed) or created."""
    for profile in _pages(rolesanywhere.list_profiles, "profiles", pageSize=100):
        if profile.get("name") != name:
            continue
        action = "reused"
        if role_arn not in profile.get("roleArns", []):
            _aws_call(
                "rolesanywhere UpdateProfile",
                rolesanywhere.update_profile,
                profileId=profile["profileId"],
                roleArns=[*profile.get("roleArns", []), role_arn],
            )
            action = "updated"
        if not profile.get("enabled"):
            _aws_call(
                "rolesanywhere EnableProfile",
                rolesanywhere.enable_profile,
                profileId=profile["profileId"],
            )
            action = "enabled" if action == "reused" else action
        return profile["profileArn"], Step("profile", action, profile["profileArn"])
    created = _aws_call(
        "rolesanywhere CreateProfile",
        rolesanywhere.create_profile,
        name=name,
        roleArns=[role_arn],
        enabled=True,
    )["profile"]
    return created["profileArn"], Step("profile", "created", created["profileArn"])


def _usable_workload(
    certificate_path: Path, key_path: Path, root: x509.Certificate, cn: str, now: dt.datetime
) -> bool:
    try:
        certificate = load_certificate(certificate_path)
        verify_key_matches_certificate(load_private_key(key_path), certificate)
        certificate.verify_directly_issued_by(root)
    except (HelperError, ValueError, TypeError, InvalidSignature):
        return False  # unreadable, mismatched, foreign or not from this CA: issue a new one
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return (
        [n.value for n in names] == [cn]
        and certificate.not_valid_before_utc <= now
        and certificate.not_valid_after_utc - now > _MIN_REMAINING
    )


def ensure_workload_certificate(
    store: CaStore,
    directory: Path,
    workload_cn: str,
    *,
    now: dt.datetime,
    key_type: str = DEFAULT_KEY_TYPE,
) -> tuple[Path, Path, Step]:
    """``workload.pem`` and ``workload.key`` in ``directory`` for ``CN=workload_cn``.

    Reused while they chain to the CA, match each other, name the CN and are valid for more than
    a day; issued again otherwise.
    """
    certificate_path = (directory / "workload.pem").resolve()
    key_path = (directory / "workload.key").resolve()
    try:
        root = store.root.certificate
    except (CaStoreError, ValueError, OSError) as exc:
        raise QuickstartError(f"development CA in {directory}: {exc}") from None
    if _usable_workload(certificate_path, key_path, root, workload_cn, now):
        return (
            certificate_path,
            key_path,
            Step("workload certificate", "reused", str(certificate_path)),
        )
    try:
        issued = store.issue(
            now=now,
            subject=f"CN={workload_cn}",
            days=_WORKLOAD_DAYS,
            key_type=key_type,
        )
        write_private_key(key_path, issued.key)
        certificate_path.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    except (CaStoreError, ValueError, OSError) as exc:
        raise QuickstartError(f"cannot issue the workload certificate: {exc}") from None
    return certificate_path, key_path, Step("workload certificate", "issued", str(certificate_path))


def _elsewhere_command() -> list[str]:
    """How to run this installation's ``elsewhere``, as an absolute path where possible."""
    script = Path(sys.executable).parent / "elsewhere"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from elsewhere.cli import main; main()"]


def credential_process_command(
    *,
    certificate: Path,
    private_key: Path,
    trust_anchor_arn: str,
    profile_arn: str,
    role_arn: str,
    endpoint: str,
    verify_ssl: bool = True,
    ca_bundle: Path | None = None,
) -> str:
    """The ``credential_process`` command line (absolute paths, shell-quoted).

    It turns TLS verification off only when ``verify_ssl`` is False, that is when the user
    asked for it; a private CA goes in as ``--ca-bundle``.
    """
    argv = [
        *_elsewhere_command(),
        "credential-process",
        "--certificate",
        str(certificate.resolve()),
        "--private-key",
        str(private_key.resolve()),
        "--trust-anchor-arn",
        trust_anchor_arn,
        "--profile-arn",
        profile_arn,
        "--role-arn",
        role_arn,
        "--endpoint",
        endpoint,
    ]
    if not verify_ssl:
        argv.append("--no-verify-ssl")
    elif ca_bundle is not None:
        argv += ["--ca-bundle", str(ca_bundle.resolve())]
    return shlex.join(argv)


def prove_credentials(
    *,
    certificate: Path,
    private_key: Path,
    trust_anchor_arn: str,
    profile_arn: str,
    role_arn: str,
    endpoint: str,
    region: str,
    verify_ssl: bool = True,
    ca_bundle: Path | None = None,
    clock: Clock | None = None,
    wait_seconds: float = _SNAPSHOT_WAIT_SECONDS,
) -> tuple[SessionCredentials, str]:
    """CreateSession as ``credential-process`` does it, then STS GetCallerIdentity: (creds, ARN).

    A refusal is retried for ``wait_seconds``: a profile made a moment ago reaches the server's
    CreateSession snapshot within 1 s.
    """
    source = build_credential_source(certificate=str(certificate), private_key=str(private_key))
    params = SessionParameters(
        trust_anchor_arn=trust_anchor_arn,
        profile_arn=profile_arn,
        role_arn=role_arn,
        endpoint=endpoint,
        verify_ssl=verify_ssl,
        ca_bundle=str(ca_bundle) if ca_bundle is not None else None,
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            credentials = create_session(source, params, clock=clock)
            break
        except CreateSessionRefusedError as exc:
            if exc.http_status != 403 or time.monotonic() >= deadline:
                raise QuickstartError(f"the proof failed: {exc.message}") from None
            time.sleep(0.25)
        except HelperError as exc:
            raise QuickstartError(f"the proof failed: {exc.message}") from None
    sts = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        region_name=region,
    ).client(
        "sts",
        endpoint_url=endpoint,
        verify=_botocore_verify(verify_ssl, ca_bundle),
        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
    )
    identity = _aws_call("sts GetCallerIdentity", sts.get_caller_identity)
    sts.close()
    return credentials, str(identity["Arn"])


# --- a server of our own ----------------------------------------------------------------------


@dataclass(frozen=True)
class StartedServer:
    """A server started in the background by the quickstart (left running when it exits)."""

    pid: int
    endpoint: str
    data_dir: Path
    log_path: Path
    pid_path: Path
    reused: bool = False


def start_background_server(
    endpoint: str,
    data_dir: Path,
    *,
    region: str | None = None,
    account_id: str | None = None,
    wait_seconds: float = 60.0,
) -> StartedServer:
    """Start ``elsewhere server`` for ``endpoint`` (http only) in its own session, wait for /ping.

    When something already answers ``/ping`` there, nothing is started and it is used as is.
    """
    url = httpx.URL(endpoint)
    if url.scheme != "http" or not url.host:
        raise QuickstartError(
            f"--start-server needs an http:// endpoint on this host, not {endpoint!r}"
        )
    data_dir = data_dir.resolve()
    log_path = data_dir / "server.log"
    pid_path = data_dir / "server.pid"
    try:
        _check_reachable(endpoint, verify_ssl=True)
    except QuickstartError:
        pass
    else:
        try:
            pid = int(pid_path.read_text().strip())
        except (OSError, ValueError):
            pid = 0  # no pid file, or an unreadable one: the answering server is not ours
        return StartedServer(pid, endpoint, data_dir, log_path, pid_path, reused=True)
    port = url.port or 80
    argv = [
        *_elsewhere_command(),
        "server",
        "--host",
        url.host,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if region:
        argv += ["--region", region]
    if account_id:
        argv += ["--account-id", account_id]
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with log_path.open("ab") as log:
            # A session of its own: the server outlives this command and ignores its Ctrl-C.
            process = subprocess.Popen(  # noqa: S603 - our own executable, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid_path.write_text(f"{process.pid}\n")
    except OSError as exc:
        raise QuickstartError(f"cannot start elsewhere server: {exc}") from None
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise QuickstartError(
                f"elsewhere server exited at start (status {process.returncode}): "
                + " | ".join(tail)
            )
        try:
            answer = httpx.get(f"{endpoint.rstrip('/')}/ping", timeout=1)
            if answer.status_code == 200 and (data_dir / "admin.credentials").exists():
                return StartedServer(process.pid, endpoint, data_dir, log_path, pid_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise QuickstartError(f"elsewhere server did not answer at {endpoint} in {wait_seconds:.0f} s")


# --- the whole thing --------------------------------------------------------------------------


def _check_account(admin: AdminConnection, account_id: str | None) -> str:
    """Check the admin key with STS (any region signs it); return the server's account id."""
    sts = admin.client("sts")
    identity = _aws_call(
        "sts GetCallerIdentity with the admin credentials", sts.get_caller_identity
    )
    sts.close()
    account = str(identity["Account"])
    if account_id and account_id != account:
        raise QuickstartError(
            f"the server acts as account {account}, not {account_id} (--account-id)"
        )
    return account


def _accepts_region(admin: AdminConnection) -> bool:
    """Whether the server's rolesanywhere API accepts signatures scoped to ``admin.region``."""
    rolesanywhere = admin.client("rolesanywhere")
    try:
        rolesanywhere.list_trust_anchors(pageSize=1)
    except ClientError as exc:
        # The server refuses another region's scope without naming its own (as AWS does):
        # "Credential should be scoped to a valid region, not '<region>'".
        if "scoped to a valid region" in str(exc.response.get("Error", {}).get("Message", "")):
            return False
        _aws_call("rolesanywhere ListTrustAnchors", _reraise, exc=exc)
    except BotoCoreError as exc:
        raise QuickstartError(f"rolesanywhere ListTrustAnchors failed: {exc}") from None
    finally:
        rolesanywhere.close()
    return True


def candidate_regions(region: str | None) -> tuple[str, ...]:
    """Regions to try, in order: ``--region`` alone if given; else ``ELSEWHERE_REGION``, the
    server's default ``us-east-1``, then ``AWS_REGION`` and ``AWS_DEFAULT_REGION``."""
    if region:
        return (region,)
    names = (
        os.environ.get("ELSEWHERE_REGION"),
        "us-east-1",
        os.environ.get("AWS_REGION"),
        os.environ.get("AWS_DEFAULT_REGION"),
    )
    return tuple(dict.fromkeys(n for n in names if n))


def _discover(admin: AdminConnection, region: str | None) -> AdminConnection:
    """The admin connection signed for the region the server acts as."""
    tried = candidate_regions(region)
    for name in tried:
        candidate = replace(admin, region=name)
        if _accepts_region(candidate):
            return candidate
    raise QuickstartError(
        f"the server at {admin.endpoint} does not act as region "
        f"{' or '.join(repr(t) for t in tried)}; pass --region with the server's region"
    )


def run_quickstart(
    options: QuickstartOptions,
    *,
    clock: Clock | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> QuickstartResult:
    """Set everything up against the server at ``options.endpoint`` and prove it works."""
    clock = clock or SystemClock()
    report = on_step or (lambda step: None)
    endpoint = options.endpoint.rstrip("/")
    _check_reachable(endpoint, options.verify_ssl, options.ca_bundle)
    key, secret, token = load_admin_credentials(options.credentials_file, options.admin_profile)
    admin = AdminConnection(
        endpoint=endpoint,
        access_key_id=key,
        secret_access_key=secret,
        session_token=token,
        region=candidate_regions(options.region)[0],
        verify_ssl=options.verify_ssl,
        ca_bundle=options.ca_bundle,
    )
    account = _check_account(admin, options.account_id)
    admin = _discover(admin, options.region)
    steps: list[Step] = []

    def record(step: Step) -> None:
        steps.append(step)
        report(step)

    now = clock.now()
    directory = options.directory
    store, step = ensure_ca(directory, now=now, key_type=options.key_type)
    record(step)
    rolesanywhere = admin.client("rolesanywhere")
    iam = admin.client("iam")
    anchor, step = ensure_trust_anchor(
        rolesanywhere, options.name, (directory / "ca.pem").read_bytes()
    )
    record(step)
    role, step = ensure_role(iam, options.name, options.workload_cn, anchor)
    record(step)
    profile, step = ensure_profile(rolesanywhere, options.name, role)
    record(step)
    certificate, private_key, step = ensure_workload_certificate(
        store, directory, options.workload_cn, now=now, key_type=options.key_type
    )
    record(step)
    rolesanywhere.close()
    iam.close()
    command = credential_process_command(
        certificate=certificate,
        private_key=private_key,
        trust_anchor_arn=anchor,
        profile_arn=profile,
        role_arn=role,
        endpoint=endpoint,
        verify_ssl=options.verify_ssl,
        ca_bundle=options.ca_bundle,
    )
    _, caller = prove_credentials(
        certificate=certificate,
        private_key=private_key,
        trust_anchor_arn=anchor,
        profile_arn=profile,
        role_arn=role,
        endpoint=endpoint,
        region=admin.region,
        verify_ssl=options.verify_ssl,
        ca_bundle=options.ca_bundle,
        clock=clock,
    )
    return QuickstartResult(
        endpoint=endpoint,
        account_id=account,
        region=admin.region,
        trust_anchor_arn=anchor,
        role_arn=role,
        profile_arn=profile,
        certificate=certificate,
        private_key=private_key,
        command=command,
        caller_arn=caller,
        steps=tuple(steps),
        ca_bundle=options.ca_bundle if options.verify_ssl else None,
    )
