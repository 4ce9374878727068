"""Function-calling tools for LLM apps, derived from the catalog at run time.

One tool per model endpoint (``runway_text_to_video``…), with ``model`` as an enum of that
endpoint's models and every field any of its models accepts; plus helper tools to fetch or
wait for a task, read one model's schema, and upload a local file. New models in the spec
reach agents with no code change.

The parameters schema of a generation tool is the *union* of the models' bodies: loose
enough that no model's valid body is rejected, with per-model facts (who requires a field,
which values each model takes) written into descriptions. The exact, per-model check is
pre-flight, run by :func:`call_tool` before anything is sent.

>>> from runway_dynamic.spec import load_spec
>>> tools = export_tools(load_spec(), "openai")
>>> tools[0]["function"]["name"]
'runway_avatar_videos'

Formats: ``openai`` (Chat Completions ``tools``), ``anthropic`` (Messages ``tools``) and
``mcp`` (``tools/list`` entries).

Modules, one concern each: ``_tool`` (the Tool model, action names), ``formats`` (wire
shapes), ``union`` (parameters schemas), ``descriptions`` (our words about fields),
``building`` (tools from a catalog), ``facts`` (model schemas for agents), ``errors``
(errors as tool results), ``dispatch`` (one call's client steps, sync and async drivers),
``toolbox`` (check and run calls).
"""

from __future__ import annotations

from runway_dynamic._constants import TASK_ENDPOINT
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
from runway_dynamic.tools.building import build_tools, export_tools, find_tool
from runway_dynamic.tools.dispatch import PlannedCall, Progress, ProgressCallback
from runway_dynamic.tools.errors import error_hint, render_error, tool_error
from runway_dynamic.tools.facts import model_schema, models_overview, variant_summary
from runway_dynamic.tools.formats import FORMATS
from runway_dynamic.tools.toolbox import Toolbox, acall_tool, call_tool
from runway_dynamic.tools.union import scrub, union_schema

__all__ = [
    "FORMATS",
    "GENERATE",
    "MODELS_SCHEMA",
    "TASK_ENDPOINT",
    "TASK_GET",
    "TASK_WAIT",
    "TOOL_PREFIX",
    "UPLOAD",
    "UPLOAD_ENDPOINT",
    "PlannedCall",
    "Progress",
    "ProgressCallback",
    "Tool",
    "Toolbox",
    "acall_tool",
    "build_tools",
    "call_tool",
    "error_hint",
    "export_tools",
    "find_tool",
    "model_schema",
    "models_overview",
    "render_error",
    "scrub",
    "tool_error",
    "tool_name",
    "union_schema",
    "variant_summary",
]
