"""Tool definitions: the published shape of each format, spec-derived content, no prose.

The three shape schemas below are written from the public documentation of each format:
- OpenAI Chat Completions ``tools``: ``{"type": "function", "function": {"name",
  "description", "parameters", "strict"?}}``, names ``^[a-zA-Z0-9_-]{1,64}$``.
- Anthropic Messages ``tools`` (client tools): ``{"name", "description", "input_schema"}``,
  ``input_schema`` a JSON Schema object with ``type: "object"``, names ``^[a-zA-Z0-9_-]{1,64}$``.
- MCP ``Tool`` (schema 2025-06-18): ``{"name", "title"?, "description"?, "inputSchema":
  {"type": "object", "properties"?, "required"?}, "outputSchema"?, "annotations"?, "_meta"?}``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from runway_dynamic._exceptions import UsageError
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.tools import (
    FORMATS,
    build_tools,
    export_tools,
    find_tool,
    model_schema,
    models_overview,
    tool_name,
    union_schema,
)

NAME = {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"}
JSON_SCHEMA_OBJECT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"const": "object"}, "properties": {"type": "object"},
                   "required": {"type": "array", "items": {"type": "string"}}},
}
SHAPES: dict[str, dict[str, Any]] = {
    "openai": {
        "type": "object",
        "required": ["type", "function"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": "function"},
            "function": {
                "type": "object",
                "required": ["name", "parameters"],
                "additionalProperties": False,
                "properties": {
                    "name": NAME,
                    "description": {"type": "string"},
                    "parameters": {"type": "object"},
                    "strict": {"type": ["boolean", "null"]},
                },
            },
        },
    },
    "anthropic": {
        "type": "object",
        "required": ["name", "input_schema"],
        "additionalProperties": False,
        "properties": {
            "name": NAME,
            "description": {"type": "string"},
            "input_schema": JSON_SCHEMA_OBJECT,
            "type": {"enum": ["custom"]},
            "cache_control": {"type": ["object", "null"]},
        },
    },
    "mcp": {
        "type": "object",
        "required": ["name", "inputSchema"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,128}$"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "inputSchema": JSON_SCHEMA_OBJECT,
            "outputSchema": JSON_SCHEMA_OBJECT,
            "annotations": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "title": {"type": "string"},
                    "readOnlyHint": {"type": "boolean"},
                    "destructiveHint": {"type": "boolean"},
                    "idempotentHint": {"type": "boolean"},
                    "openWorldHint": {"type": "boolean"},
                },
            },
            "_meta": {"type": "object"},
        },
    },
}
PARAMETERS_KEY = {"openai": ("function", "parameters"), "anthropic": ("input_schema",),
                  "mcp": ("inputSchema",)}
NEW_MODEL = "zz_test_model9"


def _parameters(fmt: str, tool: dict[str, Any]) -> dict[str, Any]:
    node: Any = tool
    for key in PARAMETERS_KEY[fmt]:
        node = node[key]
    return node


def _name(fmt: str, tool: dict[str, Any]) -> str:
    return tool["function"]["name"] if fmt == "openai" else tool["name"]


def _spec_with_new_model() -> Spec:
    """The bundled spec plus one text_to_video model the code has never seen."""
    document = orjson.loads(bundled_spec_path().read_bytes())
    body = document["paths"]["/v1/text_to_video"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    schema["oneOf"].append({
        "type": "object",
        "properties": {
            "model": {"type": "string", "const": NEW_MODEL},
            "promptText": {"type": "string", "minLength": 1, "maxLength": 50},
            "ratio": {"type": "string", "enum": ["1234:567", "1280:720"]},
            "frames": {"type": "integer", "minimum": 1, "maximum": 9},
        },
        "required": ["model", "promptText", "frames"],
    })
    return Spec.from_bytes(orjson.dumps(document), "<synthetic>")


@pytest.fixture(scope="module")
def synthetic_spec() -> Spec:
    return _spec_with_new_model()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("which", ["bundled", "synthetic"])
def test_every_export_matches_the_published_shape(
    fmt: str, which: str, bundled_spec: Spec, synthetic_spec: Spec
) -> None:
    """Each tool fits its format's shape; each parameters block is itself a valid schema."""
    spec = bundled_spec if which == "bundled" else synthetic_spec
    tools = export_tools(spec, fmt)
    shape = Draft202012Validator(SHAPES[fmt])
    Draft202012Validator.check_schema(SHAPES[fmt])
    for tool in tools:
        errors = [e.message for e in shape.iter_errors(tool)]
        assert not errors, (_name(fmt, tool), errors)
        Draft202012Validator.check_schema(_parameters(fmt, tool))
    names = [_name(fmt, t) for t in tools]
    assert len(names) == len(set(names))
    expected = {tool_name(e) for e in spec.catalog.endpoints()}
    assert expected <= set(names)
    assert {"runway_task_get", "runway_task_wait", "runway_models_schema",
            "runway_upload"} <= set(names)
    json.dumps(tools)  # plain JSON data


