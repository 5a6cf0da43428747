"""CreateSession: build, sign and send the request; read the credentials from the answer.

The request is shaped like the one AWS's helper sends (reference §2.1): ``POST /sessions`` with
the three ARNs in the query string and a compact JSON body such as ``{"durationSeconds":3600}``.
Only content-type, host, x-amz-date, x-amz-x509 (and x-amz-x509-chain) are signed, so a proxy
that adds headers cannot break the signature (reference §7.7).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from elsewhere import __version__
from elsewhere.client._errors import (
    ClientConfigurationError,
    CreateSessionRefusedError,
    EndpointUnreachableError,
)
from elsewhere.client._http import HttpAnswer, HttpCall, HttpFailure, Transport, send
from elsewhere.client._sources import CredentialSource, SigningIdentity
from elsewhere.clock import Clock, SystemClock
from elsewhere.sigv4 import HttpRequest, sign_x509_request

__all__ = [
    "DEFAULT_SESSION_DURATION",
    "SessionCredentials",
    "SessionParameters",
    "configured_ca_bundle",
    "configured_endpoint",
    "create_session",
    "default_endpoint",
    "format_credential_process",
    "parse_create_session_response",
    "resolve_region",
    "sign_create_session_request",
    "ssl_context",
]

_log = logging.getLogger("elsewhere.client")

DEFAULT_SESSION_DURATION = 3600
_SESSIONS_PATH = "/sessions"
_ATTEMPTS = 3  # aws-sdk-go-v2's standard retryer, which the Go helper uses (reference §7.6)
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_SECONDS = 0.2


def _backoff(attempt: int) -> None:
    if attempt < _ATTEMPTS:
        time.sleep(_BACKOFF_SECONDS * attempt)


@dataclass(frozen=True)
class SessionParameters:
    """What CreateSession is asked for, and how to reach it (the helper's shared flags).

    ``endpoint`` and ``ca_bundle`` left unset are taken from the environment as the AWS SDKs
    take them (:func:`configured_endpoint`, :func:`configured_ca_bundle`).
    """

    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    session_duration: int = DEFAULT_SESSION_DURATION
    region: str | None = None
    endpoint: str | None = None
    verify_ssl: bool = True
    with_proxy: bool = False
    role_session_name: str | None = None
    use_fips_endpoint: bool = False
    ca_bundle: str | None = None


@dataclass(frozen=True)
class SessionCredentials:
    """Temporary credentials returned by CreateSession."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    expiration_text: str
    role_arn: str = ""
    assumed_role_arn: str = ""

    def __repr__(self) -> str:
        """Never show the secret parts."""
        return (
            f"SessionCredentials(access_key_id={self.access_key_id!r}, "
            f"expiration={self.expiration_text!r})"
        )


def _parse_arn(
    arn: str, service: str, resource: str, flag: str, *, alias: bool = False
) -> tuple[str, str]:
    """(partition, region) of an ARN of ``service`` whose resource starts with ``resource``.

    With ``alias``, the alias ARN ``...:alias/<resource>...`` is accepted too: trust anchors and
    profiles may be named by alias ARN ("You can use the alias ARN in place of the resource ID or
    ARN", rolesanywhere model, ``aliasArn``).
    """
    parts = arn.split(":", 5)
    prefixes = (resource, f"alias/{resource}") if alias else (resource,)
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or not parts[1].startswith("aws")
        or parts[2] != service
        or not parts[5].startswith(prefixes)
    ):
        also = f" (or ...:alias/{resource}<alias-name>)" if alias else ""
        raise ClientConfigurationError(
            f"{flag} {arn!r} is not an ARN of the form "
            f"arn:aws:{service}:<region>:<account>:{resource}...{also}"
        )
    return parts[1], parts[3]


