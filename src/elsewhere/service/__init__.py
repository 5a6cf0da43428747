"""Use cases: the rolesanywhere control plane, subject recording, and the storage ports."""

from elsewhere.service._content import SessionPolicyValidator
from elsewhere.service._controlplane import OPERATIONS, ControlPlane, ControlPlaneSettings, Page
from elsewhere.service._ports import (
    AccessKeyRepository,
    KeyValueRepository,
    Repository,
    SecretRepository,
    Store,
    SubjectRepository,
    TagRepository,
)
from elsewhere.service._subjects import SubjectRecorder

__all__ = [
    "OPERATIONS",
    "AccessKeyRepository",
    "ControlPlane",
    "ControlPlaneSettings",
    "KeyValueRepository",
    "Page",
    "Repository",
    "SecretRepository",
    "SessionPolicyValidator",
    "Store",
    "SubjectRecorder",
    "SubjectRepository",
    "TagRepository",
]