def test_mcp_export_is_accepted_by_the_mcp_sdk_tool_model(bundled_spec: Spec) -> None:
    """The SDK's own Tool model (pydantic) parses every exported MCP tool unchanged."""
    import mcp.types as mcp_types

    for tool in export_tools(bundled_spec, "mcp"):
        parsed = mcp_types.Tool.model_validate(tool)
        assert parsed.input_schema == tool["inputSchema"]


def test_a_new_model_reaches_the_enum_with_no_code_change(synthetic_spec: Spec) -> None:
    for fmt in FORMATS:
        tool = next(t for t in export_tools(synthetic_spec, fmt, ["text_to_video"])
                    if _name(fmt, t) == "runway_text_to_video")
        params = _parameters(fmt, tool)
        assert NEW_MODEL in params["properties"]["model"]["enum"]
        assert "1234:567" in params["properties"]["ratio"]["enum"]  # its ratio joins the union
        frames = params["properties"]["frames"]  # its own field appears, typed and bounded
        assert (frames["type"], frames["minimum"], frames["maximum"]) == ("integer", 1, 9)
        assert NEW_MODEL in frames["description"]
        assert "frames" not in params["required"]  # only one model requires it...
        assert f"frames ({NEW_MODEL})" in tool.get("description", tool.get("function", {})
                                                  .get("description", ""))  # ...and says so
    assert model_schema(synthetic_spec, NEW_MODEL)["endpoints"]["text_to_video"]["required"] == [
        "promptText", "frames"]


def test_generation_tools_follow_the_catalog(bundled_spec: Spec) -> None:
    """Enum = the endpoint's models; every model's ratios and required fields are covered."""
    catalog = bundled_spec.catalog
    tools = {t.endpoint: t for t in build_tools(bundled_spec) if t.action == "generate"}
    assert list(tools) == catalog.endpoints()
    for endpoint, tool in tools.items():
        props = tool.parameters["properties"]
        models = catalog.models(endpoint)
        assert props["model"]["enum"] == models
        variants = [catalog.variant(endpoint, m) for m in models]
        fields = {f.name for v in variants if v for f in v.fields}
        assert set(props) == fields | {"model"}
        for variant in variants:
            assert variant is not None
            assert set(tool.parameters["required"]) <= set(variant.required)
            if variant.ratios is not None:
                closed = all(v.ratios is not None for v in variants if "ratio" in v.field_map)
                # a model with free-form ratios leaves the union open (no enum), never narrower
                assert ("enum" in props["ratio"]) == closed
                assert not closed or set(variant.ratios) <= set(props["ratio"]["enum"])
            for name in variant.required:
                partly = name not in tool.parameters["required"]
                assert not partly or name in tool.description, (endpoint, name)


