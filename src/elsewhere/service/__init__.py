"""Use cases: the rolesanywhere control plane, subject recording, and the storage ports."""

from elsewhere.service._authn import Principal
from elsewhere.service._content import SessionPolicyValidator
from elsewhere.service._controlplane import OPERATIONS, ControlPlane, ControlPlaneSettings, Page
from elsewhere.service._health import HealthReport, LoopHealth, LoopState, report_health
from elsewhere.service._ports import (
    AccessKeyRepository,
    KeyValueRepository,
    Repository,
    SecretRepository,
    Store,
    SubjectRepository,
    TagRepository,
)
from elsewhere.service._session_auth import SessionPrincipal
from elsewhere.service._sessions import REFUSAL_CLASSES, SessionTrail
from elsewhere.service._subjects import SubjectRecorder

__all__ = [
    "OPERATIONS",
    "REFUSAL_CLASSES",
    "AccessKeyRepository",
    "ControlPlane",
    "ControlPlaneSettings",
    "HealthReport",
    "KeyValueRepository",
    "LoopHealth",
    "LoopState",
    "Page",
    "Principal",
    "Repository",
    "SecretRepository",
    "SessionPolicyValidator",
    "SessionPrincipal",
    "SessionTrail",
    "Store",
    "SubjectRecorder",
    "SubjectRepository",
    "TagRepository",
    "report_health",
]
