"""Hostile and unusual specs through the real CLI, where a user meets them.

Each bound on untrusted spec input (``runway_dynamic._limits``) is breached once: the run
ends with one line naming the limit, exit 1, no traceback, and nothing large on disk. Valid
shapes that used to crash (a boolean subschema, a pattern Python cannot compile) work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cli_support import laughs

#: Nothing the CLI writes for a refused spec may be larger than this.
SMALL = 1024 * 1024


def _doc(branch_props: dict[str, Any], components: dict[str, Any] | None = None,
         **body: Any) -> dict[str, Any]:
    """One model endpoint ``gen`` whose model ``m1`` has the given extra properties."""
    branch = {"type": "object", "required": ["model"],
              "properties": {"model": {"type": "string", "const": "m1"}, **branch_props}}
    schema = {"oneOf": [branch], "discriminator": {"propertyName": "model"}, **body}
    return {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.test"}],
        "paths": {"/v1/gen": {"post": {
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}},
            "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": components or {}},
    }


def _write(tmp_path: Path, name: str, document: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.code == 1, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    assert result.err.count("\n") == 1, result.err
    for needle in needles:
        assert needle in result.err, result.err


def _largest_file(root: Path) -> int:
    sizes = [p.stat().st_size for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return max(sizes, default=0)


def _cache_dir() -> Path:
    return Path(os.environ["RUNWAY_CACHE_DIR"])


# ---------------------------------------------------------------------------- bounds


def test_yaml_alias_bomb_is_refused_before_anything_expands(run_cli, tmp_path: Path) -> None:
    """A 650-byte billion-laughs document ends in one line naming spec-max-bytes, at once,
    and leaves no cache file behind (it used to write hundreds of MB)."""
    text = laughs()
    assert len(text) < 700
    path = _write(tmp_path, "laughs.yaml", text)
    result = run_cli("--spec", str(path), "models")
    _one_line_error(result, str(path), "YAML aliases expand", "spec-max-bytes")
    assert _largest_file(_cache_dir()) < SMALL


def test_many_yaml_aliases_are_refused_by_count(run_cli, tmp_path: Path) -> None:
    """Past 1,000 alias references the document is refused, however small it expands."""
    refs = ", ".join(["*a"] * 1001)
    path = _write(tmp_path, "aliases.yaml",
                  f"openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\npaths: {{}}\n"
                  f"x-a: &a [1]\nx-b: [{refs}]\n")
    _one_line_error(run_cli("--spec", str(path), "models"), "1,001 aliases", "yaml-aliases")


def test_a_yaml_alias_inside_its_own_anchor_is_refused(run_cli, tmp_path: Path) -> None:
    """``&a [*a]`` builds an endless value in PyYAML: refused, not walked into recursion."""
    path = _write(tmp_path, "loop.yaml",
                  "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nx-a: &a [*a]\n")
    _one_line_error(run_cli("--spec", str(path), "models"), "its own anchor", "yaml-aliases")


def test_yaml_with_a_few_shared_anchors_still_loads(run_cli, tmp_path: Path) -> None:
    """Anchors used as people use them (a shared field schema) are fine."""
    text = (
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /v1/gen:\n    post:\n"
        "      requestBody:\n        content:\n          application/json:\n            schema:\n"
        "              oneOf:\n"
        "                - {type: object, required: [model], properties: {model: {const: a},"
        " prompt: &prompt {type: string, maxLength: 9}}}\n"
        "                - {type: object, required: [model], properties: {model: {const: b},"
        " prompt: *prompt}}\n"
        "      responses: {'200': {description: ok}}\n"
    )
    result = run_cli("--spec", str(_write(tmp_path, "anchors.yaml", text)), "models")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("gen (runway ")
    assert result.out.splitlines()[1].split() == ["a,", "b"]


def test_spec_size_limit_is_configurable(run_cli, tmp_path: Path) -> None:
    """A spec over RUNWAY_SPEC_MAX_BYTES is refused naming the limit; raising it lets the
    same file load."""
    path = _write(tmp_path, "spec.json", _doc({"p": {"type": "string"}}))
    size = path.stat().st_size
    small = run_cli("--spec", str(path), "models", env={"RUNWAY_SPEC_MAX_BYTES": str(size - 1)})
    _one_line_error(small, "larger than", "RUNWAY_SPEC_MAX_BYTES", "spec-max-bytes")
    fine = run_cli("--spec", str(path), "models", env={"RUNWAY_SPEC_MAX_BYTES": "1M"})
    assert fine.code == 0 and "m1" in fine.out, fine.err
    bad = run_cli("--spec", str(path), "models", env={"RUNWAY_SPEC_MAX_BYTES": "lots"})
    assert bad.code == 2 and "RUNWAY_SPEC_MAX_BYTES" in bad.err and "Traceback" not in bad.err


def test_a_schema_400_levels_deep_is_one_line(run_cli, tmp_path: Path) -> None:
    """It used to fail writing the cache ("Recursion limit reached") with a traceback."""
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(400):
        deep = {"type": "object", "properties": {"a": deep}}
    path = _write(tmp_path, "deep.json", _doc({"x": deep}))
    _one_line_error(run_cli("--spec", str(path), "models"), "POST /v1/gen request body",
                    "schema-depth = 64")
    assert _largest_file(_cache_dir()) < SMALL


def test_depth_through_a_reused_reference_is_counted(run_cli, tmp_path: Path) -> None:
    """A 40-level component is fine once; reused inside another 40 levels it is too deep,
    even though each piece alone was checked before."""
    inner: dict[str, Any] = {"type": "string"}
    for _ in range(20):
        inner = {"type": "object", "properties": {"a": inner}}
    outer: dict[str, Any] = {"$ref": "#/components/schemas/Inner"}
    for _ in range(20):
        outer = {"type": "object", "properties": {"b": outer}}
    path = _write(tmp_path, "reuse.json", _doc(
        {"first": {"$ref": "#/components/schemas/Inner"}, "second": outer},
        {"Inner": inner}))
    _one_line_error(run_cli("--spec", str(path), "models"), "schema-depth")


def test_ref_reuse_bomb_stops_at_the_index_limit(run_cli, tmp_path: Path) -> None:
    """Ten components each using the previous one ten times: 10**10 copies if written out.
    Deriving stops at the index limit; no cache file grows."""
    components: dict[str, Any] = {"L0": {"type": "string", "maxLength": 5}}
    for level in range(1, 10):
        components[f"L{level}"] = {"type": "object", "properties": {
            f"p{i}": {"$ref": f"#/components/schemas/L{level - 1}"} for i in range(10)}}
    path = _write(tmp_path, "bomb.json",
                  _doc({"x": {"$ref": "#/components/schemas/L9"}}, components))
    assert path.stat().st_size < 8000
    result = run_cli("--spec", str(path), "models")
    _one_line_error(result, "index-max-bytes")
    assert _largest_file(_cache_dir()) < SMALL


# ---------------------------------------------------------------------------- shapes


def test_pure_ref_cycle_on_a_field_is_one_line(run_cli, tmp_path: Path) -> None:
    """``A: {$ref: B}``, ``B: {$ref: A}`` describes no value: refused when the spec loads
    (it used to recurse until RecursionError at pre-flight)."""
    path = _write(tmp_path, "cycle.json", _doc(
        {"x": {"$ref": "#/components/schemas/A"}},
        {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}))
    for args in (("models",), ("call", "gen", "--model", "m1", "--x", "a", "--dry-run")):
        _one_line_error(run_cli("--spec", str(path), *args), "$ref cycle",
                        "#/components/schemas/A")


def test_cycle_through_allof_only_is_refused_but_through_items_is_fine(
    run_cli, tmp_path: Path
) -> None:
    """Recursion is fine when each turn describes a deeper value (a tree); a cycle through
    ``allOf`` alone never does."""
    looping = _write(tmp_path, "allof.json", _doc(
        {"x": {"$ref": "#/components/schemas/A"}},
        {"A": {"allOf": [{"$ref": "#/components/schemas/A"}, {"type": "object"}]}}))
    _one_line_error(run_cli("--spec", str(looping), "models"), "$ref cycle")
    tree = _write(tmp_path, "tree.json", _doc(
        {"x": {"$ref": "#/components/schemas/Node"}},
        {"Node": {"type": "object", "properties": {
            "kids": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}))
    result = run_cli("--spec", str(tree), "call", "gen", "--model", "m1",
                     "--body", '{"x": {"kids": [{"kids": [{"kids": 5}]}]}}', "--dry-run")
    assert result.code == 2 and "x.kids[0].kids[0].kids" in result.err, result.err
    assert "Traceback" not in result.err


def test_invalid_pattern_warns_and_checks_the_rest(run_cli, tmp_path: Path) -> None:
    """A pattern Python cannot compile used to raise re.error at pre-flight. Now its value
    goes unchecked with a warning; the other fields are still checked."""
    path = _write(tmp_path, "pattern.json", _doc({
        "code": {"type": "string", "pattern": "([a-z"},
        "count": {"type": "integer", "maximum": 3}}))
    env = {"RUNWAY_BASE_URL": "http://127.0.0.1:9"}
    ok = run_cli("--spec", str(path), "call", "gen", "--model", "m1", "--code", "x",
                 "--dry-run", env=env)
    assert ok.code == 0, ok.err
    assert "not a valid regular expression" in ok.err and "Traceback" not in ok.err
    bad = run_cli("--spec", str(path), "call", "gen", "--model", "m1", "--code", "x",
                  "--count", "9", "--dry-run", env=env)
    assert bad.code == 2 and "must be at most 3" in bad.err and "Traceback" not in bad.err


def test_boolean_subschemas_are_supported(run_cli, tmp_path: Path) -> None:
    """``properties: {x: true, y: false}`` is valid 3.1: x takes anything, y nothing. It
    used to reject the whole spec with an AttributeError."""
    path = _write(tmp_path, "bool.json", _doc({"x": True, "y": False, "z": {
        "type": "array", "items": True}}))
    models = run_cli("--spec", str(path), "models")
    assert models.code == 0 and "m1" in models.out, models.err
    env = {"RUNWAY_BASE_URL": "http://127.0.0.1:9"}
    fine = run_cli("--spec", str(path), "call", "gen", "--body",
                   '{"model": "m1", "x": {"any": [1]}, "z": [1, "a"]}', "--dry-run", env=env)
    assert fine.code == 0, fine.err
    refused = run_cli("--spec", str(path), "call", "gen", "--body",
                      '{"model": "m1", "y": 1}', "--dry-run", env=env)
    assert refused.code == 2 and "y" in refused.err and "not allowed" in refused.err
    assert "Traceback" not in refused.err


@pytest.mark.parametrize("body_schema", [True, False])
def test_a_boolean_request_body_schema_loads(run_cli, tmp_path: Path, body_schema: bool) -> None:
    """The whole body schema may be a boolean too."""
    document = _doc({})
    media = document["paths"]["/v1/gen"]["post"]["requestBody"]["content"]["application/json"]
    media["schema"] = body_schema
    result = run_cli("--spec", str(_write(tmp_path, "b.json", document)), "spec", "show")
    assert result.code == 0, result.err


# ---------------------------------------------------------------------------- branch shapes


def _shapes_spec() -> dict[str, Any]:
    """One endpoint per valid branch shape that used to hide every model of its endpoint."""
    def branch(model: Any, **props: Any) -> dict[str, Any]:
        return {"type": "object", "required": ["model"],
                "properties": {"model": model, **props}}

    def endpoint(schema: dict[str, Any]) -> dict[str, Any]:
        return {"post": {"requestBody": {"required": True, "content": {
            "application/json": {"schema": schema}}},
            "responses": {"200": {"description": "ok"}}}}

    x = {"type": "string", "const": "x"}
    return {
        "openapi": "3.1.0", "info": {"title": "shapes", "version": "1"},
        "servers": [{"url": "https://api.example.test"}],
        "paths": {
            # model: enum [a, b] in one branch, beside an ordinary one
            "/v1/multi": endpoint({"oneOf": [
                branch({"type": "string", "enum": ["a", "b"]}, n={"type": "integer"}), branch(x)]}),
            # a branch that pins no model, beside a pinned one
            "/v1/open": endpoint({"oneOf": [
                branch(x, n={"type": "integer", "maximum": 3}),
                branch({"type": "string"}, free={"type": "string"})]}),
            # a nested oneOf
            "/v1/nested": endpoint({"oneOf": [
                {"oneOf": [branch({"const": "a"}), branch({"const": "b"})]}, branch(x)]}),
            # $ref with siblings: X's required list holds, and so does the sibling's
            "/v1/sibling": endpoint({"oneOf": [
                {"$ref": "#/components/schemas/X", "required": ["seed"]}, branch(x)]}),
            # two branches for one model: valid if either accepts
            "/v1/twice": endpoint({"oneOf": [
                branch({"const": "a"}, size={"type": "integer"}),
                branch({"const": "a"}, size={"type": "string"})]}),
        },
        "components": {"schemas": {"X": {
            "type": "object", "required": ["model", "prompt"],
            "properties": {"model": {"const": "a"}, "prompt": {"type": "string"},
                           "seed": {"type": "integer"}}}}},
    }


def test_every_branch_shape_shows_its_models(run_cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "shapes.json", _shapes_spec())
    result = run_cli("--spec", str(path), "models", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["endpoints"] == {
        "multi": ["a", "b", "x"], "open": ["x"], "nested": ["a", "b", "x"],
        "sibling": ["a", "x"], "twice": ["a"]}


@pytest.mark.parametrize(("args", "code", "needle"), [
    (("multi", "--model", "b", "--n", "2"), 0, '"model": "b"'),
    (("open", "--model", "x", "--n", "9"), 2, "at most 3"),
    (("open", "--model", "anything-else", "--free", "yes"), 0, '"free": "yes"'),
    (("nested", "--model", "b"), 0, '"model": "b"'),
    (("sibling", "--model", "a", "--prompt", "p"), 2, "seed"),
    (("sibling", "--model", "a", "--seed", "1"), 2, "prompt"),
    (("sibling", "--model", "a", "--seed", "1", "--prompt", "p"), 0, '"seed": 1'),
    (("twice", "--body", '{"model": "a", "size": "big"}'), 0, '"size": "big"'),
    (("twice", "--body", '{"model": "a", "size": 3}'), 0, '"size": 3'),
    (("twice", "--body", '{"model": "a", "size": []}'), 2, "size"),
])
def test_every_branch_shape_is_checked_as_the_spec_says(
    run_cli, tmp_path: Path, args: tuple[str, ...], code: int, needle: str
) -> None:
    """--model is an option on each endpoint; pre-flight applies the branch (or branches)
    the model routes to, the reference's siblings together with its target."""
    path = _write(tmp_path, "shapes.json", _shapes_spec())
    result = run_cli("--spec", str(path), "call", *args, "--dry-run")
    assert result.code == code, result.err
    assert needle in (result.out if code == 0 else result.err)
    assert "Traceback" not in result.err
