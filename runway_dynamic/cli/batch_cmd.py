"""``runway batch``: many generations from a jobs file, resumable, never paid for twice.

``run JOBS`` checks every line, writes the journal, then runs; ``resume JOURNAL`` continues
after a crash, Ctrl-C or a cap; ``status``, ``results``, ``retry-failed`` and ``resolve``
read or settle a journal. A journal is a file, or a PostgreSQL database (``--journal
postgresql://…`` or ``RUNWAY_JOURNAL_URL``) holding named batches, which ``worker`` drains
beside any number of other workers. Everything here is a thin layer over
:class:`runway_dynamic.batch.Batch`.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from runway_dynamic._constants import EXIT_ERROR, EXIT_INTERRUPTED, RESUBMIT_BACKOFF
from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._clients import make_async_client
from runway_dynamic.cli._context import PROG, current, echo, emit_json, is_terminal, warn
from runway_dynamic.cli._creative import (
    JsonOption,
    PollIntervalOption,
    RetryBackoffOption,
    RetryInternalOption,
    say,
)

if TYPE_CHECKING:
    import asyncio

    from runway_dynamic._problems import Namer
    from runway_dynamic.batch import Batch, BatchEvent, BatchOptions, BatchReport
    from runway_dynamic.catalog import Operation

JobsArg = Annotated[str, typer.Argument(
    metavar="JOBS", show_default=False,
    help="JSONL or CSV, one generation per line (endpoint, model and fields by spec name "
         "or flag); - reads standard input.")]
JournalArg = Annotated[str | None, typer.Argument(
    metavar="[JOURNAL]", show_default=False,
    help="The batch's journal file (or a postgresql:// URL; see --journal).")]
#: The environment variable naming a shared journal (a ``postgresql://`` URL).
JOURNAL_URL_ENV = "RUNWAY_JOURNAL_URL"
JournalUrlOption = Annotated[str | None, typer.Option(
    "--journal", metavar="URL", envvar=JOURNAL_URL_ENV, show_default=False,
    show_envvar=True,
    help="A shared journal: postgresql://USER@HOST/DB (the password may come from "
         "~/.pgpass or PGPASSWORD).")]
BatchNameOption = Annotated[str | None, typer.Option(
    "--batch", metavar="NAME", show_default=False,
    help="The batch in a shared journal (default: the only one there).")]
LeaseOption = Annotated[float, typer.Option(
    "--lease-seconds", metavar="S", min=0.5,
    help="A shared journal: a worker silent this long is gone; its unsent claims go to "
         "others, its running tasks are taken over.")]
ConcurrencyOption = Annotated[int | None, typer.Option(
    "--concurrency", metavar="N", min=1, show_default=False,
    help="At most N tasks in flight (default 8); each model's share adapts to Runway's "
         "limits.")]
WaitOnLimitOption = Annotated[bool, typer.Option(
    "--wait-on-limit",
    help="At a daily or credit limit, keep the batch alive and try again now and then (a "
         "refused create costs nothing) instead of pausing with exit 75.")]
#: Seconds between tries at a limit with --wait-on-limit.
LIMIT_RECHECK_SECONDS = 600.0
LimitRecheckOption = Annotated[float, typer.Option(
    "--limit-recheck-seconds", metavar="S", min=0.01,
    help="With --wait-on-limit: seconds between tries.")]
MaxCreditsOption = Annotated[float | None, typer.Option(
    "--max-credits", metavar="N", min=0.01, show_default=False,
    help="Stop submitting once this batch's tasks are estimated at N credits in all (a "
         "resume may raise it).")]
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: HTTP requests on the wire at once, however many tasks are followed: enough for polls of
#: hundreds of tasks at Runway's latency; more only costs CPU (benchmarks/bench_batch.py).
REQUESTS_AT_ONCE = 16
#: Seconds between progress lines when stderr is not a terminal.
PLAIN_PROGRESS_SECONDS = 10.0
_RUNNING = ("submitting", "submitted", "succeeded")


# --------------------------------------------------------------------------- commands


def run(
    jobs: JobsArg,
    concurrency: ConcurrencyOption = None,
    journal: Annotated[str | None, typer.Option(
        "--journal", metavar="FILE|URL", envvar=JOURNAL_URL_ENV, show_default=False,
        show_envvar=True,
        help="Where to keep the journal: a file (default OUTPUT_DIR/journal.sqlite3), or a "
             "shared postgresql:// database that workers on other machines can drain.")
    ] = None,
    batch_name: Annotated[str | None, typer.Option(
        "--batch", metavar="NAME", show_default=False,
        help="The batch's name in a shared journal (default: the jobs file's name).")
    ] = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", show_default=False,
        help="Where outputs, the journal and results.jsonl go (default "
             "runway-output/<JOBS name>).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check every line and show what would run; send nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Leave bad lines out (listed) instead of refusing the file.")
    ] = False,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", metavar="ENDPOINT", show_default=False,
        help="Endpoint for lines that name none (e.g. text_to_image).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", metavar="MODEL", show_default=False,
        help="Model for lines that name none.")] = None,
    retry_on_internal_error: RetryInternalOption = 2,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None,
    wait_on_limit: WaitOnLimitOption = False,
    limit_recheck_seconds: LimitRecheckOption = LIMIT_RECHECK_SECONDS,
    max_credits: MaxCreditsOption = None,
    allow_unknown_model: Annotated[bool, typer.Option(
        "--allow-unknown-model",
        help="Send a job's model id even when it is a near miss of a listed one (else that "
             "line is refused as a typo; resumes keep the choice).")] = False,
    json: JsonOption = False,
) -> int:
    """Run every generation of a jobs file: checked first, journaled, resumable.

    Every line is pre-flighted before the first request; a file with bad lines is refused
    with each problem listed (line, field, fix). The journal is written before anything is
    sent. Stop with Ctrl-C at any time and continue with 'runway batch resume JOURNAL'.
    """
    from runway_dynamic.batch import Batch, BatchOptions, default_output_dir, load_jobs

    invocation = current()
    invocation.json = invocation.wants_json(json)
    spec = invocation.spec()
    if jobs == "-":
        from runway_dynamic.batch.jobfile import format_of, parse_jobs

        text = sys.stdin.read()
        found = parse_jobs(text, spec, source="<stdin>", base_dir=Path.cwd(),
                           fmt=format_of(Path("-"), text), endpoint=endpoint, model=model,
                           skip_invalid=skip_invalid, flags=job_flags,
                           allow_unknown_model=allow_unknown_model)
    else:
        found = load_jobs(jobs, spec, endpoint=endpoint, model=model,
                          skip_invalid=skip_invalid, flags=job_flags,
                          allow_unknown_model=allow_unknown_model)
    for problem in found.skipped:
        warn(f"{jobs}: skipped {problem}")
    for problem in found.warnings:
        warn(f"{jobs}: {problem}")
    out = output_dir or default_output_dir(found.path, _configured_output_dir())
    options = _options(BatchOptions(allow_unknown_model=allow_unknown_model), concurrency,
                       retry_on_internal_error, retry_backoff_seconds, poll_interval,
                       wait_on_limit, limit_recheck_seconds, max_credits)
    if dry_run:
        return _dry_run(found, out, journal)
    _creative_key()
    _reachable(journal)
    with Batch.create(found, output_dir=out, journal=journal, options=options,
                      spec=spec, name=batch_name) as batch:
        say(invocation, f"journal: {batch.path} ({len(found.jobs)} jobs; resume with: {PROG} batch "
             f"resume {batch.reference})")
        return _execute(batch, options, poll_interval)


def resume(
    journal: JournalArg = None,
    journal_url: JournalUrlOption = None,
    batch_name: BatchNameOption = None,
    concurrency: ConcurrencyOption = None,
    retry_on_internal_error: Annotated[int | None, typer.Option(
        "--retry-on-internal-error", metavar="N", show_default=False,
        help="Resubmit INTERNAL.* failures up to N times (default: as the batch was run).")
    ] = None,
    retry_backoff_seconds: Annotated[float | None, typer.Option(
        "--retry-backoff-seconds", metavar="S", show_default=False,
        help="Pause before such a resubmission (default: as the batch was run).")] = None,
    poll_interval: PollIntervalOption = None,
    wait_on_limit: WaitOnLimitOption = False,
    limit_recheck_seconds: LimitRecheckOption = LIMIT_RECHECK_SECONDS,
    max_credits: MaxCreditsOption = None,
    lease_seconds: LeaseOption = 30.0,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", show_default=False,
        help="Save the outputs this run fetches under DIR (default: the folder the batch "
             "was created with; on a shared journal, a folder on this machine).")] = None,
    json: JsonOption = False,
) -> int:
    """Continue a batch: follow tasks already submitted (never resubmitting them), fetch
    outputs not saved yet, then submit what is left. On a shared journal this run is one
    more worker of the batch."""
    invocation = current()
    invocation.json = invocation.wants_json(json)
    _creative_key()
    with _open(journal, journal_url, batch_name, output_dir=output_dir) as batch:
        options = _options(batch.options(), concurrency, retry_on_internal_error,
                           retry_backoff_seconds, poll_interval, wait_on_limit,
                           limit_recheck_seconds, max_credits)
        return _execute(batch, options, poll_interval, lease_seconds)


def status(journal: JournalArg = None, journal_url: JournalUrlOption = None,
           batch_name: BatchNameOption = None, json: JsonOption = False) -> int:
    """Summarise a batch from its journal (safe while it runs): counts, failures, pauses,
    uncertain jobs and what to do next. Exits 0 when every job is downloaded, else 1."""
    invocation = current()
    with _open(journal, journal_url, batch_name, readonly=True) as batch:
        found = batch.status()
    if invocation.wants_json(json):
        emit_json(found.to_dict())
    else:
        echo(found.report())
    return 0 if found.done else 1


def results(
    journal: JournalArg = None,
    journal_url: JournalUrlOption = None,
    batch_name: BatchNameOption = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", show_default=False,
        help="Write the JSONL here (atomically) instead of printing it.")] = None,
) -> int:
    """Print (or write) one JSON line per job: job, task id(s), status, failure, files
    (and, from a shared journal, the host whose disk holds them)."""
    with _open(journal, journal_url, batch_name, readonly=True) as batch:
        if output is not None:
            echo(str(batch.write_results(output)))
            return 0
        import orjson

        for row in batch.results():
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
    return 0


def retry_failed(
    journal: JournalArg = None,
    journal_url: JournalUrlOption = None,
    batch_name: BatchNameOption = None,
    job: Annotated[list[str] | None, typer.Option(
        "--job", metavar="KEY", show_default=False,
        help="Retry this failed job whatever its failure (repeatable). Default: every "
             "failed job whose failure is retryable (INTERNAL.*).")] = None,
    no_run: Annotated[bool, typer.Option(
        "--no-run", help="Only put them back in the queue; run later with resume.")] = False,
    concurrency: ConcurrencyOption = None,
    poll_interval: PollIntervalOption = None,
    wait_on_limit: WaitOnLimitOption = False,
    limit_recheck_seconds: LimitRecheckOption = LIMIT_RECHECK_SECONDS,
    max_credits: MaxCreditsOption = None,
    json: JsonOption = False,
) -> int:
    """Resubmit failed jobs: only those whose failure may pass on a new try, unless named
    with --job (each is a new, billed task)."""
    invocation = current()
    invocation.json = invocation.wants_json(json)
    with _open(journal, journal_url, batch_name) as batch:
        moved = batch.retry_failed(job or None)
        if not moved:
            say(invocation, "no failed job to retry (SAFETY.* and other final failures need "
                            "--job KEY)")
            if no_run:
                return 0
        else:
            say(invocation, f"back in the queue: {', '.join(moved)}")
        if no_run:
            return 0
        _creative_key()
        options = _options(batch.options(), concurrency, None, None, poll_interval,
                           wait_on_limit, limit_recheck_seconds, max_credits)
        return _execute(batch, options, poll_interval)


def resolve(
    job: Annotated[str, typer.Option("--job", metavar="KEY", show_default=False,
                                     help="The uncertain job.")],
    journal: JournalArg = None,
    journal_url: JournalUrlOption = None,
    batch_name: BatchNameOption = None,
    task_id: Annotated[str | None, typer.Option(
        "--task-id", metavar="ID", show_default=False,
        help="The task it made (from your Runway dashboard); it is polled, not resent.")
    ] = None,
    not_submitted: Annotated[bool, typer.Option(
        "--not-submitted",
        help="You checked: the create made no task; submit the job again.")] = False,
    json: JsonOption = False,
) -> int:
    """Settle an uncertain job (its create's answer was lost): give its task id, or say it
    made none. Nothing is resubmitted until you do."""

    invocation = current()
    if (task_id is None) == (not not_submitted):
        raise UsageError("batch resolve: give exactly one of --task-id ID and --not-submitted")

    async def settle(batch: Batch) -> Any:
        if task_id is None:
            return await batch.resolve(None, job, task_id=None)
        async with make_async_client(invocation) as client:
            return await batch.resolve(client, job, task_id=task_id)

    import asyncio  # here, not at the top: 'batch --help' should not pay for it

    with _open(journal, journal_url, batch_name) as batch:
        record = asyncio.run(settle(batch))
        reference = batch.reference
    if invocation.wants_json(json):
        emit_json(record.to_dict())
    else:
        echo(f"{record.key}: {record.state}" + (f" (task {record.task_id})"
                                                if record.task_id else ""))
        say(invocation, f"continue with: {PROG} batch resume {reference}")
    return 0


def worker(
    journal_url: JournalUrlOption = None,
    batch_name: Annotated[list[str] | None, typer.Option(
        "--batch", metavar="NAME", show_default=False,
        help="Drain only this batch (repeatable). Default: every batch with work left, "
             "oldest first.")] = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", show_default=False,
        help="Save outputs under DIR/<batch name> on this machine (default: the folder "
             "each batch was created with; a shared mount works too).")] = None,
    concurrency: ConcurrencyOption = None,
    poll_interval: PollIntervalOption = None,
    wait_on_limit: WaitOnLimitOption = False,
    limit_recheck_seconds: LimitRecheckOption = LIMIT_RECHECK_SECONDS,
    max_credits: MaxCreditsOption = None,
    lease_seconds: LeaseOption = 30.0,
    json: JsonOption = False,
) -> int:
    """Work on a shared journal beside any number of other workers, on any machines.

    Claims pending jobs as the shared per-model windows allow, records each create before
    it leaves and its task id the moment it is answered, follows the tasks and saves the
    outputs here. Killed at any moment, it leaves nothing that another worker pays for
    again: its unsent claims return after --lease-seconds and its running tasks are taken
    over. Exits once no batch it serves has work left.
    """
    from runway_dynamic.batch import Batch
    from runway_dynamic.batch.api import is_url
    from runway_dynamic.batch.postgres import PostgresJournal

    invocation = current()
    invocation.json = invocation.wants_json(json)
    if not is_url(journal_url):
        raise UsageError("batch worker: give the shared journal with --journal postgresql://… "
                         f"(or {JOURNAL_URL_ENV}); a journal file belongs to one process")
    assert journal_url is not None
    _reachable(journal_url)
    _creative_key()
    names = list(batch_name or PostgresJournal.batch_names(journal_url, with_work=True))
    if not names:
        say(invocation, "no batch in this journal has work left")
        return 0
    code = 0
    for name in names:
        with Batch.open(journal_url, name=name,
                        output_dir=output_dir / name if output_dir is not None else None
                        ) as batch:
            options = _options(batch.options(), concurrency, None, None, poll_interval,
                               wait_on_limit, limit_recheck_seconds, max_credits)
            say(invocation, f"worker on batch {name}: outputs in {batch.output_dir}")
            result = _execute(batch, options, poll_interval, lease_seconds)
        code = code or result
        if result in (EXIT_INTERRUPTED, EXIT_ERROR):
            break
    return code


def _open(journal: str | None, journal_url: str | None, name: str | None, *,
          readonly: bool = False, output_dir: Path | None = None) -> Batch:
    """The batch a command names: a journal file (or URL) as the argument, or ``--journal``
    (``RUNWAY_JOURNAL_URL``) and ``--batch``."""
    from runway_dynamic.batch import Batch

    where = journal or journal_url
    if not where:
        raise UsageError("name the batch's journal: a file (runway-output/NAME/journal.sqlite3)"
                         f", or --journal postgresql://… (or {JOURNAL_URL_ENV})")
    _reachable(where)
    return Batch.open(where, readonly=readonly, name=name, output_dir=output_dir)


def job_flags(operation: Operation) -> Namer:
    """A jobs file's fields named as ``runway call`` names them (the command builder's
    flags: ``--body-version`` where the tool's ``--version`` takes the natural name)."""
    from runway_dynamic.cli.call import command_options

    return command_options(operation).flag_for


def _reachable(journal: str | None) -> None:
    """Under ``--sandbox`` a shared journal must be on this machine (nothing leaves it)."""
    from runway_dynamic.batch.api import is_url

    if journal and is_url(journal):
        current().boundary.check_outbound(journal, "--journal")


# --------------------------------------------------------------------------- running


def _options(stored: BatchOptions, concurrency: int | None, retry: int | None,
             backoff: float | None, poll: float | None, wait_on_limit: bool,
             recheck_seconds: float, max_credits: float | None) -> BatchOptions:
    """``stored`` (the defaults, or the journal's last run) with what was given now on top;
    waiting at limits is chosen anew each run (it keeps a process alive for hours)."""
    from dataclasses import replace

    changes: dict[str, Any] = {"limit_wait": recheck_seconds if wait_on_limit else None}
    if concurrency is not None:
        changes["concurrency"] = concurrency
    if retry is not None:
        changes["retry_on_internal_error"] = retry
    if backoff is not None:
        changes["retry_backoff_seconds"] = backoff
    if poll is not None:
        changes["poll_interval"] = poll
    if max_credits is not None:
        changes["max_credits"] = max_credits
    return replace(stored, **changes).check()


def _creative_key() -> None:
    """Fail before anything starts when there is no key (a placeholder under --sandbox)."""
    from runway_dynamic.cli._clients import require_api_key

    require_api_key(current())


def _configured_output_dir() -> Path | None:
    from runway_dynamic import config

    value = config.get("output-dir")
    return Path(value) if isinstance(value, str) and value else None


def _execute(batch: Batch, options: BatchOptions, poll_interval: float | None,
             lease_seconds: float | None = None) -> int:
    """Run the batch with a live display; Ctrl-C (or SIGTERM) stops it without loss."""
    import asyncio  # here, not at the top: 'batch --help' should not pay for it

    invocation = current()
    total = sum(batch.journal.counts().values())
    display = BatchDisplay(total, quiet=invocation.json)

    async def main() -> BatchReport:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        this = asyncio.current_task()
        presses = 0

        def on_signal() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                stop.set()
                display.note("stopping: creates already sent are being recorded, then "
                             "the batch stops (Ctrl-C again to quit at once)")
            elif this is not None:
                this.cancel()

        with _signals(loop, on_signal):
            async with make_async_client(
                    invocation, poll_interval=poll_interval, connections=REQUESTS_AT_ONCE,
                    allow_unknown_model=options.allow_unknown_model) as client:
                return await batch.run(client, options, on_event=display.event, stop=stop,
                                       lease_seconds=lease_seconds)

    with display:
        try:
            report = asyncio.run(main())
        except (asyncio.CancelledError, KeyboardInterrupt):
            display.close()
            sys.stderr.write(f"{PROG}: stopped at once; jobs whose create was out are marked "
                             f"uncertain. Continue with: {PROG} batch resume {batch.reference}\n")
            return EXIT_INTERRUPTED
    _finish(batch, report)
    return report.exit_code


@contextmanager
def _signals(loop: asyncio.AbstractEventLoop, handler: Any) -> Iterator[None]:
    installed = []
    for sig in SIGNALS:
        try:
            loop.add_signal_handler(sig, handler)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / OS
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _finish(batch: Batch, report: BatchReport) -> None:
    invocation = current()
    if invocation.json or not sys.stdout.isatty():
        emit_json(report.to_dict())
    else:
        echo(report.status.report())
        if report.results:
            echo(f"  results: {report.results}")
    outcome = report.outcome
    if outcome.stopped == "interrupted":
        say(invocation, f"interrupted; tasks already submitted keep running on Runway. "
                        f"Continue with: {PROG} batch resume {batch.reference}")
    elif outcome.fatal:
        say(invocation, f"stopped: {outcome.fatal}. Fix it, then: {PROG} batch resume "
                        f"{batch.reference}")
    elif outcome.paused and report.status.counts.get("pending"):
        say(invocation, f"paused at a limit; {report.status.counts['pending']} job(s) wait. "
                        f"Continue later with: {PROG} batch resume {batch.reference}")


def _dry_run(found: Any, out: Path, journal: str | None) -> int:
    from collections import Counter

    from runway_dynamic.batch.api import JOURNAL_NAME, is_url
    from runway_dynamic.batch.postgres import redact

    invocation = current()
    by_model = Counter(f"{job.endpoint} {job.model or ''}".strip() for job in found.jobs)
    where = (redact(journal) if journal and is_url(journal)
             else str(Path(journal or out / JOURNAL_NAME).absolute()))
    plan = {"jobs": len(found.jobs), "skipped": [p.to_dict() for p in found.skipped],
            "byEndpointAndModel": dict(by_model), "outputDir": str(out.absolute()),
            "journal": where, "sent": False}
    if invocation.json or not sys.stdout.isatty():
        emit_json(plan)
    else:
        echo(f"{len(found.jobs)} job(s) passed the check; nothing was sent.")
        for name, count in by_model.most_common():
            echo(f"  {count:>6}  {name}")
        echo(f"outputs would go to {plan['outputDir']}, the journal to {plan['journal']}")
    return 0


# --------------------------------------------------------------------------- display


class BatchDisplay:
    """Live progress on stderr: one line that updates on a terminal (rich), a line every
    few seconds otherwise, nothing with ``--json``. Counts: done, running (of them
    THROTTLED), failed, uncertain; the rate and an ETA from this run's pace."""

    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None,
                 interval: float = PLAIN_PROGRESS_SECONDS) -> None:
        self.total = total
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.interval = interval
        self.counts: dict[str, int] = {}
        self.throttled = 0
        self._live: Any = None
        self._first_done: int | None = None
        self._started = time.monotonic()
        self._last_line = float("-inf")  # the first event always shows a line

    def __enter__(self) -> BatchDisplay:
        if not self.quiet and is_terminal(self.stream):
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            self._live = Live(Text(self.line()), console=Console(file=self.stream),
                              refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif not self.quiet and self.counts:
            self._write(self.line())

    def line(self) -> str:
        c = self.counts
        done, failed = c.get("downloaded", 0), c.get("failed", 0)
        running = sum(c.get(s, 0) for s in _RUNNING)
        parts = [f"{done}/{self.total} done", f"{running} running"
                 + (f" ({self.throttled} throttled)" if self.throttled else "")]
        if failed:
            parts.append(f"{failed} failed")
        if c.get("uncertain"):
            parts.append(f"{c['uncertain']} uncertain")
        rate = self.rate()
        if rate:
            left = self.total - done - failed - c.get("uncertain", 0)
            parts.append(f"{rate:.2f} jobs/s, ETA {_duration(left / rate)}")
        return " · ".join(parts)

    def rate(self) -> float | None:
        """Jobs finished per second in this run (those done before it do not count)."""
        if self._first_done is None:
            return None
        gained = self.counts.get("downloaded", 0) - self._first_done
        elapsed = time.monotonic() - self._started
        return gained / elapsed if gained > 0 and elapsed > 0 else None

    def event(self, event: BatchEvent) -> None:
        self.counts = dict(event.counts)
        self.throttled = event.throttled
        if self._first_done is None:
            self._first_done = self.counts.get("downloaded", 0)
            self._started = time.monotonic()
        if event.kind == "note" and event.message:
            self.note(event.message)
        elif event.kind == "job" and event.state in ("failed", "uncertain"):
            self.note(f"{event.key}: {event.state}")
        if self.quiet:
            return
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text(self.line()))
        elif time.monotonic() - self._last_line >= self.interval:
            self._write(self.line())

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(f"{PROG}: {text}", markup=False, highlight=False)
        else:
            self.stream.write(f"{PROG}: {text}\n")
            self.stream.flush()

    def _write(self, text: str) -> None:
        self._last_line = time.monotonic()
        self.stream.write(f"{PROG}: {text}\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
