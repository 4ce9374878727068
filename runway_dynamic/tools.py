"""Function-calling tools for LLM apps, derived from the catalog at run time.

One tool per model endpoint (``runway_text_to_video``…), with ``model`` as an enum of that
endpoint's models and every field any of its models accepts; plus helper tools to fetch or
wait for a task, read one model's schema, and upload a local file. New models in the spec
reach agents with no code change.

The parameters schema of a generation tool is the *union* of the models' bodies: loose
enough that no model's valid body is rejected, with per-model facts (who requires a field,
which values each model takes) written into descriptions by this module. The exact,
per-model check is pre-flight, run by :func:`call_tool` before anything is sent.

>>> from runway_dynamic.spec import load_spec
>>> tools = export_tools(load_spec(), "openai")
>>> tools[0]["function"]["name"]
'runway_avatar_videos'

Formats: ``openai`` (Chat Completions ``tools``), ``anthropic`` (Messages ``tools``) and
``mcp`` (``tools/list`` entries).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import DEFAULT_WAIT_TIMEOUT, MODEL_PROPERTY
from runway_dynamic._exceptions import (
    PreflightError,
    RunwayError,
    TaskError,
    TaskFailedError,
    TaskTimeoutError,
    UsageError,
)
from runway_dynamic._refs import PROSE_KEYS
from runway_dynamic.catalog import Catalog, Operation, Variant, schema_choices, schema_kind
from runway_dynamic.naming import closest

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.spec import Spec

FORMATS = ("openai", "anthropic", "mcp")
TOOL_PREFIX = "runway_"

# Helper actions, each one tool; generation tools have action GENERATE.
GENERATE = "generate"
TASK_GET = "task_get"
TASK_WAIT = "task_wait"
MODELS_SCHEMA = "models_schema"
UPLOAD = "upload"

# Where the API keeps tasks and uploads. These are the two fixed resources a generation
# workflow needs beyond the model endpoints; helpers are offered only when the spec has them.
TASK_ENDPOINT = "tasks/{id}"
UPLOAD_ENDPOINT = "uploads"

_NUMERIC_KINDS = {"integer", "number"}
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_SHARED_KEYS = ("pattern", "format", "default", "const", "uniqueItems", "contentEncoding",
                "contentMediaType")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
                  "propertyNames", "unevaluatedProperties", "unevaluatedItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


# --------------------------------------------------------------------------- tool model


@dataclass(frozen=True)
class Tool:
    """One function-calling tool: what an LLM sees, and what :func:`call_tool` runs."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(repr=False)
    action: str = GENERATE
    endpoint: str | None = None
    read_only: bool = False

    def to_format(self, format: str) -> dict[str, Any]:
        """The tool in one of :data:`FORMATS`."""
        schema = json.loads(json.dumps(self.parameters))  # a private copy per export
        if format == "openai":
            return {"type": "function", "function": {
                "name": self.name, "description": self.description, "parameters": schema}}
        if format == "anthropic":
            return {"name": self.name, "description": self.description, "input_schema": schema}
        if format == "mcp":
            return {
                "name": self.name,
                "description": self.description,
                "inputSchema": schema,
                "annotations": {
                    "readOnlyHint": self.read_only,
                    "destructiveHint": False,
                    "idempotentHint": self.read_only,
                    # Generation and upload reach Runway's service; the schema tool does not.
                    "openWorldHint": self.action != MODELS_SCHEMA,
                },
            }
        raise UsageError(f"unknown tool format {format!r}; choose one of: {', '.join(FORMATS)}")


def tool_name(endpoint: str) -> str:
    """``text_to_video`` → ``runway_text_to_video`` (only characters every format accepts)."""
    return (TOOL_PREFIX + re.sub(r"[^A-Za-z0-9_]+", "_", endpoint).strip("_"))[:64]


