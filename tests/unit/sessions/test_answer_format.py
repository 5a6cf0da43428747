"""The CreateSession 201 body is written by hand; it must be exactly what ``json.dumps`` writes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from elsewhere.service._sessions import _answer_frame, _credentials_json

_text = st.text(max_size=40)


@dataclass(frozen=True)
class _Issued:
    session_arn: str
    assumed_role_id: str
    access_key_id: str
    expiration: str
    secret_access_key: str
    session_token: str
    packed_policy_size: int
    role_arn: str
    source_identity: str


def _answer(issued: _Issued, subject_arn: str) -> bytes:
    """The body as CreateSession writes it: a plan's frame around fresh credentials."""
    fields = dataclasses.asdict(issued)
    credentials = _credentials_json(
        *(
            fields.pop(k)
            for k in ("access_key_id", "expiration", "secret_access_key", "session_token")
        )
    )
    head, tail = _answer_frame(**fields, subject_arn=subject_arn)
    return (head + credentials + tail).encode("ascii")


def _reference(issued: _Issued, subject_arn: str) -> bytes:
    body = {
        "credentialSet": [
            {
                "assumedRoleUser": {
                    "arn": issued.session_arn,
                    "assumedRoleId": issued.assumed_role_id,
                },
                "credentials": {
                    "accessKeyId": issued.access_key_id,
                    "expiration": issued.expiration,
                    "secretAccessKey": issued.secret_access_key,
                    "sessionToken": issued.session_token,
                },
                "packedPolicySize": issued.packed_policy_size,
                "roleArn": issued.role_arn,
                "sourceIdentity": issued.source_identity,
            }
        ],
        "subjectArn": subject_arn,
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


@settings(max_examples=200)
@given(
    st.builds(
        _Issued,
        session_arn=_text,
        assumed_role_id=_text,
        access_key_id=_text,
        expiration=_text,
        secret_access_key=_text,
        session_token=_text,
        packed_policy_size=st.integers(min_value=0, max_value=100),
        role_arn=_text,
        source_identity=_text,
    ),
    _text,
)
def test_ok_answer_matches_json_dumps(issued: _Issued, subject_arn: str) -> None:
    """Any strings (quotes, controls, non-ASCII) give the bytes ``json.dumps`` gives."""
    assert _answer(issued, subject_arn) == _reference(issued, subject_arn)


def test_ok_answer_parses_to_the_documented_shape() -> None:
    """The body parses to reference §2.2's shape."""
    issued = _Issued(
        session_arn="arn:aws:sts::123456789012:assumed-role/r/s",
        assumed_role_id="AROAEXAMPLE:s",
        access_key_id="ASIAEXAMPLE",
        expiration="2026-11-28T14:00:00Z",
        secret_access_key="secret",
        session_token="token",
        packed_policy_size=7,
        role_arn="arn:aws:iam::123456789012:role/r",
        source_identity='CN="quoted"',
    )
    body = json.loads(_answer(issued, "arn:aws:rolesanywhere:us-east-1:1:subject/x"))
    (entry,) = body["credentialSet"]
    assert entry["packedPolicySize"] == 7
    assert entry["sourceIdentity"] == 'CN="quoted"'
    assert body["subjectArn"].endswith("subject/x")
