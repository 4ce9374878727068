"""gallery create: finds our real output files and renders in headless Chromium."""

from __future__ import annotations

import html.parser
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from runway_dynamic.creative.gallery import NAME, find_media

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
needs_browser = pytest.mark.skipif(CHROMIUM is None or shutil.which("ffmpeg") is None,
                                   reason="needs chromium and ffmpeg (CI installs both)")
FAST = ("--poll-interval", "0.02", "--retry-backoff-seconds", "0")


class _Sources(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.copy: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("img", "video", "audio") and values.get("src"):
            self.sources.append(str(values["src"]))
        if tag == "button" and values.get("data-copy"):
            self.copy.append(str(values["data-copy"]))


def render(page: Path, tmp_path: Path) -> tuple[str, bytes]:
    """The DOM after scripts ran, and a screenshot decoded to raw RGB by ffmpeg."""
    base = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,800"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(shot), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60,
                         check=True).stdout
    return dom, raw


def check_page(page: Path, tmp_path: Path, expect: int) -> list[str]:
    dom, raw = render(page, tmp_path)
    parser = _Sources()
    parser.feed(dom)
    assert len(parser.sources) >= expect
    for src in parser.sources:
        assert (page.parent / unquote(src)).is_file(), f"tile points at a missing file: {src}"
    pixels = {raw[i:i + 3] for i in range(0, len(raw), 3 * 7)}
    assert len(pixels) > 20, "the screenshot is blank"
    return parser.copy


def test_download_names_are_parsed(tmp_path: Path) -> None:
    for name in ("shot-01-20260102-030405-0123456789abcdef0123456789abcdef.mp4",
                 "runway-20260102-030405-0123456789abcdef0123456789abcdef-2.png",
                 "01-hero-20260102-030405-0123456789abcdef0123456789abcdef.2.png"):
        match = NAME.match(name)
        assert match and match.group("task") == "0123456789abcdef0123456789abcdef"
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".shot.mp4.abc.part").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    found = find_media(tmp_path)
    assert len(found) == 3 and {f.when.year for f in found} == {2026}


@needs_browser
def test_grid_and_paired_pages_render_and_point_at_real_files(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    monkeypatch.chdir(work)
    made = cli("short-video", "Sunrise over a lake. A heron takes off.", "--shots", "2",
               "--planner", "deterministic", "--keyframes", "gen4_image", "-o",
               str(work / "lake.mp4"), *FAST)
    assert made.code == 0, made.err
    recipe = cli("product-photoshoot", "create", "--product", "a brass lamp", "--output-dir",
                 str(work / "lamp"), *FAST)
    assert recipe.code == 0, recipe.err

    grid = cli("gallery", "create", "--input", str(work), "--recursive", "--title", "All")
    assert grid.code == 0, grid.err
    page = Path(grid.out.strip())
    text = page.read_text()
    assert "prefers-color-scheme: dark" in text and "<script>" in text
    check_page(page, tmp_path, expect=2 + 2 + 3 + 1)

    paired = cli("gallery", "create", "--input", str(work), "--metadata",
                 str(work / "lake.plan.json"), "-o", str(work / "lake.html"))
    assert paired.code == 0, paired.err
    copies = check_page(work / "lake.html", tmp_path, expect=4)
    assert any("--only 2" in c and "short-video run --plan" in c for c in copies)

    jobs = cli("gallery", "create", "--input", str(work / "lamp"), "--metadata",
               str(work / "lamp" / "recipe.plan.json"), "-o", str(work / "lamp.html"))
    assert jobs.code == 0, jobs.err
    copies = check_page(work / "lamp.html", tmp_path, expect=3)
    assert all("product-photoshoot create --product 'a brass lamp'" in c for c in copies)
    assert sorted(c.rsplit("--only ", 1)[1] for c in copies) == ["1", "2", "3"]
    assert all(f"--output-dir '{work / 'lamp'}'" in c for c in copies)
