"""Messages name the flag that really sets a field on this command.

Reproduced with a small spec whose fields are named like the tool's own options: help gave
``method``/``json`` the flags ``--body-method``/``--body-json`` while pre-flight named
``--method``/``--json``; a ``dryRun`` field was reported as ``(--dry-run)``, a ``version``
field as ``(--version)`` (issue 14 §6; the bundled spec's recipes have such a field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import write_spec
from spec_corpus import colliding_spec


@pytest.fixture
def collide(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "collide.json", colliding_spec())


def test_preflight_names_the_flag_that_really_sets_each_field(cli: Any, collide: Path) -> None:
    """Before: help said --body-method/--body-json, pre-flight said --method/--json; a
    ``dryRun`` field was "(--dry-run)", a ``version`` field "(--version)"."""
    body = {"model": "m1", "promptText": "p", "method": 5, "json": 1, "dryRun": "yes",
            "version": "x"}
    result = cli("--spec", str(collide), "call", "make", "--body", json.dumps(body),
                 "--dry-run")
    assert result.code == 2
    for field, flag in (("method", "--body-method"), ("json", "--body-json"),
                        ("dryRun", "--body-dry-run"), ("version", "--body-version")):
        assert f"{field} ({flag}): " in result.err, (field, result.err)
    for own in ("--method", "--json", "--dry-run", "--version"):
        assert f"({own})" not in result.err
    data = json.loads(cli("--spec", str(collide), "call", "make", "--body", json.dumps(body),
                          "--dry-run", "--json").err)
    flags = {p["field"]: p["flag"] for p in data["problems"]}
    assert flags["dryRun"] == "--body-dry-run" and flags["version"] == "--body-version"


def test_a_recipe_version_field_is_named_by_its_own_flag_on_the_bundled_spec(cli: Any) -> None:
    result = cli("call", "recipes/product_ad", "--body", '{"version": "x"}', "--dry-run")
    assert result.code == 2
    assert "version (--body-version): must be one of" in result.err
    assert "(--version)" not in result.err
