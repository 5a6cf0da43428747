"""restJson1, server side: route, parse, validate and serialize (aws-protocols.md §1)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

from elsewhere.errors import (
    ElsewhereError,
    RequestEntityTooLarge,
    SerializationError,
    UnknownOperation,
)
from elsewhere.protocol._codec import (
    decode_blob,
    encode_blob,
    format_timestamp,
    parse_float_text,
    parse_int_text,
    parse_timestamp,
)
from elsewhere.protocol._model import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    Member,
    Node,
    Response,
    ShapeCompiler,
)
from elsewhere.protocol._validate import validate_input

__all__ = ["RestJsonProtocol", "render_json_error"]

_JSON_CT = "application/json"


def render_json_error(error: ElsewhereError, request_id: str) -> Response:
    """The restJson1 error form (§1.7): ``x-amzn-ErrorType`` header and ``{"message": ...}``."""
    code = error.code_for("json")
    body = json.dumps({"message": error.message}).encode()
    headers = (
        ("Content-Type", _JSON_CT),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", code),
    )
    return Response(error.status_for("json"), headers, body)


@dataclass(frozen=True)
class _Route:
    """One compiled ``requestUri``: regex over the raw path, label names, specificity, query."""

    operation: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]
    rank: tuple[int, ...]
    literal_query: tuple[tuple[str, str], ...]


def _compile_route(name: str, request_uri: str) -> _Route:
    """Compile a ``requestUri`` template (``/a/{b}/{c+}?x=y``) into a :class:`_Route`."""
    path, _, query = request_uri.partition("?")
    literal_query = tuple(
        (unquote(k), unquote(v))
        for k, _, v in (part.partition("=") for part in query.split("&") if part)
    )
    path = path.rstrip("/") or "/"
    parts: list[str] = []
    labels: list[str] = []
    rank: list[int] = []
    for segment in path.split("/")[1:]:
        if segment.startswith("{") and segment.endswith("}"):
            label = segment[1:-1]
            if label.endswith("+"):
                labels.append(label[:-1])
                parts.append("(.+)")
                rank.append(2)
            else:
                labels.append(label)
                parts.append("([^/]+)")
                rank.append(1)
        else:
            parts.append(re.escape(segment))
            rank.append(0)
    regex = re.compile("/" + "/".join(parts))
    return _Route(name, regex, tuple(labels), tuple(rank), literal_query)


def _split_query(raw_query: str) -> dict[str, list[str]]:
    """Percent-decode ``a=1&b=2&b=3`` into a multi-dict (``+`` stays literal, as in RFC 3986)."""
    out: dict[str, list[str]] = {}
    if not raw_query:
        return out
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out.setdefault(unquote(key), []).append(unquote(value))
    return out


def _type_error(path: str, expected: str) -> SerializationError:
    """The error for a JSON value of the wrong type."""
    where = path or "the request body"
    return SerializationError(f"Expected {expected} at '{where}'.")


def _decode_text(node: Node, text: str, path: str, fmt: str | None) -> Any:
    """A label, query or header string decoded to the member's type."""
    t = node.type
    try:
        if t == "string":
            return text
        if t == "boolean":
            if text == "true":
                return True
            if text == "false":
                return False
            raise ValueError("not a boolean")
        if t in ("integer", "long"):
            return parse_int_text(text)
        if t in ("float", "double"):
            return parse_float_text(text)
        if t == "timestamp":
            return parse_timestamp(text, fmt)
        if t == "blob":
            return decode_blob(text)
    except ValueError:
        raise _type_error(path, f"a value of type {t}") from None
    raise _type_error(path, f"a scalar, not {t}")


def _split_header_list(text: str) -> list[str]:
    """A comma-joined header list, with double-quoted elements (botocore serialize.py §1.3)."""
    items: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            buf: list[str] = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            items.append("".join(buf))
            i += 1
            comma = text.find(",", i)
            i = n + 1 if comma < 0 else comma + 1
        else:
            comma = text.find(",", i)
            end = n if comma < 0 else comma
            items.append(text[i:end].strip())
            i = end + 1
    return items


