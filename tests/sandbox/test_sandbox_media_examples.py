"""Pure parts of the sandbox: media files, schema examples and conform, the entry point."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from sandbox_support import spec_headers

from runway_dynamic.sandbox import media
from runway_dynamic.sandbox.app import issue_path, output_kind, parse_ratio
from runway_dynamic.sandbox.examples import conform, example, matches
from runway_dynamic.sandbox.multipart import read_form
from runway_dynamic.spec import Spec

# ---------------------------------------------------------------- media


@pytest.mark.parametrize("ratio", [(1280, 720), (720, 1280), (834, 1112), (1584, 672), (1, 1),
                                   (992, 432), (2048, 880), (21, 9)])
@pytest.mark.parametrize("kind", ["image", "video"])
def test_sizes_keep_the_aspect_and_stay_small(ratio: tuple[int, int], kind: str) -> None:
    width, height = media.size_for_ratio(ratio, kind)
    assert max(width, height) <= 2 * media.MAX_SIDE
    assert abs((width / height) / (ratio[0] / ratio[1]) - 1) < 0.04
    if kind == "video":
        assert width % 2 == 0 and height % 2 == 0, "yuv420p encoders need even sides"


def test_png_is_a_valid_png_of_the_size() -> None:
    data = media.png(48, 64)
    assert media.png_size(data) == (48, 64)
    import zlib

    # the IDAT chunk inflates to exactly height rows of (filter byte + 3 bytes per pixel)
    length = int.from_bytes(data[33:37], "big")
    assert data[37:41] == b"IDAT"
    assert len(zlib.decompress(data[41:41 + length])) == 64 * (1 + 48 * 3)


def test_wav_is_readable_by_the_wave_module() -> None:
    with wave.open(io.BytesIO(media.wav(0.5))) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        assert audio.getnframes() == media.SAMPLE_RATE // 2


def test_hand_built_mp4_parses_as_boxes_with_the_size() -> None:
    data = media.mp4_handbuilt(64, 36, 1.0)
    assert [name for name, _, _ in media.mp4_boxes(data)] == ["ftyp", "moov", "mdat"]
    assert media.mp4_size(data) == (64, 36)


def _ffprobe(data: bytes, tmp_path: object) -> dict[str, object]:
    from pathlib import Path

    target = Path(str(tmp_path)) / "probe.mp4"
    target.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height,nb_frames",
         "-of", "json", str(target)], capture_output=True, text=True, check=True, timeout=30)
    streams = json.loads(out.stdout)["streams"]
    assert len(streams) == 1
    return dict(streams[0])


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_the_hand_built_mp4(tmp_path: object) -> None:
    stream = _ffprobe(media.mp4_handbuilt(36, 64, 1.0), tmp_path)
    assert (stream["codec_type"], stream["width"], stream["height"]) == ("video", 36, 64)
    assert int(str(stream["nb_frames"])) == media.VIDEO_FPS


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_the_served_mp4(tmp_path: object) -> None:
    """Whatever mp4() chose (ffmpeg's H.264 here, else hand-built), ffprobe reads its size."""
    stream = _ffprobe(media.mp4(124, 54, 1.0), tmp_path)
    assert (stream["width"], stream["height"]) == (124, 54)


# ---------------------------------------------------------------- examples and conform


def _validator(schema: object) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_schema_of_the_spec_gets_a_valid_example(bundled_spec: Spec) -> None:
    """Examples of every response schema and request variant pass jsonschema and pre-flight."""
    checked = 0
    for op in bundled_spec.catalog.operations:
        schemas = [s for s in op.responses.values() if s is not None]
        for schema in schemas:
            value = example(schema)
            assert not list(_validator(schema).iter_errors(value)), (op.path, value)
            checked += 1
        for variant in op.variants:
            body = example(variant.schema)
            assert not list(_validator(variant.schema).iter_errors(body)), (op.path, variant.key)
            problems = bundled_spec.preflight(op.endpoint, body, method=op.method)
            assert not [p for p in problems if p.is_error], (op.path, variant.key, problems)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("pattern", [r"^[a-z][a-z0-9_-]{0,63}$", r"^[A-Z]{3}-\d{4}$",
                                     r"^(foo|bar)+baz$", r"^runway:\/\/.*", r"^\w+@\w+\.com$"])
def test_examples_follow_patterns(pattern: str) -> None:
    value = example({"type": "string", "pattern": pattern, "minLength": 5})
    assert re.search(pattern, value) and len(value) >= 5


def test_examples_respect_bounds_and_formats() -> None:
    assert example({"type": "integer", "minimum": 4, "maximum": 15}) == 4
    assert example({"type": "integer", "exclusiveMinimum": 0}) == 1
    assert 0 < example({"type": "number", "exclusiveMinimum": 0, "maximum": 0.5}) <= 0.5
    assert example({"type": "integer", "minimum": 7, "multipleOf": 5}) == 10
    uuid_schema = {"type": "string", "format": "uuid"}
    assert example(uuid_schema) != example(uuid_schema), "ids are fresh"
    assert matches(example({"type": "string", "format": "date-time"}),
                   {"type": "string", "format": "date-time"})


def test_conform_keeps_what_fits_and_invents_what_is_missing(bundled_spec: Spec) -> None:
    op = bundled_spec.catalog.operation("tasks/{id}", "GET")
    assert op is not None
    schema = op.responses["200"]
    task = {"id": "7d8f7ab4-5b7e-4b8c-9a3c-1b2c3d4e5f60", "status": "RUNNING", "progress": 0.5,
            "secret": "dropped"}
    shaped = conform(task, schema)
    assert not list(_validator(schema).iter_errors(shaped))
    assert {k: shaped[k] for k in ("id", "status", "progress")} == {
        "id": task["id"], "status": "RUNNING", "progress": 0.5}
    assert "secret" not in shaped and "createdAt" in shaped


def test_conform_replaces_values_that_do_not_fit() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}},
              "required": ["n"], "additionalProperties": False}
    assert conform({"n": 10}, schema) == {"n": 1}
    assert conform("not an object", schema) == {"n": 1}


