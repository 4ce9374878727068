"""The package version, read by the User-Agent header and the cache key."""

__version__ = "0.1.0"
