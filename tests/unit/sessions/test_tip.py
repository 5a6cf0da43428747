"""Trusted identity propagation: the profile's setting chooses the subject from mapped tags."""

from __future__ import annotations

import pytest

from elsewhere.domain import TipConfiguration
from elsewhere.service._session_auth import origin_identity_keys, session_context_keys
from elsewhere.service._tip import MissingOriginSubject, OriginIdentity, origin_identity
from tests.unit.tokens.conftest import make_claims

ANCHOR = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/t"
TAGS = (
    ("x509Subject/CN", "web-01"),
    ("x509SAN/URI", "spiffe://example.org/web"),
    ("x509SAN/DNS", "web.example.org"),
)


@pytest.mark.parametrize(
    ("case", "tip", "tags", "expected"),
    [
        ("ok/off-when-absent", None, TAGS, None),
        ("ok/off-when-disabled", TipConfiguration("DISABLED", "workload"), TAGS, None),
        (
            "ok/default-source-is-cn",
            TipConfiguration("ENABLED"),
            TAGS,
            OriginIdentity("web-01", None, ANCHOR),
        ),
        (
            "ok/workload-cn",
            TipConfiguration("ENABLED", "workload", "x509Subject/CN"),
            TAGS,
            OriginIdentity("web-01", "workload", ANCHOR),
        ),
        (
            "ok/user-uri",
            TipConfiguration("ENABLED", "user", "x509SAN/URI"),
            TAGS,
            OriginIdentity("spiffe://example.org/web", "user", ANCHOR),
        ),
    ],
)
def test_origin_identity_from_tags(
    case: str,
    tip: TipConfiguration | None,
    tags: tuple[tuple[str, str], ...],
    expected: OriginIdentity | None,
) -> None:
    """TIP on: the subject is the chosen field's mapped value, the issuer the trust anchor."""
    assert origin_identity(tip, tags, issuer=ANCHOR) == expected


@pytest.mark.parametrize(
    ("case", "source", "tags"),
    [
        ("fail/no-uri", "x509SAN/URI", (("x509Subject/CN", "web-01"),)),
        ("fail/no-cn", "x509Subject/CN", (("x509SAN/URI", "spiffe://x/y"),)),
        ("fail/not-mapped", "x509Subject/CN", ()),
    ],
)
def test_missing_subject_refuses(case: str, source: str, tags: tuple[tuple[str, str], ...]) -> None:
    """TIP on and no value for the field (or no mapping for it): refused, naming the field."""
    with pytest.raises(MissingOriginSubject, match=source):
        origin_identity(TipConfiguration("ENABLED", "workload", source), tags, issuer=ANCHOR)


def test_session_keys_carry_the_origin_identity() -> None:
    """A session with an origin identity has the three aws:OriginIdentity keys; others none."""
    claims = make_claims(
        origin_subject="web-01", origin_subject_type="workload", origin_issuer=ANCHOR
    )
    keys = session_context_keys(claims)
    assert keys["aws:OriginIdentity/Subject"] == "web-01"
    assert keys["aws:OriginIdentity/SubjectType"] == "workload"
    assert keys["aws:OriginIdentity/Issuer"] == ANCHOR
    assert origin_identity_keys(make_claims()) == {}
    assert not any(k.startswith("aws:OriginIdentity/") for k in session_context_keys(make_claims()))
