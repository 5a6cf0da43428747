"""``elsewhere quickstart``: a development CA, trust anchor, role, profile and workload certificate.

The building blocks (``ensure_*``, ``build_trust_policy``, ``prove_credentials``) are usable on
their own, e.g. by tests that need a working Roles Anywhere setup against a server.
"""

from typing import TYPE_CHECKING, Any

from elsewhere.quickstart._defaults import (
    DEFAULT_DIRECTORY,
    DEFAULT_ENDPOINT,
    DEFAULT_NAME,
    DEFAULT_WORKLOAD_CN,
)

if TYPE_CHECKING:
    from elsewhere.quickstart._setup import (
        AdminConnection,
        QuickstartError,
        QuickstartOptions,
        QuickstartResult,
        StartedServer,
        Step,
        build_trust_policy,
        candidate_regions,
        credential_process_command,
        ensure_ca,
        ensure_profile,
        ensure_role,
        ensure_trust_anchor,
        ensure_workload_certificate,
        load_admin_credentials,
        prove_credentials,
        run_quickstart,
        start_background_server,
    )

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_ENDPOINT",
    "DEFAULT_NAME",
    "DEFAULT_WORKLOAD_CN",
    "AdminConnection",
    "QuickstartError",
    "QuickstartOptions",
    "QuickstartResult",
    "StartedServer",
    "Step",
    "build_trust_policy",
    "candidate_regions",
    "credential_process_command",
    "ensure_ca",
    "ensure_profile",
    "ensure_role",
    "ensure_trust_anchor",
    "ensure_workload_certificate",
    "load_admin_credentials",
    "prove_credentials",
    "run_quickstart",
    "start_background_server",
]


def __getattr__(name: str) -> Any:
    """The building blocks, loaded on first use: they need boto3, which the CLI must not load
    just to show its defaults (every ``elsewhere`` command, credential-process included, would
    pay for it)."""
    if name in __all__:
        from elsewhere.quickstart import _setup

        return getattr(_setup, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
