"""``--filter EXPR``: JMESPath over any command's JSON, before or after the command."""

from __future__ import annotations

import json
from typing import Any

from runway_dynamic.spec import Spec


def test_filter_picks_from_the_json_anywhere_on_the_line(run_cli: Any,
                                                        bundled_spec: Spec) -> None:
    first = bundled_spec.catalog.models("text_to_video")[0]
    after = run_cli("models", "--json", "--filter", "endpoints.text_to_video[0]")
    before = run_cli("--filter=endpoints.text_to_video[0]", "models", "--json")
    assert after.code == before.code == 0, after.err + before.err
    assert json.loads(after.out) == json.loads(before.out) == first
    keys = run_cli("models", "--json", "--filter", "keys(endpoints)")
    assert json.loads(keys.out) == bundled_spec.catalog.endpoints()


def test_a_bad_expression_is_exit_2_before_anything_runs(run_cli: Any) -> None:
    done = run_cli("models", "--json", "--filter", "endpoints.[")
    assert done.code == 2 and done.out == ""
    assert "--filter 'endpoints.[' is not a JMESPath expression" in done.err
    assert done.err.count("\n") == 1
    empty = run_cli("models", "--filter", "")
    assert empty.code == 2 and "JMESPath" in empty.err


def test_filter_applies_to_resource_answers_under_the_sandbox(run_cli: Any) -> None:
    done = run_cli("--sandbox", "organization", "get", "--format", "json", "--filter",
                   "keys(@)")
    assert done.code == 0, done.err
    assert isinstance(json.loads(done.out), list)
