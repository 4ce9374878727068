"""On-disk cache of derived catalogs, keyed by (spec sha256, package version).

A warm start reads the spec's bytes only to hash them, then loads the small derived index
instead of re-deriving it. Writes are atomic; a corrupt or stale file is rebuilt, never fatal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runway_dynamic import _paths
from runway_dynamic._exceptions import CacheError
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


def store_index(sha256: str, catalog: dict[str, Any]) -> Path:
    """Write the catalog atomically; :class:`CacheError` when the directory is not writable."""
    import orjson

    path = index_path(sha256)
    atomic_write_bytes(path, orjson.dumps(catalog))
    return path


def ordinary_file_mode() -> int:
    """The mode a plain ``open()`` would give: 0666 less the umask (mkstemp's 0600 is only
    right for secrets, which ask for it explicitly)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    ``mode`` defaults to :func:`ordinary_file_mode`; credentials pass ``0o600``.
    """
    import tempfile  # only writers need it; warm starts only read

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CacheError(f"{path.parent}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, ordinary_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CacheError(f"{path}: cannot write ({exc.strerror})") from None
