"""Running a checked tool call: one sequence of client calls, driven with or without ``await``.

:func:`steps` makes every decision (which client method, what its answer becomes, what a
wait that ran out means) and yields each client call as a function of the client. The sync
driver :func:`run` calls it; the async driver :func:`arun` awaits it. Nothing else differs,
so ``Toolbox.call`` and ``Toolbox.acall`` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import MODEL_PROPERTY
from runway_dynamic._exceptions import TaskTimeoutError
from runway_dynamic.tools._tool import GENERATE, MODELS_SCHEMA, TASK_GET, TASK_WAIT, UPLOAD, Tool
from runway_dynamic.tools.errors import error_hint
from runway_dynamic.tools.facts import model_schema

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient, RunwayClient
    from runway_dynamic.spec import Spec


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


#: One client call: a function of the client, giving the answer (an awaitable of it for
#: the async client, whose methods have the same names and arguments).
ClientCall = Callable[[Any], Any]
Steps = Generator[ClientCall, Any, dict[str, Any]]


def steps(
    plan: PlannedCall, spec: Spec, *, on_progress: ProgressCallback | None, timeout: float | None
) -> Steps:
    """The client calls one planned call makes, in order; returns the outcome as JSON data."""
    tool, args = plan.tool, plan.arguments
    if tool.action == MODELS_SCHEMA:
        return model_schema(spec, args["model"], args.get("endpoint"))
    if tool.action == UPLOAD:
        uri = yield lambda client: client.upload(args["path"])
        return {"uri": uri, "path": args["path"]}
    if tool.action == TASK_GET:
        found = yield lambda client: client.tasks.get(args["taskId"])
        return dict(found.raw)
    if tool.action == TASK_WAIT:
        task_id = str(args["taskId"])
        wait = args.get("timeoutSeconds", timeout)
        relay = _relay(task_id, on_progress)
        try:
            task = yield lambda client: client.tasks.wait(task_id, timeout=wait,
                                                          on_progress=relay)
        except TaskTimeoutError as exc:
            return _still_running(exc)
        return _task_result(task.raw, plan)
    endpoint = tool.endpoint
    assert endpoint is not None
    created = yield lambda client: client.create_task(endpoint, args)
    callback = _relay(created.id, on_progress)
    resource_endpoint = plan.resource_endpoint
    try:
        if resource_endpoint is not None:
            resource = yield lambda client: client.wait_for(
                resource_endpoint, created.id, timeout=timeout, on_progress=callback)
            return _resource_result(created.id, resource, plan)
        task = yield lambda client: client.tasks.wait(created.id, timeout=timeout,
                                                      on_progress=callback)
    except TaskTimeoutError as exc:
        return _still_running(exc, plan)
    return _task_result(task.raw, plan)


def run(planned: Steps, client: RunwayClient) -> dict[str, Any]:
    """Drive :func:`steps` with a sync client."""
    outcome = _advance(planned, None, None)
    while not isinstance(outcome, _Done):
        try:
            answer, failure = outcome(client), None
        except Exception as exc:  # handed to the steps, which decide (a timeout is an answer)
            answer, failure = None, exc
        outcome = _advance(planned, answer, failure)
    return outcome.value


async def arun(planned: Steps, client: AsyncRunwayClient) -> dict[str, Any]:
    """Drive :func:`steps` with an async client: :func:`run` with ``await``."""
    outcome = _advance(planned, None, None)
    while not isinstance(outcome, _Done):
        try:
            answer, failure = await outcome(client), None
        except Exception as exc:  # handed to the steps, which decide (a timeout is an answer)
            answer, failure = None, exc
        outcome = _advance(planned, answer, failure)
    return outcome.value


@dataclass(frozen=True)
class _Done:
    value: dict[str, Any]


def _advance(planned: Steps, answer: Any, failure: Exception | None) -> ClientCall | _Done:
    """The next client call, or the outcome; an exception the steps do not handle rises."""
    try:
        return planned.throw(failure) if failure is not None else planned.send(answer)
    except StopIteration as done:
        return _Done(done.value)


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
