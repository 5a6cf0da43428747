"""elsewhere: a self-hosted, wire-compatible implementation of AWS IAM Roles Anywhere."""

__all__ = ["__version__"]

__version__ = "0.1.0"
