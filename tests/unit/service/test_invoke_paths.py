"""The execute-api ARN of a call: API Gateway's form, and paths that could mean two things."""

from __future__ import annotations

import pytest

from elsewhere.domain import Deployment
from elsewhere.errors import BadRequest
from elsewhere.service import format_invoke_arn, resource_path


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        pytest.param("/", "", id="ok/root"),
        pytest.param("/items/1", "items/1", id="ok/plain"),
        pytest.param("/items/", "items/", id="ok/trailing-slash"),
        pytest.param("/a%20b/%C3%A9", "a b/é", id="ok/percent-decoded"),
        pytest.param("/v1.2/x..y/.well", "v1.2/x..y/.well", id="ok/dots-inside-segments"),
    ],
)
def test_paths_that_name_one_resource(raw: str, decoded: str) -> None:
    """The ARN's path is the request path decoded, without its leading slash."""
    assert resource_path(raw) == decoded


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("items", id="fail/relative"),
        pytest.param("/items/../admin", id="fail/dot-dot"),
        pytest.param("/items/./1", id="fail/dot"),
        pytest.param("/items/%2e%2e/admin", id="fail/encoded-dot-dot"),
        pytest.param("//items", id="fail/empty-segment"),
        pytest.param("/items//1", id="fail/double-slash"),
        pytest.param("/items%2F1", id="fail/encoded-slash"),
        pytest.param("/items%5c1", id="fail/encoded-backslash"),
        pytest.param("/items/%ff", id="fail/not-utf8"),
        pytest.param("/items/%0a", id="fail/control-character"),
    ],
)
def test_paths_that_could_mean_two_things_are_refused(raw: str) -> None:
    """A path the service might read differently from the policy is a 400."""
    with pytest.raises(BadRequest):
        resource_path(raw)


def test_invoke_arn_is_api_gateways() -> None:
    """arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}."""
    deployment = Deployment("111122223333", "eu-west-1", "aws")
    assert format_invoke_arn(deployment, "orders", "prod", "GET", "") == (
        "arn:aws:execute-api:eu-west-1:111122223333:orders/prod/GET/"
    )
    assert format_invoke_arn(deployment, "orders", "prod", "PUT", "items/1") == (
        "arn:aws:execute-api:eu-west-1:111122223333:orders/prod/PUT/items/1"
    )