def build_tools(
    spec: Spec | Catalog, endpoints: Iterable[str] | None = None, *, helpers: bool = True
) -> list[Tool]:
    """Every tool the catalog supports: one per model endpoint, then the helpers.

    ``endpoints`` keeps only those generation tools (unknown names are a :class:`UsageError`).
    """
    catalog = _catalog(spec)
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
    if format not in FORMATS:
        raise UsageError(f"unknown tool format {format!r}; choose one of: {', '.join(FORMATS)}")
    return [tool.to_format(format) for tool in build_tools(spec, endpoints)]


def find_tool(spec: Spec | Catalog, name: str) -> Tool:
    """The tool called ``name``; a :class:`UsageError` naming the closest ones otherwise."""
    tools = {t.name: t for t in build_tools(spec)}
    if name in tools:
        return tools[name]
    near = closest(name, tools)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise UsageError(f"unknown tool {name!r}{hint}")


def _catalog(spec: Spec | Catalog) -> Catalog:
    return spec if isinstance(spec, Catalog) else spec.catalog


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


# --------------------------------------------------------------------------- generation tools


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
        notes = _field_notes(fname, per_model, models)
        if notes.differs:
            differing.append(fname)
        if notes.text:
            schema = {**schema, "description": notes.text}
        properties[fname] = schema
        requiring = [m for m, f in per_model.items() if f.required]
        if len(requiring) == len(models):
            required.append(fname)
        elif requiring:
            partly_required.append(f"{fname} ({_who(requiring, models)})")
    parameters = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return Tool(name, _generation_description(op, models, partly_required, differing),
                parameters, GENERATE, op.endpoint)


def _generation_description(
    op: Operation, models: Sequence[str], partly_required: Sequence[str], differing: Sequence[str]
) -> str:
    kind = op.endpoint.replace("_", " ").replace("/", " ")
    parts = [
        f"Run Runway's {op.endpoint} endpoint ({kind}): submit a task, wait for it and "
        "return its output URLs. The arguments are checked against the chosen model before "
        "anything is sent, so a rejected call costs nothing."
    ]
    if len(models) > 1:
        parts.append(f"{len(models)} models; fields and values depend on the model.")
    if partly_required:
        parts.append("Required by some models only: " + "; ".join(partly_required) + ".")
    if differing:
        parts.append("Values that differ per model (see each field's note): "
                     + ", ".join(differing) + ".")
    parts.append("For a local file, call runway_upload first and pass the runway:// URI.")
    return " ".join(parts)


@dataclass(frozen=True)
class _Notes:
    text: str
    differs: bool


def _field_notes(fname: str, per_model: Mapping[str, Any], models: Sequence[str]) -> _Notes:
    """Our sentence about one field: who takes it, who needs it, what each model allows."""
    sentences: list[str] = []
    present = list(per_model)
    if len(present) < len(models):
        who = _who(present, models)
        sentences.append(f"Not used by {who[len(_EXCEPT):]}." if who.startswith(_EXCEPT)
                         else f"Used by {who} only.")
    requiring = [m for m, f in per_model.items() if f.required]
    if requiring and len(requiring) < len(models):
        sentences.append(f"Required by {_who(requiring, models)}.")
    groups: dict[str, list[str]] = {}
    for model, f in per_model.items():
        groups.setdefault(_constraint(f.schema), []).append(model)
    differs = len(groups) > 1 and any(groups)
    if differs:
        label = "Accepted values" if all(f.choices for f in per_model.values()) else "Limits"
        rendered = [f"{c or 'no fixed limits'} ({', '.join(ms)})" for c, ms in groups.items()]
        sentences.append(f"{label} per model: " + "; ".join(rendered) + ".")
    media = next((f.media for f in per_model.values() if f.media), None)
    if media is not None:
        sentences.append(_media_note(media.schemes))
    if any(f.deprecated for f in per_model.values()):
        deprecated = [m for m, f in per_model.items() if f.deprecated]
        sentences.append(f"Deprecated for {', '.join(deprecated)}.")
    return _Notes(" ".join(sentences), differs)