def resolve_region(params: SessionParameters) -> str:
    """The signing region: ``region`` if given, else the trust anchor ARN's (reference §3.3).

    The ARNs are checked first; a trust anchor and a profile in different regions is an error, as
    in AWS's helper.
    """
    _, anchor_region = _parse_arn(
        params.trust_anchor_arn, "rolesanywhere", "trust-anchor/", "--trust-anchor-arn", alias=True
    )
    _, profile_region = _parse_arn(
        params.profile_arn, "rolesanywhere", "profile/", "--profile-arn", alias=True
    )
    _parse_arn(params.role_arn, "iam", "role/", "--role-arn")
    if anchor_region != profile_region:
        raise ClientConfigurationError(
            f"the trust anchor ARN is in region {anchor_region!r} but the profile ARN is in "
            f"{profile_region!r}: they must be in the same region"
        )
    region = _plain_region(params.region or anchor_region)
    if not region:
        raise ClientConfigurationError("the trust anchor ARN has no region; give --region")
    return region


def _is_fips_region(region: str) -> bool:
    return region.startswith("fips-") or region.endswith("-fips")


def _plain_region(region: str) -> str:
    # A FIPS "microformat" region (us-gov-west-1-fips, fips-us-east-1) names an endpoint, not a
    # signing region: AWS's helper put it in the scope verbatim and the service then refused the
    # signature (helper PR #196). The scope gets the plain region.
    return region.removeprefix("fips-").removesuffix("-fips")


def default_endpoint(trust_anchor_arn: str, region: str, *, fips: bool = False) -> str:
    """``https://rolesanywhere[-fips].<region>.amazonaws.com`` (``.com.cn`` in China).

    Host names as in the helper's endpoint table (reference §1).
    """
    partition, _ = _parse_arn(
        trust_anchor_arn, "rolesanywhere", "trust-anchor/", "--trust-anchor-arn", alias=True
    )
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    service = "rolesanywhere-fips" if fips else "rolesanywhere"
    return f"https://{service}.{_plain_region(region)}.{suffix}"


def _canonical_query(params: dict[str, str]) -> str:
    # RFC 3986 encoding, space as %20 (reference §3.2); quote() keeps only unreserved characters.
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(params.items()))


def _body(session_duration: int, role_session_name: str | None) -> bytes:
    # Compact JSON, key order as AWS's helper serialises it (reference §2.1); the payload hash is
    # over these exact bytes.
    document: dict[str, Any] = {"durationSeconds": session_duration}
    if role_session_name is not None:
        document["roleSessionName"] = role_session_name
    return json.dumps(document, separators=(",", ":")).encode()


def sign_create_session_request(
    identity: SigningIdentity,
    *,
    trust_anchor_arn: str,
    profile_arn: str,
    role_arn: str,
    host: str,
    region: str,
    now: dt.datetime,
    session_duration: int = DEFAULT_SESSION_DURATION,
    role_session_name: str | None = None,
) -> HttpRequest:
    """Build and sign the CreateSession request as AWS's helper does, ready to send to ``host``."""
    query = _canonical_query(
        {"profileArn": profile_arn, "roleArn": role_arn, "trustAnchorArn": trust_anchor_arn}
    )
    request = HttpRequest(
        method="POST",
        # AWS's helper signs "/sessions" even when --endpoint has a path (reference §3.2).
        raw_path=_SESSIONS_PATH,
        raw_query=query,
        headers=(("Content-Type", "application/json"), ("Host", host)),
        body=_body(session_duration, role_session_name),
    )
    return sign_x509_request(
        request,
        certificate=identity.certificate,
        private_key=identity.private_key,
        region=region,
        now=now,
        intermediates=identity.intermediates,
    )


