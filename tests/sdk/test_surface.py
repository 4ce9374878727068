"""The surface is derived from the spec: names, arguments, signatures, help, results.

No network here: names and arguments are pure functions of the catalog.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any

import httpx
import pytest

from runway_dynamic.naming import python_name
from runway_dynamic.sdk import OFFICIAL_NAMES, Result, place_operations
from runway_dynamic.sdk._arguments import NOT_GIVEN, Arguments
from runway_dynamic.sdk._client import Surface
from runway_dynamic.spec import Spec


def _official_routes() -> dict[str, tuple[str, str]]:
    """Every method of the official client, called with placeholder arguments against a
    transport that records where it went: ``{"avatars.get_usage": ("GET", "/v1/…")}``."""
    runwayml = pytest.importorskip("runwayml")
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(200, json={})

    client = runwayml.RunwayML(api_key="k", base_url="http://127.0.0.1:9", max_retries=0,
                               http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    routes: dict[str, tuple[str, str]] = {}

    def walk(obj: Any, prefix: str) -> None:
        for name in dir(obj):
            if name.startswith("_") or name.startswith("with_"):
                continue
            value = getattr(obj, name)
            if type(value).__module__.startswith("runwayml.resources"):
                walk(value, f"{prefix}{name}.")
            elif inspect.ismethod(value) and type(obj).__module__.startswith(
                    "runwayml.resources"):
                params = inspect.signature(value).parameters.values()
                args = {p.name: ("x.png", b"x") if p.name == "file" else "x"
                        for p in params if p.default is inspect.Parameter.empty
                        and p.kind is not inspect.Parameter.VAR_KEYWORD}
                seen.clear()
                # an empty answer need not parse: the request is what we want
                with contextlib.suppress(Exception):
                    value(**args)
                if seen:
                    routes[prefix + name] = seen[0]

    for name in dir(client):
        value = getattr(client, name, None) if not name.startswith("_") else None
        if type(value).__module__.startswith("runwayml.resources"):
            walk(value, f"{name}.")
    return routes


def test_every_official_method_is_there_under_the_same_name(bundled_spec: Spec) -> None:
    """For each method of the official SDK whose operation our spec has, the same dotted
    name reaches the same operation here (found by calling the official SDK, not listed)."""
    routes = _official_routes()
    assert len(routes) > 40, routes
    surface = Surface(bundled_spec)
    by_path = {(p.operation.method, re.sub(r"{[^}]+}", "x", p.operation.path)): p
               for p in place_operations(bundled_spec.catalog)}
    matched, wrong = 0, []
    for name, route in sorted(routes.items()):
        placement = by_path.get(route)
        if placement is None:
            continue  # an operation this spec snapshot does not have
        matched += 1
        found = surface.methods.get(tuple(name.split(".")))
        if found is None or found.operation is not placement.operation:
            wrong.append(f"{name} → {route}: here {placement.name}")
    assert not wrong, "\n".join(wrong)
    assert matched >= 0.9 * len(bundled_spec.catalog.operations)


@pytest.mark.parametrize("which", ["bundled_spec", "official_spec"])
def test_every_operation_has_exactly_one_method(which: str,
                                                request: pytest.FixtureRequest) -> None:
    spec: Spec = request.getfixturevalue(which)
    placements = place_operations(spec.catalog)
    assert len(placements) == len(spec.catalog.operations)
    names = [p.path for p in placements] + [a for p in placements for a in p.aliases]
    assert len(names) == len(set(names))
    namespaces = {path[:i] for path in names for i in range(1, len(path))}
    assert not namespaces & set(names), "a name is both a method and a namespace"
    for placement in placements:
        assert all(part.isidentifier() for part in placement.path), placement.path


def test_official_names_apply_only_to_operations_that_exist(bundled_spec: Spec) -> None:
    have = {(op.method, op.endpoint) for op in bundled_spec.catalog.operations}
    assert set(OFFICIAL_NAMES) <= have


def _arguments(spec: Spec, endpoint: str, method: str) -> Arguments:
    op = spec.catalog.operation(endpoint, method)
    assert op is not None
    return Arguments(op, f"{endpoint}.{method}")


def test_snake_case_arguments_are_sent_under_the_spec_names_nested_too(
        bundled_spec: Spec) -> None:
    args = _arguments(bundled_spec, "text_to_speech", "POST")
    request = args.bind((), {"model": "eleven_multilingual_v2", "prompt_text": "hi",
                             "voice": {"type": "runway-preset", "preset_id": "Maya"}})
    assert request.body == {"model": "eleven_multilingual_v2", "promptText": "hi",
                            "voice": {"type": "runway-preset", "presetId": "Maya"}}
    camel = args.bind((), {"model": "eleven_multilingual_v2", "promptText": "hi",
                           "voice": {"type": "runway-preset", "presetId": "Maya"}})
    assert camel.body == request.body


def test_free_form_maps_keep_their_keys(bundled_spec: Spec) -> None:
    """A workflow's node outputs are keyed by node ids: nothing to rename there."""
    args = _arguments(bundled_spec, "workflows/{id}", "POST")
    node = "7d1f3a52-6c1e-4b8e-9a3f-2f0c8d9e1a01"
    request = args.bind(("wf",), {"node_outputs": {node: {"some_key": {"type": "text"}}}})
    assert request.path_params == {"id": "wf"}
    assert request.body is not None and list(request.body) == ["nodeOutputs"]
    assert list(request.body["nodeOutputs"]) == [node]


