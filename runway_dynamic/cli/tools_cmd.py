"""``runway tools export``: function-calling tool definitions for LLM apps, from the spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from runway_dynamic.cli._context import current, dumps, echo, warn


def export(
    format: Annotated[str, typer.Option(
        "--format", metavar="openai|anthropic|mcp", show_default=False,
        help="Tool shape: OpenAI function tools, Anthropic tools or MCP tools.")],
    endpoints: Annotated[list[str] | None, typer.Option(
        "--endpoints", metavar="ENDPOINT[,ENDPOINT…]", show_default=False,
        help="Only these generation endpoints (repeat or comma-separate); helper tools "
             "(task get/wait, models schema, upload) are always included.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write the JSON to FILE (atomically) instead of stdout.")] = None,
) -> int:
    """Export function-calling tools derived from the spec (one per generation endpoint).

    Each generation tool has `model` as an enum of its endpoint's models and every field
    those models take, with per-model requirements and values in the descriptions. The
    same tools run through `runway_dynamic.tools.call_tool` or `runway mcp serve`.
    """
    from runway_dynamic.tools import export_tools

    wanted = [e for item in endpoints or () for e in item.split(",") if e.strip()] or None
    tools = export_tools(current().spec(), format, wanted)
    text = dumps(tools) + "\n"
    if output is None:
        sys.stdout.write(text)
        return 0
    from runway_dynamic._files import atomic_write_bytes

    atomic_write_bytes(output, text.encode())
    if current().json:
        warn(f"wrote {len(tools)} {format} tools to {output}")
    else:
        echo(f"wrote {len(tools)} {format} tools to {output}")
    return 0
