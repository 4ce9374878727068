"""On-disk cache of derived catalogs, keyed by (the spec's digest, package version).

A warm start reads the spec's bytes only to digest them, then loads the small derived index
instead of re-deriving it. Writes are atomic (:mod:`runway_dynamic._files`); a corrupt or
stale file is rebuilt, never fatal.

The index is trusted only for what the spec's digest covers. Its file is one header line,
``runway-index FORMAT KEY SHA256 DIGEST`` (the digest of the spec, the spec's sha256, the
digest of the payload), then the catalog payload in :mod:`marshal` form, read by the
interpreter's own loader (no JSON library to import: ~2 ms of every command) and only once
its digest holds. A header for another spec, or a payload whose digest or own ``sha256``
does not match the header, is rebuilt from the spec. (An edited ``servers`` entry used to
redirect requests and the key.) The digest catches edits and damage, not a writer who
recomputes it: such a writer could as well replace the spec file the index is keyed by.
Digests are :mod:`runway_dynamic._digest`'s (BLAKE2b: no OpenSSL to load); the spec's
sha256 is computed when the index is derived.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runway_dynamic import _limits, _paths
from runway_dynamic._digest import content_digest
from runway_dynamic._exceptions import CacheError, FileWriteError, SpecLimitError
from runway_dynamic._files import atomic_write_bytes
from runway_dynamic._version import __version__


def index_path(key: str) -> Path:
    """Where the index of the spec whose digest is ``key`` (SpecDocument.index_key) lives."""
    return _paths.cache_dir() / "index" / f"{key[:32]}-{__version__}.index"


#: The layout of an index file (header line + payload); another value is rebuilt.
INDEX_FORMAT = 5
#: The first word of an index file's header line.
INDEX_MAGIC = "runway-index"


def header_line(key: str, sha256: str, digest: str) -> bytes:
    """An index file's first line (without its newline)."""
    return f"{INDEX_MAGIC} {INDEX_FORMAT} {key} {sha256} {digest}".encode("ascii")


def parse_header(line: bytes) -> dict[str, str] | None:
    """``{"key", "sha256", "digest"}`` of an index file's first line; ``None`` when it is
    not a header of this format."""
    words = line.decode("ascii", "replace").split(" ")
    if len(words) != 5 or words[:2] != [INDEX_MAGIC, str(INDEX_FORMAT)]:
        return None
    return dict(zip(("key", "sha256", "digest"), words[2:], strict=True))


def load_index(key: str) -> dict[str, Any] | None:
    """The cached catalog dict for the spec whose digest is ``key``, or ``None``: missing,
    corrupt, stale, or not matching its header (see the module docstring)."""
    import marshal

    path = index_path(key)
    try:
        head, _, payload = path.read_bytes().partition(b"\n")
    except OSError:
        return None
    header = parse_header(head)
    if header is None or header["key"] != key or content_digest(payload) != header["digest"]:
        return None
    try:
        data = marshal.loads(payload)
    except (EOFError, ValueError, TypeError, OverflowError, MemoryError):
        return None
    if not isinstance(data, dict) or data.get("sha256") != header["sha256"]:
        return None
    return data


def store_index(key: str, catalog: dict[str, Any], *, source: str | None = None) -> Path:
    """Write the catalog of the spec whose digest is ``key`` atomically (its ``sha256``
    goes into the header too); :class:`CacheError` when the directory is not writable,
    :class:`SpecLimitError` when it is larger than ``index-max-bytes`` (nothing is written).
    """
    import orjson

    # Response schemas go in as JSON text, read only by what needs them (catalog.DeferredSchemas).
    if isinstance(catalog.get("operations"), list):
        catalog = {**catalog, "operations": [
            {**op, "responses": orjson.dumps(op["responses"]).decode()}
            if isinstance(op, dict) and isinstance(op.get("responses"), dict) else op
            for op in catalog["operations"]]}
    import marshal

    try:
        data = marshal.dumps(catalog)
    except ValueError as exc:  # not plain data, or nested deeper than marshal goes
        raise CacheError(f"the derived index cannot be stored ({exc})") from None
    limits = _limits.current()
    if len(data) > limits.max_index_bytes:
        raise SpecLimitError(
            f"the derived index would be {len(data):,} bytes", limit="index-max-bytes",
            maximum=limits.max_index_bytes, source=source)
    header = header_line(key, str(catalog.get("sha256") or ""), content_digest(data))
    path = index_path(key)
    try:
        # No fsync: a file torn by a crash fails its digest and is derived again.
        atomic_write_bytes(path, header + b"\n" + data, durable=False)
    except FileWriteError as exc:
        raise CacheError(str(exc)) from exc
    prune_indexes(keep=path)
    return path


#: Index files kept (one per spec and package version); the least recently written go
#: first. An index pruned while still in use is derived again on its next start.
MAX_INDEX_FILES = 16


def prune_indexes(keep: Path) -> list[Path]:
    """Remove index files beyond :data:`MAX_INDEX_FILES`, oldest first, and any file of an
    earlier layout (another suffix), never ``keep``; what was removed. Runs when an index
    is written (a new spec or version), so a warm start pays nothing for it."""
    folder = keep.parent
    try:
        found = [entry for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    ours = [e for e in found if e.name.endswith(keep.suffix) and not e.name.startswith(".")]
    stale = [e for e in found if not e.name.endswith(keep.suffix) and not e.name.startswith(".")]

    def written(entry: os.DirEntry[str]) -> float:
        try:
            return entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            return 0.0

    ours.sort(key=written, reverse=True)
    removed = []
    for entry in [*stale, *ours[MAX_INDEX_FILES:]]:
        if entry.path == str(keep):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue  # another process pruned it, or it is not ours to remove
        removed.append(Path(entry.path))
    return removed
