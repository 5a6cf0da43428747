"""The helper's HTTP: one request at a time over the standard library's ``http.client``.

The AWS CLI runs ``credential-process`` before every command, so what the helper imports before
its request leaves is paid again and again. httpx (with httpcore, h11, anyio, idna and certifi)
costs about 150 ms of CPU to import; ``http.client`` and ``ssl`` about a third of that, and they
do what the helper needs: one request, TLS with a given context, a timeout, and a proxy (an
``http://`` proxy from ``HTTP(S)_PROXY``, through ``CONNECT`` for HTTPS) when ``--with-proxy``
asks for one.

:data:`Transport` is the seam tests and library users replace: a function from
:class:`HttpCall` to :class:`HttpAnswer`.
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "MAX_ANSWER_BYTES",
    "HttpAnswer",
    "HttpCall",
    "HttpFailure",
    "Transport",
    "send",
]

#: The largest answer read (a CreateSession or STS answer is a few kB).
MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class HttpCall:
    """A request to send: ``url`` is absolute (``http(s)://host[:port]/path?query``)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


@dataclass(frozen=True)
class HttpAnswer:
    """An answer: its status, its headers (names in lower case) and its body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)


class HttpFailure(Exception):
    """No answer: the connection, TLS, the proxy or the timeout failed.

    ``tls_verification`` is set when the server's certificate did not verify, which no retry
    changes.
    """

    def __init__(self, message: str, *, tls_verification: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.tls_verification = tls_verification


#: Sends one request and returns its answer, or raises :class:`HttpFailure`.
Transport = Callable[[HttpCall], HttpAnswer]


def _proxy_for(scheme: str, host: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL for ``scheme://host`` from ``HTTP(S)_PROXY``/``NO_PROXY`` (curl's rules)."""
    names = ("https_proxy", "HTTPS_PROXY") if scheme == "https" else ("http_proxy", "HTTP_PROXY")
    proxy = next((environ[n] for n in names if environ.get(n)), "")
    if not proxy:
        return None
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return None
        entry = entry.lstrip(".")
        if host.lower() == entry or host.lower().endswith("." + entry):
            return None
    return proxy


def _connection(
    scheme: str,
    host: str,
    port: int,
    *,
    context: ssl.SSLContext | None,
    timeout: float,
    proxy: str | None,
) -> tuple[http.client.HTTPConnection, dict[str, str] | None]:
    """A connection for the request; for a plain-HTTP proxy, the headers the proxy needs too.

    With headers returned (possibly empty), the request line carries the absolute URL.
    """
    if proxy is None:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), None
        return http.client.HTTPConnection(host, port, timeout=timeout), None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme != "http" or not parts.hostname:
        raise HttpFailure(f"proxy {proxy!r}: only http:// proxies are supported")
    headers: dict[str, str] = {}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    proxy_port = parts.port or 80
    if scheme == "https":
        # CONNECT through the proxy, then TLS with the server itself (its name is verified).
        connection = http.client.HTTPSConnection(
            parts.hostname, proxy_port, timeout=timeout, context=context
        )
        connection.set_tunnel(host, port, headers=headers)
        return connection, None
    return http.client.HTTPConnection(parts.hostname, proxy_port, timeout=timeout), headers


def send(
    call: HttpCall,
    *,
    context: ssl.SSLContext | None,
    timeout: float,
    use_proxy: bool = False,
    environ: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """Send ``call`` and read its answer (at most :data:`MAX_ANSWER_BYTES`).

    ``context`` is the TLS context of an ``https`` URL (None: Python's default, the system's
    roots).

    ``use_proxy`` takes the proxy from ``HTTPS_PROXY``/``HTTP_PROXY`` (and ``NO_PROXY``) of
    ``environ`` (the process environment by default), as AWS's helper does with ``--with-proxy``.
    """
    parts = urlsplit(call.url)
    scheme = parts.scheme
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise HttpFailure(f"{call.url!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise HttpFailure(f"{call.url!r} has an invalid port") from None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    proxy = _proxy_for(scheme, host, environ or os.environ) if use_proxy else None
    connection, proxy_headers = _connection(
        scheme, host, port, context=context, timeout=timeout, proxy=proxy
    )
    headers = dict(call.headers)
    if proxy_headers is not None:
        target = call.url
        headers.update(proxy_headers)
    try:
        connection.request(call.method, target, body=call.body, headers=headers)
        response = connection.getresponse()
        body = response.read(MAX_ANSWER_BYTES + 1)
        if len(body) > MAX_ANSWER_BYTES:
            raise HttpFailure(f"the answer from {host} is larger than {MAX_ANSWER_BYTES} bytes")
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return HttpAnswer(response.status, answer_headers, body)
    except ssl.SSLCertVerificationError as exc:
        raise HttpFailure(
            f"the TLS certificate of {host} did not verify ({exc.reason}: "
            f"{exc.verify_message or exc}); trust its CA with --ca-bundle or AWS_CA_BUNDLE",
            tls_verification=True,
        ) from None
    except TimeoutError:
        raise HttpFailure(f"no answer from {host}:{port} within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = str(exc) or type(exc).__name__
        raise HttpFailure(f"{type(exc).__name__}: {reason}") from None
    finally:
        connection.close()