def _parse_expiration(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CreateSessionRefusedError(
            f"CreateSession answered with an unreadable expiration time {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_create_session_response(
    status: int, headers: Mapping[str, str], body: bytes
) -> SessionCredentials:
    """Credentials from a 2xx CreateSession answer; :class:`CreateSessionRefusedError` otherwise.

    Header names may come in any case.
    """
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = None
    if not 200 <= status < 300:
        raise _refusal(status, headers, document, body)
    if not isinstance(document, dict):
        raise CreateSessionRefusedError("CreateSession answered with a body that is not JSON")
    credential_set = document.get("credentialSet")
    if not isinstance(credential_set, list) or not credential_set:
        # AWS's helper: "unable to obtain temporary security credentials from CreateSession".
        raise CreateSessionRefusedError(
            "unable to obtain temporary security credentials from CreateSession "
            "(empty credentialSet)"
        )
    first = credential_set[0]
    credentials = first.get("credentials") if isinstance(first, dict) else None
    if not isinstance(credentials, dict):
        raise CreateSessionRefusedError("CreateSession answered without credentials")
    try:
        access_key_id = str(credentials["accessKeyId"])
        secret = str(credentials["secretAccessKey"])
        token = str(credentials["sessionToken"])
        expiration_text = str(credentials["expiration"])
    except KeyError as exc:
        raise CreateSessionRefusedError(
            f"CreateSession answered without credentials.{exc.args[0]}"
        ) from None
    assumed = first.get("assumedRoleUser")
    return SessionCredentials(
        access_key_id=access_key_id,
        secret_access_key=secret,
        session_token=token,
        expiration=_parse_expiration(expiration_text),
        expiration_text=expiration_text,
        role_arn=str(first.get("roleArn", "")),
        assumed_role_arn=str(assumed.get("arn", "")) if isinstance(assumed, dict) else "",
    )


def _refusal(
    status: int, headers: Mapping[str, str], document: object, body: bytes
) -> CreateSessionRefusedError:
    # Error decoding as in aws-sdk-go-v2 restjson (reference §2.3): X-Amzn-ErrorType first, then
    # the body's "__type"/"code"; message from "message" or "Message".
    code = headers.get("x-amzn-errortype", "")
    message = ""
    if isinstance(document, dict):
        if not code:
            code = str(document.get("__type") or document.get("code") or "")
        for key, value in document.items():
            if key.lower() == "message" and isinstance(value, str):
                message = value
                break
    code = code.split(":", 1)[0].split("#")[-1]
    if not message and not isinstance(document, dict):
        message = body[:200].decode("utf-8", "replace").strip()
    text = f"CreateSession failed: HTTP {status}"
    if code:
        text += f", {code}"
    if message:
        text += f": {message}"
    # The server logs and audits the precise reason under this id: with it, an operator finds why.
    request_id = headers.get("x-amzn-requestid", "").strip()
    if request_id:
        text += f" (request id {request_id[:100]})"
    return CreateSessionRefusedError(
        text, aws_code=code, http_status=status, aws_message=message, request_id=request_id
    )


def format_credential_process(credentials: SessionCredentials) -> str:
    """The ``credential_process`` JSON (compact, no newline), as AWS's helper prints it."""
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": credentials.expiration_text,
        },
        separators=(",", ":"),
    )


