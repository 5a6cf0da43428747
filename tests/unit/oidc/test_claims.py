"""The claim set of a web identity token and the rules on subjects and scopes."""

from __future__ import annotations

import datetime as dt

import pytest

from elsewhere.oidc import (
    CLAIMS_NAMESPACE,
    build_token_claims,
    origin_subject_problem,
    scope_problem,
)

from .conftest import T0

ROLE = "arn:aws:iam::123456789012:role/app"


def _claims(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "issuer": "https://idp.example.com",
        "audiences": ("bao",),
        "subject": ROLE,
        "issued_at": T0,
        "expires_at": T0 + dt.timedelta(seconds=300),
        "token_id": "id-1",
        "account": "123456789012",
        "region": "eu-west-1",
        "principal_arn": ROLE,
    }
    fields.update(changes)
    return build_token_claims(**fields)  # type: ignore[arg-type]


def test_standard_claims_and_namespace() -> None:
    """iss, aud, sub, iat, exp, jti at the top; account, region, principal under the namespace."""
    claims = _claims(principal_tags=(("x509Subject/CN", "w1"),), request_tags=(("job", "7"),))
    assert claims == {
        "iss": "https://idp.example.com",
        "aud": "bao",
        "sub": ROLE,
        "iat": int(T0.timestamp()),
        "exp": int(T0.timestamp()) + 300,
        "jti": "id-1",
        CLAIMS_NAMESPACE: {
            "aws_account": "123456789012",
            "source_region": "eu-west-1",
            "principal_id": ROLE,
            "principal_tags": {"x509Subject/CN": "w1"},
            "request_tags": {"job": "7"},
        },
    }


def test_several_audiences_are_an_array() -> None:
    """aud is an array when there are several audiences, in the order given."""
    assert _claims(audiences=("a", "b"))["aud"] == ["a", "b"]


def test_empty_tag_sets_are_left_out() -> None:
    """Without principal or request tags, neither claim appears."""
    namespace = _claims()[CLAIMS_NAMESPACE]
    assert namespace == {
        "aws_account": "123456789012",
        "source_region": "eu-west-1",
        "principal_id": ROLE,
    }


def test_origin_identity_mode_and_scope() -> None:
    """subject_mode and scope are top-level claims when given."""
    claims = _claims(subject="w1", subject_mode="OriginIdentity", scope="read write")
    assert claims["sub"] == "w1"
    assert claims["subject_mode"] == "OriginIdentity"
    assert claims["scope"] == "read write"


@pytest.mark.parametrize(
    ("case", "subject", "problem"),
    [
        ("ok/common-name", "workload-01", None),
        ("ok/spiffe-uri", "spiffe://example.org/ns/prod/sa/web", None),
        ("ok/inner-space", "Jane Doe", None),
        ("ok/unicode-letters", "zoë", None),
        ("fail/blank", "   ", "blank"),
        ("fail/empty", "", "blank"),
        ("fail/arn", "arn:aws:iam::123456789012:role/x", "arn:"),
        ("fail/arn-any-case", "ARN:something", "arn:"),
        ("fail/leading-space", " w", "space"),
        ("fail/trailing-space", "w ", "space"),
        ("fail/control", "w\x07", "U+0007"),
        ("fail/format", "w\u200bx", "U+200B"),
        ("fail/no-break-space", "w\u00a0x", "U+00A0"),
        ("fail/line-separator", "w\u2028x", "U+2028"),
    ],
)
def test_origin_subject_rules(case: str, subject: str, problem: str | None) -> None:
    """A subject is not blank, no ARN, no outer space, no control/format/separator but space."""
    found = origin_subject_problem(subject)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


@pytest.mark.parametrize(
    ("case", "scope", "ok"),
    [
        ("ok/one", "read", True),
        ("ok/two", "read write", True),
        ("ok/case-differs", "read READ", True),
        ("fail/repeated", "read write read", False),
    ],
)
def test_scope_values_may_not_repeat(case: str, scope: str, ok: bool) -> None:
    """Scope values are compared with case, and none may appear twice."""
    assert (scope_problem(scope) is None) is ok