def test_path_parameters_are_positional_and_checked_like_python(bundled_spec: Spec) -> None:
    args = _arguments(bundled_spec, "tasks/{id}", "GET")
    assert args.bind(("abc",), {}).path_params == {"id": "abc"}
    assert args.bind((), {"id": "abc"}).path_params == {"id": "abc"}
    with pytest.raises(TypeError, match="missing required argument: 'id'"):
        args.bind((), {})
    with pytest.raises(TypeError, match="takes 1 positional argument but 2"):
        args.bind(("a", "b"), {})
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        args.bind(("a",), {"colour": "red"})
    with pytest.raises(ValueError, match="id must be non-empty"):
        args.bind(("",), {})


def test_query_parameters_and_extras(bundled_spec: Spec) -> None:
    args = _arguments(bundled_spec, "avatar_conversations", "GET")
    request = args.bind((), {"limit": 5, "start_date": "2026-01-01",
                             "extra_query": {"x": 1}, "extra_headers": {"X-A": "b"},
                             "timeout": 3.0, "cursor": NOT_GIVEN})
    assert request.query == {"limit": 5, "startDate": "2026-01-01", "x": 1}
    assert request.headers == {"X-A": "b"} and request.timeout == 3.0


def test_every_model_has_a_signature_and_help_with_its_python_arguments(
        bundled_spec: Spec) -> None:
    """For every model of every model endpoint: ``signature_for(model)`` has each of its
    fields as a keyword parameter (required ones without default), and help lists them."""
    surface = Surface(bundled_spec)
    checked = 0
    for placement in place_operations(bundled_spec.catalog):
        op = placement.operation
        if not op.is_model_endpoint:
            continue
        args = surface.arguments(placement.path)
        doc = args.doc("x")
        for variant in op.variants:
            assert f"model={variant.key!r}:" in doc
            params = args.signature(variant.key).parameters
            for field in variant.fields:
                param = params[python_name(field.name)]
                assert param.kind is inspect.Parameter.KEYWORD_ONLY
                assert (param.default is inspect.Parameter.empty) == field.required
                assert python_name(field.name) in doc
            checked += 1
    assert checked == sum(len(op.models) for op in bundled_spec.catalog.operations)


def test_preflight_messages_name_python_arguments(bundled_spec: Spec) -> None:
    args = _arguments(bundled_spec, "text_to_speech", "POST")
    body = {"model": "eleven_multilingual_v2", "voice": {"type": "runway-preset"}}
    problems = bundled_spec.preflight("text_to_speech", body)
    messages = [args.describe(p) for p in problems if p.is_error]
    assert any("prompt_text" in m for m in messages), messages
    assert any("preset_id" in m for m in messages), messages
    assert not any("promptText" in m or "presetId" in m or "--" in m for m in messages)


def test_results_read_by_attribute_and_keep_the_json(bundled_spec: Spec) -> None:
    op = bundled_spec.catalog.operation("tasks/{id}", "GET")
    assert op is not None
    data = {"id": "t1", "status": "FAILED", "createdAt": "2026-01-02T03:04:05.000Z",
            "failure": "no", "failureCode": "SAFETY.INPUT.TEXT"}
    task = Result(data, op.success_schema())
    assert (task.id, task.status, task.failure_code) == ("t1", "FAILED", "SAFETY.INPUT.TEXT")
    assert task.created_at.year == 2026
    assert task.to_dict() == data and task.to_dict() is not data
    assert task.to_dict(use_api_names=False)["failure_code"] == "SAFETY.INPUT.TEXT"
    assert task["failureCode"] == "SAFETY.INPUT.TEXT"
    succeeded = Result({"id": "t2", "status": "SUCCEEDED", "output": ["u"]},
                       op.success_schema())
    assert succeeded.failure is None  # the schema names it; this answer left it out
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        _ = succeeded.colour
    assert "failure_code" in dir(task)


def test_free_form_maps_in_answers_are_dicts_and_objects_are_results(
        bundled_spec: Spec) -> None:
    """A map keyed by node ids reads as a dict (as the official SDK gives it); an object
    the schema names properties of reads by attribute."""
    from runway_dynamic.sdk._results import wrap

    op = bundled_spec.catalog.operation("workflow_invocations/{id}", "GET")
    assert op is not None
    node = "7d1f3a52-6c1e-4b8e-9a3f-2f0c8d9e1a01"
    done = wrap({"id": "i1", "status": "SUCCEEDED", "output": {node: ["https://x/y.mp4"]},
                 "createdAt": "2026-01-02T03:04:05.000Z"}, op.success_schema())
    assert isinstance(done, Result) and done.status == "SUCCEEDED"
    assert done.output == {node: ["https://x/y.mp4"]} and type(done.output) is dict
