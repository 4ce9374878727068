"""What the API accepts as media, derived from the spec: one answer for the client and the sandbox.

The spec states its media limits on the fields that take media: each URI field's
``^data:<type>/`` branch names the media type family it takes and the longest data URI
(``maxLength``). An upload (``POST /v1/uploads``, then the file) must be media of one of
those families: its filename names a supported media type. The spec declares no size for an
upload today; when a later spec does (an integer size-like field of the upload body with a
``maximum``), that number is the cap, and until then Runway's published cap is
(:data:`~runway_dynamic._constants.UPLOAD_MAX_BYTES`).

>>> limits = media_limits(spec.catalog)                       # doctest: +SKIP
>>> limits.upload_problem(2 * 1024**3, "image/png")           # doctest: +SKIP
'the file is 2.0 GB; an upload takes at most 200 MB'
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runway_dynamic._constants import UPLOAD_MAX_BYTES, UPLOADS_ENDPOINT
from runway_dynamic.catalog import Catalog, flatten_object, media_facts, schema_kind

#: Nesting deeper than this is not searched for media fields (spec input is untrusted).
MAX_SCHEMA_DEPTH = 64
_SIZE_WORDS = re.compile(r"size|bytes|length", re.IGNORECASE)


@dataclass(frozen=True)
class MediaLimits:
    """The media limits one spec states.

    ``data_uri_max``: media type family (``"image/"``) → the longest ``data:`` URI any field
    of the spec takes for it. ``upload_types``: the families an uploaded file may be.
    ``upload_max_bytes``: the largest file an upload takes; ``upload_max_from_spec`` says
    whether the spec declared it (else it is Runway's published cap).
    """

    data_uri_max: Mapping[str, int]
    upload_types: tuple[str, ...]
    upload_max_bytes: int
    upload_max_from_spec: bool = False

    def accepts_type(self, mime: str | None) -> bool:
        """Whether a file of this media type may be uploaded (``None``: type unknown → no)."""
        return bool(mime) and any(str(mime).lower().startswith(f) for f in self.upload_types)

    def type_problem(self, filename: str, mime: str | None = None) -> str | None:
        """Why a file of this name (and, when known, media type) cannot be uploaded, or None."""
        mime = mime or guess_type(filename)
        if self.accepts_type(mime):
            return None
        families = ", ".join(f.rstrip("/") for f in self.upload_types) or "none"
        kind = f"of type {mime}" if mime else "of no media type its name shows"
        return f"{filename!r} is {kind}; an upload must be a media file ({families})"

    def upload_problem(self, size: int, mime: str | None = None) -> str | None:
        """Why ``size`` bytes of ``mime`` cannot be uploaded, or None when they can."""
        if mime is not None and not self.accepts_type(mime):
            families = ", ".join(f.rstrip("/") for f in self.upload_types) or "none"
            return f"a file of type {mime} cannot be uploaded; an upload must be {families}"
        if size > self.upload_max_bytes:
            return (f"the file is {human_size(size)}; an upload takes at most "
                    f"{human_size(self.upload_max_bytes)}")
        return None

    def data_uri_limit(self, mime: str) -> int | None:
        """The longest ``data:`` URI the spec takes for this media type, if it takes one."""
        return next((n for f, n in self.data_uri_max.items() if mime.lower().startswith(f)),
                    None)


def media_limits(catalog: Catalog) -> MediaLimits:
    """The media limits ``catalog``'s spec states (see the module docstring)."""
    data_max: dict[str, int] = {}
    upload_types: dict[str, None] = {}
    for op in catalog.operations:
        for variant in op.variants:
            for facts in _media_fields(variant.schema):
                family = facts.data_mime_prefix
                if not family or not family.endswith("/"):
                    continue
                if "runway" in facts.schemes:
                    upload_types[family] = None
                if isinstance(facts.data_max_length, int):
                    data_max[family] = max(data_max.get(family, 0), facts.data_max_length)
    declared = _declared_upload_max(catalog)
    return MediaLimits(
        data_uri_max=data_max,
        upload_types=tuple(sorted(upload_types)),
        upload_max_bytes=declared if declared is not None else UPLOAD_MAX_BYTES,
        upload_max_from_spec=declared is not None,
    )


def _media_fields(schema: Any) -> Iterator[Any]:
    """Media facts of every URI field in ``schema``, however deeply nested."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(schema, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Mapping) or id(node) in seen or depth > MAX_SCHEMA_DEPTH:
            continue
        seen.add(id(node))
        facts = media_facts(node)
        if facts is not None:
            yield facts
        children: list[Any] = [*node.get("anyOf", ()), *node.get("oneOf", ()),
                               *node.get("allOf", ())]
        children += [node.get("items"), node.get("additionalProperties")]
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            children += list(properties.values())
        stack.extend((child, depth + 1) for child in children if isinstance(child, Mapping))


def _declared_upload_max(catalog: Catalog) -> int | None:
    """A size cap the upload body declares (an integer size-like field's ``maximum``)."""
    for op in catalog.operations_for(UPLOADS_ENDPOINT):
        for variant in op.variants:
            properties, _ = flatten_object(variant.schema)
            for name, sub in properties.items():
                maximum = sub.get("maximum") if isinstance(sub, Mapping) else None
                if (_SIZE_WORDS.search(name) and schema_kind(sub) in ("integer", "number")
                        and isinstance(maximum, (int, float)) and not isinstance(maximum, bool)):
                    return int(maximum)
    return None


def guess_type(filename: str) -> str | None:
    """The media type a file name shows (its extension), if any."""
    mime, _ = mimetypes.guess_type(filename)
    return mime


def human_size(size: float) -> str:
    """``209715200`` → ``200 MB`` (binary units, as Runway states its limits)."""
    if size < 1024:
        return f"{int(size)} bytes"
    units = ["KB", "MB", "GB"]
    size /= 1024
    while size >= 1024 and len(units) > 1:
        size /= 1024
        units.pop(0)
    return f"{size:.1f}".rstrip("0").rstrip(".") + f" {units[0]}"
