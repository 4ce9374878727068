"""Issue 15 §3, the habits users bring, through the real CLI in a subprocess under --sandbox:
an input flag picks the command that takes it, a mistyped flag gets the flag meant, ``-o
FILE`` names the file, and the global options other CLIs have."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.naming import suggest_flags
from runway_dynamic.spec import Spec

BUNDLED = Spec.load(None)


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
                     + chunk(b"IEND", b""))
    return path


def _request(out: str) -> dict[str, Any]:
    request: dict[str, Any] = json.loads(out)
    return request


# --------------------------------------------------------------------------- routing


def test_video_with_an_image_runs_image_to_video_and_says_so(run_cli: Any,
                                                             tmp_path: Path) -> None:
    """Before: ``video --image still.png`` was "no such option: --image (Possible options:
    --timeout)". Now the one endpoint that makes video from an image takes it."""
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "video", "the kite climbs", "--image", str(still),
                   "--ratio", "1280:720", "--duration", "5", "--download",
                   "--output-dir", str(tmp_path / "out"))
    assert done.code == 0, done.err
    assert "running 'runway image-to-video' (POST /v1/image_to_video)" in done.err
    saved = [Path(line) for line in done.out.splitlines()]
    assert len(saved) == 1 and saved[0].is_file() and saved[0].stat().st_size > 0

    dry = run_cli("--sandbox", "video", "night", "--video", "https://media.example/a.mp4",
                  "--dry-run", "--json")
    assert dry.code == 0, dry.err
    request = _request(dry.out)
    assert request["url"].endswith("/v1/video_to_video"), request
    assert "https://media.example/a.mp4" in request["body"].values()
    assert "running 'runway video-to-video'" in dry.err


def test_the_router_and_help_follow_the_same_routes(run_cli: Any, tmp_path: Path) -> None:
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "generate", "hi", "--kind", "t2v", "--image", str(still),
                   "--ratio", "1280:720", "--duration", "5", "--dry-run", "--json")
    assert done.code == 0, done.err
    assert _request(done.out)["url"].endswith("/v1/image_to_video")
    help_text = run_cli("video", "--help").out
    assert "--image runs 'runway image-to-video'" in " ".join(help_text.split())
    assert "--video runs 'runway video-to-video'" in " ".join(help_text.split())


def test_no_route_when_no_single_command_takes_every_flag(run_cli: Any,
                                                          tmp_path: Path) -> None:
    """Image and video inputs together fit neither image-to-video nor video-to-video: the
    error names the command that takes the flag, and nothing is sent."""
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "image-to-video", "x", "--image", str(still), "--video",
                   "https://media.example/a.mp4")
    assert done.code == 2
    assert "no such option --video; 'runway video-to-video' takes --video" in done.err


# --------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(("argv", "meant"), [
    (("video", "x", "--ration", "16:9"), "did you mean --ratio?"),
    (("image-to-video", "x", "--imag", "a.png"), "did you mean --image or --prompt-image?"),
    (("video", "x", "--imag", "a.png"),
     "did you mean --image (it runs 'runway image-to-video')?"),
    (("image", "x", "--image", "a.png"), "did you mean --reference-images?"),
    (("video", "x", "--modle", "gen4.5"), "did you mean --model?"),
])
def test_a_mistyped_flag_gets_the_flag_meant(run_cli: Any, argv: tuple[str, ...],
                                              meant: str) -> None:
    done = run_cli("--sandbox", *argv)
    assert done.code == 2 and meant in done.err, done.err
    assert "Possible options" not in done.err and "--timeout" not in done.err


def test_an_unrelated_flag_gets_no_suggestion(run_cli: Any) -> None:
    done = run_cli("--sandbox", "sound-effect", "rain", "--zzzz", "1")
    assert done.code == 2 and "no such option --zzzz (see" in done.err, done.err


def test_suggestions_by_spelling_and_by_role() -> None:
    """The property behind the messages: a typo of the whole name or of its words, never a
    flag that only shares letters (``--image`` is not ``--timeout``)."""
    flags = ["--prompt-text", "--prompt-image", "--ratio", "--duration", "--timeout",
             "--output-dir", "--output-format", "--no-wait", "--wait"]
    assert suggest_flags("--image", flags) == ["--prompt-image"]
    assert suggest_flags("--ration", flags) == ["--ratio"]
    assert suggest_flags("--ratoi=16:9", flags) == ["--ratio"]
    assert suggest_flags("--dur", flags) == ["--duration"]
    assert suggest_flags("--outputdir", flags) == ["--output-dir"]
    assert suggest_flags("--time", flags) == ["--timeout"]
    assert suggest_flags("--wiat", flags) == ["--wait"]
    assert suggest_flags("--colour", flags) == []
    assert suggest_flags("--", flags) == []
