"""Amazon Resource Names: parse and format.

Grammar from the IAM User Guide, "IAM identifiers" / "Amazon Resource Names (ARNs)":
``arn:partition:service:region:account-id:resource``. The resource part may itself contain ``:``
and ``/``; only the first five separators split the ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elsewhere.errors import ValidationError

__all__ = [
    "ROLESANYWHERE_RESOURCE_TYPES",
    "Arn",
    "InvalidArnError",
    "format_arn",
    "format_rolesanywhere_arn",
    "is_region",
    "parse_arn",
    "parse_rolesanywhere_arn",
]

# Partitions are lowercase words joined by dashes (aws, aws-cn, aws-us-gov, aws-iso-b ...).
_PARTITION = re.compile(r"aws(-[a-z0-9]+)*")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]*")
_REGION = re.compile(r"([a-z]{2}(-[a-z0-9]+)+-[0-9]+)?")
_ACCOUNT = re.compile(r"([0-9]{12}|aws)?")

#: The resource types of rolesanywhere, in their ARN spelling (rolesanywhere-protocol.md §6.1).
ROLESANYWHERE_RESOURCE_TYPES = frozenset({"trust-anchor", "profile", "crl", "subject"})


class InvalidArnError(ValidationError):
    """A string is not a well-formed ARN (or not one of the expected kind)."""


@dataclass(frozen=True, slots=True)
class Arn:
    """The five fields of an ARN plus its resource part."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        """The ARN text."""
        return format_arn(self)

    @property
    def resource_type(self) -> str:
        """The part of ``resource`` before the first ``/`` (or ``:``), e.g. ``trust-anchor``."""
        return re.split(r"[/:]", self.resource, maxsplit=1)[0]

    @property
    def resource_id(self) -> str:
        """The part of ``resource`` after the first ``/`` (or ``:``); empty when there is none."""
        parts = re.split(r"[/:]", self.resource, maxsplit=1)
        return parts[1] if len(parts) == 2 else ""


def parse_arn(text: str) -> Arn:
    """Split ``text`` into an :class:`Arn`; raise :class:`InvalidArnError` if it is not one."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="not six colon-separated fields")
    _, partition, service, region, account, resource = parts
    if not _PARTITION.fullmatch(partition):
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="bad partition")
    if not _SERVICE.fullmatch(service):
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="bad service")
    if not _REGION.fullmatch(region):
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="bad region")
    if not _ACCOUNT.fullmatch(account):
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="bad account")
    if not resource:
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="empty resource")
    return Arn(partition, service, region, account, resource)


def is_region(text: str) -> bool:
    """Whether ``text`` is an AWS-shaped region name (``us-east-1``, ``eu-central-2``, ...)."""
    return bool(text) and _REGION.fullmatch(text) is not None


def format_arn(arn: Arn) -> str:
    """The text form of ``arn``."""
    return f"arn:{arn.partition}:{arn.service}:{arn.region}:{arn.account}:{arn.resource}"


def format_rolesanywhere_arn(
    partition: str, region: str, account: str, resource_type: str, resource_id: str
) -> str:
    """``arn:<partition>:rolesanywhere:<region>:<account>:<type>/<id>``."""
    if resource_type not in ROLESANYWHERE_RESOURCE_TYPES:
        raise ValueError(f"unknown rolesanywhere resource type {resource_type!r}")
    return format_arn(
        Arn(partition, "rolesanywhere", region, account, f"{resource_type}/{resource_id}")
    )


def parse_rolesanywhere_arn(text: str, resource_type: str | None = None) -> Arn:
    """Parse a rolesanywhere resource ARN, optionally of one ``resource_type``; raise otherwise.

    Alias ARNs (``alias/trust-anchor/<name>``) are accepted; their ``resource_type`` is ``alias``.
    """
    arn = parse_arn(text)
    if arn.service != "rolesanywhere":
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="not a rolesanywhere ARN")
    kind = arn.resource_type
    if kind == "alias":
        inner = arn.resource_id.split("/", 1)
        if len(inner) != 2 or inner[0] not in ROLESANYWHERE_RESOURCE_TYPES or not inner[1]:
            raise InvalidArnError(f"Invalid ARN: {text!r}", reason="bad alias resource")
        kind = inner[0]
    elif kind not in ROLESANYWHERE_RESOURCE_TYPES or not arn.resource_id:
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason="unknown rolesanywhere resource")
    if resource_type is not None and kind != resource_type:
        raise InvalidArnError(f"Invalid ARN: {text!r}", reason=f"not a {resource_type} ARN")
    return arn
