"""Parse, validate and compile a policy document.

Grammar: IAM User Guide "Grammar of the IAM JSON policy language" and the element pages. AWS does
not document its ``MalformedPolicyDocument`` texts; the messages and the order of checks below are
the observed ones collected in the team reference (§1.7, from moto's AWS-probed validator and real
error reports). The first failing stage wins:

1. JSON and structure -> ``Syntax errors in policy.``
2. Version; Principal presence per policy kind
3. "legacy parsing": Effect case, Date condition values
4. Sid format and uniqueness
5. Action presence
6. Resource format
7. Action vendor format
8. Resource presence (identity-like kinds); trust-policy rules; principal values
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from typing import Any, Final

from elsewhere.errors import LimitExceeded, MalformedPolicyDocument

from . import _glob
from ._conditions import compile_condition, date_value_ok, parse_operator, value_text
from ._policy import Effect, Policy, PolicyKind, Position, PrincipalSpec, Statement

__all__ = ["DEFAULT_MAX_SIZE", "parse_policy", "policy_size"]

SYNTAX: Final = "Syntax errors in policy."
OLD_VERSION: Final = "Policy document must be version 2012-10-17 or greater."
LEGACY: Final = "The policy failed legacy parsing"
SID_UNIQUE: Final = "Statement IDs (SID) in a single policy must be unique."
SID_ALNUM: Final = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
NO_ACTIONS: Final = "Policy statement must contain actions."
NO_RESOURCES: Final = "Policy statement must contain resources."
HAS_PRINCIPAL: Final = "Policy document should not specify a principal."
# Not observed (reference §11.15): our wording for a trust or resource policy without Principal.
NO_PRINCIPAL: Final = "Policy statement must contain a principal."
TRUST_RESOURCE: Final = "Has prohibited field Resource."
TRUST_ACTIONS: Final = (
    "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  "
    "and sts:AssumeRoleWithWebIdentity"
)

# Default size limits in characters, whitespace not counted (IAM quotas page): customer managed
# policy 6,144; role trust policy 2,048 (adjustable); session policies 2,048 (inline + managed
# together, which the caller checks across policies); resource policies are service-specific.
DEFAULT_MAX_SIZE: Final[dict[PolicyKind, int | None]] = {
    PolicyKind.IDENTITY: 6144,
    PolicyKind.BOUNDARY: 6144,
    PolicyKind.TRUST: 2048,
    PolicyKind.SESSION: 2048,
    PolicyKind.RESOURCE: None,
}
_QUOTA_NAMES: Final = {PolicyKind.TRUST: "ACLSizePerRole"}

_TOP_KEYS: Final = frozenset({"Version", "Id", "Statement"})
_STMT_KEYS: Final = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_KEYS: Final = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_VERSIONS: Final = frozenset({"2012-10-17", "2008-10-17"})
_PARTITIONS: Final = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_SID_RE: Final = re.compile(r"^[0-9A-Za-z]*$")
_VENDOR_RE: Final = re.compile(r"^[A-Za-z0-9*?.-]+$")
_ALLOWED_CHARS_RE: Final = re.compile(r"^[\t\n\r\u0020-\u00ff]*$")
_STRING_LITERAL: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NEWLINE: Final = re.compile("\n")
_ACCOUNT_RE: Final = re.compile(r"^\d{12}$")
_UNIQUE_ID_RE: Final = re.compile(r"^A[A-Z0-9]{15,127}$")
_PRINCIPAL_ARN_RE: Final = re.compile(
    r"^arn:[a-z-]+:(?:iam::\d{12}:(?:root|user/.+|role/.+)"
    r"|sts::\d{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))$"
)
_IAM_TYPES: Final = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)


def policy_size(text: str) -> int:
    """Characters counted against IAM's size quotas: everything but whitespace outside strings."""
    # Two C-level passes: string literals count whole; outside them, drop whitespace.
    inside = sum(map(len, _STRING_LITERAL.findall(text)))
    return inside + len("".join(_STRING_LITERAL.sub("", text).split()))


