"""Policy engine throughput: decisions per second for a realistic 10-statement identity policy."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

from elsewhere.policy import (
    PolicyKind,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
    parse_policy,
)

# Ten statements of the kinds real role policies carry: wildcards, variables, tag and IP
# conditions, a NotAction guard and a revocation-style date deny.
POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
     "Resource": "arn:aws:s3:::data-bucket/home/${aws:username}/*"},
    {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::data-bucket",
     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}},
    {"Sid": "TeamTables", "Effect": "Allow", "Action": "dynamodb:*",
     "Resource": "arn:aws:dynamodb:*:111122223333:table/${aws:PrincipalTag/team}-*"},
    {"Sid": "TaggedInstances", "Effect": "Allow",
     "Action": ["ec2:StartInstances", "ec2:StopInstances"],
     "Resource": "arn:aws:ec2:*:111122223333:instance/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
    {"Sid": "ReadLogs", "Effect": "Allow",
     "Action": ["logs:Get*", "logs:Describe*", "logs:FilterLogEvents"],
     "Resource": "arn:aws:logs:us-east-1:111122223333:log-group:/app/*"},
    {"Sid": "Corp", "Effect": "Allow", "Action": "sqs:SendMessage",
     "Resource": "arn:aws:sqs:us-east-1:111122223333:jobs-*",
     "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                   "Bool": {"aws:SecureTransport": "true"}}},
    {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": "*",
     "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["app", "tenant"]}}},
    {"Sid": "DenyOutsideRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"],
     "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}},
    {"Sid": "RevokeOld", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}},
    {"Sid": "NoDeleteProd", "Effect": "Deny", "Action": ["s3:DeleteObject", "s3:DeleteBucket"],
     "Resource": "arn:aws:s3:::prod-*",
     "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}
  ]
}"""

PRINCIPAL = Principal(arn="arn:aws:iam::111122223333:user/alice", account="111122223333")
REQUEST = RequestContext(
    action="s3:GetObject",
    resource="arn:aws:s3:::data-bucket/home/alice/report.csv",
    principal=PRINCIPAL,
    keys={
        "aws:username": "alice",
        "aws:PrincipalTag/team": "blue",
        "aws:SourceIp": "203.0.113.7",
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": "us-east-1",
        "aws:TokenIssueTime": "2026-06-01T00:00:00Z",
        "aws:CurrentTime": "2026-06-01T01:00:00Z",
    },
)


def _rate(call: Callable[[], None], seconds: float) -> float:
    # CPU time of this process, not wall time: the figure is "on one core", and the machine the
    # benchmark runs on may be shared.
    n = 0
    start = time.process_time()
    end = start + seconds
    while True:
        for _ in range(200):
            call()
        n += 200
        now = time.process_time()
        if now >= end:
            return n / (now - start)


def run(rounds: int = 5, seconds: float = 0.4) -> Iterator[tuple[str, float, str]]:
    """Yield the median decisions/s over ``rounds`` for compiled and uncompiled evaluation."""
    policy = parse_policy(POLICY, kind=PolicyKind.IDENTITY, policy_id="bench")
    policies = PolicySet(identity=(policy,))
    assert evaluate(REQUEST, policies).allowed

    def compiled() -> None:
        evaluate(REQUEST, policies)

    def uncompiled() -> None:
        p = parse_policy(POLICY, kind=PolicyKind.IDENTITY, policy_id="bench")
        evaluate(REQUEST, PolicySet(identity=(p,)))

    fast = statistics.median(_rate(compiled, seconds) for _ in range(rounds))
    yield ("policy.compiled_10_statements.decisions_per_second", fast, "decisions/s")
    slow = statistics.median(_rate(uncompiled, seconds) for _ in range(rounds))
    yield ("policy.uncompiled_10_statements.decisions_per_second", slow, "decisions/s")
