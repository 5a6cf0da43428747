"""The one bounded cache: entries and estimated bytes bounded, time passed in, never read.

Pure (no I/O, no clock), so the core packages use it as much as the service layer.
"""

from elsewhere.cache._bounded import BoundedCache

__all__ = ["BoundedCache"]
