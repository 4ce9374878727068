"""Uploads and media arguments: local files become ``data:`` URIs or ``runway://`` uploads.

An upload is two steps: ``POST /v1/uploads`` with ``{filename, type}`` answers an upload URL,
form fields and the ``runway://`` URI; the file then goes to that URL as a multipart POST of
those fields (without the Runway key: the URL is pre-signed and on another host).

:func:`resolve_media` decides, per media field, what a user's value becomes: URIs pass
unchanged; a local file goes inline as a ``data:`` URI when the field accepts one of its
type and the encoded form fits the field's ``maxLength``, otherwise it is uploaded.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from runway_dynamic._constants import UPLOAD_MAX_BYTES
from runway_dynamic._constants import UPLOADS_ENDPOINT as UPLOADS_ENDPOINT  # re-exported
from runway_dynamic._exceptions import APIError, UsageError
from runway_dynamic._frozen import Frozen
from runway_dynamic.catalog import MediaFacts, Operation, media_facts, schema_kind

#: The upload type asked for when the spec's enum does not say otherwise.
PREFERRED_UPLOAD_TYPE = "ephemeral"
_URI = re.compile(r"^(https?|runway|data):", re.IGNORECASE)


class UploadSlot(Frozen):
    """Where and how to send the file, from the ``POST /v1/uploads`` answer."""

    _fields = ("upload_url", "fields", "runway_uri")
    upload_url: str
    fields: Mapping[str, str]
    runway_uri: str

    def __init__(self, upload_url: str, fields: Mapping[str, str], runway_uri: str) -> None:
        self._set(upload_url=upload_url, fields=fields, runway_uri=runway_uri)


def upload_body(operation: Operation | None, filename: str) -> dict[str, Any]:
    """The ``POST /v1/uploads`` body; the ``type`` value is taken from the spec's enum."""
    kind = PREFERRED_UPLOAD_TYPE
    variant = operation.variants[0] if operation and operation.variants else None
    field = variant.field_map.get("type") if variant else None
    if field is not None and field.choices:
        choices = [str(c) for c in field.choices]
        kind = PREFERRED_UPLOAD_TYPE if PREFERRED_UPLOAD_TYPE in choices else choices[0]
    return {"filename": filename, "type": kind}


def parse_upload_slot(data: Any) -> UploadSlot:
    """Read the upload answer; a malformed one is an :class:`APIError` (nothing to retry)."""
    if not isinstance(data, Mapping):
        raise APIError("POST /v1/uploads answered something other than an object")
    url, fields, uri = data.get("uploadUrl"), data.get("fields") or {}, data.get("runwayUri")
    if not isinstance(url, str) or not isinstance(uri, str) or not isinstance(fields, Mapping):
        raise APIError("POST /v1/uploads answer lacks uploadUrl, fields or runwayUri")
    return UploadSlot(url, {str(k): str(v) for k, v in fields.items()}, uri)


def guess_mime(path: Path) -> str | None:
    import mimetypes  # here: commands without local files should not load its tables

    mime, _ = mimetypes.guess_type(path.name)
    return mime


def is_uri(value: str) -> bool:
    """``https://``, ``http://``, ``runway://`` and ``data:`` values are sent as they are."""
    return bool(_URI.match(value))


