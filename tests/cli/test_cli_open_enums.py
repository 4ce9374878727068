"""Open enums through the CLI: known values shown and completed as open suggestions, any
string passes pre-flight, and the default model is never chosen only because a field is open
(issue 14 §3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import write_spec

OPEN_RATIOS = ["1360:768", "1024:1024"]
CLOSED_RATIOS = ["1920:1080", "1024:1024"]


def _branch(model: str, ratio: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "object", "required": ["model", "promptText", "ratio"],
            "additionalProperties": False,
            "properties": {"model": {"type": "string", "const": model},
                           "promptText": {"type": "string"}, "ratio": ratio, **more}}


def _open_spec(*, open_first: bool) -> dict[str, Any]:
    """text_to_image with one model whose ratio (and style) is an open enum, one closed."""
    opened = _branch("openm", {"anyOf": [{"type": "string", "enum": OPEN_RATIOS},
                                         {"type": "string"}]},
                     style={"anyOf": [{"type": "string"}, {"enum": ["noir", "pastel"]}]})
    closed = _branch("closedm", {"type": "string", "enum": CLOSED_RATIOS})
    branches = [opened, closed] if open_first else [closed, opened]
    return {
        "openapi": "3.1.0", "info": {"title": "open enums", "version": "2031-01-01"},
        "servers": [{"url": "https://api.example.test"}],
        "paths": {"/v1/text_to_image": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": branches}}}},
            "responses": {"200": {"description": "ok"}}}}},
    }


@pytest.fixture(params=[True, False], ids=["open-first", "closed-first"])
def spec_path(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(write_spec(tmp_path / "open.json", _open_spec(open_first=request.param)))


def test_models_schema_shows_open_values_marked_open(run_cli, spec_path: str) -> None:
    data = json.loads(run_cli("--spec", spec_path, "models", "schema", "openm", "--json").out)
    entry = data["endpoints"]["text_to_image"]
    assert entry["ratios"] == sorted(OPEN_RATIOS) and entry["ratiosOpen"] is True
    closed = json.loads(run_cli("--spec", spec_path, "models", "schema", "closedm",
                                "--json").out)["endpoints"]["text_to_image"]
    assert closed["ratios"] == sorted(CLOSED_RATIOS) and closed["ratiosOpen"] is False
    text = run_cli("--spec", spec_path, "models", "schema", "openm").out
    ratios_line = next(line for line in text.splitlines() if line.strip().startswith("ratios:"))
    assert all(r in ratios_line for r in OPEN_RATIOS) and "open" in ratios_line
    style_line = next(line for line in text.splitlines() if line.strip().startswith("style"))
    assert "noir" in style_line and "pastel" in style_line and "open" in style_line


def test_models_ratios_lists_open_values_and_says_they_are_open(run_cli, spec_path: str
                                                                ) -> None:
    data = json.loads(run_cli("--spec", spec_path, "models", "ratios", "--json").out)
    assert data["endpoints"]["text_to_image"]["openm"] == sorted(OPEN_RATIOS)
    assert data["open"] == {"text_to_image": ["openm"]}
    text = run_cli("--spec", spec_path, "models", "ratios").out
    openm = next(line for line in text.splitlines() if "openm" in line)
    closedm = next(line for line in text.splitlines() if "closedm" in line)
    assert "open" in openm and "open" not in closedm
    one = json.loads(run_cli("--spec", spec_path, "models", "ratios", "1360:768", "--json").out)
    assert one["endpoints"] == {"text_to_image": ["openm"]}
    unknown = run_cli("--spec", spec_path, "models", "ratios", "1920:1081")
    assert unknown.code == 1 and "1920:1080" in unknown.err and "openm" in unknown.err


def test_any_string_passes_preflight_for_an_open_field(run_cli, spec_path: str) -> None:
    sent = run_cli("--spec", spec_path, "call", "text_to_image", "--model", "openm",
                   "--prompt-text", "x", "--ratio", "7:3", "--style", "grainy", "--dry-run")
    assert sent.code == 0, sent.err
    assert '"ratio": "7:3"' in sent.out and '"style": "grainy"' in sent.out
    refused = run_cli("--spec", spec_path, "call", "text_to_image", "--model", "closedm",
                      "--prompt-text", "x", "--ratio", "7:3", "--dry-run")
    assert refused.code == 2 and "1920:1080" in refused.err


def _chosen(run_cli, spec_path: str, ratio: str) -> tuple[int, str, str]:
    result = run_cli("--spec", spec_path, "image", "--prompt-text", "x", "--ratio", ratio,
                     "--dry-run", "--json")
    model = json.loads(result.out)["body"]["model"] if result.code == 0 else ""
    return result.code, model, result.err


def test_default_model_is_never_chosen_because_its_ratio_is_open(
    run_cli, spec_path: str
) -> None:
    """Without --model the default is the first model listed, whatever the ratio (issue 15's
    rule): an open ratio field never draws the choice. When the closed model is first, a
    ratio only the open one names is refused by pre-flight, which names the open model."""
    first = json.loads(run_cli("--spec", spec_path, "models", "--json").out)[
        "endpoints"]["text_to_image"][0]
    for ratio in ("1360:768", "1920:1080", "1920:1081"):
        code, model, err = _chosen(run_cli, spec_path, ratio)
        assert f"model {first} (the first model the spec lists" in err
        assert "Traceback" not in err
        if code == 0:
            assert model == first
    if first == "closedm":
        code, _, err = _chosen(run_cli, spec_path, "1360:768")
        assert code == 2 and "openm" in err  # the models that take everything given
        code, _, err = _chosen(run_cli, spec_path, "1920:1081")
        assert code == 2 and "1920:1080" in err  # the closest ratios


def test_completion_offers_open_values(run_cli, spec_path: str) -> None:
    def complete(*words: str) -> list[str]:
        result = run_cli("__complete", "--spec", spec_path, *words)
        assert result.code == 0, result.err
        return result.out.splitlines()

    assert complete("image", "--model", "openm", "--ratio", "") == OPEN_RATIOS
    assert set(complete("image", "--ratio", "")) == {*OPEN_RATIOS, *CLOSED_RATIOS}
    assert complete("image", "--style", "") == ["noir", "pastel"]


def test_help_shows_open_values_as_suggestions(run_cli, spec_path: str) -> None:
    text = " ".join(run_cli("--spec", spec_path, "image", "--help").out.split())
    assert "--style TEXT Only openm. Suggested: noir, pastel (open: other values accepted)." in text
    ratio = text[text.index("--ratio TEXT"):text.index("--style TEXT")]
    assert all(r in ratio for r in {*OPEN_RATIOS, *CLOSED_RATIOS})
    assert "open (other values accepted) for openm" in ratio


@pytest.mark.parametrize("command", ["video", "image-to-video", "image"])
def test_a_flag_named_by_some_models_only_says_which_and_what_the_others_take(
    run_cli, command: str
) -> None:
    """``--duration`` lists 4, 6, 8 for the models that name values and the type for the
    rest; it never claims values are open for an empty list of models ("open … for .")."""
    text = " ".join(run_cli(command, "--help").out.split())
    assert "for ." not in text and "for ;" not in text
    if command != "image":
        assert "One of: 4, 6, 8 for veo3.1, veo3.1_fast; an integer for the other models" in text
    else:
        assert "an integer for the other models" in text
