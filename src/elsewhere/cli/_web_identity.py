"""``elsewhere web-identity-token``: a certificate's web identity token, kept fresh in a file.

It takes the same certificate and session flags as ``credential-process``, gets a session with
CreateSession, then a token from STS ``GetWebIdentityToken``. With ``--out`` it writes the token
to the file and renews it before it expires (until stopped, or ``--once``); without, it prints one
token on stdout. Point ``AWS_WEB_IDENTITY_TOKEN_FILE`` (or a Vault, Kubernetes or cloud client)
at the file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from elsewhere.cli._client import _build, _guarded, _session_options
from elsewhere.client import (
    DEFAULT_TOKEN_DURATION,
    ClientConfigurationError,
    CredentialCache,
    SessionParameters,
    TokenParameters,
    WebIdentityToken,
    configured_endpoint,
    create_session,
    default_sts_endpoint,
    get_web_identity_token,
    resolve_region,
    run_token_file,
)

__all__ = ["register"]

# A session must outlive the token asked for by at least this much (STS refuses a token that
# outlives its session: SessionDurationEscalationException).
_MARGIN = dt.timedelta(seconds=60)


def _tags(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    tags = []
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise ClientConfigurationError(f"--tag {value!r} is not KEY=VALUE")
        tags.append((key, tag_value))
    return tuple(tags)


def _sts_endpoint(flag: str | None, session: SessionParameters, region: str) -> str:
    """Where STS is: the flag, $AWS_ENDPOINT_URL_STS, else CreateSession's elsewhere endpoint.

    elsewhere serves STS on the address it serves CreateSession on, so an endpoint given for
    CreateSession (``--endpoint``, ``$AWS_ENDPOINT_URL_ROLESANYWHERE``, ``$AWS_ENDPOINT_URL``)
    is STS's too; only without any of them is AWS's regional STS asked.
    """
    if flag:
        return flag
    configured = configured_endpoint("STS")
    if configured is not None and configured[1] == "AWS_ENDPOINT_URL_STS":
        return configured[0]
    if session.endpoint:
        return session.endpoint
    configured = configured_endpoint("ROLESANYWHERE")
    return configured[0] if configured is not None else default_sts_endpoint(region)


@click.command("web-identity-token")
@_session_options
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    required=True,
    help="The token's audience (aud); repeat for several (at most 10).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the token in this file (mode 0600), renewed before expiry. Default: print once.",
)
@click.option("--once", is_flag=True, help="With --out: write one token and exit.")
@click.option(
    "--signing-algorithm",
    type=click.Choice(["RS256", "ES384"]),
    default="RS256",
    show_default=True,
)
@click.option(
    "--duration-seconds",
    type=click.IntRange(60, 3600),
    default=DEFAULT_TOKEN_DURATION,
    show_default=True,
    help="Token lifetime; it is renewed when 80 % of it has passed.",
)
@click.option("--subject-mode", type=click.Choice(["AWSIdentity", "OriginIdentity"]))
@click.option("--scope", help="OAuth scope values (with --subject-mode OriginIdentity).")
@click.option("--tag", "tag_values", multiple=True, help="A request tag KEY=VALUE (repeatable).")
@click.option(
    "--sts-endpoint",
    help="STS base URL. Default: $AWS_ENDPOINT_URL_STS, else CreateSession's endpoint "
    "(elsewhere serves both), else AWS's regional STS.",
)
@_guarded
def web_identity_token(
    audiences: tuple[str, ...],
    out: Path | None,
    once: bool,
    signing_algorithm: str,
    duration_seconds: int,
    subject_mode: str | None,
    scope: str | None,
    tag_values: tuple[str, ...],
    sts_endpoint: str | None,
    **kwargs: Any,
) -> None:
    """Get a web identity token for the certificate's session; keep it fresh in --out."""
    source, session = _build(kwargs)
    if dt.timedelta(seconds=session.session_duration) < (
        dt.timedelta(seconds=duration_seconds) + _MARGIN
    ):
        raise ClientConfigurationError(
            "--session-duration must exceed --duration-seconds by at least 60 seconds"
        )
    region = resolve_region(session)
    params = TokenParameters(
        audiences=audiences,
        signing_algorithm=signing_algorithm,
        duration_seconds=duration_seconds,
        subject_mode=subject_mode,
        scope=scope,
        tags=_tags(tag_values),
        sts_endpoint=_sts_endpoint(sts_endpoint, session, region),
        region=region,
        verify_ssl=session.verify_ssl,
        ca_bundle=session.ca_bundle,
        with_proxy=session.with_proxy,
    )
    # The session is reused while it can still cover a whole token.
    sessions = CredentialCache(
        lambda: create_session(source, session),
        refresh_before=dt.timedelta(seconds=duration_seconds) + _MARGIN,
    )

    def fetch() -> WebIdentityToken:
        return get_web_identity_token(sessions.get(), params)

    if out is None:
        click.echo(fetch().token)
        return
    run_token_file(fetch, path=out, once=once)


def register(cli: click.Group) -> None:
    """Add ``web-identity-token`` to the ``elsewhere`` command tree."""
    cli.add_command(web_identity_token)
