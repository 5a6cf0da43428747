"""The audit trail: one CloudTrail-shaped JSON record per call, written before the answer leaves.

Other parts of elsewhere record through :class:`AuditTrail` (``record(event)``), with events built
by :func:`api_call_event`, :func:`create_session_event` or :func:`authorization_event` from a
:class:`CallOrigin`. :class:`AuditLog` is the file (or standard output) they go to.
"""

from elsewhere.audit._events import (
    EVENT_SOURCES,
    EVENT_VERSION,
    CallOrigin,
    api_call_event,
    authorization_event,
    create_session_event,
    is_read_only,
    user_identity,
)
from elsewhere.audit._log import AuditLog, AuditTrail, AuditWriteError, format_record

__all__ = [
    "EVENT_SOURCES",
    "EVENT_VERSION",
    "AuditLog",
    "AuditTrail",
    "AuditWriteError",
    "CallOrigin",
    "api_call_event",
    "authorization_event",
    "create_session_event",
    "format_record",
    "is_read_only",
    "user_identity",
]
