"""awsQuery requests with XML responses (IAM, STS), server side (aws-protocols.md §2)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from botocore.model import OperationModel, ServiceModel

from elsewhere.errors import (
    ElsewhereError,
    InvalidAction,
    MissingAction,
    RequestEntityTooLarge,
    SerializationError,
    ValidationError,
)
from elsewhere.protocol._codec import (
    decode_blob,
    encode_blob,
    format_iso8601,
    parse_float_text,
    parse_int_text,
    parse_timestamp,
)
from elsewhere.protocol._form import MAX_QUERY_PARAMS
from elsewhere.protocol._model import MAX_DEPTH, Node, Response, ShapeCompiler
from elsewhere.protocol._validate import format_validation_message, render_value, validate_input

__all__ = ["QueryProtocol"]

_XML_CT = "text/xml"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_RESPONSE_END = "</RequestId></ResponseMetadata>"
# Characters XML 1.0 cannot carry at all (XML 1.0 §2.2 "Char"); they become U+FFFD.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Text that _escape leaves as it is: no markup character, no CR, nothing XML 1.0 cannot carry.
_XML_PLAIN = re.compile('[^&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]*')
# IAM's policy documents in responses are "URL-encoded compliant with RFC 3986"
# (IAM API Reference, GetRolePolicy); botocore unquotes them (handlers.py json_decode_policies).
_POLICY_SHAPES = frozenset({"policyDocumentType"})


class _Tree:
    """Dotted keys (``Tags.member.1.Key``) as a tree, so each shape reads its own subtree."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        """An empty node."""
        self.value: str | None = None
        self.children: dict[str, _Tree] = {}


_MISSING: Any = object()


def _type_error(text: str, path: str, what: str) -> ValidationError:
    """A value that does not decode to its member's type.

    AWS's text for this case is unknown (aws-protocols.md §6 q1); we keep the Coral grammar so
    clients that display the message read it the same way [INFERRED].
    """
    item = (
        f"Value '{render_value(text)}' at '{path}' failed to satisfy constraint: "
        f"Member must be {what}"
    )
    return ValidationError(format_validation_message([item]))


_TYPE_WORDS = {
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "an ISO 8601 timestamp",
    "blob": "base64-encoded",
}


def _index_order(tree: _Tree) -> list[_Tree]:
    """Children named ``1``, ``2``, ... in numeric order (gaps allowed, other names ignored)."""
    numbered = [
        (int(k), child) for k, child in tree.children.items() if k.isascii() and k.isdigit()
    ]
    numbered.sort(key=lambda pair: pair[0])
    return [child for _, child in numbered]


class QueryProtocol:
    """awsQuery + XML (IAM, STS): ``parse``, ``serialize``, ``serialize_error``."""

    def __init__(self, service_model: ServiceModel) -> None:
        """Prepare the operation table of ``service_model``."""
        self.model = service_model
        self._shapes = ShapeCompiler.for_model(service_model)
        self._names = frozenset(service_model.operation_names)
        self.namespace = str(service_model.metadata.get("xmlNamespace", ""))
        self.api_version = str(service_model.metadata.get("apiVersion", ""))
        self._frames: dict[str, tuple[str, Node | None, str]] = {}

    # --- requests -----------------------------------------------------------------------------

    def parse(self, params: Sequence[tuple[str, str]]) -> tuple[OperationModel, dict[str, Any]]:
        """The operation named by ``Action`` and its validated input.

        ``params`` are the form-decoded body and query pairs, without the ``X-Amz-*`` auth
        parameters. The first occurrence of a repeated key wins.
        """
        if len(params) > MAX_QUERY_PARAMS:
            raise RequestEntityTooLarge(reason=f"{len(params)} query parameters")
        root = _Tree()
        action = version = None
        for key, value in params:
            if key == "Action":
                action = value if action is None else action
                continue
            if key == "Version":
                version = value if version is None else version
                continue
            at = root
            for part in key.split("."):
                child = at.children.get(part)
                if child is None:
                    child = at.children[part] = _Tree()
                at = child
            if at.value is None:
                at.value = value
        if not action:
            raise MissingAction()
        if action not in self._names:
            raise InvalidAction(
                f"Could not find operation {action} for version {version or self.api_version}"
            )
        op = self._shapes.operation(action)
        shape = op.input_shape
        if shape is None:
            return op, {}
        compiled = self._shapes.node(shape)
        if not compiled.members and not compiled.union:
            return op, {}  # no input members (GetCallerIdentity): nothing to read or check
        values = self._read_structure(compiled, root, "", 0)
        return op, validate_input(compiled, values)

    def _read_structure(self, node: Node, tree: _Tree, path: str, depth: int) -> dict[str, Any]:
        """Every member present under ``tree``."""
        out: dict[str, Any] = {}
        for m in node.members:
            child = tree.children.get(m.wire)
            if child is None:
                continue
            p = f"{path}.{m.path}" if path else m.path
            value = self._read(m.node, child, p, depth + 1)
            if value is not _MISSING:
                out[m.name] = value
        return out

    def _read(self, node: Node, tree: _Tree, path: str, depth: int) -> Any:
        """The value of ``node`` under ``tree``, or ``_MISSING``."""
        if depth > MAX_DEPTH:
            raise SerializationError(reason="request nests too deeply")
        t = node.type
        if t == "structure":
            if not tree.children:
                return _MISSING
            return self._read_structure(node, tree, path, depth)
        if t == "list":
            assert node.member is not None
            container = tree if node.flattened else tree.children.get(node.member_wire)
            if container is None or not container.children:
                # An empty list travels as "Name=" (botocore serialize.py, query list encoding).
                if tree.value == "" or (container is not None and container.value == ""):
                    return []
                return _MISSING
            items = _index_order(container)
            return [
                self._read_element(node.member, child, f"{path}.{i}.member", depth)
                for i, child in enumerate(items, 1)
            ]
        if t == "map":
            assert node.key is not None
            assert node.value is not None
            container = tree if node.flattened else tree.children.get("entry")
            if container is None:
                return {} if tree.value == "" else _MISSING
            out: dict[str, Any] = {}
            for entry in _index_order(container):
                key_tree = entry.children.get(node.key_wire)
                value_tree = entry.children.get(node.value_wire)
                if key_tree is None or key_tree.value is None:
                    continue
                key = self._scalar(node.key, key_tree.value, path)
                if key in out:
                    continue
                out[key] = (
                    None
                    if value_tree is None
                    else self._read_element(node.value, value_tree, f"{path}.{key}", depth)
                )
            return out
        if tree.value is None:
            return _MISSING
        return self._scalar(node, tree.value, path)

    def _read_element(self, node: Node, tree: _Tree, path: str, depth: int) -> Any:
        """A list element or map value; absent parts read as None (then fail not-null)."""
        value = self._read(node, tree, path, depth + 1)
        return None if value is _MISSING else value

    @staticmethod
    def _scalar(node: Node, text: str, path: str) -> Any:
        """A query value decoded to the member's scalar type."""
        t = node.type
        try:
            if t == "string":
                return text
            if t == "boolean":
                if text in ("true", "false"):
                    return text == "true"
                raise ValueError(text)
            if t in ("integer", "long"):
                return parse_int_text(text)
            if t in ("float", "double"):
                return parse_float_text(text)
            if t == "timestamp":
                return parse_timestamp(text, "iso8601")
            if t == "blob":
                return decode_blob(text)
        except ValueError:
            raise _type_error(text, path, _TYPE_WORDS.get(t, t)) from None
        raise _type_error(text, path, f"a {t}")

    # --- responses ----------------------------------------------------------------------------

    def serialize(
        self, operation: OperationModel, output: Mapping[str, Any] | None, request_id: str
    ) -> Response:
        """``<OpResponse xmlns><OpResult>...</OpResult><ResponseMetadata>`` (§2.2)."""
        frame = self._frames.get(operation.name)
        if frame is None:
            frame = self._frames[operation.name] = self._frame(operation)
        head, node, tail = frame
        parts = [head]
        if node is not None:
            _members_xml(node, output or {}, parts)
        parts.append(tail)
        parts.append(_escape(request_id))
        parts.append(_RESPONSE_END)
        parts.append(f"</{operation.name}Response>")
        return self._response(200, parts, request_id)

    def _frame(self, operation: OperationModel) -> tuple[str, Node | None, str]:
        """What every answer of ``operation`` starts with, its output node, and what follows.

        The tail runs up to the request id. Built once per operation: it depends on the model
        only.
        """
        name = operation.name
        head = f'<{name}Response xmlns="{_escape(self.namespace)}">'
        tail = "<ResponseMetadata><RequestId>"
        shape = operation.output_shape
        if shape is None:
            return head, None, tail
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        return f"{head}<{wrapper}>", self._shapes.node(shape), f"</{wrapper}>{tail}"

    def serialize_json(
        self, operation: OperationModel, output: Mapping[str, Any] | None, request_id: str
    ) -> Response:
        """The same answer in JSON, for a caller that sends ``Accept: application/json``.

        STS (and IAM) answer JSON to such a request: ``{"<Op>Response": {"<Op>Result": {...},
        "ResponseMetadata": {"RequestId": ...}}}``, the form aws-iam-authenticator and its kin
        parse from GetCallerIdentity. Lists are arrays, timestamps epoch seconds (as AWS's JSON
        answers write them), blobs base64.
        """
        name = operation.name
        shape = operation.output_shape
        body: dict[str, Any] = {}
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
            body[wrapper] = _json_members(self._shapes.node(shape), output or {})
        body["ResponseMetadata"] = {"RequestId": request_id}
        return _json_response(200, {f"{name}Response": body}, request_id)

    def serialize_error_json(self, error: ElsewhereError, request_id: str) -> Response:
        """An error in the JSON form of :meth:`serialize_json`'s callers."""
        document = {
            "Error": {
                "Code": error.code_for("query"),
                "Message": error.message_for("query"),
                "Type": "Sender" if error.sender_fault else "Receiver",
            },
            "RequestId": request_id,
        }
        return _json_response(error.status_for("query"), document, request_id)

    def serialize_error(self, error: ElsewhereError, request_id: str) -> Response:
        """``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`` (§2.5)."""
        kind = "Sender" if error.sender_fault else "Receiver"
        parts = [
            f'<ErrorResponse xmlns="{_escape(self.namespace)}">',
            f"<Error><Type>{kind}</Type><Code>{_escape(error.code_for('query'))}</Code>",
            f"<Message>{_escape(error.message_for('query'))}</Message></Error>",
            f"<RequestId>{_escape(request_id)}</RequestId>",
            "</ErrorResponse>",
        ]
        return self._response(error.status_for("query"), parts, request_id)

    @staticmethod
    def _response(status: int, parts: list[str], request_id: str) -> Response:
        """Assemble the XML document."""
        body = (_XML_DECLARATION + "".join(parts)).encode()
        headers = (("Content-Type", _XML_CT), ("x-amzn-RequestId", request_id))
        return Response(status, headers, body)


