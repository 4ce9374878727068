"""The dispatcher: global options, the registry, help, usage errors, reserved names."""

from __future__ import annotations

from typing import Any

import pytest
from help_support import assert_only_rewrapped

from runway_dynamic._version import __version__
from runway_dynamic.cli import _registry
from runway_dynamic.cli._context import GLOBAL_OPTIONS
from runway_dynamic.cli._dispatch import _GLOBAL_HELP, parse_globals, top_level_help
from runway_dynamic.cli.call import command_options
from runway_dynamic.naming import kebab
from runway_dynamic.spec import Spec


def test_global_options_are_split_from_the_command() -> None:
    found, rest = parse_globals(["--json", "--spec", "x.yaml", "models", "--json"])
    assert (found.json, found.spec, rest) == (True, "x.yaml", ["models", "--json"])
    found, rest = parse_globals(["--spec=y.json", "call", "tasks/1"])
    assert (found.spec, rest) == ("y.json", ["call", "tasks/1"])


def test_version(cli) -> None:
    result = cli("--version")
    assert result.code == 0 and __version__ in result.out


def test_top_level_help_lists_every_registered_command(cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for command in _registry.COMMANDS:
        if command.target == _registry.RESOURCE_TARGET:  # aliases: one row per group
            assert f"  {command.path[0]} " in result.out
            continue
        assert f"  {command.name}  " in result.out or f"  {command.name} " in result.out
        assert command.help in " ".join(result.out.split())
    assert result.out.strip() == top_level_help()


def test_registry_help_is_the_first_line_of_each_commands_docstring() -> None:
    """For the spec commands here (other suites check their own commands)."""
    mine = ("runway_dynamic.cli.models:", "runway_dynamic.cli.spec_cmd:")
    for command in _registry.COMMANDS:
        if command.dynamic or not command.target.startswith(mine):
            continue
        doc = (command.load().__doc__ or "").strip().splitlines()[0]
        assert doc == command.help, command.name


@pytest.mark.parametrize("path", [c.path for c in _registry.COMMANDS])
def test_every_command_has_help(cli, path: tuple[str, ...],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(*path, "--help")
    assert result.code == 0, result.err
    assert result.out.startswith(f"Usage: runway {' '.join(path)}")
    assert_only_rewrapped(lambda: cli(*path, "--help").out, monkeypatch)


def test_group_help_and_unknown_commands(cli) -> None:
    assert "spec pull" in cli("spec").out
    assert "models schema" in cli("models", "--help").out  # the group's own command lists them
    result = cli("modles")
    assert result.code == 2 and "did you mean models" in result.err
    result = cli("spec", "shw")
    assert result.code == 2 and "spec show" in result.err
    result = cli("--bogus", "models")
    assert result.code == 2 and "global options" in result.err


def test_usage_errors_are_one_line_with_exit_2(cli) -> None:
    result = cli("models", "schema")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "missing argument 'MODEL'" in result.err
    result = cli("models", "schema", "gen4.5", "--spec", "x.json")
    assert result.code == 2 and "global options go before the command" in result.err


def test_global_json_makes_errors_json(cli) -> None:
    import json

    result = cli("--json", "models", "schema", "nope")
    assert result.code == 1
    payload = json.loads(result.err)
    assert payload["error"] == "NotInSpecError" and payload["name"] == "nope"


def _flags(operation: Any) -> dict[tuple[str, str], str]:
    return {(f.location, f.name): f.flag for f in command_options(operation).fields}


def test_global_options_are_what_the_dispatcher_parses() -> None:
    assert GLOBAL_OPTIONS == ("spec", "json", "api-key", "profile", "runway-version", "header",
                              "sandbox", "no-history", "filter", "version", "help")
    rows = " ".join(left for left, _ in _GLOBAL_HELP)
    assert all(f"--{name}" in rows for name in GLOBAL_OPTIONS)
    listed = {word.rstrip(",") for left, _ in _GLOBAL_HELP for word in left.split()
              if word.startswith("--")}
    assert listed == {f"--{name}" for name in GLOBAL_OPTIONS}


def test_no_spec_derived_flag_takes_a_global_or_call_option(bundled_spec: Spec) -> None:
    for operation in bundled_spec.catalog.operations:
        options = command_options(operation)
        flags = [f.flag for f in options.fields]
        assert len(set(flags)) == len(flags), operation.endpoint
        own = {name for item in options.own for name in item.names}
        assert not set(flags) & (own | {"--" + name for name in GLOBAL_OPTIONS})


def test_colliding_spec_names_are_renamed() -> None:
    import json

    from cli_support import tiny_spec

    loaded = Spec.from_bytes(json.dumps(tiny_spec()).encode())
    make = _flags(loaded.catalog.operation("make", "POST"))
    assert make[("body", "json")] == "--body-json"
    assert make[("body", "body")] == "--body-body"
    assert make[("body", "spec")] == "--body-spec"
    assert make[("body", "promptText")] == "--prompt-text"
    things = _flags(loaded.catalog.operation("things", "GET"))
    assert things[("query", "json")] == "--query-json"
    assert things[("query", "ids")] == "--ids"
    assert kebab("promptText") == "prompt-text"
