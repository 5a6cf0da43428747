"""Request and response values as an audit record shows them: secrets hidden, AWS's spelling.

A value is walked along its operation's input or output shape, so only members the model knows
are kept. Members whose shape the model marks ``sensitive`` (IAM's and STS's secret access key,
passwords, private keys; rolesanywhere's tag keys and values), and members that hold credentials
whatever the model says (a session token's shape is not marked), are replaced by
``HIDDEN_DUE_TO_SECURITY_REASONS``, as CloudTrail writes them (AWS CloudTrail User Guide,
"CloudTrail record contents", ``requestParameters``). Member names are written with a lower-case
first letter, as CloudTrail spells every service's parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import ServiceModel

from elsewhere.protocol._model import Node, ShapeCompiler

__all__ = ["HIDDEN", "audit_parameters", "audit_response"]

#: What a hidden value is replaced by.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

# Members hidden whatever their shape says: every credential secret the APIs carry.
_SECRET_MEMBERS = frozenset(
    {
        "secretaccesskey",
        "sessiontoken",
        "password",
        "newpassword",
        "oldpassword",
        "privatekey",
        "webidentitytoken",
        "samlassertion",
    }
)


def _view(node: Node, value: Any) -> Any:
    if node.type == "structure":
        if not isinstance(value, Mapping):
            return None
        out: dict[str, Any] = {}
        for member in node.members:
            if member.name not in value:
                continue
            item = value[member.name]
            if member.node.sensitive or member.name.lower() in _SECRET_MEMBERS:
                out[member.path] = HIDDEN
            else:
                out[member.path] = _view(member.node, item)
        return out
    if node.type == "list":
        if not isinstance(value, list | tuple) or node.member is None:
            return None
        return [_view(node.member, item) for item in value]
    if node.type == "map":
        if not isinstance(value, Mapping) or node.key is None or node.value is None:
            return None
        hide_value = node.value.sensitive
        return {
            (HIDDEN if node.key.sensitive else str(key)): (
                HIDDEN if hide_value else _view(node.value, item)
            )
            for key, item in value.items()
        }
    if node.sensitive:
        return HIDDEN
    return value


def _shape_view(model: ServiceModel, operation: str, value: Any, *, output: bool) -> Any:
    compiler = ShapeCompiler.for_model(model)
    op = compiler.operation(operation)
    shape = op.output_shape if output else op.input_shape
    if shape is None or value is None:
        return None
    return _view(compiler.node(shape), value)


def audit_parameters(
    model: ServiceModel, operation: str, params: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``params`` (as parsed for ``operation``) fit for an audit record's ``requestParameters``."""
    view = _shape_view(model, operation, params, output=False)
    return view if isinstance(view, dict) and view else None


def audit_response(
    model: ServiceModel, operation: str, output: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``output`` (a handler's answer to ``operation``) fit for ``responseElements``."""
    view = _shape_view(model, operation, output, output=True)
    return view if isinstance(view, dict) and view else None
