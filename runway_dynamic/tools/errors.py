"""Errors as tool results: what went wrong, and what the calling model should do next."""

from __future__ import annotations

from typing import Any

from runway_dynamic._exceptions import (
    PreflightError,
    RunwayError,
    TaskError,
    TaskFailedError,
    TaskTimeoutError,
    UsageError,
)


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
