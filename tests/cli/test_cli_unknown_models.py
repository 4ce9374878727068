"""Unknown model ids through the real CLI under --sandbox (issue 14 §4): values typed as
the listed models agree, --body as written, near misses refused before anything is sent
unless --allow-unknown-model, far ids passed with one warning."""

from __future__ import annotations

import json
from typing import Any

import pytest

VIDEO = ["--sandbox", "video", "--prompt", "x", "--ratio", "1280:720"]


def _body(result: Any) -> dict[str, Any]:
    assert result.code == 0, result.err
    return json.loads(result.out)["body"]


def test_an_unknown_models_flags_are_typed_as_the_listed_models_agree(run_cli) -> None:
    """duration is an integer for most video models and a number for others: 5 is 5."""
    body = _body(run_cli(*VIDEO, "--model", "kling_4", "--duration", "5", "--dry-run", "--json"))
    assert body["duration"] == 5 and body["model"] == "kling_4"
    odd = _body(run_cli(*VIDEO, "--model", "kling_4", "--duration", "5.5", "--dry-run", "--json"))
    assert odd["duration"] == 5.5  # not an integer: sent as the number it reads as
    image = _body(run_cli("--sandbox", "image", "--model", "kling_4", "--prompt", "x",
                          "--output-count", "2", "--dry-run", "--json"))
    assert image["outputCount"] == 2
    called = _body(run_cli("--sandbox", "call", "text_to_video", "--model", "kling_4",
                           "--prompt-text", "x", "--duration", "5", "--dry-run", "--json"))
    assert called["duration"] == 5


def test_body_passes_an_unknown_models_values_as_written(run_cli) -> None:
    raw = json.dumps({"model": "kling_4", "promptText": "x", "duration": "5"})
    for command in (["video"], ["call", "text_to_video"]):
        body = _body(run_cli("--sandbox", *command, "--body", raw, "--dry-run", "--json"))
        assert body["duration"] == "5"


@pytest.mark.parametrize("command", [["video"], ["call", "text_to_video"]])
def test_a_near_miss_is_refused_before_sending_with_did_you_mean(run_cli,
                                                                 command: list[str]) -> None:
    result = run_cli("--sandbox", *command, "--model", "veo3.1fast", "--prompt-text", "x")
    assert result.code == 2 and result.out == ""
    assert "did you mean veo3.1_fast" in result.err
    assert "--allow-unknown-model" in result.err
    assert "Traceback" not in result.err
    shown = run_cli("--sandbox", *command, "--model", "veo3.1fast", "--prompt-text", "x",
                    "--json")
    problem = json.loads(shown.err.splitlines()[-1])["problems"][0]
    assert problem["kind"] == "unknown_model" and problem["suggestions"] == ["veo3.1_fast"]


@pytest.mark.parametrize("command", [["video"], ["call", "text_to_video"]])
def test_allow_unknown_model_sends_a_near_miss_with_one_warning(run_cli,
                                                                command: list[str]) -> None:
    result = run_cli("--sandbox", *command, "--model", "veo3.1fast", "--prompt-text", "x",
                     "--allow-unknown-model", "--dry-run", "--json")
    assert _body(result)["model"] == "veo3.1fast"
    warnings = json.loads(result.err.splitlines()[-1])["warnings"]
    assert [w["kind"] for w in warnings] == ["unknown_model"]


def test_an_id_far_from_every_listed_one_passes_with_one_warning(run_cli) -> None:
    result = run_cli(*VIDEO, "--model", "kling_4", "--dry-run")
    assert result.code == 0 and '"model": "kling_4"' in result.out
    assert result.err.count("warning") == 1 and "kling_4" in result.err


def test_a_different_version_is_a_new_model_not_a_typo(run_cli) -> None:
    result = run_cli(*VIDEO, "--model", "gen4.6", "--dry-run")
    assert result.code == 0 and result.err.count("warning") == 1


def test_another_spelling_resolves_and_says_so(run_cli) -> None:
    result = run_cli(*VIDEO, "--model", "VEO3.1-fast", "--dry-run", "--json")
    assert _body(result)["model"] == "veo3.1_fast"
    assert "veo3.1_fast" in result.err


def test_help_offers_allow_unknown_model_on_model_commands_only(run_cli) -> None:
    assert "--allow-unknown-model" in run_cli("video", "--help").out
    assert "--allow-unknown-model" in run_cli("call", "text_to_video", "--help").out
    assert "--allow-unknown-model" not in run_cli("call", "tasks/{id}", "--help").out
