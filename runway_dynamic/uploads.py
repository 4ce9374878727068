"""Uploads and media arguments: local files become ``data:`` URIs or ``runway://`` uploads.

An upload is two steps: ``POST /v1/uploads`` with ``{filename, type}`` answers an upload URL,
form fields and the ``runway://`` URI; the file then goes to that URL as a multipart POST of
those fields (without the Runway key: the URL is pre-signed and on another host).

:func:`resolve_media` decides, per media field, what a user's value becomes: URIs pass
unchanged; a local file goes inline as a ``data:`` URI when the field accepts one of its
type and the encoded form fits the field's ``maxLength``, otherwise it is uploaded.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runway_dynamic._exceptions import APIError, UsageError
from runway_dynamic.catalog import MediaFacts, Operation

UPLOADS_ENDPOINT = "uploads"
#: The upload type asked for when the spec's enum does not say otherwise.
PREFERRED_UPLOAD_TYPE = "ephemeral"
_URI = re.compile(r"^(https?|runway|data):", re.IGNORECASE)


@dataclass(frozen=True)
class UploadSlot:
    """Where and how to send the file, from the ``POST /v1/uploads`` answer."""

    upload_url: str
    fields: Mapping[str, str]
    runway_uri: str


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


@dataclass(frozen=True)
class MediaPlan:
    """What becomes of one media value: ``pass`` (as given), ``inline`` (data URI) or ``upload``."""

    action: str
    value: str
    path: Path | None = None


def plan_media(value: str, facts: MediaFacts | None, *, label: str = "file") -> MediaPlan:
    """Decide (no network) how to send ``value`` for a field with ``facts``."""
    if is_uri(value):
        return MediaPlan("pass", value)
    path = Path(os.path.expanduser(value))
    size = check_readable(path, label)
    schemes = facts.schemes if facts else ("https", "runway", "data")
    mime = guess_mime(path)
    if "data" in schemes and mime:
        prefix = facts.data_mime_prefix if facts else None
        limit = facts.data_max_length if facts else None
        type_ok = prefix is None or mime.startswith(prefix)
        size_ok = limit is None or data_uri_length(size, mime) <= limit
        if type_ok and size_ok:
            payload = base64.b64encode(path.read_bytes()).decode("ascii")
            return MediaPlan("inline", f"data:{mime};base64,{payload}", path)
    if "runway" in schemes:
        return MediaPlan("upload", str(path), path)
    raise UsageError(
        f"{label}: {path} cannot be sent as a local file here (this field takes "
        f"{', '.join(s + ':' for s in schemes)} URIs only); give a URL instead"
    )


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
