"""The tools of one spec, built once: export them, check a call, run it (sync or async)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import DEFAULT_WAIT_TIMEOUT
from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import CREATES_RESOURCE
from runway_dynamic.tools._tool import GENERATE, Tool
from runway_dynamic.tools.building import build_tools, lookup
from runway_dynamic.tools.dispatch import PlannedCall, ProgressCallback, arun, run, steps
from runway_dynamic.tools.formats import check_format

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.spec import Spec


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
        check_format(format)
        return [t.to_format(format) for t in self.tools]

    def get(self, name: str) -> Tool:
        return lookup(self._by_name, name)

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
        problems = self.spec.validator.validate(tool.endpoint, args, method="POST")
        warnings = tuple(p.to_dict() for p in problems)
        operation = self.spec.catalog.model_operation(tool.endpoint)
        resource = (operation.result_endpoint if operation is not None
                    and operation.kind == CREATES_RESOURCE else None)
        return PlannedCall(tool, args, warnings, resource)

    # ---- running (one dispatch step; the async twin only awaits)

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
        return run(steps(plan, self.spec, on_progress=on_progress, timeout=timeout), client)

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
        return await arun(steps(plan, self.spec, on_progress=on_progress, timeout=timeout),
                          client)


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


