"""Joining clips with ffmpeg: finding the binary, the concat list, copy then re-encode.

The binary is looked for in this order: ``--ffmpeg``, ``FFMPEG_BINARY``, ``PATH``, then
the one bundled by the ``imageio-ffmpeg`` package if it is installed. Clips are joined
with the concat demuxer; the list quotes every path (a ``'`` inside a name is written as
``'\\''``, the demuxer's escape), so any file name works. Stream copy is tried first (fast,
lossless); when the clips' streams differ, the join is re-encoded.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from runway_dynamic._exceptions import RunwayError, UsageError
from runway_dynamic.boundary import child_environment

ENV_FFMPEG = "FFMPEG_BINARY"
#: Seconds a join may take before we give up (clips are short; this is generous).
CONCAT_TIMEOUT = 600.0


class FFmpegError(RunwayError):
    """ffmpeg could not join the clips (the clips themselves are kept)."""


def find_ffmpeg(explicit: str | None = None) -> str:
    """The ffmpeg to use; :class:`UsageError` saying how to get one when there is none."""
    for candidate, origin in ((explicit, "--ffmpeg"), (os.environ.get(ENV_FFMPEG), ENV_FFMPEG)):
        if candidate:
            found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
            if not found:
                raise UsageError(f"{origin} {candidate!r}: no such executable")
            return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        bundled: str = imageio_ffmpeg.get_ffmpeg_exe()
        return bundled
    except Exception:
        pass
    raise UsageError(
        "ffmpeg is needed to join the clips: install it (e.g. `apt install ffmpeg`, "
        "`brew install ffmpeg`, or `pip install imageio-ffmpeg`), point --ffmpeg or "
        f"{ENV_FFMPEG} at it, or pass --no-concat to keep the separate clips"
    )


def quote_concat_path(path: Path) -> str:
    """One concat-list line for ``path``: single-quoted, inner quotes as ``'\\''``."""
    return "file '" + str(path).replace("'", "'\\''") + "'"


def concat_list(clips: Sequence[Path]) -> str:
    return "".join(quote_concat_path(Path(os.path.abspath(c))) + "\n" for c in clips)


def concat(clips: Sequence[Path], output: Path, *, ffmpeg: str | None = None) -> Path:
    """Join ``clips`` in order into ``output`` (replaced atomically); the output path."""
    if not clips:
        raise UsageError("there are no clips to join")
    binary = find_ffmpeg(ffmpeg)
    output.parent.mkdir(parents=True, exist_ok=True)
    signatures = [stream_signature(binary, c) for c in clips]
    with tempfile.TemporaryDirectory(prefix=".concat-", dir=output.parent) as work:
        listing = Path(work) / "clips.txt"
        listing.write_text(concat_list(clips), encoding="utf-8")
        joined = Path(work) / ("joined" + (output.suffix or ".mp4"))
        attempts: list[list[str]] = []
        # Copying is only sound when every clip's streams match: ffmpeg may "succeed" at
        # copying mismatched ones and silently drop clips, so check first.
        if len(set(signatures)) == 1:
            attempts.append([binary, *_QUIET, "-f", "concat", "-safe", "0", "-i", str(listing),
                             "-c", "copy", str(joined)])
        attempts.append(_filter_command(binary, clips, signatures, joined))
        errors = []
        for argv in attempts:
            result = _run(argv)
            if result is None and joined.is_file() and joined.stat().st_size > 0:
                os.replace(joined, output)
                return output
            errors.append(result or "no output written")
            joined.unlink(missing_ok=True)
    raise FFmpegError(f"ffmpeg could not join {len(clips)} clips into {output}: "
                      + " | ".join(e for e in errors if e)[:600])


_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error", "-y")


def _filter_command(binary: str, clips: Sequence[Path], signatures: Sequence[tuple[str, ...]],
                    joined: Path) -> list[str]:
    """Re-encode through the concat filter: every clip scaled (and padded) to the first
    clip's frame; audio kept only when every clip has some."""
    video = next((part.split(":") for part in signatures[0] if part.startswith("video:")), [])
    size = video[3] if len(video) > 3 and "x" in video[3] else "1280x720"
    rate = video[4] if len(video) > 4 and video[4] != "?" else "24"
    width, _, height = size.partition("x")
    audio = all(any(p.startswith("audio:") for p in sig) for sig in signatures)
    argv = [binary, *_QUIET]
    for clip in clips:
        argv += ["-i", str(clip)]
    chains, pads = [], []
    for i in range(len(clips)):
        chains.append(f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
                      f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate},"
                      f"format=yuv420p[v{i}]")
        pads.append(f"[v{i}]")
        if audio:
            chains.append(f"[{i}:a:0]aresample=48000,aformat=channel_layouts=stereo[a{i}]")
            pads.append(f"[a{i}]")
    chains.append("".join(pads) + f"concat=n={len(clips)}:v=1:a={int(audio)}"
                  + ("[v][a]" if audio else "[v]"))
    argv += ["-filter_complex", ";".join(chains), "-map", "[v]"]
    if audio:
        argv += ["-map", "[a]", "-c:a", "aac"]
    return [*argv, "-pix_fmt", "yuv420p", str(joined)]


_STREAM = re.compile(r"Stream #\d+:\d+[^:]*: (Video|Audio): (.*)")


def stream_signature(binary: str, clip: Path) -> tuple[str, ...]:
    """Codec, pixel format and size / sample rate and layout of each stream (``ffmpeg -i``)."""
    try:
        done = subprocess.run([binary, "-hide_banner", "-nostdin", "-i", str(clip)],
                              env=child_environment(),
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return (f"unknown:{clip}",)
    found = []
    for kind, rest in _STREAM.findall(done.stderr or ""):
        parts = [p.strip() for p in rest.split(",")]
        codec = parts[0].split()[0] if parts[0] else "?"
        second = parts[1].split("(")[0].strip() if len(parts) > 1 else "?"
        if kind == "Video":
            size = re.search(r"\b(\d{1,5}x\d{1,5})\b", rest)
            fps = re.search(r"(\d+(?:\.\d+)?) fps", rest)
            found.append(f"video:{codec}:{second}:{size.group(1) if size else '?'}:"
                         f"{fps.group(1) if fps else '?'}")
        else:
            layout = parts[2] if len(parts) > 2 else "?"
            found.append(f"audio:{codec}:{second}:{layout}")
    return tuple(found) or (f"unknown:{clip}",)


def _run(argv: list[str]) -> str | None:
    """``None`` on success, else ffmpeg's complaint."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CONCAT_TIMEOUT,
                              env=child_environment(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"timed out after {CONCAT_TIMEOUT:g}s"
    except OSError as exc:
        return f"cannot run {argv[0]}: {exc.strerror}"
    if done.returncode == 0:
        return None
    return (done.stderr or "").strip().splitlines()[-1:][0] if done.stderr.strip() else (
        f"exit status {done.returncode}")
