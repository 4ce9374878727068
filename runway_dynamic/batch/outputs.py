"""Where a batch job's outputs go, and what an earlier, killed run left of them.

Files are named after the job (``job-0042.png``; ``-1``, ``-2`` … for several outputs) and
the names are committed to the journal before the first byte is written, so a resumed
job finds its finished files instead of fetching them twice, and removes only the
temporary files that are its own.
"""

from __future__ import annotations

from pathlib import Path

from runway_dynamic.downloads import candidates, extension_for


def plan_files(output_dir: Path, key: str, urls: list[str]) -> list[str]:
    """Where a job's outputs go: ``KEY.ext`` (``KEY-1.ext``, ``KEY-2.ext`` … for several).

    The extension comes from the URL; without one the name is left bare and the download
    adds it from the answer's type. A name already taken by another file gets the next
    free ``.2``, ``.3`` … (it is not ours: this job has saved nothing yet).
    """
    several = len(urls) > 1
    out = []
    for index, url in enumerate(urls, start=1):
        ext = extension_for(None, url)
        ext = "" if ext == ".bin" else ext
        name = f"{key}-{index}{ext}" if several else f"{key}{ext}"
        target = output_dir / name
        if ext:
            target = next(c for c in candidates(target) if not c.exists())
        out.append(str(target))
    return out


def existing_output(planned: str) -> Path | None:
    """The file an earlier run saved for this planned name, if it is there (a name without
    an extension matches the one file ``NAME.*`` the download gave it)."""
    path = Path(planned)
    if path.suffix:
        return path if path.is_file() else None
    found = [p for p in path.parent.glob(path.name + ".*")
             if p.is_file() and not p.name.endswith(".part")]
    return found[0] if len(found) == 1 else None


def clear_partials(planned: str) -> None:
    """Remove the temporary files a killed run left beside a planned output (``.NAME.*.part``:
    the names are this job's, so their temporary files are too)."""
    import re

    path = Path(planned)
    mine = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.part")
    for stale in path.parent.glob(f".{path.name}.*.part"):
        if mine.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