class RestJsonProtocol:
    """restJson1 (rolesanywhere): ``match``, ``parse``, ``serialize``, ``serialize_error``."""

    def __init__(self, service_model: ServiceModel) -> None:
        """Compile the routes of ``service_model`` once."""
        self.model = service_model
        self._shapes = ShapeCompiler.for_model(service_model)
        self._routes: dict[str, list[_Route]] = {}
        for name in service_model.operation_names:
            http = service_model.operation_model(name).http
            route = _compile_route(name, http.get("requestUri", "/"))
            self._routes.setdefault(http.get("method", "POST").upper(), []).append(route)
        for routes in self._routes.values():
            # Literal beats label beats greedy label, segment by segment (aws-protocols.md §1.2).
            routes.sort(key=lambda r: (r.rank, -len(r.literal_query)))

    # --- routing ------------------------------------------------------------------------------

    def match(
        self, method: str, raw_path: str, raw_query: str = ""
    ) -> tuple[OperationModel, dict[str, str]]:
        """The operation for ``method`` and the *raw* (still percent-encoded) path, and its labels.

        One trailing ``/`` is ignored. Labels are percent-decoded after matching, so ``%2F``
        inside a label never splits it. Raises :class:`UnknownOperation` when nothing matches.
        """
        path = raw_path.partition("?")[0]
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        query: dict[str, list[str]] | None = None
        for route in self._routes.get(method.upper(), ()):
            m = route.regex.fullmatch(path)
            if m is None:
                continue
            if route.literal_query:
                if query is None:
                    query = _split_query(raw_query)
                if any(v not in query.get(k, ()) for k, v in route.literal_query):
                    continue
            labels = {
                name: unquote(value, errors="replace")
                for name, value in zip(route.labels, m.groups(), strict=True)
            }
            return self._shapes.operation(route.operation), labels
        raise UnknownOperation(reason=f"no route for {method} {raw_path[:200]}")

    # --- requests -----------------------------------------------------------------------------

    def parse(
        self,
        operation: OperationModel,
        labels: Mapping[str, str],
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        """Bind every input member from its location, decode types, then validate the whole input.

        ``headers`` must have lower-case names. Raises :class:`SerializationError` for a body that
        is not JSON or has a wrong type, :class:`ValidationError` for model constraint failures.
        """
        if len(body) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge(reason=f"body of {len(body)} bytes")
        shape = operation.input_shape
        if shape is None:
            return {}
        node = self._shapes.node(shape)
        query = _split_query(raw_query)
        params: dict[str, Any] = {}
        body_members: list[Member] = []
        claimed: set[str] = set()
        for m in node.members:
            loc = m.location
            fmt = m.timestamp_format or m.node.timestamp_format
            if loc == "uri":
                if m.wire in labels:
                    params[m.name] = _decode_text(m.node, labels[m.wire], m.path, fmt or "iso8601")
            elif loc == "querystring":
                if m.node.type != "map":
                    claimed.add(m.wire)
                    values = query.get(m.wire)
                    if values:
                        params[m.name] = self._query_value(m, values, fmt)
            elif loc == "header":
                text = headers.get(m.wire.lower())
                if text is not None:
                    params[m.name] = self._header_value(m, text, fmt)
            elif loc == "headers":
                prefix = m.wire.lower()
                found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
                if found:
                    params[m.name] = found
            elif loc is None:
                body_members.append(m)
        for m in node.members:
            if m.location == "querystring" and m.node.type == "map":
                rest = {k: v for k, v in query.items() if k not in claimed}
                if rest:
                    params[m.name] = self._query_map(m, rest)
        payload = shape.serialization.get("payload")
        if payload is not None:
            self._bind_payload(node, payload, body, params)
        elif body_members:
            doc = self._load_json(body)
            if not isinstance(doc, dict):
                raise _type_error("", "a JSON object")
            for m in body_members:
                if m.wire in doc and doc[m.wire] is not None:
                    params[m.name] = self._from_json(m, doc[m.wire], m.path, 1)
        return validate_input(node, params)

    @staticmethod
    def _load_json(body: bytes) -> Any:
        """Parse a JSON body (empty means ``{}``); errors become :class:`SerializationError`."""
        if not body.strip():
            return {}
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError and UnicodeDecodeError.
            raise SerializationError(reason=f"body is not JSON: {exc}") from None

    def _bind_payload(self, node: Node, payload: str, body: bytes, params: dict[str, Any]) -> None:
        """A structure whose ``payload`` member is the whole body."""
        member = next(m for m in node.members if m.name == payload)
        if member.node.type == "blob":
            if body:
                params[member.name] = body
        elif member.node.type == "string":
            if body:
                try:
                    params[member.name] = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise SerializationError(reason="payload is not UTF-8") from None
        else:
            doc = self._load_json(body)
            if body.strip():
                params[member.name] = self._from_json(member, doc, member.path, 1)

    def _query_value(self, m: Member, values: list[str], fmt: str | None) -> Any:
        """A querystring member: lists take every occurrence, scalars the first."""
        fmt = fmt or "iso8601"
        if m.node.type == "list":
            assert m.node.member is not None
            return [_decode_text(m.node.member, v, m.path, fmt) for v in values]
        return _decode_text(m.node, values[0], m.path, fmt)

    def _query_map(self, m: Member, rest: dict[str, list[str]]) -> dict[str, Any]:
        """A map-typed querystring member takes every query parameter no other member claims."""
        value = m.node.value
        assert value is not None
        if value.type == "list":
            assert value.member is not None
            elem = value.member
            return {
                k: [_decode_text(elem, x, m.path, "iso8601") for x in v] for k, v in rest.items()
            }
        return {k: _decode_text(value, v[0], m.path, "iso8601") for k, v in rest.items()}

    def _header_value(self, m: Member, text: str, fmt: str | None) -> Any:
        """A header member: lists are comma-joined, timestamps RFC 822 by default."""
        fmt = fmt or "rfc822"
        if m.node.type == "list":
            assert m.node.member is not None
            return [_decode_text(m.node.member, v, m.path, fmt) for v in _split_header_list(text)]
        if m.node.type == "string" and m.node.document:
            return text
        return _decode_text(m.node, text, m.path, fmt)

    def _from_json(
        self, m: Member | None, value: Any, path: str, depth: int, node: Node | None = None
    ) -> Any:
        """A JSON value checked and converted to the member's type (blobs to bytes, ...)."""
        if depth > MAX_DEPTH:
            raise SerializationError(reason="request nests too deeply")
        if node is None:
            assert m is not None
            node = m.node
        t = node.type
        if node.document:
            return value
        if t == "structure":
            if not isinstance(value, dict):
                raise _type_error(path, "a JSON object")
            out: dict[str, Any] = {}
            for sub in node.members:
                if sub.wire in value and value[sub.wire] is not None:
                    out[sub.name] = self._from_json(
                        sub, value[sub.wire], f"{path}.{sub.path}", depth + 1
                    )
            return out
        if t == "list":
            if not isinstance(value, list):
                raise _type_error(path, "a JSON array")
            elem = node.member
            return [
                None
                if v is None
                else self._from_json(None, v, f"{path}.{i}.member", depth + 1, elem)
                for i, v in enumerate(value, 1)
            ]
        if t == "map":
            if not isinstance(value, dict):
                raise _type_error(path, "a JSON object")
            vnode = node.value
            return {
                k: None if v is None else self._from_json(None, v, f"{path}.{k}", depth + 1, vnode)
                for k, v in value.items()
            }
        if t == "string":
            if not isinstance(value, str):
                raise _type_error(path, "a string")
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                raise _type_error(path, "a boolean")
            return value
        if t in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(path, "an integer")
            return value
        if t in ("float", "double"):
            if isinstance(value, str):
                try:
                    return _FLOAT_WORDS[value]
                except KeyError:
                    raise _type_error(path, "a number") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _type_error(path, "a number")
            return float(value)
        if t == "blob":
            if not isinstance(value, str):
                raise _type_error(path, "a base64 string")
            try:
                return decode_blob(value)
            except ValueError:
                raise _type_error(path, "a base64 string") from None
        if t == "timestamp":
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise _type_error(path, "a timestamp")
            try:
                return parse_timestamp(value, None)
            except ValueError:
                raise _type_error(path, "a timestamp") from None
        raise _type_error(path, f"a value of type {t}")

    # --- responses ----------------------------------------------------------------------------

    def serialize(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> Response:
        """Success: status from ``http.responseCode``, JSON body from the output shape."""
        status = int(operation.http.get("responseCode", 200))
        headers: list[tuple[str, str]] = [
            ("Content-Type", _JSON_CT),
            ("x-amzn-RequestId", request_id),
        ]
        shape = operation.output_shape
        if shape is None:
            return Response(status, tuple(headers), b"{}")
        node = self._shapes.node(shape)
        payload = shape.serialization.get("payload")
        body_doc: dict[str, Any] = {}
        raw_body: bytes | None = None
        for m in node.members:
            value = output.get(m.name)
            if value is None:
                continue
            fmt = m.timestamp_format or m.node.timestamp_format
            if m.location == "statusCode":
                status = int(value)
            elif m.location == "header":
                headers.append((m.wire, _header_text(m.node, value, fmt)))
            elif m.location == "headers":
                headers.extend((m.wire + k, str(v)) for k, v in value.items())
            elif payload is not None and m.name == payload:
                if m.node.type in ("blob", "string"):
                    raw_body = value if isinstance(value, bytes) else str(value).encode()
                else:
                    raw_body = _dumps(_to_json(m.node, value, fmt))
            elif m.location is None:
                body_doc[m.wire] = _to_json(m.node, value, fmt)
        body = raw_body if raw_body is not None else _dumps(body_doc)
        return Response(status, tuple(headers), body)

    def serialize_error(self, error: ElsewhereError, request_id: str) -> Response:
        """The error response for ``error`` in restJson1 form."""
        return render_json_error(error, request_id)


_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _reject_constant(name: str) -> Any:
    """JSON's ``NaN``/``Infinity`` literals are not JSON; botocore sends them as strings."""
    raise ValueError(f"invalid literal {name}")


def _dumps(doc: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(doc, separators=(",", ":")).encode()


def _header_text(node: Node, value: Any, fmt: str | None) -> str:
    """A header member's text (timestamps RFC 822 by default, lists comma-joined)."""
    if node.type == "timestamp" and isinstance(value, dt.datetime):
        return str(format_timestamp(value, fmt or "rfc822"))
    if node.type == "boolean":
        return "true" if value else "false"
    if node.type == "list" and isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(f'"{v}"' if ("," in str(v) or '"' in str(v)) else str(v) for v in value)
    return str(value)


def _to_json(node: Node, value: Any, fmt: str | None = None) -> Any:
    """A Python value as the JSON the model's shape calls for."""
    t = node.type
    if node.document:
        return value
    if t == "structure":
        out: dict[str, Any] = {}
        for m in node.members:
            v = value.get(m.name)
            if v is not None:
                out[m.wire] = _to_json(m.node, v, m.timestamp_format or m.node.timestamp_format)
        return out
    if t == "list":
        assert node.member is not None
        elem = node.member
        return [_to_json(elem, v, elem.timestamp_format) for v in value]
    if t == "map":
        assert node.value is not None
        vnode = node.value
        return {str(k): _to_json(vnode, v, vnode.timestamp_format) for k, v in value.items()}
    if t == "timestamp":
        if isinstance(value, dt.datetime):
            return format_timestamp(value, fmt or node.timestamp_format or "unixtimestamp")
        return value
    if t == "blob":
        return encode_blob(bytes(value)) if isinstance(value, bytes | bytearray) else value
    if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
