"""Generation commands and the generate router: flags, aliases, default models, help, and a
real run per command against the sandbox (``--wait --download`` writes a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from commands_support import Runner, check_golden

from runway_dynamic import config
from runway_dynamic.cli.generate import command_options
from runway_dynamic.naming import GENERATION_COMMANDS
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec

BUNDLED = Spec.load(None)


def _ratios(endpoint: str, model: str) -> list[str]:
    found = BUNDLED.catalog.ratios(endpoint, model)
    assert found, f"{model} on {endpoint} lists its ratios"
    return list(found)


def test_generation_aliases_never_collide_with_a_flag_on_the_bundled_spec() -> None:
    for path, endpoint in GENERATION_COMMANDS.items():
        operation = BUNDLED.catalog.model_operation(endpoint)
        assert operation is not None, path
        options = command_options(operation, aliases=True)
        names = options.names()
        assert len(names) == len(set(names)), path
        own = {name for item in options.own for name in item.names}
        assert not {a.flag for a in options.aliases} & own
    video = BUNDLED.catalog.model_operation("video_to_video")
    assert video is not None
    found = {a.flag: a.fields for a in command_options(video, aliases=True).aliases}
    assert found["--video"] == ("videoUri", "promptVideo")  # per model, never both at once


def _dry(cli: Runner, *args: str) -> tuple[dict[str, Any], str]:
    result = cli(*args, "--dry-run", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out), result.err


def _rule(endpoint: str, given: set[str], ratio: str | None = None) -> str:
    """The documented default rule, restated from the catalog: with at least one field
    given, the first model that takes every given field, whose required fields (``model``
    aside) were all given and that accepts ``ratio``; else the first model listed."""
    models = BUNDLED.catalog.models(endpoint)
    if not given:
        return models[0]
    for model in models:
        variant = BUNDLED.catalog.variant(endpoint, model)
        assert variant is not None
        if not given <= set(variant.field_map):
            continue
        if not set(variant.required) - {"model"} <= given:
            continue
        if ratio is not None and ratio not in (variant.known_ratios or ()):
            continue
        return model
    return models[0]


def _first_requires_more(endpoint: str, given: set[str]) -> bool:
    first = BUNDLED.catalog.variant(endpoint, BUNDLED.catalog.models(endpoint)[0])
    return first is not None and not set(first.required) - {"model"} <= given


def _info(err: str) -> str:
    return json.loads(err.splitlines()[0])["info"]


def test_default_model_follows_the_rule_and_is_announced(cli: Runner) -> None:
    request, err = _dry(cli, "video", "--prompt", "a fox", "--ratio", "1280:720",
                        "--duration", "5")
    chosen = _rule("text_to_video", {"promptText", "ratio", "duration"}, "1280:720")
    assert request["body"] == {"model": chosen, "promptText": "a fox", "ratio": "1280:720",
                               "duration": 5}
    assert request["url"].endswith("/v1/text_to_video")
    assert (f"model {chosen} (the first text_to_video model that takes every field you gave"
            in _info(err))


def test_image_without_model_uses_a_model_that_needs_no_more_than_was_given(
        cli: Runner, api: Any) -> None:
    """The brief's case: the first image model needs reference images, the prompt and ratio
    alone still succeed against the sandbox with the model the rule picks."""
    given = {"promptText", "ratio"}
    assert _first_requires_more("text_to_image", given), "the case needs such a first model"
    chosen = _rule("text_to_image", given, "1920:1080")
    before = len(api.state.requests_to("POST", "/v1/text_to_image"))
    result = cli("image", "--prompt", "a kite", "--ratio", "1920:1080", "--wait",
                 "--poll-interval", "0.05")
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == "SUCCEEDED"
    sent = api.state.requests_to("POST", "/v1/text_to_image")[before:]
    assert [r.body["model"] for r in sent] == [chosen]
    assert (f"model {chosen} (the first text_to_image model that takes every field you gave "
            "and needs no other and that accepts 1920:1080; --model to choose)") in result.err


def test_an_empty_body_never_picks_a_model_that_needs_nothing(cli: Runner) -> None:
    """A bare `runway video` must fail pre-flight, not start a billed task, even though the
    spec lists a text_to_video model that requires only `model`."""
    needs_nothing = [m for m in BUNDLED.catalog.models("text_to_video")
                     if set(BUNDLED.catalog.variant("text_to_video", m).required)  # type: ignore[union-attr]
                     <= {"model"}]
    first = BUNDLED.catalog.models("text_to_video")[0]
    result = cli("video", "--dry-run", "--json")
    assert _info(result.err).startswith(f"model {first} (the first model the spec lists")
    assert "you gave no field" in _info(result.err)
    if first not in needs_nothing:
        assert result.code == 2


def test_default_model_falls_back_to_the_first_listed_when_nothing_fits(cli: Runner) -> None:
    first = BUNDLED.catalog.models("text_to_image")[0]
    assert _rule("text_to_image", set()) == first
    assert all(set(BUNDLED.catalog.variant("text_to_image", m).required) - {"model"}  # type: ignore[union-attr]
               for m in BUNDLED.catalog.models("text_to_image")), "every model needs a field"
    result = cli("image", "--dry-run", "--json")
    assert result.code == 2  # pre-flight explains what the first model misses
    assert _info(result.err).startswith(f"model {first} (the first model the spec lists")
    assert "promptText" in result.err


def test_a_ratio_only_some_models_accept_steers_the_default(cli: Runner) -> None:
    given = {"promptText", "ratio"}
    fitting = [m for m in BUNDLED.catalog.models("text_to_image")
               if set(BUNDLED.catalog.variant("text_to_image", m).required)  # type: ignore[union-attr]
               - {"model"} <= given]
    plain = set(_ratios("text_to_image", fitting[0]))
    ratio = next(r for m in fitting[1:] for r in _ratios("text_to_image", m)
                 if r not in plain)
    chosen = _rule("text_to_image", given, ratio)
    assert chosen != fitting[0]
    request, err = _dry(cli, "image", "--prompt", "x", "--ratio", ratio)
    assert request["body"]["model"] == chosen
    assert f"accepts {ratio}" in _info(err)
    in_body, _ = _dry(cli, "image", "--body", json.dumps({"promptText": "x", "ratio": ratio}))
    assert in_body["body"]["model"] == chosen  # --body counts as given too


def test_default_model_comes_from_config_when_set(cli: Runner) -> None:
    config.set_value("default-model.text_to_video", "veo3.1", BUNDLED.catalog)
    request, err = _dry(cli, "text-to-video", "--prompt", "x", "--ratio", "1280:720")
    assert request["body"]["model"] == "veo3.1"
    assert "runway config" in err
    # the setting wins even over a model the rule would pick for what was given
    last = BUNDLED.catalog.models("text_to_image")[-1]
    ratio = _ratios("text_to_image", last)[0]
    assert _rule("text_to_image", {"promptText", "ratio"}, ratio) != last
    config.set_value("default-model.text_to_image", last, BUNDLED.catalog)
    request, err = _dry(cli, "image", "--prompt", "x", "--ratio", ratio)
    assert request["body"]["model"] == last
    assert "default-model.text_to_image in runway config" in _info(err)


def test_aliases_pick_the_field_of_the_chosen_model(cli: Runner) -> None:
    aleph, _ = _dry(cli, "video-to-video", "--model", "aleph2", "--video",
                    "https://example.com/in.mp4")
    assert aleph["body"] == {"model": "aleph2", "videoUri": "https://example.com/in.mp4"}
    seed, _ = _dry(cli, "video-to-video", "--model", "seedance2", "--video",
                   "https://example.com/in.mp4")
    assert seed["body"] == {"model": "seedance2", "promptVideo": "https://example.com/in.mp4"}
    both = cli("video", "--prompt", "a", "--prompt-text", "b", "--dry-run")
    assert both.code == 2 and "same field" in both.err


def test_unknown_model_passes_through_with_a_warning(cli: Runner) -> None:
    result = cli("image", "--model", "gen9_future", "--prompt", "x", "--dry-run")
    assert result.code == 0
    assert '"model": "gen9_future"' in result.out
    assert "warning" in result.err and "gen9_future" in result.err


def test_preflight_blocks_before_anything_is_sent(cli: Runner, api: Any) -> None:
    before = len(api.state.requests) if hasattr(api.state, "requests") else None
    result = cli("video", "--model", "gen4.5", "--prompt", "x", "--ratio", "999:1")
    assert result.code == 2
    assert "--ratio" in result.err and "--duration" in result.err
    if before is not None:
        assert len(api.state.requests) == before


def test_local_files_in_media_fields_are_inlined(cli: Runner, tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    request, _ = _dry(cli, "image-to-video", "--model", "gen4.5", "--image", str(image),
                      "--prompt", "x", "--ratio", "1280:720", "--duration", "5")
    assert request["body"]["promptImage"].startswith("data:image/png;base64,")
    missing = cli("image-to-video", "--image", str(tmp_path / "nope.png"), "--dry-run")
    assert missing.code == 2 and "nope.png" in missing.err


def test_generate_routes_by_kind_with_the_prompt_positional(cli: Runner) -> None:
    request, _ = _dry(cli, "generate", "a calm sea", "--kind", "sound-effect")
    assert request["url"].endswith("/v1/sound_effect")
    assert request["body"]["promptText"] == "a calm sea"
    assert cli("generate", "x").code == 2
    wrong = cli("generate", "x", "--kind", "vidoe")
    assert wrong.code == 2 and "video" in wrong.err
    word, _ = _dry(cli, "generate", "--kind", "sound-effect", "--prompt", "video")
    assert word["body"]["promptText"] == "video"
    helped = cli("generate", "--help")
    assert helped.code == 0 and "image-to-video" in helped.out


def test_help_lists_each_model_with_what_it_requires(cli: Runner) -> None:
    shown = cli("image-to-video", "--help")
    assert shown.code == 0
    for model in BUNDLED.catalog.models("image_to_video"):
        assert f"\n    {model} " in shown.out
    assert "--retry-on-internal-error" in shown.out and "--download" in shown.out


def test_golden_help_of_a_generation_command(run_cli: Runner) -> None:
    result = run_cli("sound-effect", "--help")
    assert result.code == 0
    check_golden("sound_effect_help.txt", result.out)


def _minimal(endpoint: str) -> list[str]:
    """Flags for the first model's required fields, values from the schema."""
    operation = BUNDLED.catalog.model_operation(endpoint)
    assert operation is not None
    variant = operation.variants[0]
    flags = {s.name: s for s in command_options(operation).fields}
    words = ["--model", str(variant.key)]
    for name in variant.required:
        if name == operation.discriminator:
            continue
        value = example(variant.field_map[name].schema)
        items = value if isinstance(value, list) and flags[name].is_list else [value]
        for item in items:  # a list flag is repeated once per item
            words += [flags[name].flag, item if isinstance(item, str) else json.dumps(item)]
    return words


@pytest.mark.parametrize("path", list(GENERATION_COMMANDS), ids=" ".join)
def test_each_generation_command_waits_and_downloads(cli: Runner, api: Any, tmp_path: Path,
                                                      path: tuple[str, ...]) -> None:
    out = tmp_path / "out"
    result = cli(*path, *_minimal(GENERATION_COMMANDS[path]), "--download", "--output-dir",
                 str(out), "--poll-interval", "0.05")
    assert result.code == 0, result.err
    files = [Path(line) for line in result.out.splitlines()]
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert all(f.parent == out for f in files)


def test_output_dir_and_poll_interval_come_from_config(cli: Runner, api: Any,
                                                       tmp_path: Path) -> None:
    config.set_value("output-dir", str(tmp_path / "from-config"))
    config.set_value("poll-interval", "0.05")
    result = cli("sound-effect", *_minimal("sound_effect"), "--download")
    assert result.code == 0, result.err
    assert Path(result.out.strip()).parent == tmp_path / "from-config"
