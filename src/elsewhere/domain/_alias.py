"""Resource aliases of trust anchors, profiles and CRLs: reserved names, alias ARNs, uniqueness.

The rules are those of the ``aliasName`` members of the botocore ``rolesanywhere`` model
(CreateTrustAnchor, CreateProfile, ImportCrl and their Update operations): "Alias names that
begin with ``aws/``, in any combination of uppercase and lowercase letters, are reserved."; "The
alias name must be unique among resources of the same type in your account and Region. If another
resource of the same type already has the alias, the request fails with a ValidationException."
The alias ARN is ``arn:<partition>:rolesanywhere:<region>:<account>:alias/<type>/<alias-name>``
(``aliasArn`` of TrustAnchorDetail, ProfileDetail, CrlDetail).
"""

from __future__ import annotations

from elsewhere.domain._arn import (
    ROLESANYWHERE_RESOURCE_TYPES,
    Arn,
    format_arn,
    parse_rolesanywhere_arn,
)
from elsewhere.errors import ValidationError

__all__ = [
    "RESERVED_ALIAS_PREFIX",
    "AliasInUseError",
    "alias_arn_of",
    "check_alias_name",
    "format_alias_arn",
]

#: Alias names that start with this, in any case, are AWS's.
RESERVED_ALIAS_PREFIX = "aws/"


class AliasInUseError(ValidationError):
    """Another resource of the same type already holds the alias (400 ValidationException).

    Stores raise it when their unique index on the alias refuses a row, so that two replicas
    creating one alias at the same moment get the answer a single one gives.
    """

    def __init__(self, alias_name: str) -> None:
        """The error for ``alias_name``."""
        super().__init__(f"Alias name {alias_name} is already in use", reason="duplicate alias")
        self.alias_name = alias_name


def check_alias_name(alias_name: str) -> str:
    """``alias_name`` if it may be set; ValidationError if it is reserved.

    The model's pattern (letters, digits, ``_``, ``-``, ``/`` between characters) is checked by
    the protocol layer before this runs.
    """
    if alias_name[: len(RESERVED_ALIAS_PREFIX)].lower() == RESERVED_ALIAS_PREFIX:
        raise ValidationError(
            f"Alias name {alias_name} is reserved: alias names that begin with aws/ are reserved "
            "for AWS",
            reason="reserved alias prefix",
        )
    return alias_name


def format_alias_arn(
    partition: str, region: str, account: str, resource_type: str, alias_name: str
) -> str:
    """``arn:<partition>:rolesanywhere:<region>:<account>:alias/<type>/<alias-name>``."""
    if resource_type not in ROLESANYWHERE_RESOURCE_TYPES or resource_type == "subject":
        raise ValueError(f"{resource_type!r} resources have no alias")
    return format_arn(
        Arn(partition, "rolesanywhere", region, account, f"alias/{resource_type}/{alias_name}")
    )


def alias_arn_of(resource_arn: str, alias_name: str) -> str:
    """The alias ARN of ``alias_name`` held by the resource ``resource_arn`` (same type, place)."""
    arn = parse_rolesanywhere_arn(resource_arn)
    return format_alias_arn(arn.partition, arn.region, arn.account, arn.resource_type, alias_name)