# ---------------------------------------------------------------- helpers of the server


@pytest.mark.parametrize(("endpoint", "kind"), [
    ("image_to_video", "video"), ("text_to_image", "image"), ("text_to_speech", "audio"),
    ("speech_to_speech", "audio"), ("video_upscale", "video"), ("image_upscale", "image"),
    ("generate/audio", "audio"), ("sound_effect", "audio"), ("voice_isolation", "audio"),
])
def test_output_kind_comes_from_the_endpoint_name(endpoint: str, kind: str) -> None:
    assert output_kind(endpoint) == kind


def test_output_kind_falls_back_on_the_body_fields() -> None:
    assert output_kind("recipes/product_swap", ("version", "duration")) == "video"
    assert output_kind("recipes/ad_localization", ("version", "referenceImage")) == "image"


def test_ratio_and_issue_paths() -> None:
    assert parse_ratio({"ratio": "1280:720"}) == (1280, 720)
    assert parse_ratio({"input": {"aspectRatio": "16:9"}}) == (16, 9)
    assert parse_ratio({"ratio": "adaptive"}) is None
    assert issue_path("referenceImages[0].uri") == ["referenceImages", 0, "uri"]
    assert issue_path(None) == []


def test_multipart_reader_is_binary_safe_and_stores_files_on_disk(tmp_path: Path) -> None:
    payload = bytes(range(256)) + b"\r\n--not-the-boundary\r\n"
    request = httpx.Request("POST", "http://x", data={"key": "k"},
                            files={"file": ("a.bin", payload, "application/octet-stream")})
    form = read_form(request.read(), request.headers["Content-Type"], tmp_path,
                     max_file_bytes=len(payload))
    assert form.error is None and not form.too_large and form.fields == {"key": "k"}
    stored = form.file()
    assert stored is not None and stored.path.parent == tmp_path
    assert stored.path.read_bytes() == payload and stored.size == len(payload)
    assert (stored.filename, stored.content_type) == ("a.bin", "application/octet-stream")


def test_multipart_reader_stops_storing_past_the_cap(tmp_path: Path) -> None:
    request = httpx.Request("POST", "http://x", data={"key": "k"},
                            files={"file": ("a.png", b"x" * 1000, "image/png")})
    form = read_form(request.read(), request.headers["Content-Type"], tmp_path,
                     max_file_bytes=999)
    assert form.too_large and form.file() is None
    assert list(tmp_path.iterdir()) == [], "a refused file leaves nothing behind"


def test_multipart_reader_names_a_malformed_body(tmp_path: Path) -> None:
    form = read_form(b"no parts here", "multipart/form-data; boundary=XYZ", tmp_path,
                     max_file_bytes=10)
    assert form.error and "multipart" in form.error
    assert read_form(b"", "application/json", tmp_path, max_file_bytes=10).error


# ---------------------------------------------------------------- python -m


def test_module_entry_point_serves_until_interrupted(bundled_spec: Spec) -> None:
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic.sandbox", "--port", "0", "--task-seconds", "0.1",
         "--fault", "status=503; times=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line
        with httpx.Client(base_url=url.group(0), headers=spec_headers(bundled_spec)) as client:
            assert client.get("/v1/organization").status_code == 503
            assert client.get("/v1/organization").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert err == "", "quiet unless --verbose"


def test_module_entry_point_rejects_a_bad_fault() -> None:
    result = subprocess.run([sys.executable, "-m", "runway_dynamic.sandbox", "--fault", "boom"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "unknown fault directive" in result.stderr
