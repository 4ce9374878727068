"""A self-contained HTML gallery of generated media (no API call).

Two layouts:

- *grid*: every image, video and audio file under a folder, newest first, with its size
  and date. Names written by :mod:`runway_dynamic.downloads`
  (``{prefix}-{yyyyMMdd-HHmmss}-{taskid}[-i].ext``, and the ``.2`` no-clobber suffix)
  are parsed for their prefix, time and task id; other media files are shown too.
- *paired* (``--metadata PLAN``): per shot of a short-video plan, or per job of a recipe
  plan, the keyframe beside the clip (or the job's outputs), with model, ratio, duration,
  prompt and a regenerate command to copy; or (``--from-history``) per history entry whose
  outputs were saved, with ``runway history rerun ID`` to copy.

The page is one file: CSS and the copy script are inline, media are linked relatively,
light and dark follow ``prefers-color-scheme``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import UsageError

if TYPE_CHECKING:
    from runway_dynamic.history import Entry

KINDS = {
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".webp": "image", ".gif": "image",
    ".mp4": "video", ".webm": "video", ".mov": "video",
    ".wav": "audio", ".mp3": "audio", ".ogg": "audio", ".m4a": "audio",
}
#: ``downloads.output_filename`` names (and the ``.N`` suffix of a name already taken).
NAME = re.compile(r"^(?P<prefix>.+?)-(?P<stamp>\d{8}-\d{6})-(?P<task>[0-9a-fA-F]{32})"
                  r"(?:-(?P<index>\d+))?(?:\.(?P<copy>\d+))?(?P<ext>\.[A-Za-z0-9]+)$")
DEFAULT_NAME = "gallery.html"


@dataclass
class MediaFile:
    path: Path
    kind: str
    size: int
    when: datetime
    prefix: str | None = None
    task_id: str | None = None

    @classmethod
    def from_path(cls, path: Path) -> MediaFile:
        stat = path.stat()
        when = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
        match = NAME.match(path.name)
        prefix = task = None
        if match:
            prefix, task = match.group("prefix"), match.group("task")
            when = datetime.strptime(match.group("stamp"), "%Y%m%d-%H%M%S").replace(
                tzinfo=timezone.utc)
        return cls(path, KINDS[path.suffix.lower()], stat.st_size, when, prefix, task)


def find_media(directory: Path, recursive: bool = False) -> list[MediaFile]:
    """Media files in ``directory`` (hidden and partial ``.part`` files skipped), newest first."""
    if not directory.is_dir():
        raise UsageError(f"--input {directory}: not a directory")
    pattern = directory.rglob("*") if recursive else directory.glob("*")
    found = [MediaFile.from_path(p) for p in pattern
             if p.is_file() and p.suffix.lower() in KINDS
             and not any(part.startswith(".") for part in p.relative_to(directory).parts)]
    return sorted(found, key=lambda m: (m.when, m.path.name), reverse=True)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _link(path: Path, page_dir: Path) -> str:
    from urllib.parse import quote

    return quote(os.path.relpath(path, page_dir).replace(os.sep, "/"))


def _media_tag(path: Path, page_dir: Path) -> str:
    kind = KINDS.get(path.suffix.lower(), "")
    src = html.escape(_link(path, page_dir))
    alt = html.escape(path.name)
    if kind == "image":
        return f'<img class="media" src="{src}" alt="{alt}" loading="lazy">'
    if kind == "video":
        return (f'<video class="media" src="{src}" controls muted loop playsinline '
                f'preload="metadata"></video>')
    if kind == "audio":
        return f'<audio class="media" src="{src}" controls preload="metadata"></audio>'
    return f'<a href="{src}">{alt}</a>'


def _copy_block(command: str) -> str:
    text = html.escape(command)
    return (f'<div class="cmd"><code>{text}</code>'
            f'<button type="button" data-copy="{text}">Copy</button></div>')


# --------------------------------------------------------------------------- tiles


def grid_tiles(files: list[MediaFile], page_dir: Path) -> list[str]:
    tiles = []
    for item in files:
        meta = [item.kind, _size(item.size), item.when.strftime("%Y-%m-%d %H:%M UTC")]
        if item.task_id:
            meta.append(f"task {item.task_id[:8]}…")
        tiles.append(
            f'<figure class="tile" data-kind="{item.kind}">{_media_tag(item.path, page_dir)}'
            f'<figcaption><strong>{html.escape(item.path.name)}</strong>'
            f'<span>{html.escape(" · ".join(meta))}</span></figcaption></figure>')
    return tiles


def _plan_rows(plan: dict[str, Any], plan_path: Path) -> list[dict[str, Any]]:
    """Rows of the paired layout: label, media files, facts, prompt, regenerate command."""
    base = plan_path.parent
    results = plan.get("results") or {}
    rows = []
    if isinstance(plan.get("shots"), list):
        for shot in plan["shots"]:
            key = str(shot.get("index"))
            result = results.get(key) or {}
            files = [base / result[k] for k in ("keyframe", "clip") if result.get(k)]
            rows.append({
                "label": f"Shot {key} · {shot.get('role', '')}",
                "files": files,
                "facts": {"model": plan.get("model"), "ratio": shot.get("ratio") or plan.get(
                    "ratio"), "duration": shot.get("duration"),
                    "keyframes": plan.get("keyframes_model"),
                    "status": result.get("status", "not run")},
                "prompts": [p for p in (shot.get("keyframe_prompt"), shot.get("video_prompt"))
                            if p],
                "command": shlex.join(["runway", "short-video", "run", "--plan", str(plan_path),
                                       "--only", key]),
            })
        return rows
    if isinstance(plan.get("jobs"), list):
        from runway_dynamic.creative.recipes import rerun_line

        for job in plan["jobs"]:
            key = str(job.get("index"))
            result = results.get(key) or {}
            rows.append({
                "label": f"{key} · {job.get('label', '')}",
                "files": [base / f for f in result.get("files") or []],
                "facts": {"model": job.get("model"), "ratio": job.get("ratio"),
                          "duration": job.get("duration"),
                          "status": result.get("status", "not run")},
                "prompts": [job.get("prompt", "")],
                "command": rerun_line(plan, base, [key]),
            })
        return rows
    raise UsageError(f"{plan_path}: neither a short-video plan (shots) nor a recipe plan (jobs)")


def paired_tiles(plan: dict[str, Any], plan_path: Path, page_dir: Path) -> list[str]:
    return row_tiles(_plan_rows(plan, plan_path), page_dir)


def history_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """Rows of the paired layout from history entries (those with a saved file still there):
    label, media, facts, prompt, and the command that runs it again."""
    from runway_dynamic.history.when import local

    rows = []
    for entry in entries:
        files = [Path(f) for f in entry.files if Path(f).is_file()]
        if not files:
            continue
        rows.append({
            "label": f"#{entry.id} · {local(entry.created)}",
            "files": files,
            "facts": {"model": entry.model, "endpoint": entry.endpoint,
                      "status": entry.status, "task": entry.task_id,
                      "sandbox": "yes" if entry.sandbox else None},
            "prompts": [entry.prompt] if entry.prompt else [],
            "command": shlex.join(["runway", "history", "rerun", str(entry.id)]),
        })
    return rows


def row_tiles(rows: list[dict[str, Any]], page_dir: Path) -> list[str]:
    tiles = []
    for row in rows:
        media = "".join(_media_tag(p, page_dir) for p in row["files"] if p.is_file())
        if not media:
            media = '<div class="missing">no file yet</div>'
        facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
                        for k, v in row["facts"].items() if v is not None)
        prompts = "".join(f"<p class=\"prompt\">{html.escape(p)}</p>" for p in row["prompts"])
        tiles.append(f'<section class="pair"><h2>{html.escape(row["label"])}</h2>'
                     f'<div class="pair-media">{media}</div><dl>{facts}</dl>{prompts}'
                     f'{_copy_block(row["command"])}</section>')
    return tiles


# --------------------------------------------------------------------------- page

_CSS = """
:root { color-scheme: light dark; --bg:#f7f7f5; --fg:#1d1d1f; --card:#fff; --muted:#6b6b70;
  --line:#e3e3e0; --accent:#3056d3; }
@media (prefers-color-scheme: dark) { :root { --bg:#121214; --fg:#ececf0; --card:#1d1d21;
  --muted:#9a9aa3; --line:#2c2c33; --accent:#8aa4ff; } }
* { box-sizing: border-box; }
body { margin:0; padding:24px; background:var(--bg); color:var(--fg);
  font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size:22px; margin:0 0 4px; } .sub { color:var(--muted); margin:0 0 20px; }
.grid { display:grid; gap:16px; grid-template-columns:repeat(auto-fill, minmax(220px, 1fr)); }
.tile, .pair { background:var(--card); border:1px solid var(--line); border-radius:10px;
  margin:0; overflow:hidden; }
.media { display:block; width:100%; min-height:60px; background:#0003; object-fit:contain; }
figcaption { padding:8px 10px; display:flex; flex-direction:column; gap:2px; }
figcaption strong { font-size:12px; word-break:break-all; }
figcaption span, dd, .missing { color:var(--muted); font-size:12px; }
.pairs { display:grid; gap:18px; grid-template-columns:repeat(auto-fill, minmax(360px, 1fr)); }
.pair { padding:12px; } .pair h2 { font-size:16px; margin:0 0 8px; }
.pair-media { display:grid; gap:8px; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); }
dl { display:grid; grid-template-columns:auto 1fr; gap:2px 10px; margin:10px 0; }
dt { font-size:12px; font-weight:600; } dd { margin:0; }
.prompt { font-size:13px; margin:6px 0; white-space:pre-wrap; }
.cmd { display:flex; gap:8px; align-items:center; margin-top:8px; }
.cmd code { flex:1; font-size:12px; overflow-x:auto; white-space:nowrap; padding:6px;
  border:1px solid var(--line); border-radius:6px; }
.cmd button { border:1px solid var(--accent); color:var(--accent); background:none;
  border-radius:6px; padding:4px 10px; cursor:pointer; }
.empty { color:var(--muted); }
"""

_SCRIPT = """
document.addEventListener('click', function (event) {
  var button = event.target.closest('button[data-copy]');
  if (!button) return;
  var text = button.getAttribute('data-copy');
  var done = function () { button.textContent = 'Copied'; setTimeout(function () {
    button.textContent = 'Copy'; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var area = document.createElement('textarea'); area.value = text;
    document.body.appendChild(area); area.select(); document.execCommand('copy');
    document.body.removeChild(area); done();
  }
});
"""


def render_page(title: str, subtitle: str, tiles: list[str], *, paired: bool) -> str:
    body = "".join(tiles) if tiles else '<p class="empty">No media found.</p>'
    klass = "pairs" if paired else "grid"
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"sub\">{html.escape(subtitle)}</p>"
            f"<main class=\"{klass}\">{body}</main><script>{_SCRIPT}</script></body></html>\n")


def create_gallery(input_dir: Path, output: Path | None = None, *, recursive: bool = False,
                   title: str | None = None, metadata: Path | None = None,
                   entries: list[Entry] | None = None, since: str | None = None) -> Path:
    """Write the gallery page; its path. With ``entries`` (from the history), one tile per
    entry whose saved files are still there; ``since`` says from when, for the subtitle."""
    from runway_dynamic._files import atomic_write_bytes

    page = (output or input_dir / DEFAULT_NAME).absolute()
    page_dir = page.parent
    if entries is not None:
        rows = history_rows(entries)
        sub = f"{len(rows)} generations from the history" + (f" since {since}" if since else "")
        text = render_page(title or "Runway history", sub, row_tiles(rows, page_dir),
                           paired=True)
    elif metadata is not None:
        try:
            plan = json.loads(metadata.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"--metadata {metadata}: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"--metadata {metadata}: not JSON ({exc})") from None
        if not isinstance(plan, dict):
            raise UsageError(f"--metadata {metadata}: not a plan object")
        tiles = paired_tiles(plan, metadata.absolute(), page_dir)
        name = title or plan.get("title") or plan.get("product") or metadata.stem
        sub = f"{len(tiles)} {'shots' if 'shots' in plan else 'jobs'} from {metadata.name}"
        text = render_page(str(name), sub, tiles, paired=True)
    else:
        files = [f for f in find_media(input_dir, recursive) if f.path != page]
        total = sum(f.size for f in files)
        sub = f"{len(files)} files · {_size(total)} · {input_dir}"
        text = render_page(title or f"Runway outputs — {input_dir.name or input_dir}", sub,
                           grid_tiles(files, page_dir), paired=False)
    atomic_write_bytes(page, text.encode("utf-8"))
    return page
