"""Finding the rolesanywhere resource a request names: by id, by ARN or by alias ARN.

One rule, used by the control plane (which acts on the resource) and by the authorizer (which
judges that same resource), so the two can never disagree about which resource a request is
about. DESIGN.md: "Authorization always sees the canonical resource: an id, an ARN and an alias
ARN of one resource are resolved to the same ARN (and its tags) before any policy is evaluated."

A :class:`Lookup` says what was found and which ARN a policy is evaluated against:

- the record's own ARN when the resource exists, whatever form named it;
- otherwise the ARN the request names (an id ``X`` names ``<type>/X`` of this account and
  Region), so a caller that is not allowed on it is refused exactly as if it existed, and only a
  caller allowed on it learns that it does not;
- for an alias ARN that no resource holds, ``<type>/*`` of the alias ARN's account and Region:
  AWS's documentation of ``aliasArn`` says a policy statement that names an alias ARN does not
  apply to the resource that holds the alias, so an alias is never itself a policy resource; only
  a caller allowed on every resource of the type learns that the alias is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from elsewhere.domain import (
    Arn,
    Crl,
    InvalidArnError,
    Profile,
    TrustAnchor,
    format_arn,
    format_rolesanywhere_arn,
    is_uuid,
    parse_rolesanywhere_arn,
)
from elsewhere.service._ports import Repository

__all__ = ["TAGGABLE_KINDS", "Lookup", "ResourceFinder", "ResourceStore"]

R = TypeVar("R", TrustAnchor, Profile, Crl)

#: The resource types that carry tags and aliases here (subjects carry neither).
TAGGABLE_KINDS: Final = ("trust-anchor", "profile", "crl")


@dataclass(frozen=True)
class Lookup(Generic[R]):
    """What an identifier names: the record (None if there is none) and the ARN to authorize."""

    kind: str
    record: R | None
    policy_arn: str
    reason: str = ""  # why nothing was found (for the log, never the caller)


class ResourceStore(Protocol):
    """The repositories resources are found in."""

    @property
    def trust_anchors(self) -> Repository[TrustAnchor]:
        """Trust anchors."""
        ...

    @property
    def profiles(self) -> Repository[Profile]:
        """Profiles."""
        ...

    @property
    def crls(self) -> Repository[Crl]:
        """CRLs."""
        ...


class ResourceFinder:
    """Finds trust anchors, profiles and CRLs by id, resource ARN or alias ARN."""

    def __init__(
        self, store: ResourceStore, *, account_id: str, region: str, partition: str
    ) -> None:
        self._store = store
        self._account = account_id
        self._region = region
        self._partition = partition

    def _repo(self, kind: str) -> Repository[Any]:
        if kind == "trust-anchor":
            return self._store.trust_anchors
        if kind == "profile":
            return self._store.profiles
        if kind == "crl":
            return self._store.crls
        raise ValueError(f"{kind!r} is not a trust-anchor, profile or crl")

    def arn(self, kind: str, resource_id: str) -> str:
        """The ARN of resource ``resource_id`` of ``kind`` in this account and Region."""
        return format_rolesanywhere_arn(
            self._partition, self._region, self._account, kind, resource_id
        )

    def find(self, kind: str, identifier: str, *, aliases: bool = True) -> Lookup[Any]:
        """The ``kind`` resource named by ``identifier`` (a UUID, its ARN or an alias ARN).

        With ``aliases=False`` an alias ARN names nothing (ImportCrl's ``trustAnchorArn``: "This
        parameter doesn't support alias ARNs. If you specify an alias ARN, the request fails with
        ResourceNotFoundException.").
        """
        repo = self._repo(kind)
        if is_uuid(identifier):
            record = repo.get(identifier)
            arn = self.arn(kind, identifier)
            if record is None:
                return Lookup(kind, None, arn, f"no {kind} {identifier}")
            return Lookup(kind, record, record.arn)
        try:
            parsed = parse_rolesanywhere_arn(identifier, kind)
        except InvalidArnError:
            return Lookup(kind, None, identifier, f"not a {kind} identifier: {identifier!r}")
        alias = parsed.resource_type == "alias"
        # Where a policy would look if nothing is found (see the module docstring).
        missing = (
            format_arn(
                Arn(parsed.partition, "rolesanywhere", parsed.region, parsed.account, f"{kind}/*")
            )
            if alias
            else identifier
        )
        if (parsed.partition, parsed.region, parsed.account) != (
            self._partition,
            self._region,
            self._account,
        ):
            return Lookup(kind, None, missing, f"{identifier} is not in this account and Region")
        if alias and not aliases:
            return Lookup(kind, None, missing, f"alias ARNs are not accepted here: {identifier}")
        if alias:
            record = repo.get_by_alias(parsed.resource_id.split("/", 1)[1])
        else:
            record = repo.get(parsed.resource_id)
        if record is None:
            return Lookup(kind, None, missing, f"no {kind} {identifier}")
        return Lookup(kind, record, record.arn)

    def find_tagged(self, resource_arn: str) -> Lookup[Any]:
        """The taggable resource named by a ``resourceArn`` (its ARN or its alias ARN)."""
        try:
            kind = parse_rolesanywhere_arn(resource_arn).resource_type
        except InvalidArnError:
            return Lookup("", None, resource_arn, f"not a rolesanywhere ARN: {resource_arn!r}")
        if kind == "alias":
            kind = parse_rolesanywhere_arn(resource_arn).resource_id.split("/", 1)[0]
        if kind not in TAGGABLE_KINDS:
            return Lookup(kind, None, resource_arn, f"{kind} resources carry no tags")
        return self.find(kind, resource_arn)
