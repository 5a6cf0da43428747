"""Middleware for Python services behind no proxy: ASGI (Starlette, FastAPI) and WSGI (Flask,
Django), asking elsewhere's authorizer about every request and putting the caller on it.

Light on purpose: it needs httpx and nothing of the server, so a service installs elsewhere and
imports this without loading the server's code.
"""

from elsewhere.middleware._asgi import ElsewhereASGI
from elsewhere.middleware._common import Principal, Refusal
from elsewhere.middleware._wsgi import ElsewhereWSGI

__all__ = ["ElsewhereASGI", "ElsewhereWSGI", "Principal", "Refusal"]
