"""``RequestContext.for_action``: the same request for another action."""

from __future__ import annotations

import dataclasses

from elsewhere.policy import ContextValue, Principal, RequestContext


def test_ok_for_action_equals_a_fresh_context() -> None:
    """A context made by ``for_action`` equals one built from scratch for that action."""
    principal = Principal(arn="rolesanywhere.amazonaws.com", account="", type="Service")
    keys = {"aws:SourceIp": "10.0.0.1", "AWS:PrincipalTag/x509Subject/CN": ContextValue.of("a")}
    first = RequestContext(
        action="sts:AssumeRole", resource="arn:aws:iam::1:role/r", principal=principal, keys=keys
    )
    second = first.for_action("sts:TagSession")
    fresh = RequestContext(
        action="sts:TagSession", resource="arn:aws:iam::1:role/r", principal=principal, keys=keys
    )
    for field in dataclasses.fields(RequestContext):
        assert getattr(second, field.name) == getattr(fresh, field.name), field.name
    assert first.action_lower == "sts:assumerole"


def test_ok_for_action_shares_the_normalised_keys() -> None:
    """The normalised key map is shared, not rebuilt, and the original is unchanged."""
    first = RequestContext(action="s3:GetObject", keys={"aws:SourceIp": "10.0.0.1"})
    second = first.for_action("s3:PutObject")
    assert second.values is first.values
    assert first.action == "s3:GetObject"
    assert second.action_lower == "s3:putobject"