_EXCEPT = "all models except "


def _who(subset: Sequence[str], models: Sequence[str]) -> str:
    """``a, b`` or ``all models except c`` — whichever is shorter."""
    others = [m for m in models if m not in subset]
    listed = ", ".join(subset)
    if others and len(others) < len(subset):
        excepted = _EXCEPT + ", ".join(others)
        if len(excepted) < len(listed):
            return excepted
    return listed


def _constraint(schema: Mapping[str, Any]) -> str:
    """A short rendering of what one model allows (values, numeric range, length)."""
    choices = schema_choices(schema)
    if choices is not None:
        return ", ".join(str(c) for c in choices)
    parts: list[str] = []
    kind = schema_kind(schema)
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None or high is not None:
        parts.append(_range(low, high))
    if "minLength" in schema or "maxLength" in schema:
        parts.append(_range(schema.get("minLength"), schema.get("maxLength")) + " characters")
    if "minItems" in schema or "maxItems" in schema:
        parts.append(_range(schema.get("minItems"), schema.get("maxItems")) + " items")
    if not parts and kind in _NUMERIC_KINDS:
        parts.append(kind)
    return ", ".join(parts)


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low}-{high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _media_note(schemes: Sequence[str]) -> str:
    forms = []
    for scheme in schemes:
        if scheme == "runway":
            forms.append("a runway:// URI (from runway_upload)")
        elif scheme == "data":
            forms.append("a data: URI")
        else:
            forms.append(f"an {scheme}:// URL")
    return "Takes " + (", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1
                       else forms[0]) + "."


# --------------------------------------------------------------------------- schema union


def scrub(schema: Any) -> Any:
    """A copy of a schema without prose keywords (our descriptions are written here)."""
    if isinstance(schema, list):
        return [scrub(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in PROSE_KEYS or key.startswith("x-") or key == "$schema":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: scrub(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_VALUES:
            out[key] = scrub(value)
        else:
            out[key] = value
    return out


def union_schema(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A schema every value of any of ``schemas`` satisfies (a loose superset).

    Equal schemas stay as they are; enums are united; bounds widen to the loosest; arrays
    and objects merge member by member; anything else becomes an ``anyOf`` of the distinct
    schemas. Never stricter than any input, so no model's valid value is refused.
    """
    distinct = _distinct(schemas)
    if len(distinct) == 1:
        return dict(distinct[0])
    if any(not s for s in distinct):
        return {}
    kinds = {schema_kind(s) for s in distinct}
    scalar = kinds <= _NUMERIC_KINDS or (len(kinds) == 1 and kinds <= {"string", "boolean"})
    if scalar and not any(_has_branches(s) for s in distinct):
        return _union_scalars(distinct, kinds)
    if kinds == {"array"} and not any(_has_branches(s) for s in distinct):
        out = {"type": "array", **_union_common(distinct)}
        items = [s.get("items", {}) for s in distinct]
        if all(isinstance(i, Mapping) for i in items):
            merged = union_schema(items)
            if merged:
                out["items"] = merged
        return out
    if kinds == {"object"} and not any(_has_branches(s) for s in distinct):
        return _union_objects(distinct)
    return {"anyOf": [dict(s) for s in distinct]}


def _distinct(schemas: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    for schema in schemas:
        seen.setdefault(json.dumps(schema, sort_keys=True, default=str), schema)
    return list(seen.values())


def _has_branches(schema: Mapping[str, Any]) -> bool:
    return any(k in schema for k in ("anyOf", "oneOf", "allOf", "not", "if", "$ref"))


def _union_scalars(schemas: Sequence[Mapping[str, Any]], kinds: set[str]) -> dict[str, Any]:
    kind = "number" if kinds == {"integer", "number"} else next(iter(kinds))
    out: dict[str, Any] = {"type": kind}
    out.update(_union_common(schemas))
    out.pop("const", None)
    choices = [schema_choices(s) for s in schemas]
    if all(c is not None for c in choices):
        out["enum"] = list(dict.fromkeys(v for c in choices if c for v in c))
    return out


def _union_common(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Keywords every input shares: the loosest bounds, and equal pattern/format/default."""
    out: dict[str, Any] = {}
    for key in _LOWER_BOUNDS:
        values = [s.get(key) for s in schemas]
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = min(values)  # type: ignore[type-var]
    for key in _UPPER_BOUNDS:
        values = [s.get(key) for s in schemas]
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = max(values)  # type: ignore[type-var]
    for key in _SHARED_KEYS:
        values = [json.dumps(s.get(key), sort_keys=True) for s in schemas]
        if key in schemas[0] and len(set(values)) == 1:
            out[key] = schemas[0][key]
    if all(s.get("deprecated") for s in schemas):
        out["deprecated"] = True
    return out


def _union_objects(schemas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out = {"type": "object", **_union_common(schemas)}
    props: dict[str, list[Mapping[str, Any]]] = {}
    for schema in schemas:
        for name, sub in (schema.get("properties") or {}).items():
            props.setdefault(name, []).append(sub)
    if props:
        out["properties"] = {name: union_schema(subs) for name, subs in props.items()}
    required = [set(s.get("required") or ()) for s in schemas]
    common = [n for n in (schemas[0].get("required") or ()) if all(n in r for r in required)]
    if common:
        out["required"] = common
    if all(s.get("additionalProperties") is False for s in schemas):
        out["additionalProperties"] = False
    return out


# --------------------------------------------------------------------------- helper tools


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


# --------------------------------------------------------------------------- models facts


def model_schema(spec: Spec | Catalog, model: str, endpoint: str | None = None) -> dict[str, Any]:
    """Per endpoint serving ``model``: required and optional fields, their facts, ratios."""
    catalog = _catalog(spec)
    serving = catalog.endpoints_for(model)
    if not serving:
        near = catalog.closest_models(model)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UsageError(f"unknown model {model!r}{hint}")
    if endpoint is not None:
        if endpoint not in serving:
            raise UsageError(
                f"model {model!r} is not served by {endpoint!r}; it is served by "
                f"{', '.join(serving)}"
            )
        serving = [endpoint]
    out: dict[str, Any] = {"model": model, "endpoints": {}}
    for name in serving:
        variant = catalog.variant(name, model)
        if variant is not None:
            out["endpoints"][name] = variant_summary(variant)
    return out


def variant_summary(variant: Variant) -> dict[str, Any]:
    """One (endpoint, model): required/optional names, ratios and each field's facts."""
    fields = {}
    for f in variant.fields:
        if f.name == MODEL_PROPERTY:
            continue
        facts = f.to_dict()
        facts.pop("name", None)
        fields[f.name] = facts
    return {
        "required": [n for n in variant.required if n != MODEL_PROPERTY],
        "optional": [n for n in variant.optional if n != MODEL_PROPERTY],
        "ratios": list(variant.ratios) if variant.ratios is not None else None,
        "fields": fields,
    }


def models_overview(spec: Spec | Catalog) -> dict[str, Any]:
    """The ``runway://models`` resource: endpoints → models, and per model its schemas."""
    catalog = _catalog(spec)
    endpoints = {name: catalog.models(name) for name in catalog.endpoints()}
    models: dict[str, Any] = {}
    for model in catalog.models():
        per_endpoint = {}
        for name in catalog.endpoints_for(model):
            variant = catalog.variant(name, model)
            if variant is None:  # pragma: no cover - endpoints_for lists serving endpoints
                continue
            summary = variant_summary(variant)
            per_endpoint[name] = {k: summary[k] for k in ("required", "optional", "ratios")}
        models[model] = {"endpoints": per_endpoint}
    return {"apiVersion": catalog.api_version, "endpoints": endpoints, "models": models}


# --------------------------------------------------------------------------- errors for tools


def tool_error(exc: BaseException) -> dict[str, Any]:
    """A JSON-ready error a model can act on (which field to fix, whether to retry)."""
    if isinstance(exc, RunwayError):
        out = exc.to_dict()
    else:  # pragma: no cover - adapters pass RunwayErrors; anything else is a bug report
        out = {"error": type(exc).__name__, "message": str(exc)}
    out["hint"] = error_hint(exc)
    return out


def error_hint(exc: BaseException) -> str:
    """What the caller should do next, in one sentence."""
    if isinstance(exc, PreflightError):
        return ("Nothing was sent. Fix the named fields (accepted values are listed) and call "
                "again; runway_models_schema shows the model's full field list.")
    if isinstance(exc, TaskFailedError):
        code = exc.failure_code or ""
        if code.startswith("SAFETY"):
            return "Moderation rejected the task; change the prompt or inputs, do not resubmit."
        if code.startswith("INTERNAL"):
            return "A system-side rejection; resubmitting may succeed (it is a new, billed task)."
        return "The task failed; read the failure before trying again."
    if isinstance(exc, TaskTimeoutError):
        return f"The task is still running; call runway_task_wait with taskId {exc.task_id}."
    if isinstance(exc, TaskError):
        return "The task did not succeed."
    if isinstance(exc, UsageError):
        return "Fix the tool name or arguments as the message says, then call again."
    return "See the message; retrying blindly may create a second billed task."


def render_error(exc: BaseException) -> str:
    """The text of a tool error for a model: the message, each problem, the next step."""
    lines = [str(exc)]
    if isinstance(exc, PreflightError):
        for problem in exc.problems:
            accepted = problem.details.get("accepted") if problem.details else None
            if accepted and problem.field:
                lines.append(f"  field {problem.field!r} accepts: {', '.join(map(str, accepted))}")
    lines.append(error_hint(exc))
    return "\n".join(lines)


# --------------------------------------------------------------------------- dispatching


@dataclass(frozen=True)
class Progress:
    """One poll of a running call: what :func:`call_tool` hands its ``on_progress``."""

    task_id: str
    status: str
    progress: float | None  # 0..1 when the API reports it
    elapsed: float  # seconds since the wait began


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class PlannedCall:
    """A checked tool call: the tool, its arguments, pre-flight warnings, where to poll."""

    tool: Tool
    arguments: Mapping[str, Any]
    warnings: tuple[dict[str, Any], ...] = ()
    #: For generation: the GET endpoint that tracks what the POST created, when the spec
    #: gives the endpoint its own (``realtime_sessions/{id}``); ``None`` means a task.
    resource_endpoint: str | None = None


class Toolbox:
    """The tools of one spec, built once: export them, and check and run calls.

    >>> box = Toolbox(client.spec)
    >>> box.call("runway_text_to_image", {"model": "gen4_image", ...}, client=client)
    {'taskId': '…', 'status': 'SUCCEEDED', 'output': ['https://…'], 'done': True, ...}
    """

    def __init__(self, spec: Spec, endpoints: Iterable[str] | None = None) -> None:
        self.spec = spec
        self.tools = build_tools(spec, endpoints)
        self._by_name = {t.name: t for t in self.tools}

    def export(self, format: str) -> list[dict[str, Any]]:
        if format not in FORMATS:
            raise UsageError(f"unknown tool format {format!r}; choose one of: {', '.join(FORMATS)}")
        return [t.to_format(format) for t in self.tools]

    def get(self, name: str) -> Tool:
        tool = self._by_name.get(name)
        if tool is not None:
            return tool
        near = closest(name, self._by_name)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UsageError(f"unknown tool {name!r}{hint}")

    # ---- pure checks

    def plan(self, name: str, arguments: Any) -> PlannedCall:
        """Check a call without sending anything: :class:`PreflightError` / :class:`UsageError`."""
        tool = self.get(name)
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            kind = type(arguments).__name__
            raise UsageError(f"{name} takes a JSON object of arguments, got {kind}")
        args = dict(arguments)
        if tool.action != GENERATE:
            _check_helper_arguments(tool, args)
            return PlannedCall(tool, args)
        assert tool.endpoint is not None
        from runway_dynamic.validation import errors

        problems = self.spec.preflight(tool.endpoint, args, method="POST")
        blocking = errors(problems)
        if blocking:
            raise PreflightError(tool.endpoint, blocking)
        warnings = tuple(p.to_dict() for p in problems if not p.is_error)
        resource = _resource_endpoint(self.spec.catalog, tool.endpoint)
        return PlannedCall(tool, args, warnings, resource)

    # ---- sync

    def call(
        self,
        name: str,
        arguments: Any,
        *,
        client: RunwayClient,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    ) -> dict[str, Any]:
        """Check, submit, wait; the outcome as JSON data (see :func:`call_tool`)."""
        plan = self.plan(name, arguments)
        tool, args = plan.tool, plan.arguments
        if tool.action == MODELS_SCHEMA:
            return model_schema(self.spec, args["model"], args.get("endpoint"))
        if tool.action == UPLOAD:
            return {"uri": client.upload(args["path"]), "path": args["path"]}
        if tool.action == TASK_GET:
            return dict(client.tasks.get(args["taskId"]).raw)
        if tool.action == TASK_WAIT:
            task_id = str(args["taskId"])
            wait = args.get("timeoutSeconds", timeout)
            try:
                task = client.tasks.wait(task_id, timeout=wait,
                                         on_progress=_relay(task_id, on_progress))
            except TaskTimeoutError as exc:
                return _still_running(exc)
            return _task_result(task.raw, plan)
        assert tool.endpoint is not None
        created = client.create_task(tool.endpoint, args)
        callback = _relay(created.id, on_progress)
        try:
            if plan.resource_endpoint is not None:
                resource = client.wait_for(plan.resource_endpoint, created.id, timeout=timeout,
                                           on_progress=callback)
                return _resource_result(created.id, resource, plan)
            task = client.tasks.wait(created.id, timeout=timeout, on_progress=callback)
        except TaskTimeoutError as exc:
            return _still_running(exc, plan)
        return _task_result(task.raw, plan)

    # ---- async (same decisions; only the awaiting differs)

    async def acall(
        self,
        name: str,
        arguments: Any,
        *,
        client: AsyncRunwayClient,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    ) -> dict[str, Any]:
        """The async twin of :meth:`call`."""
        plan = self.plan(name, arguments)
        tool, args = plan.tool, plan.arguments
        if tool.action == MODELS_SCHEMA:
            return model_schema(self.spec, args["model"], args.get("endpoint"))
        if tool.action == UPLOAD:
            return {"uri": await client.upload(args["path"]), "path": args["path"]}
        if tool.action == TASK_GET:
            return dict((await client.tasks.get(args["taskId"])).raw)
        if tool.action == TASK_WAIT:
            task_id = str(args["taskId"])
            wait = args.get("timeoutSeconds", timeout)
            try:
                task = await client.tasks.wait(task_id, timeout=wait,
                                               on_progress=_relay(task_id, on_progress))
            except TaskTimeoutError as exc:
                return _still_running(exc)
            return _task_result(task.raw, plan)
        assert tool.endpoint is not None
        created = await client.create_task(tool.endpoint, args)
        callback = _relay(created.id, on_progress)
        try:
            if plan.resource_endpoint is not None:
                resource = await client.wait_for(plan.resource_endpoint, created.id,
                                                 timeout=timeout, on_progress=callback)
                return _resource_result(created.id, resource, plan)
            task = await client.tasks.wait(created.id, timeout=timeout, on_progress=callback)
        except TaskTimeoutError as exc:
            return _still_running(exc, plan)
        return _task_result(task.raw, plan)


def call_tool(
    name: str,
    arguments: Any,
    *,
    client: RunwayClient,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
) -> dict[str, Any]:
    """Run one tool call the way an LLM app receives it: pre-flight, submit, wait, outputs.

    Raises :class:`PreflightError` (nothing sent; its problems name each field and the fix),
    :class:`UsageError` for an unknown tool or bad arguments, :class:`TaskFailedError` and
    API errors; :func:`tool_error` / :func:`render_error` turn any of them into a tool result.
    A wait that runs out is not an error: the result says ``done: false`` with the task id.

    >>> call_tool("runway_text_to_image",
    ...           {"model": "gen4_image", "promptText": "a lighthouse", "ratio": "1920:1080"},
    ...           client=RunwayClient())
    {'taskId': '…', 'status': 'SUCCEEDED', 'output': ['https://…'], 'done': True, ...}
    """
    return Toolbox(client.spec).call(name, arguments, client=client, on_progress=on_progress,
                                     timeout=timeout)


async def acall_tool(
    name: str,
    arguments: Any,
    *,
    client: AsyncRunwayClient,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
) -> dict[str, Any]:
    """The async twin of :func:`call_tool`."""
    return await Toolbox(client.spec).acall(name, arguments, client=client,
                                            on_progress=on_progress, timeout=timeout)


def _check_helper_arguments(tool: Tool, args: Mapping[str, Any]) -> None:
    """Helper tools' arguments against their (small, exact) schemas; one error listing all."""
    from jsonschema import Draft202012Validator

    problems = []
    for error in Draft202012Validator(tool.parameters).iter_errors(args):
        where = ".".join(str(p) for p in error.absolute_path)
        problems.append(f"argument {where!r}: {error.message}" if where else error.message)
    if problems:
        raise UsageError(f"{tool.name}: " + "; ".join(problems))


def _resource_endpoint(catalog: Catalog, endpoint: str) -> str | None:
    """``realtime_sessions/{id}`` for ``realtime_sessions``: a GET of what the POST created."""
    prefix = endpoint + "/{"
    for op in catalog.operations:
        rest = op.endpoint[len(prefix):]
        if (op.method == "GET" and op.endpoint.startswith(prefix) and "/" not in rest
                and len(op.params("path")) == 1):
            return op.endpoint
    return None


def _relay(task_id: str, on_progress: ProgressCallback | None) -> Any:
    if on_progress is None:
        return None

    def relay(status: str, progress: float | None, elapsed: float) -> None:
        on_progress(Progress(task_id, status, progress, elapsed))

    return relay


def _task_result(task: Mapping[str, Any], plan: PlannedCall) -> dict[str, Any]:
    out: dict[str, Any] = {
        "taskId": task.get("id"),
        "status": task.get("status"),
        "output": list(task.get("output") or []),
        "done": True,
    }
    if plan.tool.action == GENERATE:
        out["endpoint"] = plan.tool.endpoint
        out["model"] = plan.arguments.get(MODEL_PROPERTY)
    if plan.warnings:
        out["warnings"] = list(plan.warnings)
    return out


def _resource_result(rid: str, resource: Mapping[str, Any], plan: PlannedCall) -> dict[str, Any]:
    out = {"id": rid, "status": resource.get("status"), "done": True,
           "endpoint": plan.tool.endpoint, "resource": dict(resource)}
    if plan.warnings:
        out["warnings"] = list(plan.warnings)
    return out


def _still_running(exc: TaskTimeoutError, plan: PlannedCall | None = None) -> dict[str, Any]:
    out = {"taskId": exc.task_id, "status": exc.task.get("status"), "done": False,
           "message": f"{exc.message}. {error_hint(exc)}"}
    if plan is not None and plan.tool.action == GENERATE:
        out["endpoint"] = plan.tool.endpoint
    return out
