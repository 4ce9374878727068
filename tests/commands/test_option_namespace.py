"""Every command of every spec in the test corpus has one name per option and reaches every
field: the promise of the command builder (cli/_options.py), checked by enumeration.

The corpus: the bundled spec, Runway's official snapshot when present, the CLI tests' small
specs (fields named like the tool's own options), a newer-spec variant of the bundled one,
and generated specs whose field and parameter names are drawn from the tool's own options.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_corpus import colliding_spec, tiny_spec

from runway_dynamic.catalog import Operation
from runway_dynamic.cli import call, generate, resources
from runway_dynamic.cli._command_names import GENERATE_KINDS, GENERATION_COMMANDS
from runway_dynamic.cli._context import GLOBAL_OPTIONS
from runway_dynamic.cli._options import CommandOptions, run_options
from runway_dynamic.cli._run import runs_task
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

OFFICIAL = Path(__file__).resolve().parents[3] / "shared" / "spec" / "runway-openapi.json"


def _newer_bundled() -> dict[str, Any]:
    """The bundled spec with an operation whose fields are named like call's options."""
    document = copy.deepcopy(json.loads(bundled_spec_path().read_bytes()))
    document["paths"]["/v1/storyboards/{id}/frames"] = {"post": {
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       {"name": "method", "in": "query", "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"method": {"type": "string"},
                                             "list": {"type": "boolean"},
                                             "id": {"type": "string"}}}}}},
        "responses": {"200": {"description": "ok"}}}}
    return document


def _corpus() -> list[Any]:
    specs = [pytest.param(bundled_spec_path().read_bytes(), id="bundled"),
             pytest.param(json.dumps(tiny_spec()).encode(), id="tiny"),
             pytest.param(json.dumps(colliding_spec()).encode(), id="colliding"),
             pytest.param(json.dumps(_newer_bundled()).encode(), id="newer-bundled")]
    if OFFICIAL.is_file():
        specs.append(pytest.param(OFFICIAL.read_bytes(), id="official"))
    return specs


def commands(spec: Spec) -> Iterator[tuple[str, CommandOptions, Operation, bool]]:
    """(label, options, operation, path parameters are arguments) for every command a spec
    makes: ``call`` per operation, the resource command per operation, each generation
    command, and the ``generate --kind`` router per kind."""
    catalog = spec.catalog
    for op in catalog.operations:
        yield f"call {op.method} {op.endpoint}", call.command_options(op), op, False
        as_task = runs_task(op)
        yield f"resource {op.method} {op.endpoint}", resources.command_options(op), op, True
        if as_task:
            assert not op.params("path")
    for path, endpoint in GENERATION_COMMANDS.items():
        op = catalog.model_operation(endpoint) or catalog.operation(endpoint, "POST")
        if op is not None:
            yield " ".join(path), generate.command_options(op, aliases=True), op, True
    kinds = list(GENERATE_KINDS)
    for kind, target in GENERATE_KINDS.items():
        op = catalog.model_operation(GENERATION_COMMANDS[target])
        if op is not None:
            yield f"generate --kind {kind}", generate.command_options(
                op, aliases=True, kinds=kinds), op, True


def _fields(operation: Operation) -> set[tuple[str, str]]:
    """Every (location, name) a request of ``operation`` can carry that a user may set."""
    out = {(p.location, p.name) for p in operation.parameters
           if not (p.location == "header" and p.constant is not None)}
    out |= {("body", f.name) for v in operation.variants for f in v.fields}
    if operation.discriminator and operation.variants:
        out.add(("body", operation.discriminator))
    return out


