"""Resource commands: every operation of the bundled spec is a command that builds the
right request, and the CRUD round trips work against the sandbox."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jsonschema
import pytest
from commands_support import Result, Runner, check_golden
from help_support import assert_only_rewrapped

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic.catalog import Operation
from runway_dynamic.cli import _registry
from runway_dynamic.cli._context import Invocation
from runway_dynamic.cli.resources import command_options, command_table, paging
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec


def _operations(spec: Spec) -> list[tuple[tuple[str, str], Operation]]:
    return list(command_table(spec.catalog).items())


def _ids(spec_ops: list[tuple[tuple[str, str], Operation]]) -> list[str]:
    return [" ".join(path) for path, _ in spec_ops]


BUNDLED = Spec.load(None)
OPERATIONS = _operations(BUNDLED)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def minimal_arguments(op: Operation) -> tuple[list[str], dict[str, str], dict[str, str], Any]:
    """CLI words for ``op`` with valid minimal values (from the schema), and what the request
    must carry: path values, query values, body."""
    words: list[str] = []
    path_values: dict[str, str] = {}
    for index, segment in enumerate(op.endpoint.split("/")):
        if segment.startswith("{"):
            value = f"p{index}-x"
            path_values[segment[1:-1]] = value
            words.append(value)
    flags = {(s.location, s.name): s.flag for s in command_options(op).fields}
    query: dict[str, str] = {}
    for param in op.params("query"):
        if param.required:
            value = _text(example(param.schema))
            query[param.name] = value
            words += [flags[("query", param.name)], value]
    body = None
    if op.variants:
        variant = op.variants[0]
        body = example(variant.schema)
        words += ["--body", json.dumps(body)]
    return words, path_values, query, body


def test_every_operation_has_a_derived_command_in_the_registry() -> None:
    invocation = Invocation()
    derived = _registry.derived(invocation)
    for path, _op in OPERATIONS:
        found, size = _registry.match(list(path), derived)
        assert found is not None and size == len(path), path
    assert len(OPERATIONS) == len(BUNDLED.catalog.operations) == 64


@pytest.mark.parametrize(("path", "op"), OPERATIONS, ids=_ids(OPERATIONS))
def test_every_operation_help_and_dry_run(cli: Runner, path: tuple[str, str],
                                          op: Operation, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """`--help` works and `--dry-run` with minimal valid arguments is the right request."""
    shown = cli(*path, "--help")
    assert shown.code == 0, shown.err
    assert f"Usage: runway {' '.join(path)}" in shown.out
    assert_only_rewrapped(lambda: cli(*path, "--help").out, monkeypatch)
    words, path_values, query, body = minimal_arguments(op)
    result = cli(*path, *words, "--dry-run", "--json")
    assert result.code == 0, result.err
    request = json.loads(result.out)
    assert request["method"] == op.method
    url = urlsplit(request["url"])
    expected_path = op.path
    for name, value in path_values.items():
        expected_path = expected_path.replace("{" + name + "}", quote(value, safe=""))
    assert url.path == expected_path
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == query
    assert request.get("body") == body


@pytest.mark.parametrize("path", [("avatars", "list"), ("workflows", "run"),
                                  ("voices", "preview")], ids=" ".join)
def test_help_in_a_real_process(run_cli: Runner, path: tuple[str, str]) -> None:
    result = run_cli(*path, "--help")
    assert result.code == 0, result.err
    assert "--dry-run" in result.out and "--format" in result.out


def test_golden_help_of_a_resource_command(run_cli: Runner) -> None:
    result = run_cli("documents", "list", "--help")
    assert result.code == 0
    check_golden("documents_list_help.txt", result.out)


def test_group_help_lists_the_verbs_and_unknown_verbs_suggest(cli: Runner) -> None:
    shown = cli("voices", "--help")
    assert shown.code == 0
    for verb in ("list", "create", "get", "update", "delete", "preview"):
        assert f"voices {verb}" in shown.out
    wrong = cli("voices", "lsit")
    assert wrong.code == 2
    assert "voices list" in wrong.err


def test_top_level_help_lists_every_resource(cli: Runner) -> None:
    shown = cli("--help")
    assert shown.code == 0
    resources = {path[0] for path, _ in OPERATIONS}
    section = shown.out.split("Resources (")[1]
    listed = {line.split()[0] for line in section.splitlines()[1:]
              if line.startswith("  ") and not line.startswith("   ")}
    assert resources <= listed


def test_path_params_are_positional_and_required(cli: Runner) -> None:
    missing = cli("avatars", "get", "--dry-run")
    assert missing.code == 2
    assert "ID" in missing.err
    given = cli("avatars", "get", "a b", "--dry-run", "--json")
    assert json.loads(given.out)["url"].endswith("/v1/avatars/a%20b")


def test_reference_aliases_build_the_same_request(cli: Runner) -> None:
    pairs = [(["avatar", "get", "x"], ["avatars", "get", "x"]),
             (["workflow", "invocation", "x"], ["workflow-invocations", "get", "x"]),
             (["workflow", "run", "x"], ["workflows", "run", "x"]),
             (["account"], ["organization", "get"]),
             (["realtime", "delete", "x"], ["realtime-sessions", "delete", "x"]),
             (["document", "list", "--limit", "2"], ["documents", "list", "--limit", "2"])]
    for alias, canonical in pairs:
        a = cli(*alias, "--dry-run", "--json")
        b = cli(*canonical, "--dry-run", "--json")
        assert a.code == b.code == 0, (alias, a.err, b.err)
        assert a.out == b.out


def test_body_flags_merge_over_body_and_enum_query_values_are_checked(cli: Runner) -> None:
    result = cli("documents", "create", "--body", '{"name": "a", "content": "b"}',
                 "--name", "override", "--dry-run", "--json")
    assert json.loads(result.out)["body"] == {"name": "override", "content": "b"}
    bad = cli("documents", "list", "--limit", "5", "--sort", "nope", "--order", "asc",
              "--dry-run")
    assert bad.code == 2
    assert "--sort" in bad.err


def test_paging_is_read_from_the_spec() -> None:
    op = command_table(BUNDLED.catalog)[("voices", "list")]
    found = paging(op)
    assert found is not None
    assert (found.cursor, found.next, found.items, found.has_more) == (
        "cursor", "nextCursor", "data", "hasMore")
    assert paging(command_table(BUNDLED.catalog)[("workflows", "list")]) is None


# --------------------------------------------------------------------------- sandbox


def _json(result: Result) -> Any:
    assert result.code == 0, result.err
    return json.loads(result.out)


def _conforms(path: tuple[str, str], data: Any) -> None:
    schema = command_table(BUNDLED.catalog)[path].success_schema()
    assert schema is not None
    jsonschema.validate(data, schema)


CREATE = {
    "avatars": ["--name", "Ava", "--reference-image", "https://example.com/face.png",
                "--personality", "Calm and helpful.",
                "--voice", '{"type": "runway-live-preset", "presetId": "victoria"}'],
    "documents": ["--name", "notes", "--content", "hello"],
    "voices": ["--name", "Narrator"],  # --from: the schema's example value
}


@pytest.mark.parametrize("resource", ["avatars", "documents", "voices"])
def test_round_trip_create_list_get_update_delete(cli: Runner, api: Any,
                                                  resource: str) -> None:
    table = command_table(BUNDLED.catalog)
    create_args = list(CREATE[resource])
    create_op = table[(resource, "create")]
    if create_op.variants:  # fill whatever else the spec requires, from the schema
        given = {a for a in create_args if a.startswith("--")}
        flags = {s.name: s for s in command_options(create_op).fields}
        for name in create_op.variants[0].required:
            if flags[name].flag not in given:
                create_args += [flags[name].flag, _text(example(
                    create_op.variants[0].field_map[name].schema))]
    created = _json(cli(resource, "create", *create_args, "--json"))
    _conforms((resource, "create"), created)
    ident = created["id"]
    listed = _json(cli(resource, "list", "--limit", "50", "--json"))
    _conforms((resource, "list"), listed)
    assert ident in [item["id"] for item in listed["data"]]
    got = _json(cli(resource, "get", ident, "--json"))
    _conforms((resource, "get"), got)
    updated = cli(resource, "update", ident, "--name", "renamed", "--json")
    assert updated.code == 0, updated.err
    if updated.out.strip():
        _conforms((resource, "update"), json.loads(updated.out))
    again = _json(cli(resource, "get", ident, "--json"))
    assert again["name"] == "renamed"
    deleted = cli(resource, "delete", ident, "--json")
    assert deleted.code == 0 and deleted.out == ""
    gone = cli(resource, "get", ident, "--json")
    assert gone.code == 1
    assert json.loads(gone.err.strip().splitlines()[-1])["status"] == 404


def test_all_follows_the_cursor_to_the_last_page(cli: Runner, api: Any) -> None:
    made = [_json(cli("documents", "create", "--name", f"d{i}", "--content", "x", "--json"))
            ["id"] for i in range(3)]
    one = _json(cli("documents", "list", "--limit", "1", "--sort", "createdAt", "--order",
                    "asc", "--json"))
    assert len(one["data"]) == 1 and one["hasMore"] is True
    every = _json(cli("documents", "list", "--limit", "1", "--sort", "createdAt", "--order",
                      "asc", "--all", "--json"))
    ids = [item["id"] for item in every["data"]]
    assert set(made) <= set(ids) and len(ids) == len(set(ids))
    assert every["hasMore"] is False
    _conforms(("documents", "list"), every)


def test_output_formats_yaml_and_table(cli: Runner, api: Any) -> None:
    import yaml

    _json(cli("documents", "create", "--name", "shown", "--content", "x", "--json"))
    as_yaml = cli("documents", "list", "--limit", "50", "--format", "yaml")
    assert as_yaml.code == 0
    assert any(d["name"] == "shown" for d in yaml.safe_load(as_yaml.out)["data"])
    table = cli("documents", "list", "--limit", "50", "--format", "table")
    assert table.code == 0
    header = table.out.splitlines()[0]
    assert "id" in header and "name" in header
    assert "shown" in table.out
    tree = cli("organization", "get", "--format", "table")
    assert tree.code == 0 and tree.out.startswith("result")
    bad = cli("documents", "list", "--limit", "5", "--format", "xml")
    assert bad.code == 2 and "--format" in bad.err
    # -o is never the format: on every command that has it, it is the path written.
    assert cli("documents", "list", "--limit", "5", "-o", "yaml").code == 2


def test_json_output_passes_openapi_core_response_validation(cli: Runner, api: Any) -> None:
    """One cross-check with openapi-core on the bundled document (besides jsonschema)."""
    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    document = json.loads(BUNDLED.document.data)
    openapi = OpenAPI.from_dict(_without_discriminators(document),
                                config=Config(spec_validator_cls=None))
    out = cli("documents", "list", "--limit", "10", "--sort", "createdAt", "--order", "desc",
              "--json")
    data = _json(out)
    version = BUNDLED.catalog.operations[0].constant_headers
    request = MockRequest(BUNDLED.catalog.servers[0], "get", "/v1/documents",
                          args={"limit": "10", "sort": "createdAt", "order": "desc"},
                          headers=dict(version))
    response = MockResponse(json.dumps(data).encode(), status_code=200)
    openapi.validate_response(request, response)


def _without_discriminators(node: Any) -> Any:
    """openapi-core resolves a mapping-less discriminator by schema name; the spec inlines."""
    if isinstance(node, dict):
        return {k: _without_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_without_discriminators(v) for v in node]
    return node


# --------------------------------------------------------------------------- newer specs


def test_a_new_operation_in_a_newer_spec_is_a_new_command(cli: Runner, tmp_path: Path) -> None:
    document = copy.deepcopy(json.loads(BUNDLED.document.data))
    version_ref = next(p for p in document["paths"]["/v1/documents"]["get"]["parameters"]
                       if "$ref" in p or p.get("in") == "header")
    document["paths"]["/v1/storyboards/{id}/frames"] = {"post": {
        "parameters": [version_ref,
                       {"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["caption"],
            "properties": {"caption": {"type": "string"},
                           RATIO_PROPERTY: {"type": "string", "enum": ["16:9", "9:16"]}}}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"frame": {"type": "integer"}}}}}}},
    }}
    spec = tmp_path / "newer.json"
    spec.write_text(json.dumps(document), encoding="utf-8")
    shown = cli("--spec", str(spec), "storyboards", "frames", "--help")
    assert shown.code == 0, shown.err
    assert "--caption" in shown.out and "16:9" in shown.out
    sent = cli("--spec", str(spec), "storyboards", "frames", "sb1", "--caption", "hello",
               "--dry-run", "--json")
    request = json.loads(sent.out)
    assert request["method"] == "POST"
    assert request["url"].endswith("/v1/storyboards/sb1/frames")
    assert request["body"] == {"caption": "hello"}
    bad = cli("--spec", str(spec), "storyboards", "frames", "sb1", "--ratio", "1:1",
              "--dry-run")
    assert bad.code == 2
    listed = cli("--spec", str(spec), "--help")
    assert "storyboards" in listed.out
    assert cli("storyboards", "frames", "--help").code == 2  # not in the bundled spec
