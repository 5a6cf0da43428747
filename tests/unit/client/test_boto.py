"""boto3/botocore integration: sessions and a provider whose credentials refresh themselves."""

from __future__ import annotations

import datetime as dt

import botocore.session
import pytest

from elsewhere.client import (
    METHOD,
    ClientConfigurationError,
    RolesAnywhereCredentialProvider,
    session,
)
from tests.unit.client._fake import FakeCreateSession, FakeServer
from tests.unit.client.conftest import ANCHOR, PROFILE, ROLE, Files


def _kwargs(files: Files, server: FakeServer) -> dict[str, str]:
    return {
        "certificate": str(files.certificate),
        "private_key": str(files.private_key),
        "intermediates": str(files.intermediates),
        "trust_anchor_arn": ANCHOR,
        "profile_arn": PROFILE,
        "role_arn": ROLE,
        "endpoint": server.url,
    }


def test_session_has_createsession_credentials(files: Files, server: FakeServer) -> None:
    """session(...) returns a boto3 Session holding the credentials; region from the anchor."""
    boto = session(**_kwargs(files, server))
    credentials = boto.get_credentials()
    assert credentials is not None
    assert credentials.method == METHOD
    assert credentials.get_frozen_credentials().access_key == "ASIAFAKE00000001"
    assert boto.region_name == "us-east-1"
    assert session(**_kwargs(files, server), region_name="eu-west-1").region_name == "eu-west-1"


def test_credentials_refresh_near_expiry(
    files: Files, fake: FakeCreateSession, server: FakeServer
) -> None:
    """Credentials inside botocore's mandatory refresh window are renewed on next use."""
    fake.lifetime = dt.timedelta(minutes=5)
    credentials = session(**_kwargs(files, server)).get_credentials()
    assert credentials is not None
    first = credentials.get_frozen_credentials().token
    second = credentials.get_frozen_credentials().token
    # Five minutes left is inside the mandatory window: every use calls CreateSession again.
    assert first != second
    assert fake.counter >= 3


def test_provider_in_a_botocore_chain(files: Files, server: FakeServer) -> None:
    """The provider can be inserted in any botocore session's chain."""
    core = botocore.session.Session()
    provider = RolesAnywhereCredentialProvider(**_kwargs(files, server))
    core.get_component("credential_provider").insert_before("env", provider)
    credentials = core.get_credentials()
    assert credentials is not None
    assert credentials.get_frozen_credentials().secret_key == "secret-1"


def test_bad_parameters_fail_when_the_session_is_built(files: Files, server: FakeServer) -> None:
    """A region mismatch between the ARNs is reported before any call."""
    kwargs = _kwargs(files, server)
    kwargs["profile_arn"] = PROFILE.replace("us-east-1", "eu-west-1")
    with pytest.raises(ClientConfigurationError, match="same region"):
        session(**kwargs)


def test_session_takes_the_same_parameters_as_the_cli() -> None:
    """Every credential-process flag but --debug and --cert-selector is also a keyword."""
    import inspect

    from elsewhere.cli._client import credential_process

    flags = {p.name for p in credential_process.params} - {"debug", "cert_selector"}
    kwargs = set(inspect.signature(session).parameters)
    provider = set(inspect.signature(RolesAnywhereCredentialProvider.__init__).parameters)
    assert flags <= kwargs
    assert flags <= provider
