"""One command builder owns each command's options (cli/_options.py).

Each bug below was reproduced with a small spec whose fields are named like the tool's own
options, before the builder existed: ``call make --help`` listed ``--timeout``, ``--list``
and ``--wait`` twice, and ``--timeout 5`` set the wait instead of the body field; help gave
``method``/``json`` the flags ``--body-method``/``--body-json`` while pre-flight named
``--method``/``--json``; a ``dryRun`` field was reported as ``(--dry-run)``, a ``version``
field as ``(--version)`` (issue 14 §6; the bundled spec's recipes have such a field).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_support import write_spec
from spec_corpus import colliding_spec


@pytest.fixture
def collide(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "collide.json", colliding_spec())


def _options_in_help(text: str) -> list[str]:
    """Every option string listed under "Options:" (``--a / --no-a``, ``-o, --output``)."""
    section = text.split("Options:", 1)[1]
    found = []
    for line in section.splitlines():
        match = re.match(r"^  (-[^ ]+(?:(?:, | / )-[^ ]+)*)", line)
        if match:
            found += re.split(r", | / ", match.group(1))
    return found


def test_call_help_lists_every_option_once(cli: Any, collide: Path) -> None:
    """Before: --timeout, --list and --wait were each listed twice (field and own option)."""
    result = cli("--spec", str(collide), "call", "make", "--help")
    assert result.code == 0, result.err
    listed = _options_in_help(result.out)
    assert sorted(n for n in set(listed) if listed.count(n) > 1) == []
    for own in ("--timeout", "--list", "--wait", "--method", "--json", "--dry-run", "--body"):
        assert own in listed
    for field in ("--body-timeout", "--body-list", "--body-wait", "--body-method",
                  "--body-json", "--body-dry-run", "--body-version", "--body-spec",
                  "--body-api-key", "--body-sandbox", "--body-download"):
        assert field in listed, field


def test_own_option_keeps_its_meaning_and_the_field_gets_a_flag_of_its_own(
        cli: Any, collide: Path) -> None:
    """Before: ``--timeout 5`` went to the wait timeout, and no flag set the field."""
    common = ("--spec", str(collide), "call", "make", "--model", "m1", "--prompt-text", "p")
    sent = cli(*common, "--body-timeout", "5", "--body-wait", "--body-method", "PUT",
               "--dry-run", "--json")
    assert sent.code == 0, sent.err
    assert json.loads(sent.out)["body"] == {"model": "m1", "promptText": "p", "timeout": 5,
                                            "wait": True, "method": "PUT"}
    own = cli(*common, "--timeout", "5", "--dry-run", "--json")
    assert own.code == 0, own.err
    assert "timeout" not in json.loads(own.out)["body"]


def test_preflight_names_the_flag_that_really_sets_each_field(cli: Any, collide: Path) -> None:
    """Before: help said --body-method/--body-json, pre-flight said --method/--json; a
    ``dryRun`` field was "(--dry-run)", a ``version`` field "(--version)"."""
    body = {"model": "m1", "promptText": "p", "method": 5, "json": 1, "dryRun": "yes",
            "version": "x", "timeout": "soon"}
    result = cli("--spec", str(collide), "call", "make", "--body", json.dumps(body),
                 "--dry-run")
    assert result.code == 2
    for field, flag in (("method", "--body-method"), ("json", "--body-json"),
                        ("dryRun", "--body-dry-run"), ("version", "--body-version"),
                        ("timeout", "--body-timeout")):
        assert f"{field} ({flag}): " in result.err, (field, result.err)
    for own in ("--method", "--json", "--dry-run", "--version", "--timeout"):
        assert f"({own})" not in result.err
    data = json.loads(cli("--spec", str(collide), "call", "make", "--body", json.dumps(body),
                          "--dry-run", "--json").err)
    flags = {p["field"]: p["flag"] for p in data["problems"]}
    assert flags["dryRun"] == "--body-dry-run" and flags["version"] == "--body-version"


def test_the_same_field_is_named_by_each_command_s_own_flag(cli: Any, collide: Path) -> None:
    """``make create`` (a generation-style resource command) has no --method option: there
    the field keeps its natural flag, and its messages say so."""
    body = {"model": "m1", "promptText": "p", "method": 5}
    result = cli("--spec", str(collide), "make", "create", "--body", json.dumps(body),
                 "--dry-run")
    assert result.code == 2 and "method (--method): " in result.err
    listed = _options_in_help(cli("--spec", str(collide), "make", "create", "--help").out)
    assert "--method" in listed and "--body-method" not in listed


def test_a_recipe_version_field_is_named_by_its_own_flag_on_the_bundled_spec(cli: Any) -> None:
    result = cli("call", "recipes/product_ad", "--body", '{"version": "x"}', "--dry-run")
    assert result.code == 2
    assert "version (--body-version): must be one of" in result.err
    assert "(--version)" not in result.err


def test_a_boolean_field_never_takes_another_field_s_no_form(cli: Any, collide: Path) -> None:
    """``noAudio`` comes first and keeps ``--no-audio`` (with ``--no-no-audio``); the boolean
    ``audio`` cannot be ``--audio/--no-audio`` then, so it is ``--body-audio``."""
    listed = _options_in_help(cli("--spec", str(collide), "call", "make", "--help").out)
    assert listed.count("--no-audio") == 1
    assert {"--no-audio", "--no-no-audio", "--body-audio", "--no-body-audio"} <= set(listed)
    sent = cli("--spec", str(collide), "call", "make", "--model", "m1", "--prompt-text", "p",
               "--no-audio", "--no-body-audio", "--dry-run", "--json")
    assert sent.code == 0, sent.err
    body = json.loads(sent.out)["body"]
    assert body["audio"] is False and body["noAudio"] is True


def test_format_is_the_output_format_and_query_fields_named_like_it_are_prefixed(
        cli: Any, collide: Path) -> None:
    listed = _options_in_help(cli("--spec", str(collide), "things", "list", "--help").out)
    assert {"--format", "--all", "--json", "--query-format", "--query-all",
            "--query-json"} <= set(listed)
    assert "-o" not in listed
    sent = cli("--spec", str(collide), "things", "list", "--query-format", "a", "--dry-run",
               "--json")
    assert sent.code == 0, sent.err
    assert json.loads(sent.out)["url"].endswith("/v1/things?format=a")
