"""``runway config get|set|unset|list|path`` and the settings the other commands read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from commands_support import Runner

from runway_dynamic import config


def test_set_get_list_unset_path(cli: Runner) -> None:
    assert cli("config", "set", "poll-interval", "3").code == 0
    got = cli("config", "get", "poll-interval")
    assert (got.code, got.out) == (0, "3.0\n")
    assert json.loads(cli("config", "list", "--json").out) == {"poll-interval": 3.0}
    assert cli("config", "path").out.strip() == str(config.path())
    assert cli("config", "unset", "poll-interval").code == 0
    missing = cli("config", "get", "poll-interval")
    assert missing.code == 1 and "not set" in missing.err


def test_set_refuses_bad_values_and_checks_models_against_the_spec(cli: Runner) -> None:
    bad = cli("config", "set", "output-format", "xml")
    assert bad.code == 2 and "json, yaml, table" in bad.err
    wrong = cli("config", "set", "default-model.text_to_video", "aleph2")
    assert wrong.code == 2 and "video_to_video" in wrong.err
    unknown = cli("config", "set", "default-model.text_to_video", "gen9")
    assert unknown.code == 0 and "warning" in unknown.err
    assert config.default_model("text_to_video") == "gen9"
    typo = cli("config", "get", "default-model.text_to_vdeo")
    assert typo.code == 2 and "text_to_video" in typo.err


def test_output_format_setting_applies_on_a_terminal_only() -> None:
    from runway_dynamic.cli._output import choose_format

    config.set_value("output-format", "yaml")
    assert choose_format(None, False, isatty=True) == "yaml"
    assert choose_format(None, False, isatty=False) == "json"
    assert choose_format("table", True, isatty=False) == "table"
    assert choose_format(None, True, isatty=True) == "json"


def test_base_url_setting_is_used_unless_the_environment_says_otherwise(
    cli: Runner, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config.set_value("base-url", "http://127.0.0.1:9")
    shown = json.loads(cli("avatars", "get", "x", "--dry-run", "--json").out)
    assert shown["url"] == "http://127.0.0.1:9/v1/avatars/x"
    generation = json.loads(cli("sound-effect", "--prompt", "x", "--dry-run", "--json").out)
    assert generation["url"].startswith("http://127.0.0.1:9/")
    monkeypatch.setenv("RUNWAY_BASE_URL", "http://127.0.0.1:8")
    shown = json.loads(cli("avatars", "get", "x", "--dry-run", "--json").out)
    assert shown["url"].startswith("http://127.0.0.1:8/")


def test_the_base_url_setting_reaches_a_real_request(
    cli: Runner, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config.set_value("base-url", sandbox.base_url)
    monkeypatch.setenv("RUNWAY_API_KEY", "k")
    listed = cli("voices", "list", "--limit", "5", "--json")
    assert listed.code == 0, listed.err
    assert "data" in json.loads(listed.out)
