"""Bad input through the real CLI: one line on stderr, the right exit code, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import tiny_spec, write_spec

from runway_dynamic.cache import parse_header


def _one_line_error(result, code: int, *needles: str) -> None:
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err
    for needle in needles:
        assert needle in result.err, result.err


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("truncated.json", '{"openapi": "3.1.0", "paths": {', "invalid JSON"),
    ("garbage.yaml", "openapi: [3.1\n  - : :\n", "invalid JSON or YAML"),
    ("list.json", "[1, 2]", "not an OpenAPI document"),
    ("swagger.json", '{"swagger": "2.0", "paths": {}}', "Swagger 2.0"),
    ("empty.json", "", "empty"),
    ("binary.yaml", "\udcff", "spec"),
])
def test_broken_spec_files(run_cli, tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = run_cli("--spec", str(path), "models")
    _one_line_error(result, 1, str(path), needle)


def test_missing_spec_file(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    _one_line_error(run_cli("--spec", str(missing), "models", "schema", "gen4.5"), 1,
                    str(missing), "not found")


def test_missing_spec_from_env(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "env.json"
    _one_line_error(run_cli("models", env={"RUNWAY_SPEC": str(missing)}), 1, str(missing))


def test_unresolvable_ref(run_cli, tmp_path: Path) -> None:
    document = tiny_spec()
    things = document["paths"]["/v1/things"]["get"]
    things["parameters"].append({"$ref": "#/components/parameters/Nope"})
    path = write_spec(tmp_path / "badref.json", document)
    _one_line_error(run_cli("--spec", str(path), "spec", "show"), 1, str(path),
                    "#/components/parameters/Nope")


def test_spec_errors_in_json_mode_are_json(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run_cli("--json", "--spec", str(missing), "models")
    assert result.code == 1
    payload = json.loads(result.err)
    assert payload["error"] == "SpecError" and payload["source"] == str(missing)


def test_unwritable_cache_dir_is_a_warning_not_an_error(run_cli, tmp_path: Path) -> None:
    # A cache "directory" under a regular file cannot be created, even by root.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    env = {"RUNWAY_CACHE_DIR": str(blocker / "cache")}
    result = run_cli("models", "schema", "gen4.5", env=env)
    assert result.code == 0 and result.out.startswith("gen4.5:")
    assert result.err.startswith("runway: warning: derived index not cached")
    assert str(blocker) in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    as_json = run_cli("models", "schema", "gen4.5", "--json", env=env)
    assert as_json.code == 0 and json.loads(as_json.out)["model"] == "gen4.5"
    assert "derived index not cached" in json.loads(as_json.err)["warning"]


def test_unwritable_cache_dir_by_permission(run_cli, tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions (the test above covers it)")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_cli("models", env={"RUNWAY_CACHE_DIR": str(locked)})
    assert result.code == 0 and "warning" in result.err


def test_corrupt_index_is_rebuilt_silently(run_cli, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run_cli("models", env={"RUNWAY_CACHE_DIR": str(cache)}).code == 0
    [index] = list((cache / "index").glob("*.index"))
    index.write_text("{not an index")
    result = run_cli("models", env={"RUNWAY_CACHE_DIR": str(cache)})
    assert result.code == 0 and result.err == ""
    header = parse_header(index.read_bytes().partition(b"\n")[0])  # it names the spec
    assert header is not None and header["sha256"] and header["digest"]


def test_global_option_without_value(run_cli) -> None:
    _one_line_error(run_cli("--spec"), 2, "--spec needs a PATH or URL")