def check_command(label: str, options: CommandOptions, operation: Operation,
                  path_as_arguments: bool) -> None:
    names = options.names()
    assert len(names) == len(set(names)), (label, sorted(n for n in names
                                                         if names.count(n) > 1))
    reserved = {"--help", "-h", *("--" + g for g in GLOBAL_OPTIONS)}
    own = {n for item in options.own for n in item.names}
    spec_flags = [f.flag for f in options.fields] + [a.flag for a in options.aliases]
    assert not set(spec_flags) & (reserved | own), label
    params = [p.name for p in options.parameters()]
    assert len(params) == len(set(params)), label
    reached = {(f.location, f.name) for f in options.fields}
    if path_as_arguments:
        reached |= {("path", name) for name in options.path_parameters.values()}
    wanted = _fields(operation)
    if label.startswith(("generate", *(" ".join(p) for p in GENERATION_COMMANDS))) or (
            label.startswith("resource") and runs_task(operation)):
        wanted = {w for w in wanted if w[0] != "path"}  # task-creating posts have none
    missing = wanted - reached
    assert not missing, (label, sorted(missing))
    for item in options.fields:  # one flag, and only one, sets each field
        assert options.flag_for(item.name, item.location) == item.flag, (label, item)


@pytest.mark.parametrize("document", _corpus())
def test_every_command_of_every_spec_has_unique_options_and_reaches_every_field(
        document: bytes) -> None:
    spec = Spec.from_bytes(document)
    built = list(commands(spec))
    assert built
    for label, options, operation, path_as_arguments in built:
        check_command(label, options, operation, path_as_arguments)


def test_the_run_options_are_reserved_wherever_a_command_runs_a_task() -> None:
    spec = Spec.from_bytes(json.dumps(colliding_spec()).encode())
    run = {n for item in run_options() for n in item.names}
    for label, options, operation, _ in commands(spec):
        own = {n for item in options.own for n in item.names}
        if runs_task(operation) and not label.startswith("call"):
            assert run <= own, label
        if label.startswith("call"):
            assert (run <= own) is runs_task(operation), label


def test_typer_sees_the_same_unique_options() -> None:
    """The builder's names are what typer parses: one click option per name."""
    import typer
    from typer.main import get_command

    spec = Spec.from_bytes(json.dumps(colliding_spec()).encode())
    for label, options, _, _ in commands(spec):
        app = typer.Typer(add_completion=False)
        app.command(name="x")(options.command(lambda values: 0))
        seen: list[str] = []
        for param in get_command(app).params:
            seen += [*param.opts, *param.secondary_opts]
        flags = [n for n in seen if n.startswith("-")]
        assert len(flags) == len(set(flags)), label
        assert sorted(flags) == sorted(options.names()), label


# --------------------------------------------------------------------------- generated specs

_OWN_WORDS = sorted({"timeout", "list", "wait", "method", "json", "dryRun", "version", "body",
                     "format", "output", "outputDir", "spec", "apiKey", "sandbox", "kind",
                     "all", "soulId", "download", "pollInterval", "help", "noWait", "h",
                     "retryOnInternalError", "retryBackoffSeconds", "prompt", "promptText",
                     "noPrompt", "image", "promptImage", "imageUri"})
_names = st.sampled_from(_OWN_WORDS) | st.from_regex(r"[a-z][a-zA-Z]{0,6}", fullmatch=True)
_kinds = st.sampled_from(["string", "boolean", "integer", "array"])


def _schema(kind: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}} if kind == "array" else {"type": kind}


