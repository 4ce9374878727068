"""The tool model: what an LLM sees of one tool, and which action running it takes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runway_dynamic import _constants

TOOL_PREFIX = "runway_"

# Helper actions, each one tool; generation tools have action GENERATE.
GENERATE = "generate"
TASK_GET = "task_get"
TASK_WAIT = "task_wait"
MODELS_SCHEMA = "models_schema"
UPLOAD = "upload"

# Where the API keeps uploads (named in _constants); with tasks (TASK_ENDPOINT) the two fixed
# resources a generation workflow needs beyond the model endpoints. Helpers are offered only
# when the spec has them.
UPLOAD_ENDPOINT = _constants.UPLOADS_ENDPOINT


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
        """The tool in one of :data:`~runway_dynamic.tools.formats.FORMATS`."""
        from runway_dynamic.tools.formats import render

        return render(self, format)


def tool_name(endpoint: str) -> str:
    """``text_to_video`` → ``runway_text_to_video`` (only characters every format accepts;
    OpenAI and Anthropic take at most 64)."""
    return (TOOL_PREFIX + re.sub(r"[^A-Za-z0-9_]+", "_", endpoint).strip("_"))[:64]