def ssl_context(verify: bool, ca_bundle: str | None = None) -> ssl.SSLContext:
    """The TLS settings of the helper's HTTP calls (CreateSession, STS).

    ``ca_bundle`` (a PEM file) replaces the system's trusted roots, as ``AWS_CA_BUNDLE`` does for
    the AWS SDKs and CLI.
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except FileNotFoundError:
            raise ClientConfigurationError(f"CA bundle {ca_bundle} not found") from None
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ClientConfigurationError(
                f"CA bundle {ca_bundle} holds no usable PEM certificates: {reason}"
            ) from None
    # The helper sets TLS 1.2 as the minimum (reference §1).
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def configured_endpoint(
    service_id: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """The endpoint URL the environment sets for ``service_id``, and the variable that set it.

    As the AWS SDKs read them ("Service-specific endpoints", AWS SDKs and Tools Reference
    Guide): ``AWS_ENDPOINT_URL_<SERVICE>`` (``ROLESANYWHERE``, ``STS``) first, then
    ``AWS_ENDPOINT_URL``; neither when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is ``true``.
    Without this, a helper whose ``--endpoint`` was forgotten would send the signed request to
    AWS even though every other tool on the host talks to elsewhere.
    """
    environ = os.environ if environ is None else environ
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    for name in (f"AWS_ENDPOINT_URL_{service_id.upper()}", "AWS_ENDPOINT_URL"):
        value = environ.get(name, "").strip()
        if value:
            return value, name
    return None


def configured_ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """``AWS_CA_BUNDLE`` from the environment: the PEM roots the AWS SDKs verify TLS with."""
    environ = os.environ if environ is None else environ
    return environ.get("AWS_CA_BUNDLE", "").strip() or None


def _endpoint(params: SessionParameters, region: str, environ: Mapping[str, str]) -> str:
    if params.endpoint:
        return params.endpoint
    configured = configured_endpoint("ROLESANYWHERE", environ)
    if configured is not None:
        _log.debug("CreateSession endpoint %s from %s", configured[0], configured[1])
        return configured[0]
    fips = params.use_fips_endpoint or _is_fips_region(params.region or "")
    return default_endpoint(params.trust_anchor_arn, region, fips=fips)


def _split_endpoint(base: str, flag: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of an http(s) base URL, or a configuration error."""
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ClientConfigurationError(f"{flag} {base!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientConfigurationError(f"{flag} {base!r} must be an http(s) URL")
    return parts.scheme, parts.netloc, parts.path


def create_session(
    source: CredentialSource,
    params: SessionParameters,
    *,
    clock: Clock | None = None,
    transport: Transport | None = None,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
) -> SessionCredentials:
    """Call CreateSession with the identity ``source`` yields now; return the credentials.

    ``environ`` (the process environment by default) supplies the endpoint and the CA bundle
    when ``params`` leaves them unset, and the proxy with ``with_proxy``.
    """
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    region = resolve_region(params)
    if not 900 <= params.session_duration <= 43200:
        # The service's bounds (reference §2.1); a clear message before any network call.
        raise ClientConfigurationError("--session-duration must be between 900 and 43200")
    base = _endpoint(params, region, environ)
    scheme, host, path = _split_endpoint(base, "--endpoint")
    target_path = path.rstrip("/") + _SESSIONS_PATH
    if transport is None:
        # Loading the trusted roots costs tens of milliseconds: only an https endpoint pays.
        context = (
            ssl_context(params.verify_ssl, params.ca_bundle or configured_ca_bundle(environ))
            if scheme == "https"
            else None
        )

        def transport(call: HttpCall) -> HttpAnswer:
            return send(
                call, context=context, timeout=timeout, use_proxy=params.with_proxy, environ=environ
            )

    user_agent = ("User-Agent", f"elsewhere-credential-helper/{__version__}")
    last_error: Exception | None = None
    for attempt in range(1, _ATTEMPTS + 1):
        # Each attempt is re-signed: a fresh date and a fresh read of the key and certificate.
        identity = source.load()
        signed = sign_create_session_request(
            identity,
            trust_anchor_arn=params.trust_anchor_arn,
            profile_arn=params.profile_arn,
            role_arn=params.role_arn,
            host=host,
            region=region,
            now=clock.now(),
            session_duration=params.session_duration,
            role_session_name=params.role_session_name,
        )
        url = f"{scheme}://{host}{target_path}?{signed.raw_query}"
        _log.debug("CreateSession attempt %d: POST %s", attempt, url)
        try:
            answer = transport(HttpCall("POST", url, (*signed.headers, user_agent), signed.body))
        except HttpFailure as exc:
            last_error = exc
            _log.debug("CreateSession attempt %d failed: %s", attempt, exc)
            if exc.tls_verification:
                break  # a TLS verification failure does not go away on retry
            _backoff(attempt)
            continue
        _log.debug("CreateSession answered HTTP %d", answer.status)
        if answer.status in _RETRIED_STATUSES and attempt < _ATTEMPTS:
            _backoff(attempt)
            continue
        return parse_create_session_response(answer.status, answer.headers, answer.body)
    raise EndpointUnreachableError(f"cannot reach the CreateSession endpoint {base}: {last_error}")