@st.composite
def generated_specs(draw: st.DrawFn) -> dict[str, Any]:
    """One collection with a POST (a task when it has no item GET) and a paged GET, one item
    path; field and parameter names mostly the tool's own option names."""
    models = draw(st.lists(st.sampled_from(["m1", "m2", "m3"]), min_size=1, max_size=3,
                           unique=True))
    branches = []
    for model in models:
        props = draw(st.dictionaries(_names, _kinds, max_size=8))
        props.pop("model", None)
        branches.append({"type": "object", "required": ["model"], "properties": {
            "model": {"type": "string", "const": model},
            **{n: _schema(k) for n, k in props.items()}}})
    query = draw(st.dictionaries(_names, _kinds, max_size=5))
    headers = draw(st.lists(_names, max_size=2, unique=True))
    with_item = draw(st.booleans())
    answer = {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "string"},
                                         "data": {"type": "array"}}}}}}}
    paths: dict[str, Any] = {"/v1/gen": {
        "post": {"parameters": [{"name": h, "in": "header", "schema": {"type": "string"}}
                                for h in headers],
                 "requestBody": {"content": {"application/json": {"schema": {
                     "oneOf": branches, "discriminator": {"propertyName": "model"}}}}},
                 "responses": answer},
        "get": {"parameters": [{"name": "cursor", "in": "query", "schema": {"type": "string"}},
                               *({"name": n, "in": "query", "schema": _schema(k)}
                                 for n, k in query.items() if n != "cursor")],
                "responses": answer}}}
    if with_item:
        paths["/v1/gen/{genId}"] = {"get": {
            "parameters": [{"name": "genId", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           *({"name": n, "in": "query", "schema": _schema(k)}
                             for n, k in query.items() if n != "genId")],
            "responses": answer}}
    paths["/v1/tasks/{id}"] = {"get": {"parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": answer}}
    return {"openapi": "3.1.0", "info": {"title": "g", "version": "1"},
            "servers": [{"url": "https://api.example.test"}], "paths": paths}


@settings(max_examples=40, deadline=None)
@given(document=generated_specs())
def test_fields_named_like_the_tools_own_options_never_shadow_them_and_stay_reachable(
        document: dict[str, Any]) -> None:
    """For any spec whose fields and parameters are named like the tool's own options (or
    like each other's ``--no-`` forms and short aliases), every command it makes has unique
    option names, keeps its own options, and has a flag for every field."""
    spec = Spec.from_bytes(json.dumps(document).encode())
    for label, options, operation, path_as_arguments in commands(spec):
        check_command(label, options, operation, path_as_arguments)


def test_builder_parameters_are_keyword_options_after_arguments() -> None:
    spec = Spec.from_bytes(json.dumps(colliding_spec()).encode())
    operation = spec.catalog.operation("make", "POST")
    assert operation is not None
    params = call.command_options(operation).parameters()
    kinds = [p.kind for p in params]
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds[1:]) == {inspect.Parameter.KEYWORD_ONLY}


# --------------------------------------------------------------------------- one meaning each


def _declared(annotation: Any) -> tuple[list[str], str | None]:
    """(option strings, metavar) of a typer-annotated parameter; ([], None) otherwise."""
    metadata = getattr(annotation, "__metadata__", ())
    if not metadata or type(metadata[0]).__name__ != "OptionInfo":
        return [], None
    info = metadata[0]
    decls = [d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str)]
    names = [n for decl in decls for n in decl.split("/") if n.startswith("-")]
    return names, info.metavar


def _every_command_parameters() -> Iterator[tuple[str, inspect.Parameter]]:
    """Every option of every command: the static ones from their signatures, the dynamic
    ones as the bundled spec builds them."""
    from runway_dynamic.cli import _registry

    for command in _registry.COMMANDS:
        if not command.dynamic:
            for parameter in inspect.signature(command.load(), eval_str=True).parameters.values():
                yield command.name, parameter
    spec = Spec.from_bytes(bundled_spec_path().read_bytes())
    for label, options, _, _ in commands(spec):
        for parameter in options.parameters():
            yield label, parameter


def test_o_is_always_the_path_written_and_the_format_has_one_name() -> None:
    """``-o`` means one thing on every command: ``--output``, a file or path written (never
    an output directory nor a format); the output format is ``--format`` wherever it is."""
    seen_o = []
    for label, parameter in _every_command_parameters():
        names, metavar = _declared(parameter.annotation)
        if "-o" in names:
            seen_o.append(label)
            assert "--output" in names and metavar in ("FILE", "PATH"), (label, names, metavar)
        if metavar and "yaml" in metavar:
            assert names == ["--format"], (label, names)
        if "--output-dir" in names:
            assert "-o" not in names, label
    assert {"gallery create", "tools export", "batch results", "spec pack"} <= set(seen_o)
