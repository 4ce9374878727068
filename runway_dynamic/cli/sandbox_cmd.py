"""``runway sandbox serve`` and the global ``--sandbox`` option: the local API simulator.

``runway --sandbox COMMAND`` runs COMMAND against a :class:`~runway_dynamic.sandbox.Sandbox`
started in-process on a free loopback port and stopped when the command ends; the client's
base URL points at it and, when no key is configured, a placeholder key is sent (any key
works there). Nothing here is imported unless one of the two is used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runway_dynamic._constants import (
    SANDBOX_CONCURRENCY_LIMIT,
    SANDBOX_CREDITS,
    SANDBOX_DAILY_LIMIT,
)
from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import PROG, Invocation, current, echo

if TYPE_CHECKING:
    from runway_dynamic.sandbox import Sandbox

#: How long a task takes in the ``--sandbox`` (long enough to watch the progress bar).
SANDBOX_TASK_SECONDS = 3.0
#: Overrides :data:`SANDBOX_TASK_SECONDS` (tests make it short).
ENV_SANDBOX_TASK_SECONDS = "RUNWAY_SANDBOX_TASK_SECONDS"
#: A file to append the in-process sandbox's request log to (JSON lines, keys redacted).
ENV_SANDBOX_REQUEST_LOG = "RUNWAY_SANDBOX_REQUEST_LOG"


def _task_seconds() -> float:
    raw = os.environ.get(ENV_SANDBOX_TASK_SECONDS)
    if not raw:
        return SANDBOX_TASK_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{ENV_SANDBOX_TASK_SECONDS} must be a number of seconds, "
                         f"got {raw!r}") from None
    if value < 0:
        raise UsageError(f"{ENV_SANDBOX_TASK_SECONDS} must not be negative")
    return value


@contextmanager
def sandbox_session(invocation: Invocation) -> Iterator[str]:
    """Serve a sandbox for the duration of one command; yields its base URL.

    With ``RUNWAY_SANDBOX_REQUEST_LOG=FILE`` every request the sandbox saw is appended to
    FILE as JSON lines when the command ends (keys redacted): what a rehearsal sent.
    """
    from runway_dynamic.sandbox import Sandbox

    sandbox = Sandbox(spec=invocation.spec(), task_seconds=_task_seconds())
    sandbox.start(lazy=True)  # a command that sends nothing pays for no server
    invocation.sandbox_url = sandbox.base_url
    try:
        yield sandbox.base_url
    finally:
        invocation.sandbox_url = None
        sandbox.stop()
        log = os.environ.get(ENV_SANDBOX_REQUEST_LOG)
        if log:
            _append_request_log(Path(log), sandbox)


def _append_request_log(path: Path, sandbox: Sandbox) -> None:
    import dataclasses

    import orjson

    lines = b"".join(orjson.dumps(dataclasses.asdict(record), default=str) + b"\n"
                     for record in sandbox.state.requests)
    with path.open("ab") as handle:
        handle.write(lines)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="P",
                                      help="Port (0: a free one).")] = 0,
    task_seconds: Annotated[float, typer.Option(
        "--task-seconds", metavar="S", help="How long each task runs before it succeeds.")] = 1.0,
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", metavar="SPEC", show_default=False,
        help="A fault for every request, e.g. 'status=503; times=2' or "
             "'task-fail=SAFETY.INPUT.TEXT' (repeatable; per request: the X-Sandbox-Fault "
             "header).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth",
                                          help="Accept requests without a key.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose",
                                          help="Log each request to stderr.")] = False,
    concurrency_limit: Annotated[int, typer.Option(
        "--concurrency-limit", metavar="N", min=1,
        help="Tasks of one model running at once; more wait THROTTLED.")
    ] = SANDBOX_CONCURRENCY_LIMIT,
    daily_limit: Annotated[int, typer.Option(
        "--daily-limit", metavar="N", min=0,
        help="Tasks of one model created per rolling 24 h; more get a 429.")
    ] = SANDBOX_DAILY_LIMIT,
    credits: Annotated[float, typer.Option(
        "--credits", metavar="N", min=0,
        help="Starting credit balance; a task it cannot cover gets a 400.")
    ] = SANDBOX_CREDITS,
) -> int:
    """Run the local Runway API simulator in the foreground.

    Prints its base URL on stdout; point the CLI or the library at it with
    RUNWAY_BASE_URL=<url> and any key. Ctrl-C stops it.
    """
    from runway_dynamic.sandbox.faults import FaultSyntaxError, parse_fault

    faults = list(fault or ())
    for text in faults:
        try:
            parse_fault(text)
        except FaultSyntaxError as exc:
            raise UsageError(f"sandbox serve: --fault {text!r}: {exc}") from None
    if task_seconds < 0:
        raise UsageError("sandbox serve: --task-seconds must not be negative")
    from runway_dynamic.sandbox import OrgLimits, Sandbox

    limits = OrgLimits(concurrency=concurrency_limit, daily=daily_limit, credits=credits)
    try:
        sandbox = Sandbox(spec=current().spec(), host=host, port=port,
                          task_seconds=task_seconds, faults=faults, require_auth=not no_auth,
                          verbose=verbose, limits=limits)
    except OSError as exc:
        raise UsageError(f"sandbox serve: cannot listen on {host}:{port} "
                         f"({exc.strerror or exc})") from None
    try:  # Ctrl-C at any moment, even while it starts, is a normal stop (exit 0)
        sandbox.start()  # serving before the URL is printed: a client may use it at once
        echo(sandbox.base_url)
        sys.stdout.flush()
        sys.stderr.write(
            f"{PROG}: sandbox listening on {sandbox.base_url} (Ctrl-C to stop). Use it with:\n"
            f"  export RUNWAY_BASE_URL={sandbox.base_url} RUNWAY_API_KEY=any-key\n")
        sys.stderr.flush()
        sandbox.serve_forever()
    except KeyboardInterrupt:
        sandbox.stop()
    sys.stderr.write(f"{PROG}: sandbox stopped\n")
    return 0
