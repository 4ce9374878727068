"""Joining clips with the real ffmpeg: quoting, copy, re-encode fallback, binary lookup."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from runway_dynamic._exceptions import UsageError
from runway_dynamic.creative.ffmpeg import concat, concat_list, find_ffmpeg, quote_concat_path

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (CI has it)")


def make_clip(path: Path, size: str, seconds: float = 1.0, rate: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([FFMPEG or "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate={rate}:duration={seconds}", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


def probe_seconds(path: Path) -> float:
    probe = shutil.which("ffprobe")
    assert probe
    out = subprocess.run([probe, "-v", "error", "-show_entries", "format=duration", "-of",
                          "json", str(path)], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


def test_quoting_escapes_single_quotes() -> None:
    assert quote_concat_path(Path("/a/it's/b.mp4")) == "file '/a/it'\\''s/b.mp4'"
    listing = concat_list([Path("/x/one.mp4"), Path("/y/two 2.mp4")])
    assert listing == "file '/x/one.mp4'\nfile '/y/two 2.mp4'\n"


@needs_ffmpeg
def test_concat_copies_clips_with_awkward_names(tmp_path: Path) -> None:
    where = tmp_path / "it's a dir" / "with 'quotes'"
    clips = [make_clip(where / f"shot '{i}'.mp4", "64x36") for i in range(3)]
    out = concat(clips, tmp_path / "final's.mp4")
    assert out.is_file()
    assert probe_seconds(out) == pytest.approx(3.0, abs=0.3)


@needs_ffmpeg
def test_concat_reencodes_when_streams_differ(tmp_path: Path) -> None:
    clips = [make_clip(tmp_path / "a.mp4", "64x36", rate=8),
             make_clip(tmp_path / "b.mp4", "64x36", rate=8),
             make_clip(tmp_path / "c.webm", "48x48", rate=5)]
    out = concat(clips, tmp_path / "joined.mp4")
    assert probe_seconds(out) == pytest.approx(3.0, abs=0.5)


def test_binary_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "my-ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_ffmpeg(str(fake)) == str(fake)
    monkeypatch.setenv("FFMPEG_BINARY", str(fake))
    assert find_ffmpeg() == str(fake)
    with pytest.raises(UsageError, match="--ffmpeg"):
        find_ffmpeg(str(tmp_path / "missing"))
    monkeypatch.delenv("FFMPEG_BINARY")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="--no-concat"):
            find_ffmpeg()
