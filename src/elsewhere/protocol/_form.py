"""awsQuery input on the wire: form decoding, and which query service a request is for.

A query-protocol call carries its input as ``application/x-www-form-urlencoded`` pairs in the
body and/or the query string (aws-protocols.md §2.1). The gateway needs those pairs before
authentication, to answer errors in the right format, so these helpers are kept apart from
:class:`~elsewhere.protocol.QueryProtocol` and cheap on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from urllib.parse import unquote_plus

from elsewhere.errors import RequestEntityTooLarge, SerializationError
from elsewhere.protocol._model import MAX_BODY_BYTES, load_service_model

__all__ = ["MAX_QUERY_PARAMS", "guess_query_service", "parse_form", "query_input"]

#: The most form/query parameters one request may carry (IAM's largest lists are far below).
MAX_QUERY_PARAMS = 10_000

_FORM_TYPE = "application/x-www-form-urlencoded"
# The API versions botocore sends in ``Version`` (the models' ``apiVersion``).
_QUERY_VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts"}
_QUERY_SERVICES = ("iam", "sts")


def _unquote(text: str) -> str:
    """``+`` as a space, then percent-decoding as UTF-8 (strict), as HTML forms encode."""
    if "%" in text or "+" in text:
        return unquote_plus(text, encoding="utf-8", errors="strict")
    return text  # nothing to decode: the common case, at no cost


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body (``+`` is a space) into pairs.

    The result is what ``urllib.parse.parse_qsl`` gives with ``keep_blank_values=True``,
    strict UTF-8 and at most :data:`MAX_QUERY_PARAMS` fields (a property test holds the two
    together); without its generic argument handling, which costs more than the parse itself.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(reason=f"form body of {len(body)} bytes")
    if not body:
        return []
    try:
        text = body.decode("utf-8")
        if text.count("&") >= MAX_QUERY_PARAMS:
            raise ValueError("Max number of fields exceeded")
        pairs: list[tuple[str, str]] = []
        for field in text.split("&"):
            if not field:
                continue  # "a=1&&b=2": empty fields are skipped
            name, _, value = field.partition("=")  # "flag" alone is ("flag", "")
            pairs.append((_unquote(name), _unquote(value)))
    except ValueError as exc:
        # UnicodeDecodeError (a ValueError), in the body or in a percent-escape, and the limit.
        raise SerializationError(reason=f"form body does not decode: {exc}") from None
    return pairs


def query_input(raw_query: str, body: bytes, content_type: str) -> list[tuple[str, str]]:
    """The awsQuery input pairs of a request: its query string, then a form body.

    The body counts only when it is declared a form. The presigned-URL authentication
    parameters (``X-Amz-*``) are not operation input and are left out.
    """
    params = parse_form(raw_query.encode("latin-1")) if raw_query else []
    if body and content_type.startswith(_FORM_TYPE):
        params += parse_form(body)
    return [(k, v) for k, v in params if not k.lower().startswith("x-amz-")]


@functools.cache
def _operations() -> tuple[tuple[str, frozenset[str]], ...]:
    """Each query service with its operation names, from the botocore models (loaded once)."""
    return tuple(
        (name, frozenset(load_service_model(name).operation_names)) for name in _QUERY_SERVICES
    )


def guess_query_service(params: Sequence[tuple[str, str]]) -> str | None:
    """The query service (``iam`` or ``sts``) named by ``Version``, else owning ``Action``.

    Used to pick the error format before authentication says which service the call is for;
    None when the pairs carry no ``Action`` or neither service knows it. A repeated key counts
    by its last value.
    """
    values = dict(params)
    action = values.get("Action")
    if action is None:
        return None
    service = _QUERY_VERSIONS.get(values.get("Version", ""))
    if service is not None:
        return service
    for name, operations in _operations():
        if action in operations:
            return name
    return None
