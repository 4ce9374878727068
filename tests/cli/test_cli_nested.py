"""Issue 15 §2, nested fields as flags, through the real CLI in a subprocess: dotted flags
with the shape's constant filled in, one value for an object's one field, repeated flags
for lists of objects, local files inside nested media, and errors named by dotted flag.

Expected values are read from the bundled spec's schemas (which constant pins the shape that
has ``presetId``…), so the tests follow the spec rather than restate it.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.shapes import object_shapes
from runway_dynamic.spec import Spec


def _png(path: Path) -> Path:
    """A real 1×1 PNG (small enough to be inlined as a data: URI)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + chunk(b"IEND", b""))
    return path


def _body(result: Any) -> dict[str, Any]:
    assert result.code == 0, result.err
    return json.loads(result.out)["body"]


def _shape_with(spec: Spec, endpoint: str, model: str | None, field: str, leaf: str) -> Any:
    op = spec.catalog.model_operation(endpoint) or spec.catalog.operation(endpoint, "POST")
    assert op is not None
    variant = op.variant(model) if model else op.variants[0]
    assert variant is not None
    return next(s for s in object_shapes(variant.field_map[field].schema)
                if leaf in s.properties)


TTS = ("text-to-speech", "--model", "eleven_multilingual_v2", "--prompt", "hi")


def test_a_dotted_flag_fills_the_shape_constant(run_cli: Any, bundled_spec: Spec) -> None:
    """The acceptance line of the issue: only one shape has presetId, so its type is sent."""
    shape = _shape_with(bundled_spec, "text_to_speech", "eleven_multilingual_v2", "voice",
                        "presetId")
    body = _body(run_cli("--sandbox", *TTS, "--voice.preset-id", "Maya", "--dry-run", "--json"))
    assert body["voice"] == {**shape.constants, "presetId": "Maya"}
    assert next(iter(body["voice"])) in shape.constants  # the constant first, as people write it

    called = _body(run_cli("call", "text_to_speech", "--model", "eleven_multilingual_v2",
                           "--prompt-text", "hi", "--voice.preset-id", "Maya", "--dry-run",
                           "--json"))
    assert called["voice"] == body["voice"]


def test_dotted_flags_merge_over_the_json_form_and_body(run_cli: Any) -> None:
    raw = json.dumps({"type": "runway-preset", "presetId": "Arjun"})
    body = _body(run_cli(*TTS, "--voice", raw, "--voice.preset-id", "Maya", "--dry-run",
                         "--json"))
    assert body["voice"] == {"type": "runway-preset", "presetId": "Maya"}
    plain = _body(run_cli(*TTS, "--voice", raw, "--dry-run", "--json"))
    assert plain["voice"] == {"type": "runway-preset", "presetId": "Arjun"}  # JSON as given
    over = _body(run_cli(*TTS, "--body", json.dumps({"voice": json.loads(raw)}),
                         "--voice.preset-id", "Maya", "--dry-run", "--json"))
    assert over["voice"]["presetId"] == "Maya"


