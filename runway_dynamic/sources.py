"""Where a spec comes from and how its bytes become a document: source chain, JSON/YAML, sha256.

Sources, first match wins: an explicit path or URL (``--spec``), ``RUNWAY_SPEC``, the user
cache written by ``runway spec pull``, then the snapshot bundled with the package.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from runway_dynamic import _limits, _paths
from runway_dynamic._constants import ENV_SPEC
from runway_dynamic._exceptions import SpecError
from runway_dynamic._frozen import Frozen

SUPPORTED_OPENAPI = ("3.0", "3.1", "3.2")
BUNDLED_NAME = "runway.json"


class SpecSource(Frozen):
    """Where a spec comes from: ``kind`` is option, env, cache, bundled or bytes."""

    _fields = ("kind", "location")
    kind: str
    location: str

    def __init__(self, kind: str, location: str) -> None:
        self._set(kind=kind, location=location)

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def __str__(self) -> str:
        return f"{self.location} ({self.kind})"


class SpecDocument(Frozen):
    """The bytes of one spec, their digests, and (lazily) the parsed document."""

    _fields = ("source", "data")
    _hidden = ("data",)
    source: SpecSource
    data: bytes

    def __init__(self, source: SpecSource, data: bytes) -> None:
        self._set(source=source, data=data)

    @cached_property
    def sha256(self) -> str:
        """The spec's identity people see (``runway spec show``, the history); computed
        only when asked: a warm start reads it from the index (see Spec.sha256)."""
        import hashlib

        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def index_key(self) -> str:
        """The digest the derived index is found and checked by (runway_dynamic.cache)."""
        from runway_dynamic._digest import content_digest

        return content_digest(self.data)

    @cached_property
    def document(self) -> dict[str, Any]:
        return parse_document(self.data, self.source.location)

    @property
    def openapi_version(self) -> str:
        return str(self.document["openapi"])


def bundled_spec_path() -> Path:
    """The facts-only snapshot shipped in the wheel, or ``spec/`` of a source checkout."""
    packaged = Path(__file__).with_name("_bundled") / BUNDLED_NAME
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "spec" / BUNDLED_NAME


def pulled_spec_path() -> Path:
    """Where ``runway spec pull`` keeps the downloaded official spec."""
    return _paths.cache_dir() / "spec" / "openapi.json"


def resolve_source(explicit: str | os.PathLike[str] | None = None) -> SpecSource:
    """Choose the spec source by the documented precedence, without reading it."""
    if explicit:
        return SpecSource("option", os.fspath(explicit))
    env = os.environ.get(ENV_SPEC)
    if env:
        return SpecSource("env", env)
    pulled = pulled_spec_path()
    if pulled.is_file():
        return SpecSource("cache", str(pulled))
    return SpecSource("bundled", str(bundled_spec_path()))


def read_source(source: SpecSource, guard: Callable[[Any], None] | None = None
                ) -> SpecDocument:
    """Read the bytes of a source (file or URL), at most ``spec-max-bytes`` of them; errors
    name the source. ``guard`` sees every request of a URL source (see :func:`fetch`)."""
    limits = _limits.current()
    if source.is_url:
        return SpecDocument(source, fetch(source.location, limits=limits, guard=guard).content)
    path = Path(source.location).expanduser()
    try:
        with path.open("rb") as handle:
            data = _read_at_most(handle, limits.max_bytes)  # a device or a huge file: stop early
    except FileNotFoundError:
        raise SpecError("spec file not found", source=source.location) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", source=source.location) from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file: {exc.strerror}", source=source.location) from None
    if len(data) > limits.max_bytes:
        raise limits.too_large(len(data), source.location)
    return SpecDocument(source, data)


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """The file's bytes, at most ``limit + 1`` of them (one more than allowed says "too large").

    Asks for the size the file reports, not for the limit: ``read(16 MiB)`` allocates a
    16 MiB buffer for a 0.5 MB spec, a third of a millisecond of every start. A file that
    reports no size (a device, a pipe) or grew since, reads on up to the limit.
    """
    size = os.fstat(handle.fileno()).st_size
    wanted = min(size, limit) + 1
    data = handle.read(wanted)
    if len(data) == wanted <= limit:
        data += handle.read(limit + 1 - wanted)
    return data


def load_document(explicit: str | os.PathLike[str] | None = None,
                  guard: Callable[[Any], None] | None = None) -> SpecDocument:
    """Resolve and read the spec in one step."""
    return read_source(resolve_source(explicit), guard)


class Download(Frozen):
    """What a spec URL answered: status, headers (lower-case names) and at most the limit's
    worth of bytes."""

    _fields = ("status", "headers", "content")
    status: int
    headers: dict[str, str]
    content: bytes

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self._set(status=status, headers=headers, content=content)


def fetch(url: str, *, headers: dict[str, str] | None = None,
          limits: _limits.SpecLimits | None = None, raise_for_status: bool = True,
          guard: Callable[[Any], None] | None = None) -> Download:
    """GET a spec, streaming: a body beyond ``spec-max-bytes`` stops the download.

    ``raise_for_status=False`` returns non-2xx answers (``spec pull`` handles 304 itself);
    ``guard`` sees every request, redirects included (the sandbox boundary's hook).
    """
    import httpx  # imported lazily: only URL sources need it

    from runway_dynamic._net import guard_hooks, trust_environment

    limits = limits or _limits.current()
    try:
        with httpx.Client(event_hooks=guard_hooks(guard), trust_env=trust_environment(url),
                          timeout=30.0) as http, http.stream(
                "GET", url, headers=headers, follow_redirects=True) as response:
            if raise_for_status:
                response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise limits.too_large(int(declared), url, "the download")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise limits.too_large(size, url, "the download")
                chunks.append(chunk)
            answer = {k.lower(): v for k, v in response.headers.items()}
            return Download(response.status_code, answer, b"".join(chunks))
    except httpx.HTTPError as exc:
        raise SpecError(f"cannot download spec: {exc}", source=url) from None


def parse_document(data: bytes, origin: str) -> dict[str, Any]:
    """Parse JSON or YAML bytes into an OpenAPI 3.x document, or raise :class:`SpecError`."""
    if not data.strip():
        raise SpecError("spec file is empty", source=origin)
    document = _parse_json_or_yaml(data, origin)
    if not isinstance(document, dict):
        raise SpecError("not an OpenAPI document (top level is not a mapping)", source=origin)
    version = document.get("openapi")
    if version is None:
        hint = " (Swagger 2.0 is not supported)" if "swagger" in document else ""
        raise SpecError(f"not an OpenAPI 3 document: no 'openapi' field{hint}", source=origin)
    if not str(version).startswith(SUPPORTED_OPENAPI):
        raise SpecError(
            f"OpenAPI {version} is not supported (supported: {', '.join(SUPPORTED_OPENAPI)})",
            source=origin,
        )
    if not isinstance(document.get("paths", {}), dict):
        raise SpecError("'paths' is not a mapping", source=origin)
    return document


def _parse_json_or_yaml(data: bytes, origin: str) -> Any:
    import orjson

    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON: {exc}", source=origin) from None
    import yaml

    try:
        # _yaml_loader() is a SafeLoader subclass: no arbitrary objects are built.
        document = yaml.load(data, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise SpecError(f"invalid JSON or YAML{at}: {problem}", source=origin) from None
    except UnicodeDecodeError:
        raise SpecError("not a text file (invalid UTF-8)", source=origin) from None
    # Aliases share objects: measure what they expand to before anything walks the tree.
    # An alias needs an anchor, written ``&`` (byte 0x26 in UTF-8 and UTF-16 alike): text
    # without one parsed into a plain tree, bounded by its bytes as a JSON spec is.
    if b"&" in data:
        _limits.check_yaml_document(document, _limits.current(), origin)
    return document


def _yaml_loader() -> type:
    """A safe YAML loader that keeps dates as strings (``2024-11-06`` is an API version)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[valid-type, misc]
        pass

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    return _Loader
