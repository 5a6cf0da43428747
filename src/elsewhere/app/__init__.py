"""The composition root: settings, bootstrap, wiring, and running the server."""

from elsewhere.app._build import Application, StartupError, build_application
from elsewhere.app._run import run_server
from elsewhere.app._settings import ServerSettings

__all__ = ["Application", "ServerSettings", "StartupError", "build_application", "run_server"]