def _json_response(status: int, document: Mapping[str, Any], request_id: str) -> Response:
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id))
    return Response(status, headers, body)


def _json_members(node: Node, value: Mapping[str, Any]) -> dict[str, Any]:
    """Each non-None member of a structure, by wire name, in declaration order."""
    return {
        m.wire: _json(m.node, value[m.name])
        for m in node.members
        if value.get(m.name) is not None
    }


def _json(node: Node, value: Any) -> Any:
    """``value`` encoded per ``node`` as JSON."""
    t = node.type
    if t == "structure":
        return _json_members(node, value)
    if t == "list":
        assert node.member is not None
        return [_json(node.member, item) for item in value]
    if t == "map":
        assert node.value is not None
        return {str(k): _json(node.value, v) for k, v in value.items()}
    if t == "timestamp" and isinstance(value, dt.datetime):
        return value.timestamp()
    if t == "boolean":
        return bool(value)
    if t in ("integer", "long") and isinstance(value, int):
        return value
    if t in ("float", "double") and isinstance(value, float) and math.isfinite(value):
        return value
    return _scalar_text(node, value)


def _escape(text: str) -> str:
    """XML character data: escape markup, keep CR, and replace what XML 1.0 cannot carry."""
    if _XML_PLAIN.fullmatch(text) is not None:
        return text  # most values (ids, ARNs, dates) need nothing: one scan instead of six
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;").replace("\r", "&#13;")
    return _XML_INVALID.sub("\ufffd", text)


