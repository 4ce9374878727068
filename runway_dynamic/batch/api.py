"""A batch as one object: create it from a jobs file, run and resume it, ask how it stands.

>>> spec = load_spec()
>>> batch = Batch.create(load_jobs("jobs.csv", spec), output_dir="out/")   # nothing is sent
>>> async with AsyncRunwayClient() as client:
...     report = await batch.run(client, BatchOptions(concurrency=16))
>>> batch.status().counts["downloaded"]

Later, or after a crash: ``Batch.open("out/journal.sqlite3")`` and ``run`` again; the
journal says what is left. With ``journal="postgresql://…"`` the batch lives in a shared
database instead, and any number of runs (workers, on any machines) drain it together.
The CLI (``runway batch …``) is a thin layer over this.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import FileWriteError, UsageError
from runway_dynamic._files import check_writable_dir
from runway_dynamic.batch import journal as states
from runway_dynamic.batch.jobfile import JobsFile
from runway_dynamic.batch.journal import JobRecord, Journal, JournalBase
from runway_dynamic.batch.runner import BatchOptions, EventCallback, Runner, RunOutcome


def is_url(value: object) -> bool:
    """Whether a journal names a PostgreSQL database (``postgresql://…``) rather than a file."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.spec import Spec

logger = logging.getLogger("runway_dynamic.batch")
JOURNAL_NAME = "journal.sqlite3"
RESULTS_NAME = "results.jsonl"
DEFAULT_OUTPUT_ROOT = "runway-output"
#: Jobs whose task exists on Runway (a different API would not know them).
_ON_THE_API = (states.SUBMITTED, states.SUCCEEDED, states.UNCERTAIN)


def default_output_dir(jobs_path: str | os.PathLike[str] | None,
                       root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/<jobs file stem>`` (root: ``runway-output``): one folder per jobs file, so
    two batches never share a journal (``batch`` for text that came from no file)."""
    stem = Path(jobs_path).stem if jobs_path is not None else ""
    return Path(root if root is not None else DEFAULT_OUTPUT_ROOT) / (stem or "batch")


@dataclass
class BatchStatus:
    """How a batch stands, from its journal alone (readable while a run writes)."""

    journal: str
    counts: dict[str, int]
    meta: dict[str, Any]
    #: The command-line words naming the journal (``--journal URL --batch NAME`` when shared).
    reference: str = ""
    failed: list[dict[str, Any]] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    tasks_created: int = 0
    #: Credits the API estimated for the tasks created (the budget counts these).
    credits: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> bool:
        return self.counts.get(states.DOWNLOADED, 0) == self.total

    @property
    def paused(self) -> dict[str, str]:
        return dict(self.meta.get("paused") or {})

    def next_steps(self) -> list[str]:
        """The commands that move this batch on (empty when it is done)."""
        steps = []
        path = self.reference or self.journal
        waiting = sum(self.counts.get(s, 0) for s in (states.PENDING, states.SUBMITTED,
                                                      states.SUCCEEDED))
        if waiting:
            steps.append(f"runway batch resume {path}")
        if self.uncertain:
            steps.append(f"runway batch resolve {path} --job KEY --task-id ID   (or "
                         "--not-submitted), for each uncertain job")
        if any(f["retryable"] for f in self.failed):
            steps.append(f"runway batch retry-failed {path}")
        return steps

    def to_dict(self) -> dict[str, Any]:
        return {"journal": self.journal, "total": self.total, "counts": self.counts,
                "done": self.done, "jobsFile": self.meta.get("jobs_file"),
                "outputDir": self.meta.get("output_dir"),
                "results": self.meta.get("results"), "created": self.meta.get("created"),
                "tasksCreated": self.tasks_created, "creditsEstimated": self.credits,
                "paused": self.paused,
                "failed": self.failed, "uncertain": self.uncertain,
                "lastRun": self.meta.get("last_run"), "nextSteps": self.next_steps()}

    def report(self) -> str:
        """A few lines for people."""
        shown = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        lines = [f"{self.journal}: {self.total} jobs — {shown or 'none'}",
                 f"  tasks created (billed): {self.tasks_created}, estimated at "
                 f"{self.credits:g} credits; outputs in {self.meta.get('output_dir')}"]
        for lane, reason in self.paused.items():
            lines.append(f"  paused {'' if lane == '*' else lane + ': '}{reason}")
        for item in self.failed[:20]:
            tag = "retryable" if item["retryable"] else "final"
            lines.append(f"  failed {item['job']} (line {item['line']}, {tag}): "
                         f"{item['failureCode'] or ''} {item['failure']}".rstrip())
        if len(self.failed) > 20:
            lines.append(f"  … and {len(self.failed) - 20} more failed (see --json)")
        for item in self.uncertain:
            lines.append(f"  uncertain {item['job']} (line {item['line']}): {item['note']}")
        lines += [f"  next: {step}" for step in self.next_steps()]
        return "\n".join(lines)


@dataclass
class BatchReport:
    """What a run did, and how the batch stands after it."""

    outcome: RunOutcome
    status: BatchStatus
    results: Path | None

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def to_dict(self) -> dict[str, Any]:
        o = self.outcome
        return {"exitCode": self.exit_code, "elapsedSeconds": round(o.elapsed, 3),
                "tasksCreatedThisRun": o.created, "stopped": o.stopped, "fatal": o.fatal,
                "paused": o.paused, "notDownloaded": o.undownloaded,
                "results": str(self.results) if self.results else None,
                "status": self.status.to_dict()}


class Batch:
    """One batch: its journal and the folder its outputs go to."""

    def __init__(self, journal: JournalBase,
                 output_dir: str | os.PathLike[str] | None = None) -> None:
        """``output_dir``: where this run saves outputs, instead of the batch's own folder
        (a worker on another machine, or a shared mount)."""
        self.journal = journal
        meta = journal.meta()
        if output_dir is not None:
            self.output_dir = Path(output_dir).absolute()
            self.results_path = self.output_dir / RESULTS_NAME
        else:
            self.output_dir = Path(meta.get("output_dir") or Path(journal.path).parent)
            self.results_path = Path(meta.get("results") or self.output_dir / RESULTS_NAME)

    @property
    def path(self) -> Any:
        """The journal's file, or its database and batch name (password hidden)."""
        return self.journal.path

    @property
    def reference(self) -> str:
        """The command-line words that name this batch's journal."""
        return self.journal.reference

    # ------------------------------------------------------------------ making and opening

    @classmethod
    def create(cls, jobs: JobsFile, *, output_dir: str | os.PathLike[str] | None = None,
               journal: str | os.PathLike[str] | None = None,
               options: BatchOptions | None = None, spec: Spec | None = None,
               name: str | None = None) -> Batch:
        """Write the journal (every job ``pending``) before anything is sent.

        ``journal`` is a file (default ``OUTPUT_DIR/journal.sqlite3``) or a
        ``postgresql://`` URL; there the batch is called ``name`` (default: the jobs
        file's name, as the output folder is).
        """
        out = Path(output_dir) if output_dir is not None else default_output_dir(jobs.path)
        out = out.absolute()
        meta: dict[str, Any] = {
            "jobs_file": str(jobs.path) if jobs.path is not None else jobs.source,
            "jobs_sha256": jobs.sha256,
            "output_dir": str(out),
            "results": str(out / RESULTS_NAME),
            "options": (options or BatchOptions()).check().to_dict(),
            "skipped_lines": [p.to_dict() for p in jobs.skipped],
        }
        if spec is not None:
            meta["spec_sha256"] = spec.sha256
            meta["spec_source"] = spec.source.location
        if is_url(journal):
            from runway_dynamic.batch.postgres import PostgresJournal

            default = Path(jobs.path).stem if jobs.path is not None else out.name
            created = PostgresJournal.create(str(journal), name or default, jobs.jobs, meta)
            out.mkdir(parents=True, exist_ok=True)
            return cls(created)
        path = Path(journal).absolute() if journal is not None else out / JOURNAL_NAME
        out.mkdir(parents=True, exist_ok=True)
        return cls(Journal.create(path, jobs.jobs, meta))

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False,
             name: str | None = None,
             output_dir: str | os.PathLike[str] | None = None) -> Batch:
        """Open a journal file, or batch ``name`` of a ``postgresql://`` journal (``None``:
        the only batch there)."""
        if is_url(path):
            from runway_dynamic.batch.postgres import PostgresJournal

            return cls(PostgresJournal.open(str(path), name, readonly=readonly), output_dir)
        return cls(Journal.open(path, readonly=readonly), output_dir)

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ running

    def options(self) -> BatchOptions:
        """The options of the last run (the defaults of the next)."""
        return BatchOptions.from_dict(self.journal.meta().get("options") or {})

    async def run(self, client: AsyncRunwayClient, options: BatchOptions | None = None, *,
                  on_event: EventCallback | None = None,
                  stop: asyncio.Event | None = None,
                  lease_seconds: float | None = None) -> BatchReport:
        """Move every job as far as it goes: submit the pending, follow the submitted,
        fetch what succeeded. Setting ``stop`` ends the run early, losing nothing.

        On a shared journal this run is one worker among any others: it claims jobs as
        the shared windows allow, and holds its claims by a lease of ``lease_seconds``.

        An output folder that cannot be written is refused (``LocalPathError``) before
        anything is claimed or sent: found at the first download, every create would be paid.
        """
        check_writable_dir(self.output_dir, "the batch's output folder")
        self.journal.claim()
        try:
            chosen = (options or self.options()).check()
            self._check_base_url(client.base_url)
            self.journal.set_meta(options=chosen.to_dict(), base_url=client.base_url,
                                  paused={})
            runner = Runner(client, self.journal, output_dir=self.output_dir, options=chosen,
                            on_event=on_event, lease_seconds=lease_seconds)
            watcher = (asyncio.create_task(_forward(stop, runner.stop))
                       if stop is not None else None)
            try:
                outcome = await runner.run()
            finally:
                if watcher is not None:
                    watcher.cancel()
            self.journal.set_meta(paused=outcome.paused, last_run={
                "exitCode": outcome.exit_code, "elapsedSeconds": round(outcome.elapsed, 3),
                "tasksCreated": outcome.created, "stopped": outcome.stopped,
                "fatal": outcome.fatal})
            try:
                results: Path | None = self.write_results()
            except FileWriteError as exc:  # the journal still holds every result
                logger.warning("results not written: %s", exc)
                results = None
            return BatchReport(outcome, self.status(), results)
        finally:
            self.journal.release()

    def _check_base_url(self, base_url: str) -> None:
        before = self.journal.meta().get("base_url")
        if not before or before == base_url:
            return
        live = sum(self.journal.counts()[s] for s in _ON_THE_API)
        if live:
            raise UsageError(
                f"this batch has {live} task(s) on {before}; {base_url} would not know them. "
                f"Run it against {before} (e.g. RUNWAY_BASE_URL={before}), or resolve those "
                "jobs first")

    # ------------------------------------------------------------------ people's decisions

    def retry_failed(self, keys: Sequence[str] | None = None) -> list[str]:
        """Failed jobs back to the queue: the retryable ones (``INTERNAL.*``), or exactly
        ``keys`` (any failure: your call). The next :meth:`run` submits them."""
        self.journal.claim()
        try:
            failed = {r.key: r for r in self.journal.jobs([states.FAILED])}
            if keys:
                unknown = [k for k in keys if k not in failed]
                if unknown:
                    raise UsageError(f"not failed (or not in this batch): {', '.join(unknown)}")
                chosen = list(keys)
            else:
                chosen = [k for k, r in failed.items() if r.retryable]
            return self.journal.reset_failed(chosen)
        finally:
            self.journal.release()

    async def resolve(self, client: AsyncRunwayClient | None, key: str, *,
                      task_id: str | None) -> JobRecord:
        """Settle an ``uncertain`` job: ``task_id`` found in the dashboard (checked with the
        API when ``client`` is given), or ``None``: its create never made a task."""
        self.journal.claim()
        try:
            record = self.journal.job(key)
            if record.state != states.UNCERTAIN:
                raise UsageError(f"job {key} is {record.state}, not uncertain; nothing to "
                                 "resolve")
            if task_id is not None and client is not None:
                await client.tasks.get(task_id)  # NotFoundError when the id is wrong
            self.journal.resolve(key, task_id=task_id)
            return self.journal.job(key)
        finally:
            self.journal.release()

    # ------------------------------------------------------------------ reading

    def status(self) -> BatchStatus:
        jobs = self.journal.jobs([states.FAILED, states.UNCERTAIN])
        return BatchStatus(
            journal=str(self.path), reference=self.reference, counts=self.journal.counts(),
            meta=self.journal.meta(),
            failed=[r.to_dict() for r in jobs if r.state == states.FAILED],
            uncertain=[r.to_dict() for r in jobs if r.state == states.UNCERTAIN],
            tasks_created=len(self.journal.tasks()), credits=self.journal.credits())

    def results(self) -> list[dict[str, Any]]:
        """One row per job: job, task id(s), state, failure, files."""
        tasks: dict[str, list[Any]] = {}
        for task in self.journal.tasks():
            tasks.setdefault(task.job_key, []).append(task)
        rows = []
        for record in self.journal.jobs():
            mine = tasks.get(record.key, [])
            last = mine[-1] if mine else None
            rows.append({"job": record.key, "line": record.line, "endpoint": record.endpoint,
                         "model": record.model, "state": record.state,
                         "taskId": record.task_id or (last.task_id if last else None),
                         "taskIds": [t.task_id for t in mine],
                         "status": last.status if last else None,
                         "failure": record.failure, "failureCode": record.failure_code,
                         "files": list(record.files) if record.state == states.DOWNLOADED
                         else [], **({"host": record.host} if record.host else {})})
        return rows

    def write_results(self, path: str | os.PathLike[str] | None = None) -> Path:
        """The results as JSONL, written atomically (the journal stays the truth)."""
        import orjson

        from runway_dynamic._files import atomic_write_bytes

        target = Path(path) if path is not None else self.results_path
        data = b"".join(orjson.dumps(row) + b"\n" for row in self.results())
        atomic_write_bytes(target, data)
        return target


async def _forward(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
