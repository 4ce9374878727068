"""On-disk cache of derived catalogs, keyed by (spec sha256, package version).

A warm start reads the spec's bytes only to hash them, then loads the small derived index
instead of re-deriving it. Writes are atomic (:mod:`runway_dynamic._files`); a corrupt or
stale file is rebuilt, never fatal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runway_dynamic import _limits, _paths
from runway_dynamic._exceptions import CacheError, FileWriteError, SpecLimitError
from runway_dynamic._files import atomic_write_bytes
from runway_dynamic._version import __version__


def index_path(sha256: str) -> Path:
    return _paths.cache_dir() / "index" / f"{sha256[:32]}-{__version__}.json"


def load_index(sha256: str) -> dict[str, Any] | None:
    """The cached catalog dict for this spec hash, or ``None`` (missing, corrupt, stale)."""
    import orjson

    path = index_path(sha256)
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("sha256") != sha256:
        return None
    return data


def store_index(sha256: str, catalog: dict[str, Any], *, source: str | None = None) -> Path:
    """Write the catalog atomically; :class:`CacheError` when the directory is not writable,
    :class:`SpecLimitError` when it is larger than ``index-max-bytes`` (nothing is written).
    """
    import orjson

    data = orjson.dumps(catalog)
    limits = _limits.current()
    if len(data) > limits.max_index_bytes:
        raise SpecLimitError(
            f"the derived index would be {len(data):,} bytes", limit="index-max-bytes",
            maximum=limits.max_index_bytes, source=source)
    path = index_path(sha256)
    try:
        atomic_write_bytes(path, data)
    except FileWriteError as exc:
        raise CacheError(str(exc)) from exc
    return path
