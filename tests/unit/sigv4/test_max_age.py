"""check_request_time's ``max_age``: a presigned request's window capped by the service."""

from __future__ import annotations

import datetime as dt

import pytest

from elsewhere.errors import SignatureExpired
from elsewhere.sigv4 import CredentialScope, SignedRequest, check_request_time, format_amz_date

NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)


def _presigned(age: dt.timedelta, expires: int | None) -> SignedRequest:
    signed_at = NOW - age
    amz = format_amz_date(signed_at)
    return SignedRequest(
        algorithm="AWS4-HMAC-SHA256",
        credential="AKIA",
        scope=CredentialScope(amz[:8], "us-east-1", "rolesanywhere", "aws4_request"),
        amz_date=amz,
        timestamp=signed_at,
        signed_headers=("host",),
        signature="00",
        security_token=None,
        presigned=True,
        expires=expires,
        payload_hash="UNSIGNED-PAYLOAD",
    )


@pytest.mark.parametrize(
    ("case", "age", "expires", "max_age", "ok"),
    [
        ("ok/a-week-without-a-cap", dt.timedelta(days=6), 604800, None, True),
        ("fail/a-week-capped-at-five-minutes", dt.timedelta(minutes=6), 604800, 300, False),
        ("ok/within-the-cap", dt.timedelta(minutes=4), 604800, 300, True),
        ("fail/its-own-expiry-is-shorter", dt.timedelta(minutes=2), 60, 300, False),
        ("fail/no-expiry-capped", dt.timedelta(minutes=6), None, 300, False),
    ],
)
def test_max_age_caps_the_presigned_window(
    case: str, age: dt.timedelta, expires: int | None, max_age: int | None, ok: bool
) -> None:
    """The window is the smaller of X-Amz-Expires (or the skew) and ``max_age``."""
    signed = _presigned(age, expires)
    cap = None if max_age is None else dt.timedelta(seconds=max_age)
    if ok:
        check_request_time(signed, NOW, max_age=cap)
        return
    with pytest.raises(SignatureExpired, match=r"^Signature expired"):
        check_request_time(signed, NOW, max_age=cap)
