"""rewrite_principals: AWS principal values replaced, every other byte of the document kept."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elsewhere.policy import PolicyKind, parse_policy, principal_values, rewrite_principals

USER = "arn:aws:iam::123456789012:user/alice"
ROLE = "arn:aws:iam::123456789012:role/ops/deploy"
IDS = {USER: "AIDAEXAMPLEALICE00001", ROLE: "AROAEXAMPLEDEPLOY0001"}


def _bind(value: str) -> str | None:
    return IDS.get(value)


def _fill(template: str, *values: str) -> str:
    """``template`` with ``@0@``, ``@1@``, ... replaced by ``values`` (JSON is full of braces)."""
    for index, value in enumerate(values):
        template = template.replace(f"@{index}@", value)
    return template


_ONE = '{"Statement":{"Effect":"Allow","Principal":{"AWS":"@0@"},"Action":"sts:AssumeRole"}}'
_LAID_OUT = (
    '{\n  "Statement": [ {\n    "Effect" : "Allow",\n    "Principal" : { "AWS" : [ "@0@",'
    ' "123456789012", "@1@" ] , "Service": "@2@" },\n    "Action": "sts:AssumeRole"\n  } ]\n}'
)
_NOT = '{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["@0@"]},"Action":"sts:*"}]}'
_ESCAPED_NAME = (
    '{"Statement":[{"Effect":"Allow","Principal":{"\\u0041WS":"@0@"},"Action":"sts:*"}]}'
)
_PLAIN = '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"@0@"},"Action":"sts:*"}]}'
_CONDITION = (
    '{"Statement":[{"Effect":"Allow","Principal":{"Service":"x.amazonaws.com"},'
    '"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"@0@"}}}]}'
)

CASES = [
    ("ok/single-string", _fill(_ONE, USER), _fill(_ONE, IDS[USER])),
    (
        "ok/list-keeps-others-and-layout",
        _fill(_LAID_OUT, ROLE, USER, USER),
        _fill(_LAID_OUT, IDS[ROLE], IDS[USER], USER),
    ),
    ("ok/not-principal", _fill(_NOT, USER), _fill(_NOT, IDS[USER])),
    (
        "ok/escaped-member-name-is-still-aws",
        _fill(_ESCAPED_NAME, USER),
        _fill(_ESCAPED_NAME, IDS[USER]),
    ),
    (
        "ok/escaped-value-is-decoded-before-matching",
        _fill(_PLAIN, USER.replace("alice", "\\u0061lice")),
        _fill(_PLAIN, IDS[USER]),
    ),
    ("ok/condition-and-resource-values-untouched", _fill(_CONDITION, USER), None),
    ("ok/star-principal-untouched", '{"Statement":[{"Principal":"*","Action":"a:b"}]}', None),
    ("ok/not-json-unchanged", '{"Statement": [', None),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rewrite(name: str, text: str, expected: str | None) -> None:
    """Each case: exactly the AWS principal values change, in place."""
    assert rewrite_principals(text, _bind) == (text if expected is None else expected)


def test_principal_values_in_document_order() -> None:
    """principal_values lists the AWS values of every statement, decoded."""
    text = _fill(
        '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["@0@","*"]},"Action":"sts:*"},'
        '{"Effect":"Deny","NotPrincipal":{"AWS":"@1@"},"Action":"sts:*"}]}',
        USER,
        ROLE,
    )
    assert principal_values(text) == [USER, "*", ROLE]


def test_result_is_the_same_policy_with_the_new_principals() -> None:
    """The rewritten text parses as a trust policy naming the ids instead of the ARNs."""
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": [USER, ROLE]}, "Action": "sts:AssumeRole"}
            ],
        },
        indent=2,
    )
    bound = rewrite_principals(text, _bind)
    parse_policy(bound, kind=PolicyKind.TRUST)
    assert json.loads(bound)["Statement"][0]["Principal"]["AWS"] == [IDS[USER], IDS[ROLE]]
    back = {v: k for k, v in IDS.items()}
    assert rewrite_principals(bound, back.get) == text


_names = st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=1, max_size=8)


@given(st.lists(_names, min_size=1, max_size=5), st.integers(0, 4), st.booleans())
def test_property_round_trip(names: list[str], indent: int, listed: bool) -> None:
    """Replacing each value and then mapping it back gives the original text, byte for byte."""
    arns = [f"arn:aws:iam::123456789012:user/{n}" for n in names]
    text = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": arns if listed else arns[0], "Service": "s.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringLike": {"aws:PrincipalArn": arns}},
                }
            ]
        },
        indent=indent or None,
    )
    forward = {arn: f"AIDA{i:017d}" for i, arn in enumerate(dict.fromkeys(arns))}
    bound = rewrite_principals(text, forward.get)
    assert principal_values(bound) == [forward[a] for a in (arns if listed else arns[:1])]
    back = {v: k for k, v in forward.items()}
    assert rewrite_principals(bound, back.get) == text
