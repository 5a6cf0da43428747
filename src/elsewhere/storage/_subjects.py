"""Rules for folding authentications into subject records, shared by every store."""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["MAX_CREDENTIALS_PER_SUBJECT", "MAX_INSTANCE_PROPERTIES_PER_SUBJECT", "properties_key"]

#: ``CredentialSummary`` lists "the most recent certificates" (rolesanywhere model); we keep this
#: many per subject, newest first, keyed by (issuer, serial number).
MAX_CREDENTIALS_PER_SUBJECT = 10
#: Distinct instance-property sets kept per subject, newest first.
MAX_INSTANCE_PROPERTIES_PER_SUBJECT = 10


def properties_key(properties: Mapping[str, str]) -> str:
    """A canonical text for an instance-property map (its identity within a subject)."""
    return json.dumps(dict(sorted(properties.items())), separators=(",", ":"), ensure_ascii=False)
