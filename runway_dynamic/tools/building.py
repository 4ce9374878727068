"""Building the tools of a catalog: one per model endpoint, then the helpers it supports.

New models in the spec reach agents with no code change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import MODEL_PROPERTY, TASK_ENDPOINT
from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import Catalog, Operation
from runway_dynamic.naming import closest
from runway_dynamic.tools._tool import (
    GENERATE,
    MODELS_SCHEMA,
    TASK_GET,
    TASK_WAIT,
    TOOL_PREFIX,
    UPLOAD,
    UPLOAD_ENDPOINT,
    Tool,
    tool_name,
)
from runway_dynamic.tools.descriptions import field_notes, generation_description, name_models
from runway_dynamic.tools.facts import catalog_of
from runway_dynamic.tools.formats import check_format
from runway_dynamic.tools.union import scrub, union_schema

if TYPE_CHECKING:
    from runway_dynamic.spec import Spec


def build_tools(
    spec: Spec | Catalog, endpoints: Iterable[str] | None = None, *, helpers: bool = True
) -> list[Tool]:
    """Every tool the catalog supports: one per model endpoint, then the helpers.

    ``endpoints`` keeps only those generation tools (unknown names are a :class:`UsageError`).
    """
    catalog = catalog_of(spec)
    available = catalog.endpoints()
    chosen = available if endpoints is None else _check_endpoints(available, endpoints)
    tools: list[Tool] = []
    taken: set[str] = set()
    extra = _helper_tools(catalog) if helpers else []
    reserved = {t.name for t in extra}
    for endpoint in chosen:
        op = catalog.model_operation(endpoint)
        if op is None:  # pragma: no cover - endpoints() lists model operations only
            continue
        name = tool_name(endpoint)
        while name in taken or name in reserved:  # two paths sanitised alike: keep both
            name = name[:60] + "_op"
        taken.add(name)
        tools.append(_generation_tool(name, op))
    return tools + extra


def export_tools(
    spec: Spec | Catalog, format: str, endpoints: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Tool definitions in ``format`` (``openai``, ``anthropic`` or ``mcp``), as JSON data.

    >>> [t["name"] for t in export_tools(spec, "mcp", ["text_to_video"])]
    ['runway_text_to_video', 'runway_task_get', 'runway_task_wait', 'runway_models_schema', ...]
    """
    check_format(format)
    return [tool.to_format(format) for tool in build_tools(spec, endpoints)]


def find_tool(spec: Spec | Catalog, name: str) -> Tool:
    """The tool called ``name``; a :class:`UsageError` naming the closest ones otherwise."""
    return lookup({t.name: t for t in build_tools(spec)}, name)


def lookup(tools: Mapping[str, Tool], name: str) -> Tool:
    """``tools[name]``; a :class:`UsageError` naming the closest ones otherwise."""
    if name in tools:
        return tools[name]
    near = closest(name, tools)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise UsageError(f"unknown tool {name!r}{hint}")


def _check_endpoints(available: Sequence[str], wanted: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    for endpoint in wanted:
        name = endpoint.strip().strip("/")
        if name.startswith(TOOL_PREFIX) and name not in available:
            name = next((e for e in available if tool_name(e) == name), name)
        if name not in available:
            near = closest(name, available)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise UsageError(
                f"{endpoint!r} is not a model endpoint of this spec{hint} "
                f"(endpoints: {', '.join(available)})"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _generation_tool(name: str, op: Operation) -> Tool:
    variants = [v for v in op.variants if v.key is not None]
    models = [str(v.key) for v in variants]
    order: list[str] = []
    by_field: dict[str, dict[str, Any]] = {}  # field -> {model: Field}
    for variant in variants:
        for f in variant.fields:
            if f.name == MODEL_PROPERTY:
                continue
            if f.name not in by_field:
                order.append(f.name)
                by_field[f.name] = {}
            by_field[f.name][str(variant.key)] = f
    properties: dict[str, Any] = {
        MODEL_PROPERTY: {
            "type": "string",
            "enum": models,
            "description": "The model to run. It decides which other fields apply and which "
            "values they take; runway_models_schema gives one model's exact fields.",
        }
    }
    required = [MODEL_PROPERTY]
    partly_required: list[str] = []
    differing: list[str] = []
    for fname in order:
        per_model = by_field[fname]
        schema = union_schema([scrub(f.schema) for f in per_model.values()])
        notes = field_notes(fname, per_model, models)
        if notes.differs:
            differing.append(fname)
        if notes.text:
            schema = {**schema, "description": notes.text}
        properties[fname] = schema
        requiring = [m for m, f in per_model.items() if f.required]
        if len(requiring) == len(models):
            required.append(fname)
        elif requiring:
            partly_required.append(f"{fname} ({name_models(requiring, models)})")
    parameters = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return Tool(name, generation_description(op, models, partly_required, differing),
                parameters, GENERATE, op.endpoint)


def _helper_tools(catalog: Catalog) -> list[Tool]:
    tools: list[Tool] = []
    task_op = catalog.operation(TASK_ENDPOINT, "GET")
    if task_op is not None:
        id_param = next((p for p in task_op.params("path")), None)
        id_schema = scrub(id_param.schema) if id_param else {"type": "string"}
        id_schema = {**id_schema, "description": "The task id a generation call returned."}
        tools.append(Tool(
            "runway_task_get",
            "Look up a Runway task once: its status (PENDING, THROTTLED, RUNNING, SUCCEEDED, "
            "FAILED or CANCELLED), progress, and output URLs when it has succeeded.",
            {"type": "object", "properties": {"taskId": id_schema}, "required": ["taskId"],
             "additionalProperties": False},
            TASK_GET, TASK_ENDPOINT, read_only=True,
        ))
        tools.append(Tool(
            "runway_task_wait",
            "Wait until a Runway task finishes and return its output URLs. Use it for a task "
            "that a generation call left running (it reports status and taskId when its own "
            "wait ran out).",
            {"type": "object", "properties": {
                "taskId": id_schema,
                "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0,
                                   "description": "Give up after this many seconds."},
            }, "required": ["taskId"], "additionalProperties": False},
            TASK_WAIT, TASK_ENDPOINT, read_only=True,
        ))
    endpoints = catalog.endpoints()
    if endpoints:
        tools.append(Tool(
            "runway_models_schema",
            "Show what one model accepts: for each endpoint serving it, the required and "
            "optional fields with types, allowed values and limits, and its ratios. Answers "
            "from the local spec; no request is made.",
            {"type": "object", "properties": {
                "model": {"type": "string", "enum": catalog.models(),
                          "description": "The model id."},
                "endpoint": {"type": "string", "enum": endpoints,
                             "description": "Only this endpoint (default: every endpoint "
                             "serving the model)."},
            }, "required": ["model"], "additionalProperties": False},
            MODELS_SCHEMA, None, read_only=True,
        ))
    if catalog.operation(UPLOAD_ENDPOINT, "POST") is not None:
        tools.append(Tool(
            "runway_upload",
            "Upload a local file (image, video or audio) to Runway and return a runway:// "
            "URI that generation tools accept wherever they take a media URL.",
            {"type": "object", "properties": {
                "path": {"type": "string", "minLength": 1,
                         "description": "Path of a local file readable by this process."},
            }, "required": ["path"], "additionalProperties": False},
            UPLOAD, UPLOAD_ENDPOINT,
        ))
    return tools
