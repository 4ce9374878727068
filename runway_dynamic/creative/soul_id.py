"""soul-id: a local registry of reference photos of one person, reused across generations.

Nothing is trained server-side: a soul-id is a folder of photos that ``--soul-id ID``
attaches as reference images, to whichever field the chosen model's schema offers for
them. Folders live in ``<data dir>/soul-ids/<id>/`` (``runway_dynamic._paths.data_dir``);
the reference CLI's ``~/.runway-cli/soul-ids/`` is read too, so existing ids keep working.

Creation is all-or-nothing: every photo is checked before anything is copied, and the
folder appears under its final name by one rename. ``soul.json`` stores paths relative to
the folder, so a moved data dir stays valid.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runway_dynamic import _paths
from runway_dynamic._exceptions import UsageError

RECORD = "soul.json"
MAX_PHOTOS = 50
MAX_PHOTO_BYTES = 20 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: Leading bytes of the image formats the API takes.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF87a", ".gif"),
          (b"GIF89a", ".gif"))


class SoulIdNotFound(UsageError):
    """No soul-id with that id in any registry folder."""


def registry_dirs() -> list[Path]:
    """Where soul-ids are read from, first one first; new ones go to the first."""
    return [_paths.data_dir() / "soul-ids", Path.home() / ".runway-cli" / "soul-ids"]


def check_id(soul_id: str) -> str:
    """A safe folder name: letters, digits, ``-``, ``_``; no ``..``, ``/`` or empty."""
    if not isinstance(soul_id, str) or not _ID.match(soul_id):
        raise UsageError(f"invalid soul-id {soul_id!r}: use 1-64 letters, digits, '-' or '_' "
                         "(starting with a letter or digit)")
    return soul_id


def image_suffix(path: Path) -> str | None:
    """The image type from the file's first bytes (PNG, JPEG, GIF, WebP), else ``None``."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    for magic, suffix in _MAGIC:
        if head.startswith(magic):
            return suffix
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return None


@dataclass
class SoulId:
    id: str
    name: str
    folder: Path
    images: list[str]
    created_at: str
    variant: str | None = None

    @property
    def image_paths(self) -> list[Path]:
        return [self.folder / name for name in self.images]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": "ready", "variant": self.variant,
                "created_at": self.created_at, "folder": str(self.folder),
                "images": [str(p) for p in self.image_paths]}


def _read(folder: Path) -> SoulId:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"soul-id {folder.name}: {folder / RECORD} is unreadable ({exc})") from None
    images = [str(i) for i in data.get("images") or []]
    for name in images:
        resolved = (folder / name).resolve()
        if folder.resolve() not in resolved.parents:
            raise UsageError(f"soul-id {folder.name}: image path {name!r} leaves its folder")
    return SoulId(id=folder.name, name=str(data.get("name") or folder.name), folder=folder,
                  images=images, created_at=str(data.get("created_at") or ""),
                  variant=data.get("variant"))


def create(name: str, photos: list[str], *, variant: str | None = None,
           soul_id: str | None = None) -> SoulId:
    """Check every photo, then copy them into a new folder that appears atomically."""
    if not name.strip():
        raise UsageError("--name must not be empty")
    if not photos:
        raise UsageError("give at least one --image PHOTO")
    if len(photos) > MAX_PHOTOS:
        raise UsageError(f"at most {MAX_PHOTOS} photos per soul-id, got {len(photos)}")
    problems, checked = [], []
    for raw in photos:
        path = Path(raw).expanduser()
        if not path.is_file():
            problems.append(f"{raw}: not a file")
            continue
        if path.stat().st_size > MAX_PHOTO_BYTES:
            problems.append(f"{raw}: larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
            continue
        suffix = image_suffix(path)
        if suffix is None:
            problems.append(f"{raw}: not a PNG, JPEG, GIF or WebP image")
            continue
        checked.append((path, suffix))
    if problems:
        raise UsageError("nothing was saved; fix these photos first:\n"
                         + "\n".join(f"  - {p}" for p in problems))
    if soul_id is None:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "soul"
        soul_id = f"{base}-{secrets.token_hex(3)}"
    check_id(soul_id)
    root = registry_dirs()[0]
    root.mkdir(parents=True, exist_ok=True)
    final = root / soul_id
    if final.exists():
        raise UsageError(f"soul-id {soul_id} already exists")
    staging = Path(tempfile.mkdtemp(prefix=f".{soul_id}.", dir=root))
    try:
        names = []
        for number, (path, suffix) in enumerate(checked, start=1):
            target = f"photo-{number:02d}{suffix}"
            shutil.copyfile(path, staging / target)
            names.append(target)
        record = {"name": name.strip(), "variant": variant, "images": names,
                  "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.rename(staging, final)  # atomic: the id appears complete or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _read(final)


def list_all() -> list[SoulId]:
    """Every soul-id, the data dir first; an id in both places is shown once."""
    found: dict[str, SoulId] = {}
    for root in registry_dirs():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not (folder / RECORD).is_file():
                continue
            if _ID.match(folder.name) and folder.name not in found:
                found[folder.name] = _read(folder)
    return list(found.values())


def get(soul_id: str) -> SoulId:
    check_id(soul_id)
    for root in registry_dirs():
        folder = root / soul_id
        if (folder / RECORD).is_file():
            return _read(folder)
    raise SoulIdNotFound(f"no soul-id {soul_id!r}; see 'runway soul-id list'")


def delete(soul_id: str) -> Path:
    """Remove the folder; the path it had."""
    found = get(soul_id)
    shutil.rmtree(found.folder)
    return found.folder


def photos_for(ids: list[str]) -> list[str]:
    """The photo paths of several soul-ids, in order."""
    out: list[str] = []
    for soul_id in ids:
        out += [str(p) for p in get(soul_id).image_paths]
    return out
