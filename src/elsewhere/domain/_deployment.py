"""Where a server acts: its account, region and partition, in one value."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Deployment"]


@dataclass(frozen=True, slots=True)
class Deployment:
    """The account id, region and partition that a server's ARNs and signing scopes name."""

    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