def _members_xml(node: Node, value: Mapping[str, Any], parts: list[str]) -> None:
    """Each non-None member of a structure, in declaration order."""
    for m in node.members:
        v = value.get(m.name)
        if v is None:
            continue
        if type(v) is str and m.node.type == "string" and m.node.name not in _POLICY_SHAPES:
            # The common member, written here rather than through _xml and _scalar_text.
            parts.append(f"<{m.wire}>{_escape(v)}</{m.wire}>")
        else:
            _xml(m.node, v, m.wire, parts)


def _xml(node: Node, value: Any, name: str, parts: list[str]) -> None:
    """One element ``<name>`` holding ``value`` encoded per ``node`` (§2.3)."""
    t = node.type
    if t == "structure":
        parts.append(f"<{name}>")
        _members_xml(node, value, parts)
        parts.append(f"</{name}>")
    elif t == "list":
        assert node.member is not None
        if node.flattened:
            for item in value:
                _xml(node.member, item, name, parts)
            return
        parts.append(f"<{name}>")
        for item in value:
            _xml(node.member, item, node.member_wire, parts)
        parts.append(f"</{name}>")
    elif t == "map":
        assert node.key is not None
        assert node.value is not None
        parts.append(f"<{name}>")
        for k, v in value.items():
            parts.append(f"<entry><{node.key_wire}>{_escape(str(k))}</{node.key_wire}>")
            _xml(node.value, v, node.value_wire, parts)
            parts.append("</entry>")
        parts.append(f"</{name}>")
    else:
        parts.append(f"<{name}>{_escape(_scalar_text(node, value))}</{name}>")


def _scalar_text(node: Node, value: Any) -> str:
    """A scalar as XML text."""
    t = node.type
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return format_iso8601(value) if isinstance(value, dt.datetime) else str(value)
    if t == "blob":
        return encode_blob(bytes(value)) if isinstance(value, bytes | bytearray) else str(value)
    if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if t == "string" and node.name in _POLICY_SHAPES:
        return quote(str(value), safe="")
    return str(value)
