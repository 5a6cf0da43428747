"""IAM policy simulation (SimulateCustomPolicy, SimulatePrincipalPolicy) on the real engine.

The simulator evaluates with ``elsewhere.policy.evaluate``, the function that authorizes real
calls, so a simulated decision is the decision a call would get. Inputs and outputs follow the
IAM API reference and reference ``iam-policy-evaluation.md`` §8: each action is evaluated against
each resource (default ``*``); missing context keys are reported, never invented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from elsewhere.cache import BoundedCache
from elsewhere.domain._iam import split_iam_arn
from elsewhere.errors import ElsewhereError, InvalidInput, NoSuchEntity
from elsewhere.policy import (
    ALLOWED,
    ContextValue,
    Decision,
    MatchedStatement,
    Policy,
    PolicyKind,
    PolicySet,
    Position,
    Principal,
    RequestContext,
    evaluate,
    parse_context_entry,
    parse_policy,
)
from elsewhere.service._weights import policy_weight

if TYPE_CHECKING:
    from elsewhere.service._iam import IamStore

__all__ = [
    "MAX_SIMULATION_PAIRS",
    "EntityPolicies",
    "PolicySimulator",
    "compile_policy",
    "load_entity_policies",
]

_DEFAULT_MAX_ITEMS = 100

#: Pairs of an action and a resource one simulation may name. AWS documents no bound; each pair
#: is one evaluation, so without one a single call of 1,000 actions by 1,000 resources took 27 s and
#: 710 MB. Only the page asked for (``MaxItems``, at most 1,000) is evaluated in one call.
MAX_SIMULATION_PAIRS = 10_000


#: Compiled policies remembered: entries, estimated bytes (service._weights), and the largest
#: one kept (a policy text can be as large as a request body; such a one is compiled every time).
_COMPILED: BoundedCache[tuple[str, PolicyKind, str, bool], Policy] = BoundedCache(
    max_entries=4096, max_weight=32 * 1024 * 1024, max_entry_weight=4 * 1024 * 1024
)


def compile_policy(text: str, kind: PolicyKind, policy_id: str, *, stored: bool = True) -> Policy:
    """Parse (once per distinct text) a policy; ``stored=False`` relaxes the Version rule."""
    key = (text, kind, policy_id, stored)
    policy = _COMPILED.get(key)
    if policy is None:
        policy = parse_policy(
            text,
            kind=kind,
            policy_id=policy_id,
            max_size=None,
            require_current_version=None if stored else False,
        )
        _COMPILED.put(key, policy, weight=policy_weight(text))
    return policy


@dataclass(frozen=True)
class EntityPolicies:
    """The policies of an IAM user or role, with simulator source types."""

    identity: tuple[tuple[Policy, str], ...]
    boundary: Policy | None


def load_entity_policies(store: IamStore, kind: str, name: str) -> EntityPolicies:
    """Inline and attached policies and the boundary of role or user ``name``."""
    found: list[tuple[Policy, str]] = []
    for policy_name, document in store.list_inline_policies(kind, name):
        found.append((compile_policy(document, PolicyKind.IDENTITY, policy_name), kind))
    for arn in store.list_attached_policy_arns(kind, name):
        managed = store.get_managed_policy(arn)
        if managed is not None:
            found.append(
                (
                    compile_policy(managed.document, PolicyKind.IDENTITY, managed.name),
                    "user-managed",
                )
            )
    entity = store.get_role(name) if kind == "role" else store.get_user(name)
    boundary = None
    if entity is not None and entity.permissions_boundary_arn:
        managed = store.get_managed_policy(entity.permissions_boundary_arn)
        if managed is not None:
            boundary = compile_policy(managed.document, PolicyKind.BOUNDARY, managed.name)
    return EntityPolicies(tuple(found), boundary)


def _position(p: Position | None) -> dict[str, int] | None:
    return None if p is None else {"Line": p.line, "Column": p.column}


class PolicySimulator:
    """SimulateCustomPolicy and SimulatePrincipalPolicy over a store of IAM entities."""

    def __init__(self, store: IamStore, *, account_id: str, partition: str = "aws") -> None:
        self._store = store
        self._account = account_id
        self._partition = partition

    # -- public operations -------------------------------------------------------------------

    def simulate_custom_policy(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """SimulateCustomPolicy: the given identity policies, boundary and resource policy."""
        _check_size(params)
        identity = self._inputs(params.get("PolicyInputList") or [], "PolicyInputList")
        sources = {p.id: "IAM Policy" for p in identity}
        boundary = self._boundary_input(params)
        caller = params.get("CallerArn")
        if params.get("ResourcePolicy") and not caller:
            raise InvalidInput("Invalid caller - Caller must be an IAM user in this context.")
        principal = self._caller(caller) if caller else None
        return self._run(params, identity, boundary, principal, sources, {})

    def simulate_principal_policy(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """SimulatePrincipalPolicy: the policies of a user or role, plus any given ones."""
        _check_size(params)
        source_arn = params["PolicySourceArn"]
        parts = split_iam_arn(source_arn)
        if parts is None or parts[2] not in ("user", "role"):
            raise NoSuchEntity(f"PolicySourceArn {source_arn} does not exist.")
        kind, name = parts[2], parts[4]
        entity = self._store.get_user(name) if kind == "user" else self._store.get_role(name)
        if entity is None or entity.arn != source_arn:
            raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
        loaded = load_entity_policies(self._store, kind, entity.name)
        extra = self._inputs(params.get("PolicyInputList") or [], "PolicyInputList")
        identity = tuple(p for p, _ in loaded.identity) + extra
        sources = {p.id: source for p, source in loaded.identity}
        sources.update({p.id: "IAM Policy" for p in extra})
        boundary = self._boundary_input(params) or loaded.boundary
        caller = params.get("CallerArn")
        auto: dict[str, ContextValue] = {
            "aws:principalaccount": ContextValue.of(self._account),
            "aws:principalarn": ContextValue.of(entity.arn),
        }
        if kind == "user":
            principal = self._caller(caller or entity.arn)
            auto.update(
                {
                    "aws:principaltype": ContextValue.of("User"),
                    "aws:userid": ContextValue.of(entity.user_id),  # type: ignore[union-attr]
                    "aws:username": ContextValue.of(entity.name),
                }
            )
        else:
            if params.get("ResourcePolicy") and not caller:
                raise InvalidInput("Invalid caller - Caller must be an IAM user in this context.")
            principal = (
                self._caller(caller)
                if caller
                else Principal(
                    arn=entity.arn,
                    account=self._account,
                    type="AssumedRole",
                    role_arn=entity.arn,
                    unique_id=entity.role_id,  # type: ignore[union-attr]
                )
            )
            auto["aws:principaltype"] = ContextValue.of("AssumedRole")
        for tag in entity.tags:
            auto[f"aws:principaltag/{tag.key.lower()}"] = ContextValue.of(tag.value)
        return self._run(params, identity, boundary, principal, sources, auto)

    # -- inputs ------------------------------------------------------------------------------

    @staticmethod
    def _inputs(texts: Sequence[str], member: str) -> tuple[Policy, ...]:
        out = []
        for i, text in enumerate(texts, start=1):
            try:
                out.append(compile_policy(text, PolicyKind.IDENTITY, f"{member}.{i}", stored=False))
            except ElsewhereError as exc:
                # The simulator reports bad input documents as InvalidInput (IAM API reference).
                raise InvalidInput(exc.message, reason=exc.reason) from exc
        return tuple(out)

    def _boundary_input(self, params: Mapping[str, Any]) -> Policy | None:
        texts = params.get("PermissionsBoundaryPolicyInputList") or []
        if len(texts) > 1:
            raise InvalidInput("Only one permissions boundary policy may be provided.")
        if not texts:
            return None
        try:
            return compile_policy(
                texts[0], PolicyKind.BOUNDARY, "PermissionsBoundaryPolicyInputList.1", stored=False
            )
        except ElsewhereError as exc:
            raise InvalidInput(exc.message, reason=exc.reason) from exc

    def _caller(self, arn: str) -> Principal:
        parts = split_iam_arn(arn)
        if parts is None or parts[2] != "user":
            raise InvalidInput("Invalid caller - Caller must be an IAM user in this context.")
        user = self._store.get_user(parts[4])
        return Principal(
            arn=arn,
            account=parts[1],
            type="User",
            unique_id=user.user_id if user is not None else "",
        )

    @staticmethod
    def _context(params: Mapping[str, Any]) -> dict[str, ContextValue]:
        keys: dict[str, ContextValue] = {}
        for entry in params.get("ContextEntries") or []:
            name = entry.get("ContextKeyName")
            if not name:
                raise InvalidInput("ContextKeyName is required.")
            key, value = parse_context_entry(
                name, entry.get("ContextKeyValues") or [], entry.get("ContextKeyType") or "string"
            )
            keys[key] = value
        return keys

    # -- evaluation --------------------------------------------------------------------------

    def _run(
        self,
        params: Mapping[str, Any],
        identity: tuple[Policy, ...],
        boundary: Policy | None,
        principal: Principal | None,
        sources: dict[str, str],
        auto: dict[str, ContextValue],
    ) -> dict[str, Any]:
        resource_policy = None
        if params.get("ResourcePolicy"):
            try:
                resource_policy = compile_policy(
                    params["ResourcePolicy"], PolicyKind.RESOURCE, "ResourcePolicy", stored=False
                )
            except ElsewhereError as exc:
                raise InvalidInput(exc.message, reason=exc.reason) from exc
        owner = ""
        if params.get("ResourceOwner"):
            owner_parts = str(params["ResourceOwner"]).split(":")
            owner = owner_parts[4] if len(owner_parts) > 4 else ""
        keys = {**auto, **self._context(params)}
        policies = PolicySet(identity=identity, resource=resource_policy, boundary=boundary)
        actions = list(params["ActionNames"])
        resources = list(params.get("ResourceArns") or ["*"])
        total = len(actions) * len(resources)
        start, stop = self._page_range(params, total)
        results: list[dict[str, Any]] = []
        # Each action against each resource, in that order; only this page's pairs.
        for index in range(start, stop):
            request = RequestContext(
                action=actions[index // len(resources)],
                resource=resources[index % len(resources)],
                principal=principal,
                keys=keys,
                resource_account=owner,
            )
            decision = evaluate(request, policies)
            results.append(self._result(request, decision, policies, sources))
        out: dict[str, Any] = {"EvaluationResults": results, "IsTruncated": stop < total}
        if stop < total:
            out["Marker"] = str(stop)
        return out

    def _result(
        self,
        request: RequestContext,
        decision: Decision,
        policies: PolicySet,
        sources: dict[str, str],
    ) -> dict[str, Any]:
        matched = [self._statement(m, sources) for m in decision.matched]
        out: dict[str, Any] = {
            "EvalActionName": request.action,
            "EvalResourceName": request.resource,
            "EvalDecision": decision.result,
            "MatchedStatements": matched,
            "MissingContextValues": list(decision.missing_context_keys),
        }
        if policies.boundary is not None:
            alone = evaluate(request, PolicySet(identity=(policies.boundary,)))
            out["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": alone.result == ALLOWED
            }
        if request.resource != "*":
            out["ResourceSpecificResults"] = [
                {
                    "EvalResourceName": request.resource,
                    "EvalResourceDecision": decision.result,
                    "MatchedStatements": matched,
                    "MissingContextValues": list(decision.missing_context_keys),
                }
            ]
        return out

    @staticmethod
    def _statement(m: MatchedStatement, sources: dict[str, str]) -> dict[str, Any]:
        if m.policy_kind in (PolicyKind.RESOURCE, PolicyKind.TRUST):
            source = "Resource Policy"
        else:
            source = sources.get(m.policy_id, "IAM Policy")
        out: dict[str, Any] = {"SourcePolicyId": m.policy_id, "SourcePolicyType": source}
        start, end = _position(m.start), _position(m.end)
        if start is not None:
            out["StartPosition"] = start
        if end is not None:
            out["EndPosition"] = end
        return out

    @staticmethod
    def _page_range(params: Mapping[str, Any], total: int) -> tuple[int, int]:
        """The pairs of this page: from the marker, at most ``MaxItems`` of ``total``."""
        max_items = int(params.get("MaxItems") or _DEFAULT_MAX_ITEMS)
        start = 0
        marker = params.get("Marker")
        if marker:
            if not (str(marker).isascii() and str(marker).isdigit()):  # int() refuses "²"
                raise InvalidInput("Invalid Marker.")
            start = min(int(marker), total)
        return start, min(start + max_items, total)


def _check_size(params: Mapping[str, Any]) -> None:
    """Refuse, before any policy is read or evaluated, more pairs than one simulation takes."""
    actions = len(params.get("ActionNames") or ())
    resources = len(params.get("ResourceArns") or ()) or 1
    if actions * resources > MAX_SIMULATION_PAIRS:
        raise InvalidInput(
            f"The simulation asks for {actions} actions on {resources} resources, "
            f"{actions * resources} evaluations; at most {MAX_SIMULATION_PAIRS} are taken in one "
            "call. Split the actions or resources over several calls."
        )
