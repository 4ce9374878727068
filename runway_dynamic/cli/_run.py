"""Submit → wait → download: the one implementation every generation-style command reuses.

A command that creates a task (``runway call text_to_video``, and the ``video``/``image``/…
commands built on this module) does four things, each a function here:

The standard options (``WaitOption``… below; the command builder's
:func:`runway_dynamic.cli._options.run_options` reserves them before any spec field):
    ``--wait/--no-wait``, ``--download`` (implies ``--wait``), ``--output-dir DIR``
    (default ``./runway-output``, relative to the working directory), ``--timeout SECONDS``
    (the whole wait, default 30 min), ``--poll-interval SECONDS`` (default 5 s; 0.25 s under
    ``--sandbox``), ``--retry-on-internal-error N`` (default 0) and
    ``--retry-backoff-seconds S`` (default 5).

``RunOptions.pop(values: dict) -> RunOptions``
    Takes those options out of the command function's keyword arguments.

``make_client(invocation, options=None, *, preflight=True) -> RunwayClient``
    In :mod:`runway_dynamic.cli._clients`, the one client factory (the sandbox boundary).

``submit(invocation, client, endpoint, body, options, *, extra_headers=None) -> int``
    Create the task and, with ``--wait``/``--download``, follow it to the end (resubmitting
    after ``INTERNAL.*`` failures as the options say); returns the exit code.

``follow(invocation, client, task_id, options) -> int``
    The same for an existing task (``runway task get ID --wait --download``).

Local media paths are resolved by :func:`runway_dynamic.uploads.resolve_body_media`, and
whether a command runs a task by :func:`runs_task` (the operation's kind in the catalog).

Output: stdout carries data only — the API's JSON answer (no wait), the final task JSON
(``--wait``), or the saved file paths, one per line (``--download``; with ``--json`` one
object ``{"task": …, "files": […]}``). Progress goes to stderr: a rich progress bar (status,
progress, elapsed) on a terminal, plain lines otherwise, nothing with ``--json``.

Exit codes (:data:`EXIT_CODES_TEXT`): 0 ok, 1 error, 2 usage/pre-flight, 3 task failed or
cancelled, 4 wait timed out, 130 interrupted. Ctrl-C while waiting prints the task id and the
exact command that resumes waiting, and exits 130; the task keeps running on Runway.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from runway_dynamic._constants import (
    DEFAULT_WAIT_TIMEOUT,
    EXIT_OK,
    EXIT_TERMINATED,
    RESUBMIT_BACKOFF,
)
from runway_dynamic._exceptions import (
    RunwayError,
    TaskCancelledError,
    TaskFailedError,
    TaskTimeoutError,
    UsageError,
)
from runway_dynamic.cli._context import (
    PROG,
    Invocation,
    echo,
    emit_json,
    is_terminal,
    signal_exit_code,
    terminal_safe,
)

if TYPE_CHECKING:
    from runway_dynamic.catalog import Operation
    from runway_dynamic.client import RunwayClient
    from runway_dynamic.tasks import Task

#: Where ``--download`` saves files unless ``--output-dir`` says otherwise (relative to cwd).
DEFAULT_OUTPUT_DIR = "runway-output"

EXIT_CODES = (
    (0, "success"),
    (1, "error (API, network, configuration such as a missing key; an API that refused the "
        "request with a 4xx)"),
    (2, "usage error, failed pre-flight or local check (nothing was sent)"),
    (3, "the task failed or was cancelled (failure and failureCode are printed)"),
    (4, "the wait timed out (the task may still finish: resume with 'runway task get ID --wait')"),
    (75, "a batch paused at a limit (daily generations, credits): 'runway batch resume' later"),
    (130, "interrupted (Ctrl-C); once a task exists, its id and the resume command are printed"),
    (143, "terminated (SIGTERM); once a task exists, its id and the resume command are printed"),
)
EXIT_CODES_TEXT = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES)


# --------------------------------------------------------------------------- options


class RunOptions:
    """The standard run options of one invocation."""

    __slots__ = ("download", "output", "output_dir", "poll_interval", "retry_backoff_seconds",
                 "retry_on_internal_error", "timeout", "wait")

    def __init__(self, *, wait: bool = False, download: bool = False,
                 output_dir: str | None = None, timeout: float | None = DEFAULT_WAIT_TIMEOUT,
                 poll_interval: float | None = None, retry_on_internal_error: int = 0,
                 retry_backoff_seconds: float = RESUBMIT_BACKOFF,
                 output: str | None = None) -> None:
        if output is not None and output_dir is not None:
            raise UsageError("give -o FILE (the file) or --output-dir DIR (a folder for "
                             "generated names), not both")
        #: ``-o FILE``: the outputs' file name (implies ``--download``); ``--output-dir``
        #: and the ``output-dir`` setting do not apply to it.
        self.output = output
        download = download or output is not None
        if output_dir is None or poll_interval is None:  # unset: `runway config` may say
            from runway_dynamic import config

            output_dir = output_dir if output_dir is not None else config.get("output-dir")
            poll_interval = (poll_interval if poll_interval is not None
                             else config.get("poll-interval"))
        self.wait = wait or download
        self.download = download
        self.output_dir = output_dir
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.retry_on_internal_error = retry_on_internal_error
        self.retry_backoff_seconds = retry_backoff_seconds

    @classmethod
    def pop(cls, values: dict[str, Any]) -> RunOptions:
        """Take the run options out of a command function's keyword arguments."""
        found = {name: values.pop(name) for name in _PARAM_NAMES if name in values}
        options = cls(**found)
        options.check()
        return options

    def check(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be more than 0 seconds")
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise UsageError("--poll-interval must be more than 0 seconds")
        if self.retry_on_internal_error < 0:
            raise UsageError("--retry-on-internal-error must be 0 or more")
        if self.retry_backoff_seconds < 0:
            raise UsageError("--retry-backoff-seconds must be 0 or more")

    @property
    def directory(self) -> Path:
        return Path(os.path.expanduser(self.output_dir or DEFAULT_OUTPUT_DIR))


_PARAM_NAMES = ("wait", "download", "output", "output_dir", "timeout", "poll_interval",
                "retry_on_internal_error", "retry_backoff_seconds")


WaitOption = Annotated[bool, typer.Option(
    "--wait/--no-wait", help="Wait for the task to finish, showing its progress.")]
DownloadOption = Annotated[bool, typer.Option(
    "--download", help="Save the outputs when the task succeeds (implies --wait).")]
OutputOption = Annotated[str | None, typer.Option(
    "-o", "--output", metavar="FILE", show_default=False,
    help="Save the output as FILE (implies --download); several outputs are FILE-1.ext, "
         "FILE-2.ext. A name without a suffix gets the output's. Checked before anything "
         "is sent; an existing file is never replaced.")]
OutputDirOption = Annotated[str | None, typer.Option(
    "--output-dir", metavar="DIR", show_default=False,
    help=f"Where --download saves files (default: ./{DEFAULT_OUTPUT_DIR}).")]
TimeoutOption = Annotated[float, typer.Option(
    "--timeout", metavar="SECONDS", help="Give up waiting after this long (exit 4).")]
PollIntervalOption = Annotated[float | None, typer.Option(
    "--poll-interval", metavar="SECONDS", show_default=False,
    help="Seconds between status checks (default: 5).")]
RetryInternalOption = Annotated[int, typer.Option(
    "--retry-on-internal-error", metavar="N",
    help="Resubmit up to N times when the task fails with an INTERNAL.* code (each "
         "resubmission is a new, billed task).")]
RetryBackoffOption = Annotated[float, typer.Option(
    "--retry-backoff-seconds", metavar="S", help="Pause before such a resubmission.")]


def runs_task(operation: Operation) -> bool:
    """Whether a command for ``operation`` submits and follows a task (the run options):
    the operation creates a task and has no path parameter (a create is posted to its
    endpoint as it is)."""
    from runway_dynamic.catalog import CREATES_TASK

    return operation.kind == CREATES_TASK and not operation.params("path")


# --------------------------------------------------------------------------- progress


class WaitDisplay:
    """Shows a wait on stderr: a rich progress bar on a terminal, plain lines otherwise.

    Silent with ``--json`` (stdout and stderr stay machine-readable). Use as a context
    manager; :meth:`submitted` and :meth:`update` are the client's ``on_submit`` and
    ``on_progress`` callbacks. The last task id seen is kept for the Ctrl-C message.
    """

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None,
                 rich: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.rich = (not quiet and is_terminal(self.stream)) if rich is None else rich
        self.task_id: str | None = None
        self.submissions = 0
        self._progress: Any = None
        self._bar: Any = None
        self._last: tuple[str, int] | None = None

    def __enter__(self) -> WaitDisplay:
        if self.rich:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                TaskProgressColumn(), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._progress.start()
            self._bar = self._progress.add_task("submitting", total=1.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def submitted(self, task: Task) -> None:
        self.task_id = task.id
        self.submissions += 1
        again = " (resubmitted)" if self.submissions > 1 else ""
        self._show(f"task {task.id} submitted{again}", status="SUBMITTED", progress=0.0)

    def watching(self, task_id: str) -> None:
        self.task_id = task_id

    def update(self, status: str, progress: float | None, elapsed: float) -> None:
        shown = f"{progress:.0%}" if progress is not None else ""
        if self._bar is not None:
            done = 1.0 if status == "SUCCEEDED" else (progress or 0.0)
            self._progress.update(self._bar, description=f"{self.task_id} {status}",
                                  completed=done)
            return
        step = int((progress or 0.0) * 10)  # a plain line per status change or 10 % step
        if self.quiet or self._last == (status, step):
            return
        self._last = (status, step)
        self._line(f"task {self.task_id}: {status}{' ' + shown if shown else ''} "
                   f"({elapsed:.0f}s)")

    def _show(self, text: str, *, status: str, progress: float) -> None:
        if self._bar is not None:
            self._progress.update(self._bar, description=f"{self.task_id} {status}",
                                  completed=progress)
            self._progress.console.print(terminal_safe(text), markup=False)
        elif not self.quiet:
            self._last = None
            self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(f"{PROG}: {terminal_safe(text)}\n")
        self.stream.flush()




# --------------------------------------------------------------------------- running


def resume_command(invocation: Invocation, task_id: str, options: RunOptions) -> str:
    """The command that picks the wait up again, with the options that matter."""
    words = [PROG]
    if invocation.spec_option:
        words += ["--spec", invocation.spec_option]
    words += ["task", "get", task_id, "--wait"]
    if options.download or not options.wait:
        if options.output is not None:
            words += ["-o", options.output]
        else:
            words.append("--download")
            if options.output_dir:
                words += ["--output-dir", options.output_dir]
    return shlex.join(words)


def check_local(options: RunOptions) -> None:
    """Everything local the run will need, checked before anything is sent (exit 2)."""
    if options.output is not None:
        from runway_dynamic._exceptions import LocalPathError
        from runway_dynamic._files import check_writable_file

        target = Path(os.path.expanduser(options.output))
        check_writable_file(target, "-o")
        if target.exists():
            raise LocalPathError("-o", target, "exists; nothing is replaced: remove it or "
                                               "give another name")
    elif options.download:
        from runway_dynamic._files import check_writable_dir

        check_writable_dir(options.directory, "--output-dir")


def _interrupted(invocation: Invocation, task_id: str | None, options: RunOptions,
                 signal_exit: int) -> int:
    word = "terminated" if signal_exit == EXIT_TERMINATED else "interrupted"
    if task_id is None:
        message = (f"{word} before Runway answered; a task may have been created. Check "
                   "your recent tasks in the Runway dashboard before trying again.")
        payload: dict[str, Any] = {"error": word.capitalize(), "message": message}
    else:
        resume = resume_command(invocation, task_id, options)
        where = (" (in the --sandbox, which stops with this command)"
                 if invocation.sandbox_url else " on Runway")
        message = (f"{word}; task {task_id} keeps running{where}. "
                   f"Resume waiting with:\n  {resume}")
        payload = {"error": word.capitalize(), "message": message, "taskId": task_id,
                   "resume": resume}
    _report(invocation, payload, message)
    return signal_exit


def _report(invocation: Invocation, payload: dict[str, Any], message: str) -> None:
    if invocation.json:
        import orjson

        sys.stderr.write(orjson.dumps(payload).decode() + "\n")
    else:
        sys.stderr.write(f"{PROG}: {terminal_safe(message)}\n")
    sys.stderr.flush()


@contextmanager
def _after_create(invocation: Invocation, display: WaitDisplay, options: RunOptions
                  ) -> Iterator[list[int]]:
    """Every way a run can end once a task may exist says which task and how to go on.

    Ctrl-C (130) and SIGTERM (143) print the resume command; any other error after the
    task id is known prints the id and the command before the error itself. Yields a
    one-item list that receives the exit code of an interrupt.
    """
    code: list[int] = []
    try:
        yield code
    except KeyboardInterrupt as exc:
        code.append(_interrupted(invocation, display.task_id, options, signal_exit_code(exc)))
    except (TaskFailedError, TaskCancelledError):
        raise  # the task ended: its message names it, there is nothing to resume
    except RunwayError as exc:
        if display.task_id is not None:
            resume = resume_command(invocation, display.task_id, options)
            what = "still running" if isinstance(exc, TaskTimeoutError) else "created"
            _report(invocation, {"info": f"task {display.task_id} {what}",
                                 "taskId": display.task_id, "resume": resume},
                    f"task {display.task_id} was {what}; to go on: {resume}"
                    if what == "created" else f"to keep waiting: {resume}")
        raise


def submit(invocation: Invocation, client: RunwayClient, endpoint: str,
           body: Mapping[str, Any], options: RunOptions, *,
           extra_headers: Mapping[str, str] | None = None) -> int:
    """Create a task; with ``--wait``/``--download`` follow it to the end. The exit code.

    Local checks (the output folder) run first: a failure there sends nothing (exit 2).
    """
    check_local(options)
    if not options.wait:
        task = client.create_task(endpoint, body, extra_headers=extra_headers)
        emit_json(task.raw)
        if not invocation.json:
            sys.stderr.write(f"{PROG}: task {task.id} submitted; follow it with: "
                             f"{resume_command(invocation, task.id, options)}\n")
        return EXIT_OK
    display = WaitDisplay(quiet=invocation.json)
    with _after_create(invocation, display, options) as interrupted:
        with display:
            task = client.run(
                endpoint, body, timeout=options.timeout, poll_interval=options.poll_interval,
                on_progress=display.update, on_submit=display.submitted,
                retry_on_internal_error=options.retry_on_internal_error,
                retry_backoff_seconds=options.retry_backoff_seconds,
                extra_headers=extra_headers,
            )
        return _finish(invocation, client, task, options)
    return interrupted[0]


def follow(invocation: Invocation, client: RunwayClient, task_id: str,
           options: RunOptions) -> int:
    """Show, wait for and/or download an existing task. The exit code."""
    check_local(options)
    if not options.wait:
        task = client.tasks.get(task_id)
        emit_json(task.raw)
        return EXIT_OK
    display = WaitDisplay(quiet=invocation.json)
    display.watching(task_id)
    with _after_create(invocation, display, options) as interrupted:
        with display:
            task = client.tasks.wait(task_id, timeout=options.timeout,
                                     poll_interval=options.poll_interval,
                                     on_progress=display.update)
        return _finish(invocation, client, task, options)
    return interrupted[0]


def _finish(invocation: Invocation, client: RunwayClient, task: Task,
            options: RunOptions) -> int:
    if not options.download:
        emit_json(task.raw)
        return EXIT_OK
    to = Path(os.path.expanduser(options.output)) if options.output is not None else None
    paths = client.download(task, options.directory, to=to)
    if invocation.json:
        emit_json({"task": dict(task.raw), "files": [str(p) for p in paths]})
    else:
        for path in paths:
            echo(str(path))
        noun = "file" if len(paths) == 1 else "files"
        where = (", ".join(str(p) for p in paths) if to is not None
                 else f"to {options.directory}")
        sys.stderr.write(f"{PROG}: task {task.id} succeeded; saved {len(paths)} {noun} "
                         f"{where}\n")
    return EXIT_OK
