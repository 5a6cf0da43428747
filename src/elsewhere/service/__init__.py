"""Use cases: the rolesanywhere control plane, subject recording, the authorizer for the user's
own services, and the storage ports."""

from elsewhere.service._authn import Principal
from elsewhere.service._content import SessionPolicyValidator
from elsewhere.service._controlplane import OPERATIONS, ControlPlane, ControlPlaneSettings, Page
from elsewhere.service._health import HealthReport, LoopHealth, LoopState, report_health
from elsewhere.service._invoke import (
    INVOKE_ACTION,
    Grant,
    Invocation,
    InvocationDenied,
    InvokeAuthorizer,
    format_invoke_arn,
    resource_path,
)
from elsewhere.service._ports import (
    AccessKeyRepository,
    KeyValueRepository,
    Repository,
    SecretRepository,
    Store,
    SubjectRepository,
    TagRepository,
)
from elsewhere.service._replay import ReplayGuard, SignatureReplayed
from elsewhere.service._session_auth import SessionPrincipal
from elsewhere.service._sessions import REFUSAL_CLASSES, SessionTrail
from elsewhere.service._subjects import SubjectRecorder

__all__ = [
    "INVOKE_ACTION",
    "OPERATIONS",
    "REFUSAL_CLASSES",
    "AccessKeyRepository",
    "ControlPlane",
    "ControlPlaneSettings",
    "Grant",
    "HealthReport",
    "Invocation",
    "InvocationDenied",
    "InvokeAuthorizer",
    "KeyValueRepository",
    "LoopHealth",
    "LoopState",
    "Page",
    "Principal",
    "ReplayGuard",
    "Repository",
    "SecretRepository",
    "SessionPolicyValidator",
    "SessionPrincipal",
    "SessionTrail",
    "SignatureReplayed",
    "Store",
    "SubjectRecorder",
    "SubjectRepository",
    "TagRepository",
    "format_invoke_arn",
    "report_health",
    "resource_path",
]
