"""``runway_dynamic.config``: validated keys and values, atomic JSON file, read accessor."""

from __future__ import annotations

import json

import pytest

from runway_dynamic import config
from runway_dynamic._exceptions import ConfigError, UsageError
from runway_dynamic.spec import Spec


def test_settings_round_trip_through_one_json_file() -> None:
    assert config.load() == {}
    assert config.set_value("poll-interval", "2.5") == (2.5, [])
    assert config.set_value("output-dir", "~/clips") == ("~/clips", [])
    assert config.set_value("base-url", "http://127.0.0.1:9/") == ("http://127.0.0.1:9", [])
    assert config.set_value("output-format", "yaml") == ("yaml", [])
    assert config.get("poll-interval") == 2.5
    assert json.loads(config.path().read_text()) == {
        "base-url": "http://127.0.0.1:9", "output-dir": "~/clips",
        "output-format": "yaml", "poll-interval": 2.5}
    assert config.unset("output-dir") is True
    assert config.unset("output-dir") is False
    assert "output-dir" not in config.load()
    assert not list(config.path().parent.glob("*.tmp"))  # atomic writes leave nothing


@pytest.mark.parametrize(("key", "value", "words"), [
    ("poll-interval", "soon", "number"),
    ("poll-interval", "0", "more than 0"),
    ("output-format", "xml", "json, yaml, table"),
    ("base-url", "ftp://x", "http(s) URL"),
    ("output-dir", " ", "empty"),
    ("colour", "red", "unknown setting"),
])
def test_bad_keys_and_values_are_refused_with_what_to_do(key: str, value: str,
                                                         words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
        config.set_value(key, value)
    assert config.load() == {}


def test_default_models_are_checked_against_the_spec(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    assert config.set_value("default-model.text_to_video", "veo3.1", catalog) == ("veo3.1", [])
    assert config.default_model("text_to_video") == "veo3.1"
    # kebab endpoint names are accepted and stored with underscores
    config.set_value("default-model.text-to-image", "gpt_image_2", catalog)
    assert config.default_model("text_to_image") == "gpt_image_2"
    with pytest.raises(UsageError, match="does not serve text_to_video"):
        config.set_value("default-model.text_to_video", "aleph2", catalog)
    value, warnings = config.set_value("default-model.text_to_video", "gen9_future", catalog)
    assert value == "gen9_future" and "not in the spec" in warnings[0]
    with pytest.raises(UsageError, match="not a model endpoint"):
        config.set_value("default-model.tasks", "x", catalog)


def test_a_broken_file_is_a_config_error_naming_it() -> None:
    config.path().parent.mkdir(parents=True, exist_ok=True)
    config.path().write_text("{nope", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(config.path())):
        config.load()
    config.path().write_text("[1]", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON object"):
        config.get("output-dir")


def test_a_command_name_is_a_default_model_key_only_when_the_caller_names_it(
        bundled_spec) -> None:
    """The library knows endpoints; the CLI passes its command names (``video``)."""
    catalog = bundled_spec.catalog
    with pytest.raises(UsageError):
        config.check_key("default-model.video", catalog)
    assert config.check_key("default-model.video", catalog,
                            names={"video": "text_to_video"}) == "default-model.video"