# --- JSON with positions and duplicate detection ----------------------------------------------


class _Obj(list[tuple[str, Any]]):
    """A JSON object as its member pairs, with the offsets of its braces."""

    start: int = 0
    end: int = 0


def _pairs(pairs: list[tuple[str, Any]]) -> _Obj:
    return _Obj(pairs)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON


def _make_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_reject_constant)
    # JSONObject is undocumented but stable since Python 2.7; typeshed does not list it.
    plain: Callable[..., tuple[Any, int]] = json.decoder.JSONObject  # type: ignore[attr-defined]

    def parse_object(
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: Any,
        object_hook: Any,
        object_pairs_hook: Any,
        memo: Any = None,
    ) -> tuple[Any, int]:
        obj, end = plain(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo)
        obj.start = s_and_end[1] - 1
        obj.end = end - 1
        return obj, end

    # The pure-Python scanner calls ``parse_object`` through the decoder, which lets us record
    # where each object starts and ends (for simulation's MatchedStatements positions).
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


_DECODER: Final = _make_decoder()


def _fail(message: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(message)


def _to_dict(obj: object) -> dict[str, Any]:
    if not isinstance(obj, _Obj):
        raise _fail(SYNTAX)
    out: dict[str, Any] = {}
    for k, v in obj:
        if k in out:
            raise _fail(SYNTAX)  # a member may not appear twice (Grammar page)
        out[k] = v
    return out


def _plain(value: Any) -> Any:
    """Convert nested _Obj pairs to dicts (rejecting duplicates)."""
    if isinstance(value, _Obj):
        return {k: _plain(v) for k, v in _to_dict(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if (
        isinstance(value, list)
        and not isinstance(value, _Obj)
        and all(isinstance(v, str) for v in value)
    ):
        return list(value)
    raise _fail(SYNTAX)


# --- the parser ---------------------------------------------------------------------------------


class _Raw:
    """A statement after structural checks, before compilation."""

    __slots__ = (
        "actions",
        "conditions",
        "effect",
        "end",
        "not_action",
        "not_principal",
        "not_resource",
        "principal",
        "resources",
        "sid",
        "start",
    )

    def __init__(self) -> None:
        self.sid = ""
        self.effect = ""
        self.principal: Any = None
        self.not_principal = False
        self.actions: list[str] | None = None
        self.not_action = False
        self.resources: list[str] | None = None
        self.not_resource = False
        self.conditions: list[tuple[str, str, tuple[str, ...]]] = []
        self.start = 0
        self.end = 0


def _structure(stmt_obj: object) -> _Raw:
    d = _to_dict(stmt_obj)
    if not d.keys() <= _STMT_KEYS:
        raise _fail(SYNTAX)
    raw = _Raw()
    assert isinstance(stmt_obj, _Obj)
    raw.start, raw.end = stmt_obj.start, stmt_obj.end
    if "Sid" in d:
        if not isinstance(d["Sid"], str):
            raise _fail(SYNTAX)
        raw.sid = d["Sid"]
    effect = d.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise _fail(SYNTAX)
    raw.effect = effect
    if "Action" in d and "NotAction" in d:
        raise _fail(SYNTAX)
    if "Resource" in d and "NotResource" in d:
        raise _fail(SYNTAX)
    if "Principal" in d and "NotPrincipal" in d:
        raise _fail(SYNTAX)
    for name in ("Action", "NotAction"):
        if name in d:
            raw.actions = _string_list(d[name])
            raw.not_action = name == "NotAction"
    for name in ("Resource", "NotResource"):
        if name in d:
            raw.resources = _string_list(d[name])
            raw.not_resource = name == "NotResource"
    for name in ("Principal", "NotPrincipal"):
        if name in d:
            raw.principal = _principal_structure(_plain(d[name]))
            raw.not_principal = name == "NotPrincipal"
    if "Condition" in d:
        raw.conditions = _condition_structure(d["Condition"])
    return raw


def _principal_structure(value: Any) -> dict[str, list[str]]:
    if value == "*":
        return {"AWS": ["*"]}
    if not isinstance(value, dict) or not value or not value.keys() <= _PRINCIPAL_KEYS:
        raise _fail(SYNTAX)
    return {k: _string_list(v) for k, v in value.items()}


def _condition_structure(value: object) -> list[tuple[str, str, tuple[str, ...]]]:
    block = _to_dict(value)
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for op, body in block.items():
        members = _to_dict(body)
        if parse_operator(op) is None:
            if members:
                raise _fail(SYNTAX)  # unknown operator; with an empty body AWS accepts it
            continue
        for key, v in members.items():
            items = v if isinstance(v, list) and not isinstance(v, _Obj) else [v]
            if not all(isinstance(i, (str, bool, int, float)) for i in items):
                raise _fail(SYNTAX)
            out.append((op, key, tuple(value_text(i) for i in items)))
    return out


def _check_resource(resource: str) -> None:
    if resource == "*":
        return
    if ":" not in resource:
        raise _fail(f'Resource {resource} must be in ARN format or "*".')
    parts = resource.split(":")
    if parts[0] != "arn":
        raise _fail(f'Resource {resource} must be in ARN format or "*".')
    partition = parts[1]
    if partition not in _PARTITIONS and partition != "*":
        rest = parts[2:] + ["*"] * max(0, 4 - len(parts[2:]))
        shown = ":".join([*rest[:3], ":".join(rest[3:]) or "*"])
        raise _fail(f'Partition "{partition}" is not valid for resource "arn:{partition}:{shown}".')
    if len(parts) < 3 or not parts[2]:
        raise _fail("Resource vendor must be fully qualified and cannot contain regexes.")
    service = parts[2]
    region = parts[3] if len(parts) > 3 else ""
    if service == "iam":
        if region:
            raise _fail(f"IAM resource {resource} cannot contain region information.")
        path = ":".join(parts[5:]) if len(parts) > 5 else ""
        if len(parts) > 5 and path != "*" and not path.startswith(_IAM_TYPES) and path != "root":
            raise _fail(
                'IAM resource path must either be "*" or start with ' + ", ".join(_IAM_TYPES) + "."
            )
    elif (
        service == "s3"
        and region
        and region != "*"
        and not any(seg.startswith(("accesspoint", "job", "storage-lens")) for seg in parts[5:])
    ):
        raise _fail(f"Resource {resource} can not contain region information.")


def _check_action(action: str) -> None:
    if action == "*":
        return
    if ":" not in action:
        raise _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    vendor, _, name = action.partition(":")
    if ":" in name:
        raise _fail("Actions/Condition can contain only one colon.")
    if not _VENDOR_RE.match(vendor):
        raise _fail(f"Vendor {vendor} is not valid")


def _check_principal_value(category: str, value: str) -> None:
    if category != "AWS" or value == "*":
        if "*" in value and value != "*" and category == "AWS":
            raise _fail(f'Invalid principal in policy: "{category}":"{value}"')
        return
    if _ACCOUNT_RE.match(value) or _UNIQUE_ID_RE.match(value):
        return
    if "*" in value or "?" in value or not _PRINCIPAL_ARN_RE.match(value):
        raise _fail(f'Invalid principal in policy: "{category}":"{value}"')


def parse_policy(
    text: str,
    *,
    kind: PolicyKind,
    policy_id: str = "",
    max_size: int | None = -1,
    require_current_version: bool | None = None,
) -> Policy:
    """Parse, validate and compile ``text`` as a policy of ``kind``.

    ``max_size`` defaults to the AWS quota for ``kind`` (``DEFAULT_MAX_SIZE``; whitespace not
    counted); None disables the check. ``require_current_version`` (default: True for identity
    and boundary policies, which IAM's APIs reject without Version 2012-10-17) rejects a missing
    or 2008-10-17 Version. Raises ``MalformedPolicyDocument`` with AWS's message, or
    ``LimitExceeded`` when the document is over ``max_size``.
    """
    limit = DEFAULT_MAX_SIZE[kind] if max_size == -1 else max_size
    if not _ALLOWED_CHARS_RE.match(text):
        raise _fail(SYNTAX)
    if limit is not None:
        size = policy_size(text)
        if size > limit:
            quota = _QUOTA_NAMES.get(kind, "PolicySize")
            raise LimitExceeded(f"Cannot exceed quota for {quota}: {limit}")
    # Stage 1: JSON and structure.
    try:
        doc_obj = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise _fail(SYNTAX) from None
    doc = _to_dict(doc_obj)
    if not doc.keys() <= _TOP_KEYS or "Statement" not in doc:
        raise _fail(SYNTAX)
    version = doc.get("Version")
    if version is not None and (not isinstance(version, str) or version not in _VERSIONS):
        raise _fail(SYNTAX)
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise _fail(SYNTAX)
    stmt_value = doc["Statement"]
    stmt_objs = (
        [stmt_value]
        if isinstance(stmt_value, _Obj) or not isinstance(stmt_value, list)
        else stmt_value
    )
    if not stmt_objs:
        raise _fail(SYNTAX)
    raws = [_structure(s) for s in stmt_objs]
    # Stage 2: Version, then Principal presence by kind.
    strict_version = (
        kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY)
        if require_current_version is None
        else require_current_version
    )
    if strict_version and version != "2012-10-17":
        raise _fail(OLD_VERSION)
    for raw in raws:
        if raw.principal is not None and not kind.has_principal:
            raise _fail(HAS_PRINCIPAL)
        if raw.principal is None and kind.has_principal:
            raise _fail(NO_PRINCIPAL)
    # Stage 3: legacy parsing.
    for raw in raws:
        if raw.effect not in ("Allow", "Deny"):
            raise _fail(LEGACY)
        for op, _key, values in raw.conditions:
            spec = parse_operator(op)
            if (
                spec is not None
                and spec.family == "date"
                and not all(date_value_ok(v) for v in values)
            ):
                raise _fail(LEGACY)
    # Stage 4: Sids (IAM: alphanumeric and unique; other services' policies may differ).
    seen: set[str] = set()
    for raw in raws:
        if kind is not PolicyKind.RESOURCE and not _SID_RE.match(raw.sid):
            raise _fail(SID_ALNUM)
        if raw.sid:
            if raw.sid in seen:
                raise _fail(SID_UNIQUE)
            seen.add(raw.sid)
    # Stage 5: actions present.
    for raw in raws:
        if not raw.actions:
            raise _fail(NO_ACTIONS)
    # Stage 6: resource formats (trust policies must not have any: checked in stage 8).
    if kind is not PolicyKind.TRUST:
        for raw in raws:
            for r in raw.resources or ():
                _check_resource(r)
    # Stage 7: action vendors.
    for raw in raws:
        for a in raw.actions or ():
            _check_action(a)
    # Stage 8: per-kind presence rules and principal values.
    for raw in raws:
        needs_resource = kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION)
        if needs_resource and not raw.resources:
            raise _fail(NO_RESOURCES)
        if kind is PolicyKind.TRUST:
            if raw.resources is not None:
                raise _fail(TRUST_RESOURCE)
            # Decision: any sts: action (AssumeRole*, TagSession, SetSourceIdentity, SetContext;
            # Roles Anywhere trust policies need the last three) is accepted, others rejected.
            if any(not (a.lower().startswith("sts:") or a == "*") for a in raw.actions or ()):
                raise _fail(TRUST_ACTIONS)
        if raw.principal is not None:
            for category, values in raw.principal.items():
                for v in values:
                    _check_principal_value(category, v)
    variables = version == "2012-10-17"
    lines = _line_starts(text)
    statements = tuple(
        _compile_statement(i, raw, kind, variables, text, lines) for i, raw in enumerate(raws)
    )
    return Policy(
        id=policy_id,
        kind=kind,
        version=version or "2008-10-17",
        statements=statements,
        text=text,
        policy_id_element=doc.get("Id", ""),
    )


# --- compilation --------------------------------------------------------------------------------


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


def _position(offset: int, lines: list[int]) -> Position:
    line = bisect.bisect_right(lines, offset)
    return Position(line, offset - lines[line - 1] + 1)


def _compile_statement(
    index: int, raw: _Raw, kind: PolicyKind, variables: bool, text: str, lines: list[int]
) -> Statement:
    actions = tuple(raw.actions or ())
    lowered = [a.lower() for a in actions]
    action_any = "*" in lowered
    literals = frozenset(a for a in lowered if "*" not in a and "?" not in a)
    # An action containing whitespace never matches [OBS, iam-simulate].
    literals = frozenset(a for a in literals if not any(c.isspace() for c in a))
    globs = [a for a in lowered if ("*" in a or "?" in a) and not any(c.isspace() for c in a)]
    action_regex = (
        _glob.compile_source(
            "|".join(f"(?:{_glob.string_glob_source(((_glob.TEXT, g, None),))})" for g in globs)
        )
        if globs and not action_any
        else None
    )
    resources = tuple(raw.resources) if raw.resources is not None else None
    resource_any = False
    static_sources: list[str] = []
    dynamic: list[_glob.Template] = []
    # Short ARNs (fewer than six segments) are padded with "*" segments in identity-like
    # policies; in resource-based policies only when they end with "*" [OBS, iam-simulate].
    pad = kind is not PolicyKind.RESOURCE
    var_keys: set[str] = set()
    for r in resources or ():
        if r == "*":
            resource_any = True
            continue
        tokens = _resource_tokens(r, variables)
        template = _glob.arn_template(tokens, fold_prefix=True, pad=pad)
        var_keys |= _glob.variable_keys(tokens)
        if template is None:
            continue  # can never match
        if _glob.is_static(template):
            src = _glob.render(template, {})
            assert src is not None
            static_sources.append(src)
        else:
            dynamic.append(template)
    resource_regex = (
        _glob.compile_source("|".join(f"(?:{s})" for s in static_sources))
        if static_sources
        else None
    )
    conditions = []
    for op, key, values in raw.conditions:
        spec = parse_operator(op)
        assert spec is not None
        conditions.append(compile_condition(spec, key, values, variables=variables))
    for c in conditions:
        var_keys |= c.referenced_keys
    principal = None
    if raw.principal is not None:
        principal = _compile_principal(raw.principal, raw.not_principal)
    return Statement(
        index=index,
        sid=raw.sid,
        effect=Effect(raw.effect),
        principal=principal,
        not_action=raw.not_action,
        action_any=action_any,
        action_literals=literals,
        action_regex=action_regex,
        actions=actions,
        not_resource=raw.not_resource,
        resources=resources,
        resource_any=resource_any,
        resource_regex=resource_regex,
        resource_dynamic=tuple(dynamic),
        conditions=tuple(conditions),
        referenced_keys=frozenset(var_keys),
        start=_position(raw.start, lines),
        end=_position(raw.end, lines),
    )


def _resource_tokens(resource: str, variables: bool) -> tuple[_glob.Token, ...]:
    # Variables are only interpreted in the resource part, after the fifth colon (VARS page).
    parts = resource.split(":", 5)
    if len(parts) < 6 or not variables:
        return ((_glob.TEXT, resource, None),)
    head = ":".join(parts[:5]) + ":"
    return ((_glob.TEXT, head, None), *_glob.tokenize(parts[5], variables=True))


def _compile_principal(value: dict[str, list[str]], negated: bool) -> PrincipalSpec:
    aws = value.get("AWS", [])
    star = "*" in aws
    accounts = set()
    arns = set()
    for v in aws:
        if _ACCOUNT_RE.match(v):
            accounts.add(v)
        elif v.startswith("arn:") and v.endswith(":root") and v.count(":") == 5:
            accounts.add(v.split(":")[4])
        elif v != "*":
            arns.add(v)
    return PrincipalSpec(
        star=star,
        aws=frozenset(arns),
        accounts=frozenset(accounts),
        services=frozenset(value.get("Service", [])),
        federated=frozenset(value.get("Federated", [])),
        canonical=frozenset(value.get("CanonicalUser", [])),
        negated=negated,
    )
