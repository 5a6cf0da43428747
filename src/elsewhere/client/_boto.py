"""boto3 integration: a session whose credentials refresh themselves through CreateSession.

``session(...)`` takes the same parameters as the ``credential-process`` command. botocore's
``RefreshableCredentials`` calls back into CreateSession when the credentials come near expiry
(advisory 15 min, mandatory 10 min before, botocore's defaults), from whichever thread needs them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import botocore.credentials
import botocore.session

from elsewhere.client._http import Transport
from elsewhere.client._session import (
    DEFAULT_SESSION_DURATION,
    SessionParameters,
    create_session,
    resolve_region,
)
from elsewhere.client._sources import CredentialSource, build_credential_source
from elsewhere.clock import Clock

__all__ = ["METHOD", "RolesAnywhereCredentialProvider", "refreshable_credentials", "session"]

METHOD = "elsewhere-rolesanywhere"


def _metadata(source: CredentialSource, params: SessionParameters, **kwargs: Any) -> dict[str, str]:
    credentials = create_session(source, params, **kwargs)
    return {
        "access_key": credentials.access_key_id,
        "secret_key": credentials.secret_access_key,
        "token": credentials.session_token,
        "expiry_time": credentials.expiration.astimezone(dt.UTC).isoformat(),
    }


def refreshable_credentials(
    source: CredentialSource,
    params: SessionParameters,
    *,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> Any:
    """botocore ``RefreshableCredentials`` fed by CreateSession (first call made right away)."""

    def refresh() -> dict[str, str]:
        return _metadata(source, params, clock=clock, transport=transport)

    return botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method=METHOD
    )


class RolesAnywhereCredentialProvider(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    """A botocore credential provider; register it in a botocore session's provider chain.

    ``botocore_session.get_component("credential_provider").insert_before("env", provider)``
    """

    METHOD = METHOD
    CANONICAL_NAME = "ElsewhereRolesAnywhere"

    def __init__(
        self,
        *,
        certificate: str | None,
        trust_anchor_arn: str,
        profile_arn: str,
        role_arn: str,
        private_key: str | None = None,
        intermediates: str | None = None,
        session_duration: int = DEFAULT_SESSION_DURATION,
        region: str | None = None,
        endpoint: str | None = None,
        no_verify_ssl: bool = False,
        ca_bundle: str | None = None,
        with_proxy: bool = False,
        role_session_name: str | None = None,
        pkcs8_password: str | None = None,
        pkcs11_lib: str | None = None,
        reuse_pin: bool = False,
        use_fips_endpoint: bool = False,
        clock: Clock | None = None,
        transport: Transport | None = None,
    ) -> None:
        super().__init__()
        self._source = build_credential_source(
            certificate=certificate,
            private_key=private_key,
            intermediates=intermediates,
            pkcs8_password=pkcs8_password,
            pkcs11_lib=pkcs11_lib,
            reuse_pin=reuse_pin,
        )
        self._params = SessionParameters(
            trust_anchor_arn=trust_anchor_arn,
            profile_arn=profile_arn,
            role_arn=role_arn,
            session_duration=session_duration,
            region=region,
            endpoint=endpoint,
            verify_ssl=not no_verify_ssl,
            ca_bundle=ca_bundle,
            with_proxy=with_proxy,
            role_session_name=role_session_name,
            use_fips_endpoint=use_fips_endpoint,
        )
        resolve_region(self._params)  # fail early on bad ARNs or a region mismatch
        self._clock = clock
        self._transport = transport

    @property
    def signing_region(self) -> str:
        """The region CreateSession is signed for."""
        return resolve_region(self._params)

    def load(self) -> Any:
        """Call CreateSession and return self-refreshing botocore credentials."""
        return refreshable_credentials(
            self._source,
            self._params,
            clock=self._clock,
            transport=self._transport,
        )


def session(
    *,
    certificate: str | None,
    trust_anchor_arn: str,
    profile_arn: str,
    role_arn: str,
    private_key: str | None = None,
    intermediates: str | None = None,
    session_duration: int = DEFAULT_SESSION_DURATION,
    region: str | None = None,
    endpoint: str | None = None,
    no_verify_ssl: bool = False,
    ca_bundle: str | None = None,
    with_proxy: bool = False,
    role_session_name: str | None = None,
    pkcs8_password: str | None = None,
    pkcs11_lib: str | None = None,
    reuse_pin: bool = False,
    use_fips_endpoint: bool = False,
    region_name: str | None = None,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> boto3.Session:
    """A boto3 session whose credentials come from (and refresh through) CreateSession.

    Parameters mirror the helper's flags; ``region_name`` is the session's default region for
    service clients (default: the signing region).
    """
    provider = RolesAnywhereCredentialProvider(
        certificate=certificate,
        private_key=private_key,
        intermediates=intermediates,
        trust_anchor_arn=trust_anchor_arn,
        profile_arn=profile_arn,
        role_arn=role_arn,
        session_duration=session_duration,
        region=region,
        endpoint=endpoint,
        no_verify_ssl=no_verify_ssl,
        ca_bundle=ca_bundle,
        with_proxy=with_proxy,
        role_session_name=role_session_name,
        pkcs8_password=pkcs8_password,
        pkcs11_lib=pkcs11_lib,
        reuse_pin=reuse_pin,
        use_fips_endpoint=use_fips_endpoint,
        clock=clock,
        transport=transport,
    )
    core = botocore.session.Session()
    # Only our provider: a session built for these credentials must not fall back to others.
    resolver = botocore.credentials.CredentialResolver(providers=[provider])
    core.register_component("credential_provider", resolver)
    return boto3.Session(botocore_session=core, region_name=region_name or provider.signing_region)
