"""``--soul-id`` on the generation commands: which commands have it (from the spec), where
the photos go in the request the sandbox received, the cap, ``--dry-run``, and the errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from commands_support import Runner

from runway_dynamic.cli._command_names import GENERATION_COMMANDS
from runway_dynamic.cli.generate import command_options
from runway_dynamic.creative import soul_id
from runway_dynamic.creative._facts import ReferenceSlot, reference_slot
from runway_dynamic.sandbox.media import png
from runway_dynamic.spec import Spec

BUNDLED = Spec.load(None)
CATALOG = BUNDLED.catalog


def _ratios(endpoint: str, model: str) -> list[str]:
    found = CATALOG.ratios(endpoint, model)
    assert found, f"{model} on {endpoint} lists its ratios"
    return list(found)


def _array_model(endpoint: str) -> tuple[str, ReferenceSlot]:
    """The first model of ``endpoint`` whose reference slot is a capped list."""
    for model in CATALOG.models(endpoint):
        variant = CATALOG.variant(endpoint, model)
        slot = reference_slot(variant) if variant is not None else None
        if slot is not None and slot.shape == "array" and slot.max_items:
            return model, slot
    raise AssertionError(f"no {endpoint} model takes a capped list of reference images")


def _photos(count: int) -> list[bytes]:
    """``count`` distinct small PNGs (distinct sizes, so each one is recognisable)."""
    return [png(4 + i, 3 + i) for i in range(count)]


def _make_soul(tmp_path: Path, images: list[bytes], name: str = "Ana") -> str:
    paths = []
    for number, data in enumerate(images):
        path = tmp_path / "photos" / f"p{number}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(str(path))
    return soul_id.create(name, paths).id


def _data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _posts(api: Any, endpoint: str) -> list[Any]:
    return api.state.requests_to("POST", f"/v1/{endpoint}")


@pytest.mark.parametrize("path", list(GENERATION_COMMANDS), ids=" ".join)
def test_soul_id_is_offered_exactly_where_a_model_has_a_reference_slot(
        cli: Runner, path: tuple[str, ...]) -> None:
    operation = CATALOG.model_operation(GENERATION_COMMANDS[path])
    assert operation is not None
    expected = any(reference_slot(v) is not None for v in operation.variants)
    shown = cli(*path, "--help")
    assert shown.code == 0
    assert ("--soul-id" in shown.out) is expected


def test_image_soul_id_photos_reach_the_reference_field_capped_at_max_items(
        cli: Runner, api: Any, tmp_path: Path) -> None:
    model, slot = _array_model("text_to_image")
    assert slot.max_items is not None
    images = _photos(slot.max_items + 2)
    sid = _make_soul(tmp_path, images)
    ratio = _ratios("text_to_image", model)[0]
    before = len(_posts(api, "text_to_image"))
    result = cli("image", "--model", model, "--prompt", "a portrait", "--ratio", ratio,
                 "--soul-id", sid, "--wait", "--poll-interval", "0.05")
    assert result.code == 0, result.err
    sent = _posts(api, "text_to_image")[before:]
    assert len(sent) == 1
    assert sent[0].body[slot.field] == [{"uri": _data_uri(d)} for d in images[:slot.max_items]]
    assert f"2 of the {len(images)} soul-id photo(s) were not attached" in result.err


def test_soul_id_photos_follow_the_references_given_by_flag(
        cli: Runner, api: Any, tmp_path: Path) -> None:
    model, slot = _array_model("text_to_image")
    assert slot.max_items is not None and slot.max_items >= 2
    images = _photos(slot.max_items)
    first, second = _make_soul(tmp_path, images[:1], "One"), _make_soul(
        tmp_path, images[1:], "Two")
    given = {"uri": "https://example.com/mine.png"}
    ratio = _ratios("text_to_image", model)[0]
    operation = CATALOG.model_operation("text_to_image")
    assert operation is not None
    flag = command_options(operation).flag_or_name(slot.field)
    before = len(_posts(api, "text_to_image"))
    result = cli("image", "--model", model, "--prompt", "x", "--ratio", ratio,
                 flag, json.dumps(given), "--soul-id", first, "--soul-id", second)
    assert result.code == 0, result.err
    body = _posts(api, "text_to_image")[before:][0].body
    expected = [given] + [{"uri": _data_uri(d)} for d in images[:slot.max_items - 1]]
    assert body[slot.field] == expected  # the flag's reference first, soul-ids in order
    assert "1 of the" in result.err and "1 given by flag" in result.err


def test_dry_run_shows_the_soul_id_photos_and_the_rule_prefers_a_model_with_a_slot(
        cli: Runner, tmp_path: Path) -> None:
    images = _photos(2)
    sid = _make_soul(tmp_path, images)
    result = cli("image", "--prompt", "x", "--ratio", "1920:1080", "--soul-id", sid,
                 "--dry-run", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)["body"]
    variant = CATALOG.variant("text_to_image", body["model"])
    assert variant is not None
    slot = reference_slot(variant)
    assert slot is not None
    # the rule: the first model whose required fields the flags plus the soul-id cover
    for model in CATALOG.models("text_to_image"):
        other = CATALOG.variant("text_to_image", model)
        assert other is not None
        other_slot = reference_slot(other)
        covered = {"model", "promptText", "ratio"} | ({other_slot.field} if other_slot else set())
        if other_slot and set(other.required) <= covered and "1920:1080" in (other.ratios or ()):
            assert body["model"] == model
            break
    assert body[slot.field] == [{"uri": _data_uri(d)} for d in images][:slot.max_items]


def test_image_to_video_fills_its_single_image_slot_from_the_soul_id(
        cli: Runner, tmp_path: Path) -> None:
    images = _photos(2)
    sid = _make_soul(tmp_path, images)
    model, slot = next(
        (m, reference_slot(v)) for m in CATALOG.models("image_to_video")
        if (v := CATALOG.variant("image_to_video", m)) is not None
        and (found := reference_slot(v)) is not None and set(v.required) <= {"model", found.field})
    assert slot is not None and slot.shape == "single"
    result = cli("image-to-video", "--model", model, "--soul-id", sid, "--dry-run", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["body"][slot.field] == _data_uri(images[0])
    assert "1 of the 2 soul-id photo(s) were not attached" in result.err
    given = cli("image-to-video", "--model", model, "--image", "https://example.com/a.png",
                "--soul-id", sid, "--dry-run", "--json")
    assert given.code == 0, given.err
    assert json.loads(given.out)["body"][slot.field] == "https://example.com/a.png"
    assert "2 of the 2 soul-id photo(s) were not attached" in given.err


def test_a_large_photo_is_uploaded_not_inlined(cli: Runner, api: Any, tmp_path: Path) -> None:
    model, slot = _array_model("text_to_image")
    assert slot.media is not None and slot.media.data_max_length is not None
    # a real PNG header followed by enough bytes that its data: URI passes the spec's limit
    big = png(2, 2) + os.urandom(slot.media.data_max_length * 3 // 4 + 1024)
    sid = _make_soul(tmp_path, [big])
    ratio = _ratios("text_to_image", model)[0]
    before = len(_posts(api, "text_to_image"))
    result = cli("image", "--model", model, "--prompt", "x", "--ratio", ratio, "--soul-id", sid)
    assert result.code == 0, result.err
    [uri] = [item["uri"] for item in _posts(api, "text_to_image")[before:][0].body[slot.field]]
    assert uri.startswith("runway://")
    upload = api.state.resolve_uri(uri)
    assert upload is not None and upload.data == big


def test_unknown_soul_id_and_a_model_without_a_slot_fail_before_any_request(
        cli: Runner, api: Any, tmp_path: Path) -> None:
    sid = _make_soul(tmp_path, _photos(1))
    before = len(api.state.requests)
    unknown = cli("image", "--prompt", "x", "--ratio", "1920:1080", "--soul-id", "nobody")
    assert unknown.code == 2
    assert "no soul-id 'nobody'" in unknown.err
    without = [m for m in CATALOG.models("text_to_video")
               if reference_slot(CATALOG.variant("text_to_video", m)) is None]  # type: ignore[arg-type]
    takers = [m for m in CATALOG.models("text_to_video") if m not in without]
    assert without and takers, "text_to_video has models with and without a slot"
    no_slot = cli("video", "--model", without[0], "--prompt", "x", "--soul-id", sid)
    assert no_slot.code == 2
    assert f"model {without[0]} on text_to_video takes no reference images" in no_slot.err
    assert all(m in no_slot.err for m in takers)
    assert "Traceback" not in unknown.err + no_slot.err
    assert len(api.state.requests) == before


def test_video_help_does_not_import_the_soul_id_registry() -> None:
    probe = ("import json, sys\nfrom runway_dynamic.cli import main\nmain(sys.argv[1:])\n"
             "sys.stdout.flush()\nsys.stderr.write('@@' + json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe, "video", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert "--soul-id" in done.stdout
    names = set(json.loads(done.stderr.rsplit("@@", 1)[1]))
    assert "runway_dynamic.creative.soul_id" not in names
    assert not {n for n in names if n.split(".")[0] in ("httpx", "jsonschema", "rich")}
