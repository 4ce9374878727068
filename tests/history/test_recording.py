"""What the recorder keeps of a body: prompts for search, media as references, never bytes."""

from __future__ import annotations

import base64
from pathlib import Path

from runway_dynamic.catalog import MediaFacts
from runway_dynamic.history.recording import keepable_body, keepable_command, prompt_text
from runway_dynamic.uploads import note_origin, origin_of, plan_media

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_an_inlined_file_is_kept_as_its_path_and_its_bytes_are_not(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    plan = plan_media(str(image), MediaFacts(("https", "runway", "data"), "image/", None))
    assert plan.action == "inline" and plan.value.startswith("data:image/png;base64,")
    body = {"model": "gen4_turbo", "promptText": "a cat",
            "promptImage": [{"uri": plan.value, "position": "first"}]}

    kept, media = keepable_body(body)

    assert kept["promptImage"][0]["uri"] == str(image)
    assert media == [{"at": ["promptImage", 0, "uri"], "how": "inline", "file": str(image),
                      "sent": f"<inlined image/png, {len(PNG):,} bytes, not kept>"}]
    assert base64.b64encode(PNG).decode()[:40] not in repr((kept, media))
    assert body["promptImage"][0]["uri"] == plan.value  # the caller's body is not changed


def test_a_data_uri_of_unknown_origin_becomes_a_note_of_its_type_and_size() -> None:
    payload = base64.b64encode(b"x" * 300).decode()
    kept, media = keepable_body({"promptImage": f"data:image/jpeg;base64,{payload}"})
    assert kept == {"promptImage": "<inlined image/jpeg, 300 bytes, not kept>"}
    assert media[0]["file"] is None and payload not in repr(kept)


def test_an_upload_keeps_its_uri_and_notes_the_file_it_came_from(tmp_path: Path) -> None:
    note_origin("runway://uploads/abc", tmp_path / "clip.mp4")
    kept, media = keepable_body({"videoUri": "runway://uploads/abc",
                                 "image": "https://example.com/a.png"})
    assert kept == {"videoUri": "runway://uploads/abc", "image": "https://example.com/a.png"}
    assert media == [{"at": ["videoUri"], "how": "upload", "sent": "runway://uploads/abc",
                      "file": str(tmp_path / "clip.mp4")}]
    assert origin_of("runway://uploads/other") is None


def test_prompts_are_the_texts_under_prompt_and_text_keys_without_uris() -> None:
    body = {"model": "m", "promptText": "Маяк на закате", "ratio": "1280:720",
            "promptImage": "https://example.com/x.png", "negativePrompt": "blur",
            "shots": [{"prompt": "wide shot"}, {"prompt": "close-up"}], "seed": 4}
    assert prompt_text(body) == "Маяк на закате\nblur\nwide shot\nclose-up"
    assert prompt_text({"model": "m", "ratio": "1:1"}) is None


def test_a_data_uri_typed_into_the_command_line_is_kept_as_a_note() -> None:
    payload = base64.b64encode(b"y" * 3000).decode()
    line = ("runway call image_to_video --body '{\"promptImage\": "
            f"\"data:image/png;base64,{payload}\", \"model\": \"m\"}}' --wait")
    kept = keepable_command(line)
    assert kept is not None and payload[:32] not in kept
    assert "<inlined image/png, 3,000 bytes, not kept>" in kept
    assert kept.startswith("runway call image_to_video --body") and kept.endswith("--wait")
    assert keepable_command("runway image --prompt 'data: a chart'") == (
        "runway image --prompt 'data: a chart'")