def test_a_real_run_against_the_sandbox(run_cli: Any) -> None:
    done = run_cli("--sandbox", *TTS, "--voice.preset-id", "Maya", "--wait", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["status"] == "SUCCEEDED"


def test_deeper_dotted_flags_fill_every_level(run_cli: Any, bundled_spec: Spec) -> None:
    outer = _shape_with(bundled_spec, "avatar_videos", None, "speech", "text")
    body = _body(run_cli("avatar", "video", "--avatar.preset-id", "influencer",
                         "--speech.text", "hello", "--speech.voice.preset-id", "maya",
                         "--dry-run", "--json"))
    speech = body["speech"]
    assert {k: speech[k] for k in outer.constants} == dict(outer.constants)
    inner = next(s for s in object_shapes(outer.properties["voice"])
                 if "presetId" in s.properties)
    assert speech["voice"] == {**inner.constants, "presetId": "maya"}
    assert speech["text"] == "hello"


def test_flags_of_two_shapes_are_refused_naming_the_shapes(run_cli: Any) -> None:
    done = run_cli("avatar", "video", "--avatar.preset-id", "influencer",
                   "--avatar.avatar-id", "0b0e0a3e-1111-4111-8111-111111111111",
                   "--speech.text", "hi", "--dry-run")
    assert done.code == 2 and done.out == ""
    line = done.err.strip().splitlines()[-1]
    assert "--avatar.preset-id" in line and "--avatar.avatar-id" in line
    assert "runway-preset" in line and "custom" in line and "Traceback" not in done.err


def test_one_value_that_fits_several_shapes_names_the_flag_that_chooses(run_cli: Any) -> None:
    done = run_cli("character-performance", "--character", "runway://some-upload",
                   "--reference", "https://example.com/take.mp4", "--dry-run")
    assert done.code == 2, done.err
    assert "--character.type image|video" in done.err


def test_nested_preflight_problems_name_the_dotted_flag(run_cli: Any) -> None:
    done = run_cli("avatar", "video", "--avatar.preset-id", "influencer", "--speech.text",
                   "hi", "--speech.voice.preset-id", "nobody", "--dry-run")
    assert done.code == 2 and done.out == ""
    assert "speech.voice.presetId (--speech.voice.preset-id)" in done.err, done.err
    missing = run_cli(*TTS, "--voice", '{"type": "runway-preset"}', "--dry-run")
    assert missing.code == 2 and "(--voice.preset-id)" in missing.err, missing.err


def test_a_local_file_fills_nested_media_by_its_type(run_cli: Any, tmp_path: Path,
                                                     bundled_spec: Spec) -> None:
    """``--character face.png``: the image shape, inlined; a video file picks the video
    shape and is checked as a video (not refused as "not an image")."""
    face = _png(tmp_path / "face1.png")
    clip = tmp_path / "take.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    body = _body(run_cli("character-performance", "--character", str(face), "--reference",
                         str(clip), "--dry-run", "--json"))
    image = _shape_with(bundled_spec, "character_performance", "act_two", "character", "uri")
    assert body["character"]["type"] == image.constants["type"]
    assert body["character"]["uri"].startswith("data:image/png;base64,")
    assert body["reference"]["uri"].startswith("data:video/mp4;base64,")
    assert body["reference"]["type"] != body["character"]["type"]

    missing = run_cli("character-performance", "--character", str(tmp_path / "no.png"),
                      "--reference", str(clip), "--dry-run")
    assert missing.code == 2 and "--character" in missing.err and "no.png" in missing.err


def test_repeated_flags_build_a_list_of_media_objects(run_cli: Any, tmp_path: Path) -> None:
    face = _png(tmp_path / "a.png")
    body = _body(run_cli("image", "--model", "gen4_image", "--prompt", "x", "--ratio",
                         "1920:1080", "--reference-images", str(face), "--reference-images",
                         "https://example.com/b.jpg", "--reference-images",
                         '{"uri": "https://example.com/c.jpg", "tag": "cup"}',
                         "--dry-run", "--json"))
    refs = body["referenceImages"]
    assert refs[0]["uri"].startswith("data:image/png") and set(refs[0]) == {"uri"}
    assert refs[1] == {"uri": "https://example.com/b.jpg"}
    assert refs[2] == {"uri": "https://example.com/c.jpg", "tag": "cup"}  # JSON still works


def test_a_list_field_takes_its_singular_flag_repeated(run_cli: Any, tmp_path: Path) -> None:
    """``--reference-image`` (what people type) builds the same list as the spec's plural."""
    face = _png(tmp_path / "a.png")
    head = ("image", "--model", "gen4_image", "--prompt", "x", "--ratio", "1920:1080")
    singular = _body(run_cli(*head, "--reference-image", str(face), "--reference-image",
                             "https://example.com/b.jpg", "--dry-run", "--json"))
    plural = _body(run_cli(*head, "--reference-images", str(face), "--reference-images",
                           "https://example.com/b.jpg", "--dry-run", "--json"))
    assert singular["referenceImages"] == plural["referenceImages"]
    assert len(singular["referenceImages"]) == 2
    both = run_cli(*head, "--reference-image", str(face), "--reference-images",
                   "https://example.com/b.jpg", "--dry-run")
    assert both.code == 2 and "the same field" in both.err


