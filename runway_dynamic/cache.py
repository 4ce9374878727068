"""On-disk cache of derived catalogs, keyed by (spec sha256, package version).

A warm start reads the spec's bytes only to hash them, then loads the small derived index
instead of re-deriving it. Writes are atomic (:mod:`runway_dynamic._files`); a corrupt or
stale file is rebuilt, never fatal.

The index is trusted only for what the spec's hash covers. Its file is one header line,
``{"format", "sha256": <spec>, "digest": <sha256 of the payload>}``, then the catalog
payload; a header for another spec, or a payload whose digest or own ``sha256`` does not
match, is rebuilt from the spec. (An edited ``servers`` entry used to redirect requests
and the key.) The digest catches edits and damage, not a writer who recomputes it: such
a writer could as well replace the spec file the index is keyed by.
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


#: The layout of an index file (header line + payload); another value is rebuilt.
INDEX_FORMAT = 3


def load_index(sha256: str) -> dict[str, Any] | None:
    """The cached catalog dict for this spec hash, or ``None``: missing, corrupt, stale, or
    not matching its header (see the module docstring)."""
    import hashlib
    import hmac

    import orjson

    path = index_path(sha256)
    try:
        head, _, payload = path.read_bytes().partition(b"\n")
        header = orjson.loads(head)
        if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT:
            return None
        if header.get("sha256") != sha256 or not isinstance(header.get("digest"), str):
            return None
        if not hmac.compare_digest(hashlib.sha256(payload).hexdigest(), header["digest"]):
            return None
        data = orjson.loads(payload)
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("sha256") != sha256:
        return None
    return data


def store_index(sha256: str, catalog: dict[str, Any], *, source: str | None = None) -> Path:
    """Write the catalog atomically; :class:`CacheError` when the directory is not writable,
    :class:`SpecLimitError` when it is larger than ``index-max-bytes`` (nothing is written).
    """
    import hashlib

    import orjson

    # Response schemas go in as JSON text, read only by what needs them (catalog.DeferredSchemas).
    if isinstance(catalog.get("operations"), list):
        catalog = {**catalog, "operations": [
            {**op, "responses": orjson.dumps(op["responses"]).decode()}
            if isinstance(op, dict) and isinstance(op.get("responses"), dict) else op
            for op in catalog["operations"]]}
    data = orjson.dumps(catalog)  # one line: orjson writes no newline unless indenting
    limits = _limits.current()
    if len(data) > limits.max_index_bytes:
        raise SpecLimitError(
            f"the derived index would be {len(data):,} bytes", limit="index-max-bytes",
            maximum=limits.max_index_bytes, source=source)
    header = orjson.dumps({"format": INDEX_FORMAT, "sha256": sha256,
                           "digest": hashlib.sha256(data).hexdigest()})
    path = index_path(sha256)
    try:
        # No fsync: a file torn by a crash fails its digest and is derived again.
        atomic_write_bytes(path, header + b"\n" + data, durable=False)
    except FileWriteError as exc:
        raise CacheError(str(exc)) from exc
    return path
