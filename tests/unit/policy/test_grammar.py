"""Policy grammar: accepted documents, and AWS's MalformedPolicyDocument texts for bad ones.

Messages and check order: team reference §1.7 (observed AWS texts, collected by moto's validator
and real error reports); grammar from the IAM User Guide "Grammar of the IAM JSON policy language".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from elsewhere.errors import LimitExceeded, MalformedPolicyDocument
from elsewhere.policy import Effect, PolicyKind, parse_policy, policy_size

V = "2012-10-17"


def _doc(*statements: dict[str, Any], version: str | None = V, **top: Any) -> str:
    d: dict[str, Any] = {} if version is None else {"Version": version}
    d.update(top)
    d["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    return json.dumps(d)


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
TRUST = {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}


def _s(**kw: Any) -> dict[str, Any]:
    out = dict(ALLOW)
    for k, v in kw.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"

MALFORMED: list[tuple[str, str, PolicyKind, str]] = [
    ("fail/not-json", "{", PolicyKind.IDENTITY, SYNTAX),
    ("fail/not-an-object", "[]", PolicyKind.IDENTITY, SYNTAX),
    (
        "fail/nan",
        _doc(_s()).replace('"*"}', '"*", "Condition": {"NumericEquals": {"k": NaN}}}'),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/unknown-top-key",
        json.dumps({"Version": V, "Statements": [ALLOW]}),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    ("fail/no-statement", json.dumps({"Version": V}), PolicyKind.IDENTITY, SYNTAX),
    (
        "fail/empty-statement-list",
        json.dumps({"Version": V, "Statement": []}),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/statement-not-object",
        json.dumps({"Version": V, "Statement": ["x"]}),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    ("fail/unknown-statement-key", _doc(_s(Actions="s3:*")), PolicyKind.IDENTITY, SYNTAX),
    (
        "fail/duplicate-member",
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow",'
        '"Effect":"Deny","Action":"s3:*","Resource":"*"}}',
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    ("fail/action-and-notaction", _doc(_s(NotAction="s3:*")), PolicyKind.IDENTITY, SYNTAX),
    ("fail/resource-and-notresource", _doc(_s(NotResource="*")), PolicyKind.IDENTITY, SYNTAX),
    ("fail/effect-missing", _doc(_s(Effect=None)), PolicyKind.IDENTITY, SYNTAX),
    ("fail/effect-other", _doc(_s(Effect="Permit")), PolicyKind.IDENTITY, SYNTAX),
    ("fail/action-not-string", _doc(_s(Action=5)), PolicyKind.IDENTITY, SYNTAX),
    ("fail/action-list-of-non-strings", _doc(_s(Action=["s3:*", 1])), PolicyKind.IDENTITY, SYNTAX),
    ("fail/condition-not-map", _doc(_s(Condition="x")), PolicyKind.IDENTITY, SYNTAX),
    (
        "fail/condition-body-not-map",
        _doc(_s(Condition={"StringEquals": "x"})),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/condition-value-object",
        _doc(_s(Condition={"StringEquals": {"k": {"a": 1}}})),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/unknown-operator",
        _doc(_s(Condition={"StringEqualz": {"k": "v"}})),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/operator-wrong-case",
        _doc(_s(Condition={"stringequals": {"k": "v"}})),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/null-if-exists",
        _doc(_s(Condition={"NullIfExists": {"k": "true"}})),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    ("fail/sid-not-string", _doc(_s(Sid=1)), PolicyKind.IDENTITY, SYNTAX),
    ("fail/id-not-string", _doc(_s(), Id=1), PolicyKind.IDENTITY, SYNTAX),
    ("fail/version-unknown", _doc(_s(), version="2012-10-18"), PolicyKind.IDENTITY, SYNTAX),
    (
        "fail/principal-unknown-key",
        _doc(dict(TRUST, Principal={"User": "x"})),
        PolicyKind.TRUST,
        SYNTAX,
    ),
    (
        "fail/char-outside-allowed-set",
        _doc(_s()).replace("s3:GetObject", "s3:Get\u0100"),
        PolicyKind.IDENTITY,
        SYNTAX,
    ),
    (
        "fail/vector-35-no-version",
        _doc(_s(), version=None),
        PolicyKind.IDENTITY,
        "Policy document must be version 2012-10-17 or greater.",
    ),
    (
        "fail/version-2008-identity",
        _doc(_s(), version="2008-10-17"),
        PolicyKind.IDENTITY,
        "Policy document must be version 2012-10-17 or greater.",
    ),
    (
        "fail/version-2008-boundary",
        _doc(_s(), version="2008-10-17"),
        PolicyKind.BOUNDARY,
        "Policy document must be version 2012-10-17 or greater.",
    ),
    (
        "fail/principal-in-identity",
        _doc(_s(Principal="*")),
        PolicyKind.IDENTITY,
        "Policy document should not specify a principal.",
    ),
    (
        "fail/principal-in-session",
        _doc(_s(Principal="*")),
        PolicyKind.SESSION,
        "Policy document should not specify a principal.",
    ),
    (
        "fail/no-principal-in-trust",
        _doc({k: v for k, v in TRUST.items() if k != "Principal"}),
        PolicyKind.TRUST,
        "Policy statement must contain a principal.",
    ),
    ("fail/vector-34-effect-lower-case", _doc(_s(Effect="allow")), PolicyKind.IDENTITY, LEGACY),
    (
        "fail/bad-date",
        _doc(_s(Condition={"DateGreaterThan": {"aws:CurrentTime": "yesterday"}})),
        PolicyKind.IDENTITY,
        LEGACY,
    ),
    (
        "fail/date-variable",
        _doc(_s(Condition={"DateLessThan": {"aws:CurrentTime": "${aws:TokenIssueTime}"}})),
        PolicyKind.IDENTITY,
        LEGACY,
    ),
    (
        "fail/vector-36-duplicate-sid",
        _doc(_s(Sid="A"), _s(Sid="A")),
        PolicyKind.IDENTITY,
        "Statement IDs (SID) in a single policy must be unique.",
    ),
    (
        "fail/sid-not-alphanumeric",
        _doc(_s(Sid="my-sid")),
        PolicyKind.IDENTITY,
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
        "expression [0-9A-Za-z]*",
    ),
    (
        "fail/no-action",
        _doc(_s(Action=None)),
        PolicyKind.IDENTITY,
        "Policy statement must contain actions.",
    ),
    (
        "fail/empty-action-list",
        _doc(_s(Action=[])),
        PolicyKind.IDENTITY,
        "Policy statement must contain actions.",
    ),
    (
        "fail/vector-37-resource-not-arn",
        _doc(_s(Resource="bucket")),
        PolicyKind.IDENTITY,
        'Resource bucket must be in ARN format or "*".',
    ),
    (
        "fail/resource-partition",
        _doc(_s(Resource="arn:foo:s3:::b")),
        PolicyKind.IDENTITY,
        'Partition "foo" is not valid for resource "arn:foo:s3:::b".',
    ),
    (
        "fail/resource-partition-short",
        _doc(_s(Resource="arn:foo:s3")),
        PolicyKind.IDENTITY,
        'Partition "foo" is not valid for resource "arn:foo:s3:*:*:*".',
    ),
    (
        "fail/resource-no-vendor",
        _doc(_s(Resource="arn:aws")),
        PolicyKind.IDENTITY,
        "Resource vendor must be fully qualified and cannot contain regexes.",
    ),
    (
        "fail/iam-resource-region",
        _doc(_s(Resource="arn:aws:iam:us-east-1::user/x")),
        PolicyKind.IDENTITY,
        "IAM resource arn:aws:iam:us-east-1::user/x cannot contain region information.",
    ),
    (
        "fail/s3-resource-region",
        _doc(_s(Resource="arn:aws:s3:us-east-1::b")),
        PolicyKind.IDENTITY,
        "Resource arn:aws:s3:us-east-1::b can not contain region information.",
    ),
    (
        "fail/iam-resource-path",
        _doc(_s(Resource="arn:aws:iam::111122223333:bogus/x")),
        PolicyKind.IDENTITY,
        'IAM resource path must either be "*" or start with user/, '
        "federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, "
        "sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.",
    ),
    (
        "fail/action-no-vendor",
        _doc(_s(Action="invalid")),
        PolicyKind.IDENTITY,
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    ),
    (
        "fail/action-two-colons",
        _doc(_s(Action="s3:List:Bucket")),
        PolicyKind.IDENTITY,
        "Actions/Condition can contain only one colon.",
    ),
    (
        "fail/action-bad-vendor",
        _doc(_s(Action="s3#:ListBucket")),
        PolicyKind.IDENTITY,
        "Vendor s3# is not valid",
    ),
    (
        "fail/no-resource-identity",
        _doc(_s(Resource=None)),
        PolicyKind.IDENTITY,
        "Policy statement must contain resources.",
    ),
    (
        "fail/no-resource-session",
        _doc(_s(Resource=None)),
        PolicyKind.SESSION,
        "Policy statement must contain resources.",
    ),
    (
        "fail/trust-with-resource",
        _doc(dict(TRUST, Resource="*")),
        PolicyKind.TRUST,
        "Has prohibited field Resource.",
    ),
    (
        "fail/trust-non-sts-action",
        _doc(dict(TRUST, Action="s3:GetObject")),
        PolicyKind.TRUST,
        "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and "
        "sts:AssumeRoleWithWebIdentity",
    ),
    (
        "fail/principal-partial-wildcard",
        _doc(dict(TRUST, Principal={"AWS": "arn:aws:iam::111122223333:role/*"})),
        PolicyKind.TRUST,
        'Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:role/*"',
    ),
    (
        "fail/principal-not-arn",
        _doc(dict(TRUST, Principal={"AWS": "bob"})),
        PolicyKind.TRUST,
        'Invalid principal in policy: "AWS":"bob"',
    ),
    # Check order: an earlier stage wins over a later one (reference §1.7).
    (
        "fail/order-version-before-legacy",
        _doc(_s(Effect="allow"), version=None),
        PolicyKind.IDENTITY,
        "Policy document must be version 2012-10-17 or greater.",
    ),
    (
        "fail/order-legacy-before-sid",
        _doc(_s(Effect="allow", Sid="A"), _s(Sid="A")),
        PolicyKind.IDENTITY,
        LEGACY,
    ),
    (
        "fail/order-actions-before-resources",
        _doc(_s(Action=None, Resource="bucket")),
        PolicyKind.IDENTITY,
        "Policy statement must contain actions.",
    ),
    (
        "fail/order-resource-before-vendor",
        _doc(_s(Action="bad", Resource="bucket")),
        PolicyKind.IDENTITY,
        'Resource bucket must be in ARN format or "*".',
    ),
]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [m[1:] for m in MALFORMED],
    ids=[m[0] for m in MALFORMED],
)
def test_malformed(text: str, kind: PolicyKind, message: str) -> None:
    """A bad document raises MalformedPolicyDocument with AWS's message."""
    with pytest.raises(MalformedPolicyDocument) as info:
        parse_policy(text, kind=kind)
    assert info.value.message == message
    assert info.value.code == "MalformedPolicyDocument"
    assert info.value.status == 400


