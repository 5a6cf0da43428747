"""Web identity tokens for a certificate: CreateSession, then STS GetWebIdentityToken, to a file.

``elsewhere web-identity-token`` keeps a token file fresh, so that anything reading a token file
(``AWS_WEB_IDENTITY_TOKEN_FILE``, a Kubernetes-style projected token, Vault's JWT login) works
with a certificate. The session is kept (:class:`~elsewhere.client.CredentialCache`) and renewed
before it would end a token early; the token is written atomically (write, then rename) with mode
0600 and renewed when 80 % of its life has passed, as the kubelet renews projected service
account tokens (Kubernetes documentation, "Service account token volume projection").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from elsewhere import __version__
from elsewhere.client._errors import ClientConfigurationError, ClientError, EndpointUnreachableError
from elsewhere.client._http import HttpAnswer, HttpCall, HttpFailure, Transport, send
from elsewhere.client._session import SessionCredentials, configured_ca_bundle, ssl_context
from elsewhere.clock import Clock, SystemClock
from elsewhere.sigv4 import HttpRequest, sign_hmac_request

__all__ = [
    "DEFAULT_TOKEN_DURATION",
    "TokenFileError",
    "TokenParameters",
    "TokenRefusedError",
    "WebIdentityToken",
    "default_sts_endpoint",
    "get_web_identity_token",
    "run_token_file",
    "write_token_file",
]

_log = logging.getLogger("elsewhere.client")

DEFAULT_TOKEN_DURATION = 300
#: Renew when this share of the token's life has passed (the kubelet's rule).
_RENEW_AT = 0.8
_RETRY_AFTER_FAILURE = 10.0
_STS_VERSION = "2011-06-15"


class TokenRefusedError(ClientError):
    """STS answered GetWebIdentityToken with an error; the message is its code and text."""

    code = "GetWebIdentityTokenRefused"
    status = 400


class TokenFileError(ClientError):
    """The token file cannot be written."""

    code = "TokenFileError"
    status = 500


@dataclass(frozen=True)
class TokenParameters:
    """What GetWebIdentityToken is asked for, and where STS is."""

    audiences: tuple[str, ...]
    signing_algorithm: str = "RS256"
    duration_seconds: int = DEFAULT_TOKEN_DURATION
    subject_mode: str | None = None
    scope: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    sts_endpoint: str = ""
    region: str = "us-east-1"
    verify_ssl: bool = True
    with_proxy: bool = False
    ca_bundle: str | None = None  # unset: AWS_CA_BUNDLE


@dataclass(frozen=True)
class WebIdentityToken:
    """A token and when it expires."""

    token: str
    expiration: dt.datetime

    def __repr__(self) -> str:
        """Never show the token (a bearer credential)."""
        return f"WebIdentityToken(expiration={self.expiration.isoformat()!r})"


def default_sts_endpoint(region: str) -> str:
    """AWS's regional STS endpoint (GetWebIdentityToken is not served by the global one)."""
    return f"https://sts.{region}.amazonaws.com"


def _form(params: TokenParameters) -> bytes:
    """The query-protocol body (aws-protocols.md §2: lists as ``Name.member.N``)."""
    pairs: list[tuple[str, str]] = [("Action", "GetWebIdentityToken"), ("Version", _STS_VERSION)]
    pairs += [(f"Audience.member.{i}", a) for i, a in enumerate(params.audiences, start=1)]
    pairs.append(("SigningAlgorithm", params.signing_algorithm))
    pairs.append(("DurationSeconds", str(params.duration_seconds)))
    if params.subject_mode is not None:
        pairs.append(("SubjectMode", params.subject_mode))
    if params.scope is not None:
        pairs.append(("Scope", params.scope))
    for i, (key, value) in enumerate(params.tags, start=1):
        pairs += [(f"Tags.member.{i}.Key", key), (f"Tags.member.{i}.Value", value)]
    return urlencode(pairs).encode("ascii")


def _text(root: ET.Element, name: str) -> str | None:
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == name:
            return element.text or ""
    return None


