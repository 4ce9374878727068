"""Generation commands and the generate router: flags, aliases, default models, help, and a
real run per command against the sandbox (``--wait --download`` writes a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from commands_support import Runner, check_golden

from runway_dynamic import config
from runway_dynamic.cli._command_names import GENERATION_COMMANDS, generation_endpoints
from runway_dynamic.cli.generate import command_options
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


def _fitting(endpoint: str, given: set[str], ratio: str | None = None) -> list[str]:
    """Restated from the catalog: the models that take every given field, need no other
    (``model`` aside) and accept ``ratio``."""
    found = []
    for model in BUNDLED.catalog.models(endpoint):
        variant = BUNDLED.catalog.variant(endpoint, model)
        assert variant is not None
        if (given <= set(variant.field_map) and set(variant.required) - {"model"} <= given
                and (ratio is None or ratio in (variant.known_ratios or ()))):
            found.append(model)
    return found


def _first_requires_more(endpoint: str, given: set[str]) -> bool:
    first = BUNDLED.catalog.variant(endpoint, BUNDLED.catalog.models(endpoint)[0])
    return first is not None and not set(first.required) - {"model"} <= given


def _info(err: str) -> str:
    return json.loads(err.splitlines()[0])["info"]


@pytest.mark.parametrize("flags", [
    ["--prompt", "a fox"],
    ["--prompt", "a fox", "--ratio", "1280:720"],
    ["--prompt", "a fox", "--ratio", "1280:720", "--duration", "5"],
    ["--prompt", "a fox", "--ratio", "1280:720", "--duration", "5", "--audio"],
])
def test_the_default_model_never_moves_as_flags_are_added(cli: Runner,
                                                          flags: list[str]) -> None:
    """The issue's case: adding --ratio, --duration, --audio once switched the model (and
    the cost). Now it is the first model the spec lists, whatever is given."""
    first = BUNDLED.catalog.models("text_to_video")[0]
    result = cli("video", *flags, "--dry-run", "--json")
    info = _info(result.err)
    assert info.startswith(f"model {first} (the first model the spec lists for text_to_video")
    assert "runway config set default-model.video MODEL" in info
    if result.code == 0:
        assert json.loads(result.out)["body"]["model"] == first
    else:  # the flags do not fit it: pre-flight stops, naming the models that take them
        assert result.code == 2
        assert "other_models" in result.err


def test_flags_that_do_not_fit_the_default_name_the_models_that_do(cli: Runner) -> None:
    """The first image model needs reference images: prompt and ratio alone fail pre-flight
    (exit 2, nothing sent), naming every model that takes them and a command that works."""
    given = {"promptText", "ratio"}
    assert _first_requires_more("text_to_image", given), "the case needs such a first model"
    first = BUNDLED.catalog.models("text_to_image")[0]
    ratio = next(r for m in _fitting("text_to_image", given)
                 for r in _ratios("text_to_image", m) if r not in _ratios("text_to_image", first))
    fit = _fitting("text_to_image", given, ratio)
    assert fit and first not in fit
    result = cli("image", "--prompt", "a kite", "--ratio", ratio, "--dry-run", "--json")
    assert result.code == 2
    error = json.loads(result.err.splitlines()[-1])
    hint = next(p for p in error["problems"] if p["kind"] == "other_models")
    assert hint["suggestions"] == fit
    suggested = hint["message"].split("For example: ")[1]
    assert suggested.startswith("runway image --prompt 'a kite' --ratio ")
    assert suggested.endswith(f"--model {fit[0]}")
    import shlex

    words = shlex.split(suggested)[1:]
    request, err = _dry(cli, *[w for w in words if w not in ("--dry-run", "--json")])
    assert request["body"]["model"] == fit[0]
    assert _info(err) == f"model {fit[0]}"


def test_an_empty_body_fails_preflight_on_the_first_model(cli: Runner) -> None:
    """A bare `runway video` never starts a billed task: the first model needs fields."""
    first = BUNDLED.catalog.models("text_to_video")[0]
    assert _first_requires_more("text_to_video", set())
    result = cli("video", "--dry-run", "--json")
    assert _info(result.err).startswith(f"model {first} (the first model the spec lists")
    assert result.code == 2


def test_default_model_comes_from_config_by_command_or_endpoint(cli: Runner) -> None:
    models = BUNDLED.catalog.models("text_to_video")
    chosen = models[-1]
    config.set_value("default-model.video", chosen.replace("_", "-"), BUNDLED.catalog,
                     names=generation_endpoints())
    assert config.get("default-model.video") == chosen  # stored as the spec spells it
    result = cli("video", "--prompt", "x", "--dry-run", "--json")
    assert _info(result.err).startswith(f"model {chosen} (default-model.video in runway config")
    assert f"default:{chosen},default-model.videoinrunwayconfig" in "".join(
        cli("video", "--help").out.split())  # help wraps anywhere: compare without spaces
    # an endpoint's setting serves every command of that endpoint
    last = BUNDLED.catalog.models("text_to_image")[-1]
    ratio = _ratios("text_to_image", last)[0]
    config.set_value("default-model.text_to_image", last, BUNDLED.catalog)
    request, err = _dry(cli, "image", "--prompt", "x", "--ratio", ratio)
    assert request["body"]["model"] == last
    assert "default-model.text_to_image in runway config" in _info(err)


def test_a_model_typed_with_dashes_is_the_spec_id(cli: Runner) -> None:
    model = next(m for m in BUNDLED.catalog.models("text_to_video") if "_" in m)
    result = cli("video", "--model", model.replace("_", "-"), "--prompt", "x", "--dry-run",
                 "--json")
    assert _info(result.err) == f"model {model.replace('_', '-')} is {model}"
    if result.code == 0:
        assert json.loads(result.out)["body"]["model"] == model


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


@pytest.mark.parametrize(("alias", "kind"), [("t2i", "image"), ("t2v", "video"),
                                             ("i2v", "image-to-video"), ("tts", "text-to-speech"),
                                             ("sfx", "sound-effect"), ("v2v", "video-to-video")])
def test_generate_takes_the_short_kinds_people_bring(cli: Runner, alias: str, kind: str) -> None:
    from runway_dynamic.cli._command_names import GENERATE_KINDS

    endpoint = GENERATION_COMMANDS[GENERATE_KINDS[kind]]
    short = cli("generate", "x", "--kind", alias, "--dry-run", "--json")
    long = cli("generate", "x", "--kind", kind, "--dry-run", "--json")
    assert (short.code, short.out) == (long.code, long.out)
    if long.code == 0:
        assert json.loads(long.out)["url"].endswith(f"/v1/{endpoint}")
    assert f"{kind} ({alias})" in cli("generate", "--help").out


def test_a_generation_command_takes_its_prompt_first(cli: Runner) -> None:
    model = BUNDLED.catalog.models("text_to_video")[0]
    variant = BUNDLED.catalog.variant("text_to_video", model)
    assert variant is not None
    rest = {k: v for k, v in example(variant.schema).items() if k != "promptText"}
    body = ["--body", json.dumps(rest)]
    positional, _ = _dry(cli, "video", "waves at night", *body)
    flagged, _ = _dry(cli, "video", "--prompt", "waves at night", *body)
    assert positional == flagged and positional["body"]["promptText"] == "waves at night"
    twice = cli("video", "a", "--prompt", "b", "--dry-run")
    assert twice.code == 2 and "give the prompt once" in twice.err
