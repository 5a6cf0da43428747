"""Evaluation cases written from the AWS IAM User Guide, as plain JSON-able data.

Each case: ``name`` (``ok/...`` = allowed, ``fail/...`` = denied), ``doc`` (the page it encodes),
``policies`` (``identity``: list of JSON texts; ``resource``: JSON text or None with
``resource_kind`` ``resource`` or ``trust``; ``boundary``: JSON text or None; ``session``: list or
None), ``context`` (``action``, ``resource``, ``principal`` as a dict or None, ``resource_account``,
``keys``: list of ``{name, type, values}`` in SimulateCustomPolicy ``ContextEntry`` terms) and
``expected`` (``allowed`` | ``explicitDeny`` | ``implicitDeny``), optionally ``decided_by`` (the
policy kind named in the AccessDenied message), and ``simulatable`` (whether IAM's
SimulateCustomPolicy can express the case).

Cases named ``.../vector-NN-...`` reproduce the numbered test vectors of the team reference
(``iam-policy-evaluation.md`` §10). Run ``python -m tests.unit.policy.evaluation_table`` to print
the table as JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any

BASE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
ACTION = BASE + "reference_policies_elements_action.html"
NOTACTION = BASE + "reference_policies_elements_notaction.html"
RESOURCE = BASE + "reference_policies_elements_resource.html"
NOTRESOURCE = BASE + "reference_policies_elements_notresource.html"
VARS = BASE + "reference_policies_variables.html"
OPERATORS = BASE + "reference_policies_elements_condition_operators.html"
CONDITION = BASE + "reference_policies_elements_condition.html"
MULTI = BASE + "reference_policies_condition-single-vs-multi-valued-context-keys.html"
MULTI_EX = BASE + "reference_policies_condition_examples-multi-valued-context-keys.html"
EVAL = BASE + "reference_policies_evaluation-logic.html"
EVAL_DA = BASE + "reference_policies_evaluation-logic_policy-eval-denyallow.html"
EVAL_XA = BASE + "reference_policies_evaluation-logic-cross-account.html"
BOUNDARY = BASE + "access_policies_boundaries.html"
POLICIES = BASE + "access_policies.html"
PRINCIPAL = BASE + "reference_policies_elements_principal.html"
NOTPRINCIPAL = BASE + "reference_policies_elements_notprincipal.html"
TRUST_UPD = BASE + "id_roles_update-role-trust-policy.html"
REVOKE = BASE + "id_roles_use_revoke-sessions.html"
GKEYS = BASE + "reference_policies_condition-keys.html"
GRAMMAR = BASE + "reference_policies_grammar.html"
STS_ASSUME = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html"
STS_FED = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html"
IAMSIM = "observed: cloud-copilot/iam-simulate (reference §3.7, §3.3)"

ACCT = "111122223333"
OTHER = "444455556666"

USER = {"arn": f"arn:aws:iam::{ACCT}:user/alice", "account": ACCT, "type": "User"}
SESSION = {
    "arn": f"arn:aws:sts::{ACCT}:assumed-role/app/sess1",
    "account": ACCT,
    "type": "AssumedRole",
    "role_arn": f"arn:aws:iam::{ACCT}:role/app",
}
FEDERATED = {
    "arn": f"arn:aws:sts::{ACCT}:federated-user/bob",
    "account": ACCT,
    "type": "FederatedUser",
    "federating_user_arn": f"arn:aws:iam::{ACCT}:user/bob",
}
ROOT = {"arn": f"arn:aws:iam::{ACCT}:root", "account": ACCT, "type": "Account"}
OTHER_USER = {"arn": f"arn:aws:iam::{OTHER}:user/carol", "account": OTHER, "type": "User"}
ANONYMOUS = {"arn": "", "account": "", "type": "Anonymous"}
SERVICE = {"arn": "", "account": "", "type": "Service", "service": "ec2.amazonaws.com"}

ROLE_ARN = f"arn:aws:iam::{ACCT}:role/app"
BUCKET = "arn:aws:s3:::bkt"
OBJECT = "arn:aws:s3:::bkt/key"


def stmt(effect: str, action: Any = None, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """One statement; ``not_action``/``not_resource``/``principal``/... go through ``extra``."""
    s: dict[str, Any] = {"Effect": effect}
    if "sid" in extra:
        s["Sid"] = extra.pop("sid")
    for k in ("principal", "not_principal"):
        if k in extra:
            s["Principal" if k == "principal" else "NotPrincipal"] = extra.pop(k)
    if "not_action" in extra:
        s["NotAction"] = extra.pop("not_action")
    else:
        s["Action"] = action
    if "not_resource" in extra:
        s["NotResource"] = extra.pop("not_resource")
    elif resource is not None:
        s["Resource"] = resource
    if "condition" in extra:
        s["Condition"] = extra.pop("condition")
    assert not extra, extra
    return s


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """An Allow statement."""
    return stmt("Allow", action, resource, **extra)


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """A Deny statement."""
    return stmt("Deny", action, resource, **extra)


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    """A policy document as JSON text."""
    d: dict[str, Any] = {}
    if version is not None:
        d["Version"] = version
    d["Statement"] = list(statements)
    return json.dumps(d)


def key(name: str, *values: str, type: str = "string") -> dict[str, Any]:
    """A context entry."""
    return {"name": name, "type": type, "values": list(values)}


def keys_of(k: Any) -> list[dict[str, Any]]:
    """Normalise ``{name: value}`` / list-of-entries to entries (lists become stringList)."""
    if k is None:
        return []
    if isinstance(k, list):
        return k
    out = []
    for name, v in k.items():
        if isinstance(v, list):
            out.append(key(name, *v, type="stringList"))
        else:
            out.append(key(name, v))
    return out


CASES: list[dict[str, Any]] = []


def case(
    name: str,
    doc_url: str,
    expected: str,
    *,
    action: str,
    resource: str = "*",
    identity: tuple[str, ...] | list[str] = (),
    rbp: str | None = None,
    rbp_kind: str = "resource",
    boundary: str | None = None,
    session: list[str] | None = None,
    principal: dict[str, str] | None = USER,
    keys: Any = None,
    resource_account: str = "",
    decided_by: str | None = None,
) -> None:
    """Append one case to ``CASES``."""
    prefix = "ok/" if expected == "allowed" else "fail/"
    entry: dict[str, Any] = {
        "name": prefix + name,
        "doc": doc_url,
        "policies": {
            "identity": list(identity),
            "resource": rbp,
            "resource_kind": rbp_kind,
            "boundary": boundary,
            "session": session,
        },
        "context": {
            "action": action,
            "resource": resource,
            "principal": principal,
            "resource_account": resource_account,
            "keys": keys_of(keys),
        },
        "expected": expected,
    }
    if decided_by is not None:
        entry["decided_by"] = decided_by
    # Whether IAM's SimulateCustomPolicy can express the case: no session policies, no trust
    # policy, and a caller that is an IAM user (CallerArn must be a user) or none.
    entry["simulatable"] = (
        session is None
        and rbp_kind != "trust"
        and (principal is None or principal.get("type") == "User")
    )
    CASES.append(entry)


A, E, I = "allowed", "explicitDeny", "implicitDeny"  # noqa: E741

# --- Action / NotAction -------------------------------------------------------------------------
case(
    "action/vector-01-case-insensitive",
    ACTION,
    A,
    action="iam:ListAccessKeys",
    identity=[doc(allow("IAM:listaccesskeys"))],
)
case(
    "action/vector-02-inner-wildcards",
    ACTION,
    A,
    action="iam:UpdateAccessKey",
    identity=[doc(allow("iam:*AccessKey*"))],
)
case(
    "action/inner-wildcards-no-match",
    ACTION,
    I,
    action="iam:ListUsers",
    identity=[doc(allow("iam:*AccessKey*"))],
    decided_by="identity",
)
case("action/star-matches-all", ACTION, A, action="ec2:RunInstances", identity=[doc(allow("*"))])
case("action/service-star", ACTION, A, action="s3:PutObject", identity=[doc(allow("s3:*"))])
case(
    "action/service-star-other-service",
    ACTION,
    I,
    action="sqs:SendMessage",
    identity=[doc(allow("s3:*"))],
)
case(
    "action/list-any-element",
    ACTION,
    A,
    action="sqs:SendMessage",
    identity=[doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage"]))],
)
case(
    "action/list-none",
    ACTION,
    I,
    action="sqs:DeleteQueue",
    identity=[doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage"]))],
)
case(
    "action/prefix-wildcard", ACTION, A, action="s3:GetObjectAcl", identity=[doc(allow("s3:Get*"))]
)
case(
    "action/prefix-wildcard-whole-name",
    ACTION,
    I,
    action="s3:PutObject",
    identity=[doc(allow("s3:Get*"))],
)
case(
    "action/question-mark-one-char",
    ACTION,
    A,
    action="ec2:StopInstances",
    identity=[doc(allow("ec2:St??Instances"))],
)
case(
    "action/question-mark-not-two",
    ACTION,
    I,
    action="ec2:StartInstances",
    identity=[doc(allow("ec2:St??Instances"))],
)
case(
    "action/exact-not-prefix",
    ACTION,
    I,
    action="s3:GetObjectAcl",
    identity=[doc(allow("s3:GetObject"))],
)
case(
    "action/whitespace-never-matches",
    IAMSIM,
    I,
    action="s3:GetObject",
    identity=[doc(allow("s3:Get Object"))],
)
case(
    "action/request-upper-case",
    ACTION,
    A,
    action="S3:GETOBJECT",
    identity=[doc(allow("s3:GetObject"))],
)
case(
    "notaction/allow-all-but-iam",
    NOTACTION,
    A,
    action="s3:ListAllMyBuckets",
    identity=[doc(allow(None, not_action="iam:*"))],
)
case(
    "notaction/allow-all-but-iam-iam",
    NOTACTION,
    I,
    action="iam:CreateUser",
    identity=[doc(allow(None, not_action="iam:*"))],
)
case(
    "notaction/s3-except-deletebucket-object",
    NOTACTION,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow(None, "arn:aws:s3:::*", not_action="s3:DeleteBucket"))],
)
case(
    "notaction/s3-except-deletebucket-deletebucket",
    NOTACTION,
    I,
    action="s3:DeleteBucket",
    resource=BUCKET,
    identity=[doc(allow(None, "arn:aws:s3:::*", not_action="s3:DeleteBucket"))],
)
case(
    "notaction/resource-limits-listallmybuckets",
    NOTACTION,
    I,
    action="s3:ListAllMyBuckets",
    identity=[doc(allow(None, "arn:aws:s3:::*", not_action="s3:DeleteBucket"))],
)
case(
    "notaction/resource-limits-other-service",
    NOTACTION,
    I,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    identity=[doc(allow(None, "arn:aws:s3:::*", not_action="s3:DeleteBucket"))],
)
_MFA_DENY = deny(
    None, not_action="iam:*", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
)
case(
    "notaction/deny-without-mfa-non-iam",
    NOTACTION,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"), _MFA_DENY)],
    keys={"aws:MultiFactorAuthPresent": "false"},
)
case(
    "notaction/deny-without-mfa-iam-passes",
    NOTACTION,
    A,
    action="iam:ListUsers",
    identity=[doc(allow("*"), _MFA_DENY)],
    keys={"aws:MultiFactorAuthPresent": "false"},
)
case(
    "notaction/deny-without-mfa-with-mfa",
    NOTACTION,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"), _MFA_DENY)],
    keys={"aws:MultiFactorAuthPresent": "true"},
)
case(
    "notaction/deny-grants-nothing",
    NOTACTION,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(_MFA_DENY)],
    keys={"aws:MultiFactorAuthPresent": "true"},
)
case(
    "notaction/long-term-keys-no-mfa-key",
    NOTACTION,
    E,
    action="ec2:RunInstances",
    identity=[doc(allow("*"), _MFA_DENY)],
)

# --- Resource / NotResource ---------------------------------------------------------------------
case(
    "resource/vector-03-star-spans-slashes",
    RESOURCE,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/a/b/c",
    identity=[doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))],
)
case(
    "resource/vector-04-bucket-not-object-pattern",
    RESOURCE,
    I,
    action="s3:ListBucket",
    resource="arn:aws:s3:::b",
    identity=[doc(allow("s3:ListBucket", "arn:aws:s3:::b/*"))],
)
case(
    "resource/star-matches-all",
    RESOURCE,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    identity=[doc(allow("sqs:*", "*"))],
)
case(
    "resource/star-matches-no-resource-action",
    RESOURCE,
    A,
    action="s3:ListAllMyBuckets",
    identity=[doc(allow("s3:*", "*"))],
)
case(
    "resource/arn-does-not-match-star-request",
    RESOURCE,
    I,
    action="s3:ListAllMyBuckets",
    identity=[doc(allow("s3:*", "arn:aws:s3:::*"))],
)
case(
    "resource/exact",
    RESOURCE,
    A,
    action="iam:GetUser",
    resource=f"arn:aws:iam::{ACCT}:user/bob",
    identity=[doc(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/bob"))],
)
case(
    "resource/exact-other",
    RESOURCE,
    I,
    action="iam:GetUser",
    resource=f"arn:aws:iam::{ACCT}:user/bobby",
    identity=[doc(allow("iam:GetUser", f"arn:aws:iam::{ACCT}:user/bob"))],
)
case(
    "resource/wildcard-region-segment",
    RESOURCE,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:eu-west-1:{ACCT}:jobs",
    identity=[doc(allow("sqs:SendMessage", f"arn:aws:sqs:*:{ACCT}:jobs"))],
)
case(
    "resource/wildcard-account-segment",
    RESOURCE,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:eu-west-1:{ACCT}:jobs",
    identity=[doc(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:*:jobs"))],
)
case(
    "resource/question-mark-in-segment",
    RESOURCE,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:job1",
    identity=[doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCT}:job?"))],
)
case(
    "resource/segment-star-does-not-cross-colon",
    RESOURCE,
    I,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:999999999999:x:{ACCT}:jobs",
    identity=[doc(allow("sqs:SendMessage", f"arn:aws:sqs:*:{ACCT}:jobs"))],
)
case(
    "resource/resource-part-case-sensitive",
    RESOURCE,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::bkt/Key",
    identity=[doc(allow("s3:GetObject", "arn:aws:s3:::bkt/key"))],
)
case(
    "resource/multiple-wildcards",
    RESOURCE,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::logs-2026/app/x.log",
    identity=[doc(allow("s3:GetObject", "arn:aws:s3:::logs-*/*.log"))],
)
case(
    "resource/list-any",
    RESOURCE,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b2/x",
    identity=[doc(allow("s3:GetObject", ["arn:aws:s3:::b1/*", "arn:aws:s3:::b2/*"]))],
)
case(
    "resource/resource-type-colon",
    RESOURCE,
    A,
    action="logs:GetLogEvents",
    resource=f"arn:aws:logs:us-east-1:{ACCT}:log-group:/app/web:log-stream:1",
    identity=[doc(allow("logs:GetLogEvents", f"arn:aws:logs:us-east-1:{ACCT}:log-group:/app/*"))],
)
case(
    "resource/short-arn-padded",
    IAMSIM,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    identity=[doc(allow("sqs:*", "arn:aws:sqs"))],
)
case(
    "resource/segment-final-star-expands",
    RESOURCE,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    identity=[doc(allow("sqs:*", "arn:aws:sqs:*"))],
)
case(
    "notresource/deny-s3-outside-list",
    NOTRESOURCE,
    E,
    action="s3:GetObject",
    resource="arn:aws:s3:::other/k",
    identity=[
        doc(allow("*"), deny("s3:*", not_resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]))
    ],
)
case(
    "notresource/deny-s3-inside-list",
    NOTRESOURCE,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(allow("*"), deny("s3:*", not_resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]))
    ],
)
case(
    "notresource/other-service-unaffected",
    NOTRESOURCE,
    A,
    action="sqs:ListQueues",
    identity=[
        doc(allow("*"), deny("s3:*", not_resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]))
    ],
)
case(
    "notresource/allow-all-except",
    NOTRESOURCE,
    A,
    action="iam:GetUser",
    resource=f"arn:aws:iam::{ACCT}:user/x",
    identity=[doc(allow("*", not_resource=f"arn:aws:iam::{ACCT}:user/admin"))],
)
case(
    "notresource/allow-all-except-excluded",
    NOTRESOURCE,
    I,
    action="iam:GetUser",
    resource=f"arn:aws:iam::{ACCT}:user/admin",
    identity=[doc(allow("*", not_resource=f"arn:aws:iam::{ACCT}:user/admin"))],
)
case(
    "notresource/star-request",
    NOTRESOURCE,
    A,
    action="iam:ListUsers",
    identity=[doc(allow("*", not_resource=f"arn:aws:iam::{ACCT}:user/admin"))],
)

# --- Policy variables ---------------------------------------------------------------------------
_HOME = doc(allow("s3:*", "arn:aws:s3:::b/${aws:username}/*"))
case(
    "vars/username-in-resource",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/David/x",
    identity=[_HOME],
    keys={"aws:username": "David"},
)
case(
    "vars/username-other-user",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/Bob/x",
    identity=[_HOME],
    keys={"aws:username": "David"},
)
case(
    "vars/vector-05-missing-key-no-match",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/David/x",
    identity=[_HOME],
    principal=SESSION,
)
case(
    "vars/vector-06-2008-literal",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/${aws:username}/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:username}/*"), version="2008-10-17")],
    keys={"aws:username": "David"},
)
case(
    "vars/2008-not-substituted",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/David/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:username}/*"), version="2008-10-17")],
    keys={"aws:username": "David"},
)
case(
    "vars/key-name-case-insensitive",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/David/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${AWS:UserName}/*"))],
    keys={"aws:username": "David"},
)
case(
    "vars/default-used",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/none/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/team, 'none'}/*"))],
)
case(
    "vars/default-not-used-when-present",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/none/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/team, 'none'}/*"))],
    keys={"aws:PrincipalTag/team": "blue"},
)
case(
    "vars/principal-tag",
    VARS,
    A,
    action="dynamodb:GetItem",
    resource=f"arn:aws:dynamodb:us-east-1:{ACCT}:table/blue-orders",
    identity=[
        doc(allow("dynamodb:*", f"arn:aws:dynamodb:*:{ACCT}:table/${{aws:PrincipalTag/team}}-*"))
    ],
    keys={"aws:PrincipalTag/team": "blue"},
)
case(
    "vars/literal-star-escape",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/*/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${*}/x"))],
)
case(
    "vars/literal-star-escape-not-wildcard",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/anything/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${*}/x"))],
)
case(
    "vars/literal-question-escape",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/?",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${?}"))],
)
case(
    "vars/literal-dollar-escape",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/$x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${$}x"))],
)
case(
    "vars/value-is-literal",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/abc/x",
    identity=[_HOME],
    keys={"aws:username": "a*"},
)
case(
    "vars/source-identity",
    VARS,
    A,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/jdoe/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:SourceIdentity}/*"))],
    principal=SESSION,
    keys={"aws:SourceIdentity": "jdoe"},
)
case(
    "vars/in-condition-string-equals",
    VARS,
    A,
    action="ec2:StopInstances",
    resource=f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1",
    identity=[
        doc(
            allow(
                "ec2:*",
                condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            )
        )
    ],
    keys={"aws:ResourceTag/team": "blue", "aws:PrincipalTag/team": "blue"},
)
case(
    "vars/in-condition-mismatch",
    VARS,
    I,
    action="ec2:StopInstances",
    resource=f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1",
    identity=[
        doc(
            allow(
                "ec2:*",
                condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            )
        )
    ],
    keys={"aws:ResourceTag/team": "red", "aws:PrincipalTag/team": "blue"},
)
case(
    "vars/in-condition-missing-variable",
    VARS,
    I,
    action="ec2:StopInstances",
    resource=f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1",
    identity=[
        doc(
            allow(
                "ec2:*",
                condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            )
        )
    ],
    keys={"aws:ResourceTag/team": "blue"},
)
case(
    "vars/multivalued-key-not-a-variable",
    VARS,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::b/a/x",
    identity=[doc(allow("s3:*", "arn:aws:s3:::b/${aws:TagKeys}/*"))],
    keys={"aws:TagKeys": ["a"]},
)
case(
    "vars/vector-10-s3-prefix-home",
    VARS,
    A,
    action="s3:ListBucket",
    resource="arn:aws:s3:::b",
    identity=[
        doc(
            allow(
                "s3:ListBucket",
                "arn:aws:s3:::b",
                condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
            )
        )
    ],
    keys={"aws:username": "David", "s3:prefix": "home/David/"},
)
case(
    "vars/s3-prefix-root",
    VARS,
    A,
    action="s3:ListBucket",
    resource="arn:aws:s3:::b",
    identity=[
        doc(
            allow(
                "s3:ListBucket",
                "arn:aws:s3:::b",
                condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
            )
        )
    ],
    keys={"aws:username": "David", "s3:prefix": ""},
)
case(
    "vars/s3-prefix-other-home",
    VARS,
    I,
    action="s3:ListBucket",
    resource="arn:aws:s3:::b",
    identity=[
        doc(
            allow(
                "s3:ListBucket",
                "arn:aws:s3:::b",
                condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
            )
        )
    ],
    keys={"aws:username": "David", "s3:prefix": "home/Bob/"},
)


# --- String operators ---------------------------------------------------------------------------
def _c(op: str, k: str, v: Any) -> str:
    """An identity policy allowing everything under one condition."""
    return doc(allow("*", condition={op: {k: v}}))


case(
    "string/vector-07-equals-case-sensitive",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:username", "johndoe")],
    keys={"aws:username": "JohnDoe"},
)
case(
    "string/vector-08-equals-ignore-case",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEqualsIgnoreCase", "aws:username", "johndoe")],
    keys={"aws:username": "JohnDoe"},
)
case(
    "string/equals-exact",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:username", "johndoe")],
    keys={"aws:username": "johndoe"},
)
case(
    "string/equals-star-is-literal",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:username", "john*")],
    keys={"aws:username": "johndoe"},
)
case(
    "string/equals-any-of-values",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:username", ["a", "b", "johndoe"])],
    keys={"aws:username": "johndoe"},
)
case(
    "string/vector-09-not-equals-listed",
    MULTI,
    I,
    action="iam:ListUsers",
    identity=[_c("StringNotEquals", "aws:PrincipalAccount", [ACCT, OTHER])],
    keys={"aws:PrincipalAccount": ACCT},
)
case(
    "string/vector-09-not-equals-unlisted",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[_c("StringNotEquals", "aws:PrincipalAccount", [ACCT, OTHER])],
    keys={"aws:PrincipalAccount": "999999999999"},
)
case(
    "string/not-equals-missing-key-true",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringNotEquals", "aws:PrincipalOrgID", "o-123")],
)
case(
    "string/equals-missing-key-false",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:PrincipalOrgID", "o-123")],
)
case(
    "string/not-equals-ignore-case",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringNotEqualsIgnoreCase", "aws:username", "JOHNDOE")],
    keys={"aws:username": "johndoe"},
)
case(
    "string/not-equals-ignore-case-other",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringNotEqualsIgnoreCase", "aws:username", "JOHNDOE")],
    keys={"aws:username": "jane"},
)
case(
    "string/like-star",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringLike", "aws:userid", "AIDA*")],
    keys={"aws:userid": "AIDAEXAMPLE"},
)
case(
    "string/like-question",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringLike", "aws:username", "jo?n")],
    keys={"aws:username": "joan"},
)
case(
    "string/like-case-sensitive",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringLike", "aws:userid", "aida*")],
    keys={"aws:userid": "AIDAEXAMPLE"},
)
case(
    "string/like-whole-value",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringLike", "aws:username", "jo")],
    keys={"aws:username": "john"},
)
case(
    "string/not-like-match",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringNotLike", "aws:username", ["adm*", "root*"])],
    keys={"aws:username": "admin"},
)
case(
    "string/not-like-nomatch",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringNotLike", "aws:username", ["adm*", "root*"])],
    keys={"aws:username": "alice"},
)
case(
    "string/key-name-case-insensitive",
    CONDITION,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "AWS:UserName", "alice")],
    keys={"aws:username": "alice"},
)
case(
    "string/tag-key-case-insensitive",
    CONDITION,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:PrincipalTag/Team", "blue")],
    keys={"aws:principaltag/TEAM": "blue"},
)
case(
    "string/tag-value-case-sensitive",
    GKEYS,
    I,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "aws:PrincipalTag/team", "blue")],
    keys={"aws:PrincipalTag/team": "Blue"},
)
case(
    "string/number-value-as-string",
    GRAMMAR,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "s3:max-keys", 10)],
    keys={"s3:max-keys": "10"},
)
case(
    "string/equals-empty-string",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringEquals", "s3:prefix", "")],
    keys={"s3:prefix": ""},
)

# --- Numeric ------------------------------------------------------------------------------------
for op, val, req, exp in [
    ("NumericEquals", "10", "10", A),
    ("NumericEquals", "10", "10.0", A),
    ("NumericEquals", "10", "11", I),
    ("NumericNotEquals", "10", "11", A),
    ("NumericNotEquals", "10", "10", I),
    ("NumericLessThan", "10", "9", A),
    ("NumericLessThan", "10", "10", I),
    ("NumericLessThanEquals", "10", "10", A),
    ("NumericGreaterThan", "3600", "3601", A),
    ("NumericGreaterThan", "3600", "3600", I),
    ("NumericGreaterThanEquals", "1.5", "1.5", A),
    ("NumericLessThan", "10", "abc", I),
    ("NumericNotEquals", "10", "abc", A),
]:
    case(
        f"numeric/{op}-{val}-vs-{req}",
        OPERATORS,
        exp,
        action="s3:ListBucket",
        resource=BUCKET,
        identity=[_c(op, "s3:max-keys", val)],
        keys={"s3:max-keys": req},
    )
case(
    "numeric/missing-key",
    OPERATORS,
    I,
    action="s3:ListBucket",
    resource=BUCKET,
    identity=[_c("NumericLessThan", "s3:max-keys", "10")],
)
case(
    "numeric/mfa-age-deny",
    GKEYS,
    E,
    action="ec2:StopInstances",
    identity=[
        doc(
            allow("*"),
            deny("ec2:*", condition={"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}),
        )
    ],
    keys={"aws:MultiFactorAuthAge": "7200"},
)
case(
    "numeric/json-number-value",
    GRAMMAR,
    A,
    action="s3:ListBucket",
    resource=BUCKET,
    identity=[_c("NumericLessThanEquals", "s3:max-keys", 10)],
    keys={"s3:max-keys": "7"},
)

# --- Date ---------------------------------------------------------------------------------------
for op, val, req, exp in [
    ("DateGreaterThan", "2020-01-01T00:00:01Z", "2021-05-01T00:00:00Z", A),
    ("DateGreaterThan", "2020-01-01T00:00:01Z", "2019-05-01T00:00:00Z", I),
    ("DateLessThan", "2026-01-01T12:00:00Z", "2025-12-31T23:59:59Z", A),
    ("DateLessThan", "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z", I),
    ("DateLessThanEquals", "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z", A),
    ("DateEquals", "2026-01-01T12:00:00Z", "2026-01-01T13:00:00+01:00", A),
    ("DateNotEquals", "2026-01-01T12:00:00Z", "2026-01-01T12:00:01Z", A),
    ("DateGreaterThanEquals", "2026-01-01", "2026-01-01T00:00:00Z", A),
    ("DateLessThan", "1767225600", "2025-06-01T00:00:00Z", A),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "1767225601", A),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "not-a-date", I),
]:
    case(
        f"date/{op}-{val}-vs-{req}",
        OPERATORS,
        exp,
        action="iam:ListUsers",
        identity=[_c(op, "aws:CurrentTime", val)],
        keys={"aws:CurrentTime": req},
    )
case(
    "date/vector-12-token-issue-time-long-term-keys",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z")],
)
case(
    "date/epoch-time-numeric",
    GKEYS,
    A,
    action="iam:ListUsers",
    identity=[_c("NumericGreaterThan", "aws:EpochTime", "1700000000")],
    keys={"aws:EpochTime": "1767225600"},
)
_REVOKE = doc(
    deny(["*"], ["*"], condition={"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T12:00:00Z"}})
)
case(
    "revoke/vector-33-old-session-denied",
    REVOKE,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*")), _REVOKE],
    keys={"aws:TokenIssueTime": "2026-01-01T11:00:00Z"},
    decided_by="identity",
)
case(
    "revoke/new-session-allowed",
    REVOKE,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*")), _REVOKE],
    keys={"aws:TokenIssueTime": "2026-01-01T12:30:00Z"},
)
case(
    "revoke/blocks-assume-role",
    REVOKE,
    E,
    action="sts:AssumeRole",
    resource=f"arn:aws:iam::{ACCT}:role/next",
    principal=SESSION,
    identity=[doc(allow("*")), _REVOKE],
    keys={"aws:TokenIssueTime": "2026-01-01T11:00:00Z"},
)

# --- Bool, Binary -------------------------------------------------------------------------------
case(
    "bool/vector-21-json-false-http",
    GRAMMAR,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("Bool", "aws:SecureTransport", False)],
    keys={"aws:SecureTransport": "false"},
)
case(
    "bool/true-vs-false",
    OPERATORS,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("Bool", "aws:SecureTransport", "true")],
    keys={"aws:SecureTransport": "false"},
)
case(
    "bool/case-insensitive-value",
    IAMSIM,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("Bool", "aws:SecureTransport", "True")],
    keys={"aws:SecureTransport": "true"},
)
case(
    "bool/missing-key",
    OPERATORS,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("Bool", "aws:MultiFactorAuthPresent", "true")],
)
case(
    "bool/deny-insecure-transport",
    OPERATORS,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"), deny("s3:*", condition={"Bool": {"aws:SecureTransport": "false"}}))],
    keys={"aws:SecureTransport": "false"},
)
case(
    "bool/garbage-policy-value",
    IAMSIM,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("Bool", "aws:SecureTransport", "yes")],
    keys={"aws:SecureTransport": "true"},
)
case(
    "binary/vector-22-equals",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")],
    keys=[key("key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", type="binary")],
)
case(
    "binary/differs",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")],
    keys=[key("key", "b3RoZXI=", type="binary")],
)

# --- IP -----------------------------------------------------------------------------------------
for op, val, req, exp in [
    ("IpAddress", "203.0.113.0/24", "203.0.113.7", A),
    ("IpAddress", "203.0.113.0/24", "198.51.100.1", I),
    ("IpAddress", "203.0.113.7", "203.0.113.7", A),
    ("IpAddress", ["192.0.2.0/24", "203.0.113.0/24"], "203.0.113.250", A),
    ("IpAddress", "2001:db8::/32", "2001:db8:1234::1", A),
    ("IpAddress", "2001:db8::/32", "2001:db9::1", I),
    ("IpAddress", "203.0.113.0/24", "2001:db8::1", I),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", A),
    ("NotIpAddress", "203.0.113.0/24", "203.0.113.9", I),
    ("NotIpAddress", "203.0.113.0/24", "2001:db8::1", A),
]:
    label = val if isinstance(val, str) else "+".join(val)
    case(
        f"ip/{op}-{label}-vs-{req}",
        OPERATORS,
        exp,
        action="s3:GetObject",
        resource=OBJECT,
        identity=[_c(op, "aws:SourceIp", val)],
        keys=[key("aws:SourceIp", req, type="ip")],
    )
case(
    "ip/vector-14-vpc-endpoint-no-source-ip",
    OPERATORS,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("IpAddress", "aws:SourceIp", "203.0.113.0/24")],
    keys={"aws:SourceVpce": "vpce-1a2b3c4d"},
)
case(
    "ip/vector-15-not-ip-vpc-endpoint",
    OPERATORS,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("NotIpAddress", "aws:SourceIp", "203.0.113.0/24")],
    keys={"aws:SourceVpce": "vpce-1a2b3c4d"},
)
case(
    "ip/deny-outside-corp",
    OPERATORS,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(
            allow("*"),
            deny(
                "*",
                condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}},
            ),
        )
    ],
    keys=[key("aws:SourceIp", "198.51.100.4", type="ip")],
)

# --- ARN operators ------------------------------------------------------------------------------
_ODD = f"arn:aws:someservice:us-east-2:999999999999:store/abc:{ACCT}:finance/document.txt"
case(
    "arn/vector-11-arnlike-segments",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("ArnLike", "aws:SourceArn", f"arn:aws:someservice:*:{ACCT}:finance/*")],
    keys=[key("aws:SourceArn", _ODD, type="string")],
)
case(
    "arn/vector-11-stringlike-spans",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("StringLike", "aws:SourceArn", f"arn:aws:someservice:*:{ACCT}:finance/*")],
    keys=[key("aws:SourceArn", _ODD, type="string")],
)
case(
    "arn/like-match",
    OPERATORS,
    A,
    action="sqs:SendMessage",
    identity=[_c("ArnLike", "aws:SourceArn", f"arn:aws:sns:*:{ACCT}:topic-*")],
    keys={"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:topic-a"},
)
case(
    "arn/equals-is-like",
    OPERATORS,
    A,
    action="sqs:SendMessage",
    identity=[_c("ArnEquals", "aws:SourceArn", f"arn:aws:sns:*:{ACCT}:topic-*")],
    keys={"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:topic-a"},
)
case(
    "arn/case-sensitive",
    OPERATORS,
    I,
    action="sqs:SendMessage",
    identity=[_c("ArnEquals", "aws:SourceArn", f"arn:aws:sns:us-east-1:{ACCT}:Topic")],
    keys={"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:topic"},
)
case(
    "arn/not-like",
    OPERATORS,
    A,
    action="sqs:SendMessage",
    identity=[_c("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCT}:role/admin-*")],
    keys={"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/app"},
)
case(
    "arn/not-equals-listed",
    OPERATORS,
    I,
    action="sqs:SendMessage",
    identity=[_c("ArnNotEquals", "aws:PrincipalArn", f"arn:aws:iam::{ACCT}:role/app")],
    keys={"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/app"},
)
case(
    "arn/not-an-arn-positive",
    IAMSIM,
    I,
    action="sqs:SendMessage",
    identity=[_c("ArnLike", "aws:SourceArn", "*")],
    keys={"aws:SourceArn": "not-an-arn"},
)
case(
    "arn/not-an-arn-negated",
    IAMSIM,
    I,
    action="sqs:SendMessage",
    identity=[_c("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:*:*")],
    keys={"aws:SourceArn": "not-an-arn"},
)
case(
    "arn/variable-in-value",
    VARS,
    A,
    action="sqs:SendMessage",
    identity=[_c("ArnLike", "aws:SourceArn", "arn:aws:sns:*:${aws:PrincipalAccount}:*")],
    keys={"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:t", "aws:PrincipalAccount": ACCT},
)

# --- Null, IfExists -----------------------------------------------------------------------------
case(
    "null/vector-13-true-long-term-keys",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("Null", "aws:TokenIssueTime", "true")],
)
case(
    "null/vector-13-true-session",
    OPERATORS,
    I,
    action="iam:ListUsers",
    principal=SESSION,
    identity=[_c("Null", "aws:TokenIssueTime", "true")],
    keys={"aws:TokenIssueTime": "2026-01-01T00:00:00Z"},
)
case(
    "null/false-present",
    OPERATORS,
    A,
    action="iam:ListUsers",
    identity=[_c("Null", "aws:TagKeys", "false")],
    keys={"aws:TagKeys": ["a"]},
)
case(
    "null/false-absent",
    OPERATORS,
    I,
    action="iam:ListUsers",
    identity=[_c("Null", "aws:TagKeys", "false")],
)
case(
    "null/json-bool", GRAMMAR, A, action="iam:ListUsers", identity=[_c("Null", "aws:TagKeys", True)]
)
case(
    "null/deny-without-tag",
    OPERATORS,
    E,
    action="ec2:RunInstances",
    identity=[
        doc(
            allow("*"),
            deny("ec2:RunInstances", condition={"Null": {"aws:RequestTag/CostCenter": "true"}}),
        )
    ],
)
case(
    "ifexists/vector-16-missing-key",
    OPERATORS,
    A,
    action="ec2:RunInstances",
    resource=f"arn:aws:ec2:us-east-1:{ACCT}:volume/vol-1",
    identity=[_c("StringLikeIfExists", "ec2:InstanceType", ["t2.*"])],
)
case(
    "ifexists/present-matching",
    OPERATORS,
    A,
    action="ec2:RunInstances",
    identity=[_c("StringLikeIfExists", "ec2:InstanceType", ["t2.*"])],
    keys={"ec2:InstanceType": "t2.micro"},
)
case(
    "ifexists/present-not-matching",
    OPERATORS,
    I,
    action="ec2:RunInstances",
    identity=[_c("StringLikeIfExists", "ec2:InstanceType", ["t2.*"])],
    keys={"ec2:InstanceType": "m5.large"},
)
case(
    "ifexists/bool-deny-no-mfa-key-denies",
    OPERATORS,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(
            allow("*"),
            deny("*", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        )
    ],
)
case(
    "ifexists/bool-deny-mfa-false",
    OPERATORS,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(
            allow("*"),
            deny("*", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        )
    ],
    keys={"aws:MultiFactorAuthPresent": "false"},
)
case(
    "ifexists/negated-deny-missing-key",
    OPERATORS,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(
            allow("*"),
            deny("*", condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-123"}}),
        )
    ],
)
case(
    "ifexists/negated-deny-present-ok",
    OPERATORS,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(
            allow("*"),
            deny("*", condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-123"}}),
        )
    ],
    keys={"aws:PrincipalOrgID": "o-123"},
)
case(
    "ifexists/numeric",
    OPERATORS,
    A,
    action="s3:ListBucket",
    resource=BUCKET,
    identity=[_c("NumericLessThanIfExists", "s3:max-keys", "100")],
)
case(
    "ifexists/ip",
    OPERATORS,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[_c("IpAddressIfExists", "aws:SourceIp", "203.0.113.0/24")],
)

# --- Set operators ------------------------------------------------------------------------------
case(
    "set/vector-17-forall-no-tags",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringEquals", "aws:TagKeys", ["a"])],
)
case(
    "set/vector-18-forany-no-tags",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringEquals", "aws:TagKeys", ["a"])],
)
case(
    "set/vector-19-forall-not-like-key2",
    MULTI_EX,
    A,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")],
    keys={"aws:TagKeys": ["key2:audit"]},
)
case(
    "set/vector-19-forall-not-like-key1",
    MULTI_EX,
    I,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")],
    keys={"aws:TagKeys": ["key1:legal"]},
)
case(
    "set/forall-not-like-two-key1",
    MULTI_EX,
    I,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")],
    keys={"aws:TagKeys": ["key1:hr", "key1:personnel"]},
)
case(
    "set/forall-not-like-absent",
    MULTI_EX,
    A,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringNotLike", "aws:TagKeys", "key1*")],
)
case(
    "set/vector-20-non-set-op-multivalued",
    IAMSIM,
    I,
    action="iam:TagUser",
    identity=[_c("StringEquals", "aws:TagKeys", "a")],
    keys={"aws:TagKeys": ["a"]},
)
case(
    "set/non-set-negated-multivalued",
    IAMSIM,
    I,
    action="iam:TagUser",
    identity=[_c("StringNotEquals", "aws:TagKeys", "a")],
    keys={"aws:TagKeys": ["b"]},
)
case(
    "set/forall-subset",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team", "cost"])],
    keys={"aws:TagKeys": ["env", "team"]},
)
case(
    "set/forall-not-subset",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"])],
    keys={"aws:TagKeys": ["env", "owner"]},
)
case(
    "set/forany-one-matches",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringEquals", "aws:TagKeys", ["env"])],
    keys={"aws:TagKeys": ["owner", "env"]},
)
case(
    "set/forany-none-matches",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringEquals", "aws:TagKeys", ["env"])],
    keys={"aws:TagKeys": ["owner", "cost"]},
)
case(
    "set/forany-negated-one-outside",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringNotEquals", "aws:TagKeys", ["env", "team"])],
    keys={"aws:TagKeys": ["env", "owner"]},
)
case(
    "set/forany-negated-all-inside",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringNotEquals", "aws:TagKeys", ["env", "team"])],
    keys={"aws:TagKeys": ["env", "team"]},
)
case(
    "set/forall-empty-list",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAllValues:StringEquals", "aws:TagKeys", ["env"])],
    keys={"aws:TagKeys": []},
)
case(
    "set/forany-empty-list",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringEquals", "aws:TagKeys", ["env"])],
    keys={"aws:TagKeys": []},
)
case(
    "set/forall-with-null-guard",
    MULTI,
    I,
    action="iam:TagUser",
    identity=[
        doc(
            allow(
                "*",
                condition={
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["env"]},
                    "Null": {"aws:TagKeys": "false"},
                },
            )
        )
    ],
)
case(
    "set/forany-like",
    MULTI,
    A,
    action="iam:TagUser",
    identity=[_c("ForAnyValue:StringLike", "aws:TagKeys", ["cost-*"])],
    keys={"aws:TagKeys": ["owner", "cost-center"]},
)
case(
    "set/forall-single-valued-key",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[_c("ForAllValues:StringEquals", "aws:username", ["alice"])],
    keys={"aws:username": "alice"},
)

# --- Combining conditions -----------------------------------------------------------------------
case(
    "combine/operators-and-both",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[
        doc(
            allow(
                "*",
                condition={
                    "StringEquals": {"aws:username": "alice"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            )
        )
    ],
    keys={"aws:username": "alice", "aws:SecureTransport": "true"},
)
case(
    "combine/operators-and-one-fails",
    MULTI,
    I,
    action="iam:ListUsers",
    identity=[
        doc(
            allow(
                "*",
                condition={
                    "StringEquals": {"aws:username": "alice"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            )
        )
    ],
    keys={"aws:username": "alice", "aws:SecureTransport": "false"},
)
case(
    "combine/keys-and",
    MULTI,
    I,
    action="iam:ListUsers",
    identity=[
        _c("StringEquals", "aws:username", "alice").replace(
            '"aws:username": "alice"', '"aws:username": "alice", "aws:PrincipalTag/team": "blue"'
        )
    ],
    keys={"aws:username": "alice", "aws:PrincipalTag/team": "red"},
)
case(
    "combine/keys-and-both",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[
        _c("StringEquals", "aws:username", "alice").replace(
            '"aws:username": "alice"', '"aws:username": "alice", "aws:PrincipalTag/team": "blue"'
        )
    ],
    keys={"aws:username": "alice", "aws:PrincipalTag/team": "blue"},
)
case(
    "combine/same-key-two-operators",
    MULTI,
    A,
    action="iam:ListUsers",
    identity=[
        doc(
            allow(
                "*",
                condition={
                    "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                    "DateLessThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"},
                },
            )
        )
    ],
    keys={"aws:CurrentTime": "2026-06-01T00:00:00Z"},
)
case(
    "combine/same-key-two-operators-outside",
    MULTI,
    I,
    action="iam:ListUsers",
    identity=[
        doc(
            allow(
                "*",
                condition={
                    "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                    "DateLessThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"},
                },
            )
        )
    ],
    keys={"aws:CurrentTime": "2027-06-01T00:00:00Z"},
)
case(
    "combine/empty-unknown-operator-ignored",
    GRAMMAR,
    A,
    action="iam:ListUsers",
    identity=[doc(allow("*", condition={"StringEqualsNope": {}}))],
)

# --- Evaluation: explicit deny, multiple policies -----------------------------------------------
case(
    "eval/default-implicit-deny",
    EVAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    decided_by="identity",
)
case(
    "eval/allow",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:GetObject", OBJECT))],
)
case(
    "eval/explicit-deny-wins-same-policy",
    EVAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:*"), deny("s3:GetObject"))],
    decided_by="identity",
)
case(
    "eval/explicit-deny-wins-other-policy",
    EVAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:*")), doc(deny("s3:*", OBJECT))],
)
case(
    "eval/allow-from-any-identity-policy",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("sqs:*")), doc(allow("s3:GetObject"))],
)
case(
    "eval/deny-other-action-irrelevant",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:*"), deny("s3:DeleteObject"))],
)
case(
    "eval/deny-condition-false-irrelevant",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[
        doc(allow("s3:*"), deny("s3:*", condition={"StringEquals": {"aws:username": "mallory"}}))
    ],
    keys={"aws:username": "alice"},
)

# --- Permissions boundaries ---------------------------------------------------------------------
_PB_S3 = doc(allow("s3:*"))
case(
    "boundary/both-allow",
    BOUNDARY,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    boundary=_PB_S3,
)
case(
    "boundary/boundary-does-not-allow",
    BOUNDARY,
    I,
    action="iam:CreateUser",
    identity=[doc(allow("*"))],
    boundary=_PB_S3,
    decided_by="boundary",
)
case(
    "boundary/boundary-alone-grants-nothing",
    BOUNDARY,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    boundary=_PB_S3,
    decided_by="identity",
)
case(
    "boundary/explicit-deny-in-boundary",
    BOUNDARY,
    E,
    action="s3:DeleteObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    boundary=doc(allow("s3:*"), deny("s3:DeleteObject")),
    decided_by="boundary",
)
case(
    "boundary/condition-in-boundary",
    BOUNDARY,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    boundary=doc(allow("s3:*", condition={"Bool": {"aws:SecureTransport": "true"}})),
    keys={"aws:SecureTransport": "false"},
    decided_by="boundary",
)
case(
    "boundary/role-session",
    BOUNDARY,
    I,
    action="iam:CreateUser",
    principal=SESSION,
    identity=[doc(allow("*"))],
    boundary=_PB_S3,
    decided_by="boundary",
)
case(
    "boundary/rbp-names-user-not-limited",
    BOUNDARY,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    boundary=doc(allow("sts:GetCallerIdentity")),
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": USER["arn"]})),
)
case(
    "boundary/vector-24-rbp-user-pb-getcalleridentity",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    boundary=doc(allow("sts:GetCallerIdentity")),
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": USER["arn"]})),
)
case(
    "boundary/vector-25-rbp-role-pb-blocks",
    EVAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    boundary=doc(allow("sts:GetCallerIdentity")),
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ROLE_ARN})),
    decided_by="boundary",
)
case(
    "boundary/rbp-role-pb-allows",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    boundary=_PB_S3,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ROLE_ARN})),
)
case(
    "boundary/vector-23-deny-notprincipal-with-pb",
    BOUNDARY,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    boundary=doc(allow("*")),
    rbp=doc(deny("s3:*", OBJECT, not_principal={"AWS": USER["arn"]})),
    decided_by="resource",
)
case(
    "notprincipal/deny-notprincipal-without-pb",
    NOTPRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    rbp=doc(deny("s3:*", OBJECT, not_principal={"AWS": USER["arn"]})),
)
case(
    "notprincipal/deny-notprincipal-other-user",
    NOTPRINCIPAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    principal={**USER, "arn": USER["arn"] + "2"},
    rbp=doc(deny("s3:*", OBJECT, not_principal={"AWS": USER["arn"]})),
)
case(
    "notprincipal/session-needs-role-and-session-listed",
    NOTPRINCIPAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    principal=SESSION,
    rbp=doc(deny("s3:*", OBJECT, not_principal={"AWS": SESSION["arn"]})),
)

# --- Session policies ---------------------------------------------------------------------------
_SP_S3 = doc(allow("s3:GetObject"))
case(
    "session/intersection-allows",
    POLICIES,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
    session=[_SP_S3],
)
case(
    "session/not-in-session-policy",
    POLICIES,
    I,
    action="s3:PutObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
    session=[_SP_S3],
    decided_by="session",
)
case(
    "session/cannot-exceed-identity",
    POLICIES,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("sqs:*"))],
    session=[doc(allow("*"))],
    decided_by="identity",
)
case(
    "session/no-session-policy-full-role",
    POLICIES,
    A,
    action="s3:PutObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
)
case(
    "session/managed-session-policy-any-allows",
    POLICIES,
    A,
    action="sqs:SendMessage",
    principal=SESSION,
    identity=[doc(allow("*"))],
    session=[_SP_S3, doc(allow("sqs:*"))],
)
case(
    "session/explicit-deny-in-session-policy",
    POLICIES,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
    session=[doc(allow("*"), deny("s3:*"))],
    decided_by="session",
)
case(
    "session/empty-session-list-allows-nothing",
    POLICIES,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
    session=[],
)
case(
    "session/with-boundary",
    POLICIES,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    identity=[doc(allow("*"))],
    boundary=doc(allow("sqs:*")),
    session=[doc(allow("*"))],
    decided_by="boundary",
)
case(
    "session/vector-26-rbp-session-arn-ignores-sp",
    POLICIES,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    session=[doc(allow("sqs:*"))],
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": SESSION["arn"]})),
)
case(
    "session/rbp-role-arn-limited-by-sp",
    POLICIES,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    session=[doc(allow("sqs:*"))],
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ROLE_ARN})),
    decided_by="session",
)
case(
    "session/federated-without-sp-no-permissions",
    STS_FED,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=FEDERATED,
    identity=[doc(allow("*"))],
    decided_by="session",
)
case(
    "session/federated-with-sp",
    STS_FED,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=FEDERATED,
    identity=[doc(allow("*"))],
    session=[_SP_S3],
)
case(
    "session/rbp-federated-arn-direct",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=FEDERATED,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": FEDERATED["arn"]})),
)
case(
    "session/rbp-federating-user-limited",
    EVAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=FEDERATED,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": FEDERATED["federating_user_arn"]})),
)

# --- Resource-based policies, same account ------------------------------------------------------
case(
    "rbp/same-account-rbp-alone",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": USER["arn"]})),
)
case(
    "rbp/same-account-identity-alone",
    EVAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:GetObject"))],
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": "arn:aws:iam::999999999999:root"})),
)
case(
    "rbp/explicit-deny-in-rbp",
    EVAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("*"))],
    rbp=doc(deny("s3:*", OBJECT, principal="*")),
    decided_by="resource",
)
case(
    "rbp/star-principal",
    PRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal="*")),
)
case(
    "rbp/aws-star-principal",
    PRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": "*"})),
)
case(
    "rbp/account-principal-delegates",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ACCT})),
    decided_by="identity",
)
case(
    "rbp/account-principal-with-identity",
    PRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    identity=[doc(allow("s3:GetObject"))],
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": f"arn:aws:iam::{ACCT}:root"})),
)
case(
    "rbp/other-user-named",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": f"arn:aws:iam::{ACCT}:user/bob"})),
    decided_by="identity",
)
case(
    "rbp/user-name-case-sensitive",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": f"arn:aws:iam::{ACCT}:user/Alice"})),
)
case(
    "rbp/role-arn-matches-session",
    PRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ROLE_ARN})),
)
case(
    "rbp/condition-principal-arn",
    EVAL_DA,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=SESSION,
    keys={"aws:PrincipalArn": ROLE_ARN},
    rbp=doc(
        allow(
            "s3:GetObject",
            OBJECT,
            principal="*",
            condition={"ArnEquals": {"aws:PrincipalArn": ROLE_ARN}},
        )
    ),
)
case(
    "rbp/service-principal",
    PRINCIPAL,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    principal=SERVICE,
    rbp=doc(
        allow(
            "sqs:SendMessage",
            f"arn:aws:sqs:us-east-1:{ACCT}:q",
            principal={"Service": "ec2.amazonaws.com"},
        )
    ),
)
case(
    "rbp/service-principal-other-service",
    PRINCIPAL,
    I,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    principal=SERVICE,
    rbp=doc(
        allow(
            "sqs:SendMessage",
            f"arn:aws:sqs:us-east-1:{ACCT}:q",
            principal={"Service": "sns.amazonaws.com"},
        )
    ),
    decided_by="resource",
)
case(
    "rbp/anonymous-star",
    PRINCIPAL,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal=ANONYMOUS,
    rbp=doc(allow("s3:GetObject", OBJECT, principal="*")),
)
case(
    "rbp/anonymous-no-rbp",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=ANONYMOUS,
    identity=[doc(allow("*"))],
    decided_by="resource",
)
case(
    "rbp/anonymous-account-principal",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal=ANONYMOUS,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": ACCT})),
)
case(
    "rbp/resource-mismatch",
    EVAL,
    I,
    action="s3:GetObject",
    resource="arn:aws:s3:::bkt/other",
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": USER["arn"]})),
)
case(
    "rbp/star-with-boundary-not-limited",
    EVAL_DA,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    boundary=doc(allow("sqs:*")),
    rbp=doc(allow("s3:GetObject", OBJECT, principal="*")),
)

# --- Cross-account ------------------------------------------------------------------------------
_XA_OBJ = "arn:aws:s3:::theirs/k"
case(
    "xa/vector-27-rbp-only",
    EVAL_XA,
    I,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    rbp=doc(allow("s3:GetObject", _XA_OBJ, principal={"AWS": USER["arn"]})),
    decided_by="identity",
)
case(
    "xa/both-allow",
    EVAL_XA,
    A,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    identity=[doc(allow("s3:GetObject", _XA_OBJ))],
    rbp=doc(allow("s3:GetObject", _XA_OBJ, principal={"AWS": USER["arn"]})),
)
case(
    "xa/identity-only",
    EVAL_XA,
    I,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    identity=[doc(allow("s3:GetObject", _XA_OBJ))],
    decided_by="resource",
)
case(
    "xa/account-principal",
    EVAL_XA,
    A,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    identity=[doc(allow("s3:*"))],
    rbp=doc(allow("s3:GetObject", _XA_OBJ, principal={"AWS": ACCT})),
)
case(
    "xa/star-needs-identity",
    PRINCIPAL,
    I,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    rbp=doc(allow("s3:GetObject", _XA_OBJ, principal="*")),
)
case(
    "xa/boundary-applies",
    EVAL_XA,
    I,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    identity=[doc(allow("s3:*"))],
    boundary=doc(allow("sqs:*")),
    rbp=doc(allow("s3:GetObject", _XA_OBJ, principal={"AWS": USER["arn"]})),
    decided_by="boundary",
)
case(
    "xa/explicit-deny-rbp",
    EVAL_XA,
    E,
    action="s3:GetObject",
    resource=_XA_OBJ,
    resource_account=OTHER,
    identity=[doc(allow("s3:*"))],
    rbp=doc(
        allow("s3:*", _XA_OBJ, principal={"AWS": ACCT}),
        deny("s3:GetObject", _XA_OBJ, principal={"AWS": ACCT}),
    ),
)
case(
    "xa/account-in-arn",
    EVAL_XA,
    I,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{OTHER}:q",
    identity=[doc(allow("sqs:*"))],
)
case(
    "xa/other-account-caller-same-resource",
    EVAL_XA,
    A,
    action="sqs:SendMessage",
    resource=f"arn:aws:sqs:us-east-1:{ACCT}:q",
    principal=OTHER_USER,
    identity=[doc(allow("sqs:*"))],
    rbp=doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCT}:q", principal={"AWS": OTHER})),
)

case(
    "xa/other-account-root-via-rbp",
    EVAL_XA,
    A,
    action="s3:GetObject",
    resource=OBJECT,
    principal={"arn": f"arn:aws:iam::{OTHER}:root", "account": OTHER, "type": "Account"},
    resource_account=ACCT,
    rbp=doc(allow("s3:GetObject", OBJECT, principal={"AWS": OTHER})),
)
case(
    "xa/other-account-root-without-rbp",
    EVAL_XA,
    I,
    action="s3:GetObject",
    resource=OBJECT,
    principal={"arn": f"arn:aws:iam::{OTHER}:root", "account": OTHER, "type": "Account"},
    resource_account=ACCT,
    decided_by="resource",
)

# --- Root ---------------------------------------------------------------------------------------
case("root/implicit-allow", EVAL, A, action="iam:CreateUser", principal=ROOT)
case(
    "root/explicit-deny-in-rbp",
    EVAL,
    E,
    action="s3:GetObject",
    resource=OBJECT,
    principal=ROOT,
    rbp=doc(deny("s3:*", OBJECT, principal={"AWS": ACCT})),
)
case(
    "root/trust-policy-still-required",
    EVAL,
    I,
    action="sts:AssumeRole",
    resource=ROLE_ARN,
    principal=ROOT,
    rbp=doc(allow("sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"})),
    rbp_kind="trust",
    decided_by="trust",
)

# --- Role trust policies ------------------------------------------------------------------------
_TARGET = f"arn:aws:iam::{ACCT}:role/target"
case(
    "trust/vector-28-account-principal-needs-identity",
    PRINCIPAL,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": ACCT})),
    decided_by="identity",
)
case(
    "trust/account-principal-with-identity",
    PRINCIPAL,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    identity=[doc(allow("sts:AssumeRole", _TARGET))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": ACCT})),
)
case(
    "trust/vector-29-user-named",
    STS_ASSUME,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]})),
)
case(
    "trust/not-named",
    STS_ASSUME,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    identity=[doc(allow("sts:AssumeRole"))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": f"arn:aws:iam::{ACCT}:user/bob"})),
    decided_by="trust",
)
case(
    "trust/identity-alone-not-enough",
    EVAL,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    identity=[doc(allow("*"))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"})),
    decided_by="trust",
)
case(
    "trust/user-named-pb-must-allow",
    TRUST_UPD,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    boundary=doc(allow("s3:*")),
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]})),
    decided_by="boundary",
)
case(
    "trust/user-named-pb-allows",
    TRUST_UPD,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    boundary=doc(allow("sts:AssumeRole")),
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]})),
)
case(
    "trust/explicit-deny-in-trust",
    EVAL,
    E,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    identity=[doc(allow("*"))],
    rbp=doc(
        allow("sts:AssumeRole", None, principal={"AWS": ACCT}),
        deny("sts:AssumeRole", None, principal={"AWS": USER["arn"]}),
    ),
    decided_by="trust",
)
case(
    "trust/explicit-deny-in-caller-identity",
    EVAL,
    E,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    identity=[doc(deny("sts:AssumeRole"))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]})),
    decided_by="identity",
)
case(
    "trust/cross-account-needs-identity",
    EVAL_XA,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    principal=OTHER_USER,
    rbp_kind="trust",
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": OTHER_USER["arn"]})),
    decided_by="identity",
)
case(
    "trust/cross-account-allowed",
    EVAL_XA,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    principal=OTHER_USER,
    rbp_kind="trust",
    identity=[doc(allow("sts:AssumeRole", _TARGET))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": OTHER})),
)
case(
    "trust/role-assuming-itself-not-implicit",
    BASE + "id_roles_terms-and-concepts.html",
    I,
    action="sts:AssumeRole",
    resource=ROLE_ARN,
    principal=SESSION,
    rbp_kind="trust",
    identity=[doc(allow("*"))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"})),
    decided_by="trust",
)
case(
    "trust/role-session-named-by-role-pb-sp",
    EVAL,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    principal=SESSION,
    rbp_kind="trust",
    session=[doc(allow("s3:*"))],
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": ROLE_ARN})),
    decided_by="session",
)
case(
    "trust/external-id-condition",
    STS_ASSUME,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    keys={"sts:ExternalId": "xyz"},
    rbp=doc(
        allow(
            "sts:AssumeRole",
            None,
            principal={"AWS": USER["arn"]},
            condition={"StringEquals": {"sts:ExternalId": "xyz"}},
        )
    ),
)
case(
    "trust/external-id-missing",
    STS_ASSUME,
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    rbp=doc(
        allow(
            "sts:AssumeRole",
            None,
            principal={"AWS": USER["arn"]},
            condition={"StringEquals": {"sts:ExternalId": "xyz"}},
        )
    ),
    decided_by="trust",
)
case(
    "trust/tag-session-separate-action",
    BASE + "id_session-tags.html",
    I,
    action="sts:TagSession",
    resource=_TARGET,
    rbp_kind="trust",
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]})),
)
case(
    "trust/rolesanywhere-service",
    "https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html",
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    principal={
        "arn": "",
        "account": "",
        "type": "Service",
        "service": "rolesanywhere.amazonaws.com",
    },
    keys={"aws:PrincipalTag/x509Subject/CN": "host1"},
    rbp=doc(
        allow(
            ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            None,
            principal={"Service": "rolesanywhere.amazonaws.com"},
            condition={"StringEquals": {"aws:PrincipalTag/x509Subject/CN": "host1"}},
        )
    ),
)
case(
    "trust/rolesanywhere-service-wrong-cn",
    "https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html",
    I,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    principal={
        "arn": "",
        "account": "",
        "type": "Service",
        "service": "rolesanywhere.amazonaws.com",
    },
    keys={"aws:PrincipalTag/x509Subject/CN": "host2"},
    rbp=doc(
        allow(
            ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            None,
            principal={"Service": "rolesanywhere.amazonaws.com"},
            condition={"StringEquals": {"aws:PrincipalTag/x509Subject/CN": "host1"}},
        )
    ),
    decided_by="trust",
)
case(
    "trust/version-2008",
    PRINCIPAL,
    A,
    action="sts:AssumeRole",
    resource=_TARGET,
    rbp_kind="trust",
    rbp=doc(allow("sts:AssumeRole", None, principal={"AWS": USER["arn"]}), version="2008-10-17"),
)

# Reference §10 vectors that are not policy evaluations, with the reason.
VECTOR_SKIPS: dict[int, str] = {
    30: "STS DurationSeconds validation for role chaining: the STS service layer, not the engine",
    31: "STS session-tag count/length validation: the STS service layer",
    32: "STS transitive-tag key collision: the STS service layer",
    34: "malformed document: tests/unit/policy/test_grammar.py",
    35: "malformed document: tests/unit/policy/test_grammar.py",
    36: "malformed document: tests/unit/policy/test_grammar.py",
    37: "malformed document: tests/unit/policy/test_grammar.py",
    38: "GetCallerIdentity needs no permission: the service skips authorization; see "
    "test_evaluation.py::test_get_caller_identity_deny_is_reported",
}


if __name__ == "__main__":
    json.dump(CASES, sys.stdout, indent=1)
    sys.stdout.write("\n")