ACCEPTED: list[tuple[str, str, PolicyKind]] = [
    ("ok/single-statement-object", _doc(_s()), PolicyKind.IDENTITY),
    (
        "ok/members-any-order",
        '{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow"}],"Version":"2012-10-17"}',
        PolicyKind.IDENTITY,
    ),
    ("ok/id-string", _doc(_s(), Id="cd3ad3d9-2776-4ef1-a904-4c229d1642ee"), PolicyKind.IDENTITY),
    ("ok/empty-sid-repeats", _doc(_s(Sid=""), _s(Sid="")), PolicyKind.IDENTITY),
    ("ok/empty-unknown-operator", _doc(_s(Condition={"Whatever": {}})), PolicyKind.IDENTITY),
    (
        "ok/condition-bool-number-list",
        _doc(
            _s(
                Condition={
                    "Bool": {"aws:SecureTransport": True},
                    "NumericLessThan": {"s3:max-keys": 10},
                    "StringEquals": {"k": ["a", "b"]},
                    "ForAnyValue:StringLike": {"aws:TagKeys": []},
                }
            )
        ),
        PolicyKind.IDENTITY,
    ),
    (
        "ok/every-operator",
        _doc(
            _s(
                Condition={
                    "StringEquals": {"a:a": "x"},
                    "StringNotEquals": {"a:a": "x"},
                    "StringEqualsIgnoreCase": {"a:a": "x"},
                    "StringNotEqualsIgnoreCase": {"a:a": "x"},
                    "StringLike": {"a:a": "x"},
                    "StringNotLike": {"a:a": "x"},
                    "NumericEquals": {"a:a": "1"},
                    "NumericNotEquals": {"a:a": "1"},
                    "NumericLessThan": {"a:a": "1"},
                    "NumericLessThanEquals": {"a:a": "1"},
                    "NumericGreaterThan": {"a:a": "1"},
                    "NumericGreaterThanEquals": {"a:a": "1"},
                    "DateEquals": {"a:a": "2020-01-01"},
                    "DateNotEquals": {"a:a": "1577836800"},
                    "DateLessThan": {"a:a": "2020-01-01T00:00Z"},
                    "DateLessThanEquals": {"a:a": "2020-01-01T00:00:00.123456789+02:00"},
                    "DateGreaterThan": {"a:a": "2020-01-01t00:00:00z"},
                    "DateGreaterThanEquals": {"a:a": "2020-01-01T00:00:00"},
                    "Bool": {"a:a": "true"},
                    "BinaryEquals": {"a:a": "QQ=="},
                    "IpAddress": {"a:a": "10.0.0.0/8"},
                    "NotIpAddress": {"a:a": "::1"},
                    "ArnEquals": {"a:a": "arn:aws:s3:::b"},
                    "ArnLike": {"a:a": "arn:*"},
                    "ArnNotEquals": {"a:a": "arn:aws:s3:::b"},
                    "ArnNotLike": {"a:a": "arn:*"},
                    "Null": {"a:a": "true"},
                    "StringEqualsIfExists": {"a:a": "x"},
                    "ForAllValues:StringLike": {"a:a": "x"},
                    "ForAnyValue:NumericLessThanIfExists": {"a:a": "2"},
                }
            )
        ),
        PolicyKind.IDENTITY,
    ),
    ("ok/trust-2008", _doc(TRUST, version="2008-10-17"), PolicyKind.TRUST),
    ("ok/trust-no-version", _doc(TRUST, version=None), PolicyKind.TRUST),
    (
        "ok/trust-rolesanywhere",
        _doc(
            dict(
                TRUST,
                Principal={"Service": "rolesanywhere.amazonaws.com"},
                Action=["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            )
        ),
        PolicyKind.TRUST,
    ),
    (
        "ok/trust-principal-forms",
        _doc(
            dict(
                TRUST,
                Principal={
                    "AWS": [
                        "*",
                        "111122223333",
                        "arn:aws:iam::111122223333:root",
                        "arn:aws:iam::111122223333:user/path/alice",
                        "arn:aws:iam::111122223333:role/r",
                        "arn:aws:sts::111122223333:assumed-role/r/s",
                        "arn:aws:sts::111122223333:federated-user/f",
                        "AIDACKCEVSQ6C2EXAMPLE",
                    ],
                    "Federated": "accounts.google.com",
                    "Service": ["ec2.amazonaws.com", "ecs.amazonaws.com"],
                },
            )
        ),
        PolicyKind.TRUST,
    ),
    (
        "ok/resource-policy-sid-with-space",
        _doc(
            {
                "Sid": "Allow read",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        PolicyKind.RESOURCE,
    ),
    (
        "ok/resource-policy-canonical-user",
        _doc(
            {
                "Effect": "Allow",
                "Principal": {"CanonicalUser": "79a59df900b949e5"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ),
        PolicyKind.RESOURCE,
    ),
    ("ok/session-no-version", _doc(_s(), version=None), PolicyKind.SESSION),
    ("ok/star-vendor-action", _doc(_s(Action="*:Get*")), PolicyKind.IDENTITY),
    ("ok/unknown-but-well-formed-action", _doc(_s(Action="s3:NoSuchAction")), PolicyKind.IDENTITY),
    (
        "ok/s3-access-point-region",
        _doc(_s(Resource="arn:aws:s3:us-east-1:111122223333:accesspoint/ap")),
        PolicyKind.IDENTITY,
    ),
    ("ok/other-partition", _doc(_s(Resource="arn:aws-cn:s3:::b")), PolicyKind.IDENTITY),
    (
        "ok/iam-root-resource",
        _doc(_s(Resource="arn:aws:iam::111122223333:root")),
        PolicyKind.IDENTITY,
    ),
]


@pytest.mark.parametrize(("text", "kind"), [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_accepted(text: str, kind: PolicyKind) -> None:
    """Valid documents parse and compile."""
    policy = parse_policy(text, kind=kind, policy_id="x")
    assert policy.statements
    assert policy.id == "x"


def test_compiled_policy_is_immutable() -> None:
    """Compiled policies and statements are frozen."""
    policy = parse_policy(_doc(_s(Sid="A")), kind=PolicyKind.IDENTITY)
    st = policy.statements[0]
    assert (st.sid, st.effect, st.index) == ("A", Effect.ALLOW, 0)
    with pytest.raises(AttributeError):
        policy.id = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        st.sid = "B"  # type: ignore[misc]


def test_version_defaults_and_variables_flag() -> None:
    """Without Version a policy is read as 2008-10-17, where variables are literal text."""
    p = parse_policy(_doc(TRUST, version=None), kind=PolicyKind.TRUST)
    assert p.version == "2008-10-17"
    assert not p.variables
    assert parse_policy(_doc(_s()), kind=PolicyKind.IDENTITY).variables


def test_size_counts_no_whitespace_outside_strings() -> None:
    """Whitespace outside strings is not counted toward quotas (IAM quotas page)."""
    assert policy_size('{ "a" : "b c" ,\n "d":1 }') == len('{"a":"b c","d":1}')


def test_size_limits_default_per_kind() -> None:
    """6,144 characters for managed policies, 2,048 for trust policies, configurable."""
    filler = ["s3:" + "A" * 100 + str(i) for i in range(70)]
    big = _doc(_s(Action=filler))
    assert policy_size(big) > 6144
    with pytest.raises(LimitExceeded) as info:
        parse_policy(big, kind=PolicyKind.IDENTITY)
    assert info.value.message == "Cannot exceed quota for PolicySize: 6144"
    parse_policy(big, kind=PolicyKind.IDENTITY, max_size=None)
    parse_policy(big, kind=PolicyKind.IDENTITY, max_size=10240)
    trust = _doc(dict(TRUST, Action=["sts:AssumeRole"] * 150))
    with pytest.raises(LimitExceeded) as info:
        parse_policy(trust, kind=PolicyKind.TRUST)
    assert info.value.message == "Cannot exceed quota for ACLSizePerRole: 2048"


def test_require_current_version_override() -> None:
    """Simulation may evaluate 2008-10-17 identity policies; storing them is refused."""
    text = _doc(_s(), version="2008-10-17")
    assert parse_policy(text, kind=PolicyKind.IDENTITY, require_current_version=False)
    with pytest.raises(MalformedPolicyDocument):
        parse_policy(text, kind=PolicyKind.SESSION, require_current_version=True)