def test_partly_required_field_is_explained_from_the_catalog(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    tool = find_tool(bundled_spec, "runway_text_to_video")
    models = catalog.models("text_to_video")
    needing = [m for m in models if "ratio" in catalog.variant("text_to_video", m).required]
    assert 0 < len(needing) < len(models), "the snapshot should have a partly required ratio"
    assert f"ratio ({', '.join(needing)})" in tool.description
    note = tool.parameters["properties"]["ratio"]["description"]
    for model in models:
        ratios = catalog.ratios("text_to_video", model)
        if ratios:
            assert f"{', '.join(ratios)} (" in note  # each model's own list is spelled out


def test_descriptions_stay_compact(bundled_spec: Spec) -> None:
    """OpenAI refuses function descriptions over 1024 characters; stay well inside."""
    for tool in build_tools(bundled_spec):
        assert 0 < len(tool.description) <= 1024, tool.name


def test_no_runway_prose_is_copied(official_spec: Spec) -> None:
    """No description or summary sentence of the official spec appears in any export."""
    prose: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary", "title") and isinstance(value, str):
                    prose.add(value.strip())
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(official_spec.document.document)
    sentences = {p for p in prose if len(p) >= 25 and " " in p}  # sentences, not ids
    assert sentences
    for fmt in FORMATS:
        text = json.dumps(export_tools(official_spec, fmt))
        copied = [s for s in sentences if json.dumps(s)[1:-1] in text]
        assert not copied, copied[:3]


def test_endpoint_filter_and_errors(bundled_spec: Spec) -> None:
    tools = export_tools(bundled_spec, "anthropic", ["text_to_image", "runway_image_to_video"])
    names = [t["name"] for t in tools]
    assert names[:2] == ["runway_text_to_image", "runway_image_to_video"]
    assert not any(n in names for n in ("runway_text_to_video", "runway_sound_effect"))
    with pytest.raises(UsageError, match="text_to_video"):
        export_tools(bundled_spec, "openai", ["text_to_vidoe"])
    with pytest.raises(UsageError, match="openai, anthropic, mcp"):
        export_tools(bundled_spec, "gemini")
    with pytest.raises(UsageError, match="runway_text_to_video"):
        find_tool(bundled_spec, "runway_text_to_vide")


def test_exports_are_independent_copies(bundled_spec: Spec) -> None:
    first = export_tools(bundled_spec, "mcp")
    first[0]["inputSchema"]["properties"].clear()
    assert export_tools(bundled_spec, "mcp")[0]["inputSchema"]["properties"]


def test_models_schema_and_overview_come_from_the_catalog(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    model = next(m for m in catalog.models() if len(catalog.endpoints_for(m)) > 1)
    facts = model_schema(bundled_spec, model)
    assert list(facts["endpoints"]) == catalog.endpoints_for(model)
    for endpoint, summary in facts["endpoints"].items():
        variant = catalog.variant(endpoint, model)
        assert summary["required"] == [n for n in variant.required if n != "model"]
        assert summary["ratios"] == catalog.ratios(endpoint, model)
    with pytest.raises(UsageError, match="did you mean"):
        model_schema(bundled_spec, model + "x")
    overview = models_overview(bundled_spec)
    assert overview["endpoints"] == {e: catalog.models(e) for e in catalog.endpoints()}
    assert set(overview["models"]) == set(catalog.models())


# ---------------------------------------------------------------------- union property

_scalar_schemas = st.one_of(
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-50, 50), st.integers(0, 50)),
    st.builds(lambda vals: {"type": "string", "enum": vals},
              st.lists(st.sampled_from(["a", "b", "16:9", "1:1", "x"]), min_size=1,
                       unique=True)),
    st.builds(lambda lo, span: {"type": "string", "minLength": lo, "maxLength": lo + span},
              st.integers(0, 5), st.integers(0, 5)),
    st.builds(lambda vals: {"type": "number", "enum": vals},
              st.lists(st.sampled_from([4, 6, 8, 2.5]), min_size=1, unique=True)),
)
_schemas = st.one_of(
    _scalar_schemas,
    st.builds(lambda item, n: {"type": "array", "items": item, "maxItems": n},
              _scalar_schemas, st.integers(0, 4)),
    st.builds(lambda props, closed: {"type": "object", "properties": props,
                                     "required": sorted(props)[:1],
                                     **({"additionalProperties": False} if closed else {})},
              st.dictionaries(st.sampled_from(["uri", "tag", "n"]), _scalar_schemas,
                              min_size=1, max_size=3), st.booleans()),
)


def _instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    if kind == "string":
        return st.text("ab:", min_size=schema["minLength"], max_size=schema["maxLength"])
    if kind == "array":
        return st.lists(_instances(schema["items"]), max_size=schema["maxItems"])
    props = schema["properties"]
    required = schema["required"]
    return st.fixed_dictionaries(
        {k: _instances(v) for k, v in props.items() if k in required},
        optional={k: _instances(v) for k, v in props.items() if k not in required},
    )


@settings(max_examples=80, deadline=None, database=None)
@given(st.lists(_schemas, min_size=1, max_size=4), st.data())
def test_union_schema_never_refuses_a_value_one_input_accepts(
    schemas: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Property: for any inputs, a value valid under one of them is valid under the union."""
    merged = union_schema(copy.deepcopy(schemas))
    Draft202012Validator.check_schema(merged)
    pick = data.draw(st.sampled_from(schemas))
    value = data.draw(_instances(pick))
    assert Draft202012Validator(pick).is_valid(value)
    assert Draft202012Validator(merged).is_valid(value), (merged, value)


def test_agent_modules_stay_light_and_below_the_cli() -> None:
    """tools/mcp_server never import the CLI; importing them pulls in no heavy library.

    The SDK, httpx and jsonschema load only when a server starts or a call runs.
    """
    import subprocess
    import sys

    code = (
        "import sys, runway_dynamic.tools, runway_dynamic.mcp_server; "
        "print(','.join(m for m in ('httpx','jsonschema','openapi_core','typer','rich','mcp',"
        "'runway_dynamic.cli','runway_dynamic.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_an_open_enum_is_described_with_its_values_and_that_others_pass() -> None:
    """Agents see an open enum's known values and that other values pass too, beside a
    model whose set is closed."""
    from runway_dynamic.catalog import Field
    from runway_dynamic.tools.descriptions import field_notes

    open_style = Field("style", False, {"anyOf": [{"enum": ["noir", "pastel"]},
                                                  {"type": "string"}]})
    closed_style = Field("style", False, {"enum": ["noir"]})
    notes = field_notes("style", {"a": open_style, "b": closed_style}, ["a", "b"])
    assert "noir, pastel or other values (a)" in notes.text and "noir (b)" in notes.text
