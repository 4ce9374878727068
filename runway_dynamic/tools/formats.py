"""The wire shapes of a tool: OpenAI Chat Completions, Anthropic Messages, MCP ``tools/list``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.tools._tool import MODELS_SCHEMA

if TYPE_CHECKING:
    from runway_dynamic.tools._tool import Tool

FORMATS = ("openai", "anthropic", "mcp")


def check_format(format: str) -> None:
    """A :class:`UsageError` naming the choices unless ``format`` is one of :data:`FORMATS`."""
    if format not in FORMATS:
        raise UsageError(f"unknown tool format {format!r}; choose one of: {', '.join(FORMATS)}")


def render(tool: Tool, format: str) -> dict[str, Any]:
    """``tool`` in ``format``, with a private copy of its parameters schema."""
    check_format(format)
    schema = json.loads(json.dumps(tool.parameters))  # a private copy per export
    if format == "openai":
        return {"type": "function", "function": {
            "name": tool.name, "description": tool.description, "parameters": schema}}
    if format == "anthropic":
        return {"name": tool.name, "description": tool.description, "input_schema": schema}
    return {
        "name": tool.name,
        "description": tool.description,
        "inputSchema": schema,
        "annotations": {
            "readOnlyHint": tool.read_only,
            "destructiveHint": False,
            "idempotentHint": tool.read_only,
            # Generation and upload reach Runway's service; the schema tool does not.
            "openWorldHint": tool.action != MODELS_SCHEMA,
        },
    }
