"""sigv4."""