def _parse(status: int, body: bytes) -> WebIdentityToken:
    try:
        root = ET.fromstring(body)  # noqa: S314 - the answer of the STS endpoint configured
    except ET.ParseError:
        raise TokenRefusedError(f"STS answered HTTP {status} with a body that is not XML") from None
    if status != 200:
        code = _text(root, "Code") or f"HTTP {status}"
        raise TokenRefusedError(f"{code}: {_text(root, 'Message') or ''}".rstrip(": "))
    token, expiration = _text(root, "WebIdentityToken"), _text(root, "Expiration")
    if not token or not expiration:
        raise TokenRefusedError("STS answered without a WebIdentityToken and Expiration")
    try:
        expires = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except ValueError:
        raise TokenRefusedError(
            f"STS answered an Expiration that is not a time: {expiration}"
        ) from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    return WebIdentityToken(token=token, expiration=expires.astimezone(dt.UTC))


def get_web_identity_token(
    credentials: SessionCredentials,
    params: TokenParameters,
    *,
    clock: Clock | None = None,
    transport: Transport | None = None,
    timeout: float = 30.0,
) -> WebIdentityToken:
    """Call STS GetWebIdentityToken with ``credentials`` (SigV4, session token); the token."""
    clock = clock or SystemClock()
    try:
        url = urlsplit(params.sts_endpoint)
        url.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ClientConfigurationError(
            f"STS endpoint {params.sts_endpoint!r} is not a URL: {exc}"
        ) from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ClientConfigurationError(f"STS endpoint {params.sts_endpoint!r} is not http(s)")
    path = url.path if url.path.endswith("/") else url.path + "/"
    unsigned = HttpRequest(
        "POST",
        path,
        "",
        (
            ("Host", url.netloc),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ),
        _form(params),
    )
    signed = sign_hmac_request(
        unsigned,
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        region=params.region,
        service="sts",
        now=clock.now(),
    )
    if transport is None:
        context = (
            ssl_context(params.verify_ssl, params.ca_bundle or configured_ca_bundle())
            if url.scheme == "https"
            else None
        )

        def transport(call: HttpCall) -> HttpAnswer:
            return send(call, context=context, timeout=timeout, use_proxy=params.with_proxy)

    call = HttpCall(
        "POST",
        f"{url.scheme}://{url.netloc}{path}",
        (*signed.headers, ("User-Agent", f"elsewhere-credential-helper/{__version__}")),
        signed.body,
    )
    try:
        answer = transport(call)
    except HttpFailure as exc:
        raise EndpointUnreachableError(
            f"cannot reach STS at {params.sts_endpoint}: {exc.message}"
        ) from None
    return _parse(answer.status, answer.body)


def write_token_file(path: Path, token: WebIdentityToken) -> None:
    """Replace the file at ``path`` with the token, atomically, mode 0600."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(token.token)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)  # readers see the old token or the new one, never half
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise TokenFileError(f"cannot write {path}: {exc.strerror or exc}") from None


def run_token_file(
    fetch: Callable[[], WebIdentityToken],
    *,
    path: Path,
    once: bool = False,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_rounds: int | None = None,
) -> None:
    """Write a token, then a new one each time 80 % of the last one's life has passed.

    The first failure is raised; later ones are logged and retried every 10 s while the token
    in the file is still valid, and raised once it has expired.
    """
    clock = clock or SystemClock()
    token = fetch()
    write_token_file(path, token)
    _log.info("wrote a token to %s, valid until %s", path, token.expiration.isoformat())
    issued = clock.now()
    rounds = 0
    while not once and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        life = (token.expiration - issued).total_seconds()
        wait = (issued + dt.timedelta(seconds=life * _RENEW_AT) - clock.now()).total_seconds()
        sleep(max(wait, 0.0))
        try:
            fresh = fetch()
        except ClientError as exc:
            if token.expiration <= clock.now():
                raise
            _log.warning("renewing the token failed, retrying: %s", exc.message)
            sleep(_RETRY_AFTER_FAILURE)
            continue
        token, issued = fresh, clock.now()
        write_token_file(path, token)
        _log.info("wrote a token to %s, valid until %s", path, token.expiration.isoformat())