def test_list_items_with_several_fields_take_name_value_pairs(run_cli: Any,
                                                              tmp_path: Path) -> None:
    """A keyframe needs a uri and a time: ``still.png,seconds=1`` (a local file first, its
    name left out), or every part named (spec or kebab spelling, as dotted flags); a
    ``data:`` URI keeps its own comma."""
    still = _png(tmp_path / "still.png")
    head = ("--sandbox", "video-to-video", "--model", "aleph2", "--video",
            "https://example.com/in.mp4", "--prompt", "x")
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    body = _body(run_cli(*head, "--keyframe", f"{still},seconds=1.5", "--keyframe",
                         "uri=https://example.com/b.jpg,at=0.5,range.start_seconds=0,"
                         "range.end-seconds=2", "--keyframe", f"{data_uri},at=1",
                         "--dry-run", "--json"))
    first, second, third = body["keyframes"]
    assert first["uri"].startswith("data:image/png") and first["seconds"] == 1.5
    assert second == {"uri": "https://example.com/b.jpg", "at": 0.5,
                      "range": {"start_seconds": 0, "end_seconds": 2}}
    assert third == {"uri": data_uri, "at": 1}
    both_times = run_cli(*head, "--keyframe", f"{still},seconds=1,at=0.5", "--dry-run")
    assert both_times.code == 2 and "seconds=" in both_times.err and "at=" in both_times.err
    alone = run_cli(*head, "--keyframe", str(still), "--dry-run")
    assert alone.code == 2 and "name=value pairs" in alone.err
    missing = run_cli(*head, "--keyframe", "gone.png,seconds=1", "--dry-run")
    assert missing.code == 2 and "gone.png" in missing.err


@pytest.mark.parametrize("flags", [
    ("--from.prompt", "a warm low voice for a late-night narrator", "--from.model",
     "eleven_ttv_v3"),
])
def test_a_resource_command_takes_dotted_flags(run_cli: Any, flags: tuple[str, ...]) -> None:
    body = _body(run_cli("voices", "create", "--name", "narrator", *flags, "--dry-run",
                         "--json"))
    assert body["from"]["type"] == "text"
    assert body["from"]["model"] == "eleven_ttv_v3"


def test_help_shows_each_nested_field_by_shape_golden(run_cli: Any, bundled_spec: Spec) -> None:
    """``avatar video --help``: every object field lists its shapes and the dotted flags
    that set them, and each dotted flag its type and values; the golden is the contract."""
    from cli_support import check_golden

    done = run_cli("avatar", "video", "--help", env={"COLUMNS": "100"})
    assert done.code == 0, done.err
    op = bundled_spec.catalog.model_operation("avatar_videos")
    assert op is not None
    for variant in op.variants:
        for field in variant.fields:
            for shape in object_shapes(field.schema):
                if len(object_shapes(field.schema)) > 1:
                    assert shape.label in done.out, shape.label
    check_golden("help_avatar_video.txt", done.out)


def test_completion_offers_dotted_flags_and_their_values(run_cli: Any,
                                                         bundled_spec: Spec) -> None:
    flags = run_cli("__complete", "avatar", "video", "--speech.v").out.split()
    assert {"--speech.voice", "--speech.voice.type", "--speech.voice.preset-id",
            "--speech.voice.id"} <= set(flags), flags
    speech = _shape_with(bundled_spec, "avatar_videos", None, "speech", "text")
    preset = next(s for s in object_shapes(speech.properties["voice"])
                  if "presetId" in s.properties)
    values = run_cli("__complete", "avatar", "video", "--speech.voice.preset-id", "").out
    assert values.split() == [str(v) for v in preset.properties["presetId"]["enum"]]
    shapes = run_cli("__complete", "avatar", "video", "--speech.type", "").out.split()
    assert sorted(shapes) == sorted(str(s.constants["type"])
                                    for s in object_shapes(
                                        _field_schema(bundled_spec, "avatar_videos", "speech")))


def _field_schema(spec: Spec, endpoint: str, field: str) -> Any:
    op = spec.catalog.model_operation(endpoint) or spec.catalog.operation(endpoint, "POST")
    assert op is not None
    return op.variants[0].field_map[field].schema
