"""``runway task get|cancel|delete ID``: look at, wait for, download, cancel or delete a task."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from runway_dynamic._constants import DEFAULT_WAIT_TIMEOUT
from runway_dynamic.cli._clients import make_client
from runway_dynamic.cli._context import PROG, current, emit_json
from runway_dynamic.cli._run import (
    DownloadOption,
    OutputDirOption,
    OutputOption,
    PollIntervalOption,
    RunOptions,
    TimeoutOption,
    WaitOption,
    follow,
)

TaskId = Annotated[str, typer.Argument(metavar="ID", help="The task id.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON output (and JSON errors).")]


def get(
    task_id: TaskId,
    wait: WaitOption = False,
    download: DownloadOption = False,
    output: OutputOption = None,
    output_dir: OutputDirOption = None,
    timeout: TimeoutOption = DEFAULT_WAIT_TIMEOUT,
    poll_interval: PollIntervalOption = None,
    json: JsonOption = False,
) -> int:
    """Show a task; --wait follows it, --download (or -o FILE) saves its outputs.

    Prints the task JSON; with --download, the saved paths (one per line).
    """
    invocation = current()
    invocation.json = invocation.wants_json(json)
    options = RunOptions(wait=wait, download=download, output_dir=output_dir, timeout=timeout,
                         poll_interval=poll_interval, output=output)
    options.check()
    with make_client(invocation, options) as client:
        return follow(invocation, client, task_id, options)


def _delete(task_id: str, json: bool, verb: str) -> int:
    invocation = current()
    invocation.json = invocation.wants_json(json)
    with make_client(invocation) as client:
        if verb == "cancelled":
            client.tasks.cancel(task_id)
        else:
            client.tasks.delete(task_id)
    if invocation.json:
        emit_json({"id": task_id, verb: True})
    else:
        sys.stderr.write(f"{PROG}: task {task_id} {verb}\n")
    return 0


def cancel(task_id: TaskId, json: JsonOption = False) -> int:
    """Cancel a running task (it ends CANCELLED)."""
    return _delete(task_id, json, "cancelled")


def delete(task_id: TaskId, json: JsonOption = False) -> int:
    """Delete a finished task."""
    return _delete(task_id, json, "deleted")