def data_uri_length(size: int, mime: str) -> int:
    """Length of ``data:<mime>;base64,<payload>`` for a ``size``-byte file."""
    return len(f"data:{mime};base64,") + 4 * ((size + 2) // 3)


def check_readable(path: Path, label: str = "file") -> int:
    """The file's size; :class:`UsageError` if it is missing or cannot be read."""
    try:
        if not path.is_file():
            raise UsageError(f"{label}: {path} is not a file (or does not exist)")
        with path.open("rb"):
            pass
        return path.stat().st_size
    except OSError as exc:
        raise UsageError(f"{label}: cannot read {path} ({exc.strerror})") from None


class MediaPlan(Frozen):
    """What becomes of one media value: ``pass`` (as given), ``inline`` (data URI) or ``upload``."""

    _fields = ("action", "value", "path")
    action: str
    value: str
    path: Path | None

    def __init__(self, action: str, value: str, path: Path | None = None) -> None:
        self._set(action=action, value=value, path=path)


def media_action(path: Path, facts: MediaFacts | None, *, label: str = "file") -> str:
    """``inline`` or ``upload`` for a local file (reads only its size, not its bytes).

    :class:`UsageError` when the file is missing or the field takes no local file.
    """
    size = check_readable(path, label)
    schemes = facts.schemes if facts else ("https", "runway", "data")
    mime = guess_mime(path)
    if "data" in schemes and mime:
        prefix = facts.data_mime_prefix if facts else None
        limit = facts.data_max_length if facts else None
        type_ok = prefix is None or mime.startswith(prefix)
        size_ok = limit is None or data_uri_length(size, mime) <= limit
        if type_ok and size_ok:
            return "inline"
    if "runway" in schemes:
        problem = upload_problem(path, size, mime, facts)
        if problem:
            raise UsageError(f"{label}: {path}: {problem}")
        return "upload"
    raise UsageError(
        f"{label}: {path} cannot be sent as a local file here (this field takes "
        f"{', '.join(s + ':' for s in schemes)} URIs only); give a URL instead"
    )


def upload_problem(path: Path, size: int, mime: str | None, facts: MediaFacts | None,
                   max_bytes: int = UPLOAD_MAX_BYTES) -> str | None:
    """Why a file cannot be uploaded for a field, checked before anything is sent: not the
    media family the field takes (its ``data:`` branch names it), or larger than an upload
    takes (:func:`runway_dynamic.media_limits.media_limits` gives the spec's cap)."""
    from runway_dynamic.media_limits import human_size

    family = facts.data_mime_prefix if facts else None
    # A name that shows no media type (.heic on an old mimetypes table) is the server's call.
    if family and family.endswith("/") and mime and not mime.startswith(family):
        return f"is {mime}; this field takes {family.rstrip('/')} files"
    if size > max_bytes:
        return (f"the file is {human_size(size)}; an upload takes at most "
                f"{human_size(max_bytes)}")
    return None


def plan_media(value: str, facts: MediaFacts | None, *, label: str = "file") -> MediaPlan:
    """Decide (no network) how to send ``value`` for a field with ``facts``."""
    if is_uri(value):
        return MediaPlan("pass", value)
    path = Path(os.path.expanduser(value))
    if media_action(path, facts, label=label) == "inline":
        mime = guess_mime(path) or "application/octet-stream"
        import base64

        payload = base64.b64encode(path.read_bytes()).decode("ascii")
        inlined = f"data:{mime};base64,{payload}"
        note_origin(inlined, path)
        return MediaPlan("inline", inlined, path)
    return MediaPlan("upload", str(path), path)


# --------------------------------------------------------------------------- origins
#
# A request body holds what was sent: a data: URI for an inlined file, a runway:// URI for
# an uploaded one. Whoever keeps a record of the request (runway_dynamic.history) wants the
# local file instead of the bytes, so the values this process made remember their file.

#: How many media values the process remembers the file of (the most recent ones).
ORIGINS_KEPT = 256
_origins: OrderedDict[tuple[int, int], str] = OrderedDict()
_origins_lock = threading.Lock()


def _origin_key(value: str) -> tuple[int, int]:
    # Length and hash, not the value: a remembered data: URI must not be kept alive. A str
    # caches its hash, so asking again for a value already hashed costs nothing.
    return len(value), hash(value)


def note_origin(value: str, path: str | os.PathLike[str]) -> None:
    """Remember that the media value ``value`` (a ``data:`` or ``runway://`` URI this
    process made) stands for the local file ``path``."""
    key = _origin_key(value)
    with _origins_lock:
        _origins[key] = os.path.abspath(path)
        _origins.move_to_end(key)
        while len(_origins) > ORIGINS_KEPT:
            _origins.popitem(last=False)


def origin_of(value: str) -> str | None:
    """The absolute path of the local file ``value`` was made from, if this process made it."""
    return _origins.get(_origin_key(value))


def resolve_media(
    value: str,
    field_media_facts: MediaFacts | None,
    uploader: Callable[[Path], str],
    *,
    label: str = "file",
) -> str:
    """The value to send for a media field; ``uploader(path)`` returns a ``runway://`` URI.

    >>> resolve_media("cat.png", field.media, client.upload)      # small → data:image/png;…
    """
    plan = plan_media(value, field_media_facts, label=label)
    if plan.action == "upload" and plan.path is not None:
        return uploader(plan.path)
    return plan.value


async def aresolve_media(
    value: str,
    field_media_facts: MediaFacts | None,
    uploader: Callable[[Path], Awaitable[str]],
    *,
    label: str = "file",
) -> str:
    """The async twin of :func:`resolve_media` (same :func:`plan_media` decision)."""
    plan = plan_media(value, field_media_facts, label=label)
    if plan.action == "upload" and plan.path is not None:
        return await uploader(plan.path)
    return plan.value


# --------------------------------------------------------------------------- media in bodies
#
# A body's media values are found once, from the variant's schema (string branches with
# ``^https:`` / ``^runway:`` / ``^data:`` patterns, inside lists and objects too); the
# sync and async resolvers below then only differ in how they upload.

#: Where a value sits in a body: keys and list indexes from the top.
BodyPath = tuple[str | int, ...]


class LocalMedia(Frozen):
    """A local file path found in a media position of a body."""

    _fields = ("where", "value", "facts", "label")
    where: BodyPath
    value: str
    facts: MediaFacts
    label: str

    def __init__(self, where: BodyPath, value: str, facts: MediaFacts, label: str) -> None:
        self._set(where=where, value=value, facts=facts, label=label)

    def with_value(self, value: str) -> LocalMedia:
        """The same media position holding ``value`` (a path made absolute)."""
        return LocalMedia(self.where, value, self.facts, self.label)

    @property
    def path(self) -> Path:
        return Path(os.path.expanduser(self.value))


def local_media(operation: Operation, variant_key: str | None, body: Any,
                flag_of: Callable[[str], str] | None = None) -> list[LocalMedia]:
    """Every local file path in a media field of ``body`` (URIs are not listed)."""
    if not isinstance(body, Mapping):
        return []
    variant = operation.variant(variant_key) if operation.variants else None
    if variant is None and operation.variants and not operation.discriminator:
        variant = operation.variants[0]
    if variant is None:
        return []
    found: list[LocalMedia] = []
    for field in variant.fields:
        if field.name in body:
            label = flag_of(field.name) if flag_of else field.name
            _collect(body[field.name], field.schema, (field.name,), label, found)
    return found


def _collect(value: Any, schema: Mapping[str, Any], where: BodyPath, label: str,
             found: list[LocalMedia]) -> None:
    if isinstance(value, str):
        facts = media_facts(schema)
        if facts is not None and not is_uri(value):
            found.append(LocalMedia(where, value, facts, label))
        return
    branches = _branches(schema)
    if isinstance(value, list):
        items = next((b["items"] for b in branches
                      if schema_kind(b) == "array" and isinstance(b.get("items"), Mapping)), None)
        if items is not None:
            for i, item in enumerate(value):
                _collect(item, items, (*where, i), f"{label}[{i}]", found)
    elif isinstance(value, Mapping):
        # Of a oneOf of objects, the shapes whose constants (``type``) the value agrees
        # with: a video in ``{"type": "video", "uri": ...}`` is checked as a video.
        from runway_dynamic.shapes import object_shapes

        shapes = object_shapes(schema)
        agreeing = [s for s in shapes if s.accepts(value)] or list(shapes)
        properties: dict[str, Any] = {}
        for shape in agreeing:
            for name, sub in shape.properties.items():
                properties.setdefault(name, sub)
        for key, sub_value in value.items():
            if key in properties:
                _collect(sub_value, properties[key], (*where, key), f"{label}.{key}", found)


def _branches(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    nested = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if not nested:
        return [schema]
    out: list[Mapping[str, Any]] = []
    for branch in nested:
        out += _branches(branch)
    return out


def replace_media(body: Mapping[str, Any], values: Mapping[BodyPath, str]) -> dict[str, Any]:
    """A copy of ``body`` with the value at each path replaced (the input is not changed)."""
    import copy

    out = copy.deepcopy(dict(body))
    for where, value in values.items():
        node: Any = out
        for step in where[:-1]:
            node = node[step]
        node[where[-1]] = value
    return out


def placeholder_uploader(path: Path) -> str:
    """Stands in for an upload in pre-flight and ``--dry-run``: nothing is sent."""
    return f"runway://upload-pending/{path.name}"


def placeholder_media(found: LocalMedia) -> str:
    """A stand-in that passes the field's checks without reading the file (pre-flight of
    many jobs): a short ``data:`` URI where the file would go inline, else a pending upload."""
    if media_action(found.path, found.facts, label=found.label) == "inline":
        mime = guess_mime(found.path) or "application/octet-stream"
        return f"data:{mime};base64,AAAA"
    return placeholder_uploader(found.path)


def resolve_body_media(operation: Operation, variant_key: str | None, body: Any,
                       uploader: Callable[[Path], str],
                       flag_of: Callable[[str], str] | None = None) -> Any:
    """``body`` with local file paths in media fields turned into URIs (a new dict).

    A missing file is a :class:`UsageError` naming the flag. Pass
    :func:`placeholder_uploader` to pre-flight or ``--dry-run`` without uploading.
    """
    found = local_media(operation, variant_key, body, flag_of)
    if not found:
        return body
    return replace_media(body, {m.where: resolve_media(m.value, m.facts, uploader,
                                                       label=m.label) for m in found})


async def aresolve_body_media(operation: Operation, variant_key: str | None, body: Any,
                              uploader: Callable[[Path], Awaitable[str]],
                              flag_of: Callable[[str], str] | None = None) -> Any:
    """The async twin of :func:`resolve_body_media` (same walk, awaited uploads)."""
    found = local_media(operation, variant_key, body, flag_of)
    if not found:
        return body
    values = {m.where: await aresolve_media(m.value, m.facts, uploader, label=m.label)
              for m in found}
    return replace_media(body, values)
