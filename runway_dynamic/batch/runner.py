"""Running a batch: every job from its journal state to its files, bounded and resumable.

The journal is the truth; this module only moves jobs along it (see
:mod:`runway_dynamic.batch.journal` for the states). Per job:

1. local media are inlined or uploaded (uploads are free and cached per file for the run);
2. ``submitting`` is committed, the create is sent, and the task id committed at once;
3. the task is polled until it settles, its status feeding the lane's pacing (THROTTLED
   narrows the window, see :mod:`runway_dynamic.batch.pacing`); an ``INTERNAL.*`` failure is
   resubmitted as the options allow, anything else fails the job;
4. outputs are streamed to files named after the job (``job-0042.mp4``), whose names are
   committed before the first byte, so a rerun finds them instead of fetching twice.

A 429 on a create means no task exists, so the job goes back to the queue while its lane
pauses; if the organization shows the model's daily cap reached (or the API keeps
refusing), the lane is shut for this run. Running out of credits shuts the batch. A lost
create answer leaves the job ``uncertain``: it is never resent. A refused key stops
everything. None of these lose work: ``runway batch resume`` continues from the journal.

Stopping (:attr:`Runner.stop` set, e.g. on Ctrl-C) lets creates already sent record their
task ids, then stops polling; the tasks keep running on Runway and a resume follows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runway_dynamic._constants import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_PAUSED,
    EXIT_TASK_FAILED,
    RESUBMIT_BACKOFF,
)
from runway_dynamic._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    JournalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestMayHaveSucceededError,
    RunwayError,
    TaskCancelledError,
    TaskFailedError,
    UsageError,
)
from runway_dynamic._http import should_resubmit
from runway_dynamic.batch import journal as states
from runway_dynamic.batch.coordination import LocalCoordinator, SharedCoordinator
from runway_dynamic.batch.journal import JobRecord, JournalBase
from runway_dynamic.batch.organization import OrgModel, parse_organization
from runway_dynamic.batch.outputs import clear_partials, existing_output, plan_files
from runway_dynamic.batch.pacing import Lane, Pacer
from runway_dynamic.batch.writer import JournalWriter, LocalJournalWriter, writer_for

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.downloads import StagedFile
    from runway_dynamic.tasks import Task

logger = logging.getLogger("runway_dynamic.batch")
T = TypeVar("T")

DEFAULT_CONCURRENCY = 8
DEFAULT_RETRY_ON_INTERNAL_ERROR = 2
DEFAULT_DOWNLOADS = 4
#: Pause before the next try after an error that created nothing (network, upload).
NOT_SENT_PAUSE = 1.0
#: Creates in a row that found the API unreachable before the batch stops.
UNREACHABLE_LIMIT = 8
#: Failed attempts at fetching one output before it is left for a later run.
DOWNLOAD_ATTEMPTS = 4
#: With a budget and no price known yet, how soon a held create looks again.
FIRST_PRICE_WAIT = 0.05
#: At most one look at the organization's usage per this many seconds (on 429s).
ORG_CHECK_SECONDS = 30.0
ORGANIZATION_ENDPOINT = "organization"

_INTERNAL_PREFIX = "INTERNAL"
_CREDIT_WORDS = ("credit",)
_CAP_WORDS = ("daily", "quota", "24 hour", "24-hour")


@dataclass(frozen=True)
class BatchOptions:
    """How a run proceeds (stored with the journal as the defaults of later runs)."""

    concurrency: int = DEFAULT_CONCURRENCY
    retry_on_internal_error: int = DEFAULT_RETRY_ON_INTERNAL_ERROR
    retry_backoff_seconds: float = RESUBMIT_BACKOFF
    poll_interval: float | None = None
    downloads: int = DEFAULT_DOWNLOADS
    #: Seed each model's window from ``GET /v1/organization`` (when the spec has it).
    read_org_limits: bool = True
    #: At a cap (daily generations, credits), try again every this many seconds instead
    #: of pausing the batch (``None``: pause, exit 75, resume later).
    limit_wait: float | None = None
    #: Stop submitting once the tasks of this batch are estimated to cost this many credits
    #: (counting creates on their way at the average estimate so far).
    max_credits: float | None = None
    #: Jobs may name a near miss of a listed model id (``--allow-unknown-model``): kept
    #: for resumes, since the client checks each create again.
    allow_unknown_model: bool = False

    def check(self) -> BatchOptions:
        if self.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.retry_on_internal_error < 0:
            raise UsageError("--retry-on-internal-error must not be negative")
        if self.retry_backoff_seconds < 0:
            raise UsageError("--retry-backoff-seconds must not be negative")
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise UsageError("--poll-interval must be more than 0 seconds")
        if self.downloads < 1:
            raise UsageError("downloads must be at least 1")
        if self.limit_wait is not None and self.limit_wait <= 0:
            raise UsageError("the wait at limits must be more than 0 seconds")
        if self.max_credits is not None and self.max_credits <= 0:
            raise UsageError("--max-credits must be more than 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency,
                "retryOnInternalError": self.retry_on_internal_error,
                "retryBackoffSeconds": self.retry_backoff_seconds,
                "pollInterval": self.poll_interval, "downloads": self.downloads,
                "limitWait": self.limit_wait, "maxCredits": self.max_credits,
                "allowUnknownModel": self.allow_unknown_model}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchOptions:
        return cls(
            concurrency=int(data.get("concurrency", DEFAULT_CONCURRENCY)),
            retry_on_internal_error=int(data.get("retryOnInternalError",
                                                 DEFAULT_RETRY_ON_INTERNAL_ERROR)),
            retry_backoff_seconds=float(data.get("retryBackoffSeconds",
                                                 RESUBMIT_BACKOFF)),
            poll_interval=data.get("pollInterval"),
            downloads=int(data.get("downloads", DEFAULT_DOWNLOADS)),
            limit_wait=data.get("limitWait"), max_credits=data.get("maxCredits"),
            allow_unknown_model=bool(data.get("allowUnknownModel", False)))


@dataclass(frozen=True)
class BatchEvent:
    """Something a display shows: a job changed state (``kind='job'``) or a note."""

    kind: str
    counts: Mapping[str, int]
    key: str | None = None
    state: str | None = None
    message: str | None = None
    throttled: int = 0


EventCallback = Callable[[BatchEvent], None]


@dataclass
class RunOutcome:
    """What one run did (the journal holds the rest)."""

    counts: dict[str, int]
    elapsed: float
    created: int = 0
    stopped: str | None = None
    fatal: str | None = None
    paused: dict[str, str] = field(default_factory=dict)
    undownloaded: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.stopped == "interrupted":
            return EXIT_INTERRUPTED
        if self.fatal:
            return EXIT_ERROR
        if self.paused and self.counts.get(states.PENDING):
            return EXIT_PAUSED
        if self.counts.get(states.FAILED):
            return EXIT_TASK_FAILED
        if self.counts.get(states.UNCERTAIN) or self.undownloaded or any(
                self.counts.get(s) for s in (states.PENDING, states.SUBMITTED,
                                             states.SUCCEEDED)):
            return EXIT_ERROR
        return 0


def _mentions(error: APIStatusError, words: tuple[str, ...]) -> bool:
    text = f"{error.message} {error.body}".lower()
    return any(word in text for word in words)


class Runner:
    """One run over a journal. Create it, then ``await run()``; set :attr:`stop` to end it
    early (creates already sent are recorded first)."""

    def __init__(self, client: AsyncRunwayClient, journal: JournalBase, *, output_dir: Path,
                 options: BatchOptions | None = None,
                 on_event: EventCallback | None = None,
                 lease_seconds: float | None = None) -> None:
        self.client = client
        self.journal = journal
        self.output_dir = output_dir
        self.options = (options or BatchOptions()).check()
        self.on_event = on_event
        self.lease_seconds = lease_seconds
        self.stop = asyncio.Event()
        self.pacer = Pacer(self.options.concurrency)
        self.writer: JournalWriter | LocalJournalWriter | None = None
        self.coordinator: LocalCoordinator | None = None
        #: The jobs this run holds (every job of a local journal; a worker's own ones).
        self._jobs: dict[str, JobRecord] = {}
        self._counts: Counter[str] = Counter()
        self._wake = asyncio.Event()
        #: Lane work started from a THROTTLED callback (it cannot await).
        self._side: set[asyncio.Task[Any]] = set()
        #: Each job's running work → its key (a requeued job may briefly have two).
        self._workers: dict[asyncio.Task[None], str] = {}
        #: How many of those each key has: the dispatcher asks per job, and jobs waiting
        #: for a download slot can number hundreds (a set of them per job was quadratic).
        self._working: Counter[str] = Counter()
        self._creating: set[str] = set()
        self._throttled: set[str] = set()
        self._ever_throttled: set[str] = set()
        self._started: set[str] = set()
        self._uploads: dict[Path, asyncio.Task[str]] = {}
        self._downloads = asyncio.Semaphore(self.options.downloads)
        self._org: dict[str, OrgModel] = {}
        self._org_checked = -1e9
        self._unreachable = 0
        self._fatal: str | None = None
        self._created = 0
        self._undownloaded: list[str] = []
        #: Credits the API estimated for this batch's tasks (every run), and per create.
        self._spent = 0.0
        self._priced = 0

    # ------------------------------------------------------------------ journal access

    async def _j(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A journal call, answered once committed (see :mod:`~runway_dynamic.batch.writer`)."""
        assert self.writer is not None, "only while running"
        return await self.writer.call(method, *args, **kwargs)

    async def _move(self, key: str, state: str, method: Callable[..., None], *args: Any,
                    **kwargs: Any) -> None:
        """Commit a job's change, then show it in the in-memory copy and the counts."""
        await self._j(method, key, *args, **kwargs)
        self._moved(key, state)

    def _moved(self, key: str, state: str) -> None:
        """A job's change is committed: the in-memory copy, the counts and the display."""
        self._counts[self._jobs[key].state] -= 1
        self._counts[state] += 1
        self._remember(key, state=state)
        self._emit("job", key=key, state=state)

    def _remember(self, key: str, **fields: Any) -> None:
        """Keep the in-memory copy of a job in step with what was just committed."""
        self._jobs[key] = self._jobs[key].changed(**fields)

    def _emit(self, kind: str, *, key: str | None = None, state: str | None = None,
              message: str | None = None) -> None:
        if message is not None:
            logger.info("%s", message)
        if self.on_event is not None:
            self.on_event(BatchEvent(kind, dict(self._counts), key, state, message,
                                     len(self._throttled)))

    def _note(self, message: str) -> None:
        self._emit("note", message=message)

    # ------------------------------------------------------------------ the run

    async def run(self) -> RunOutcome:
        started = time.monotonic()
        self.writer = writer_for(self.journal)
        if self.journal.shared:
            from runway_dynamic.batch.postgres import DEFAULT_LEASE_SECONDS, PostgresJournal

            assert isinstance(self.journal, PostgresJournal)
            self.coordinator = SharedCoordinator(
                self.journal, self.writer, self.pacer,
                lease_seconds=self.lease_seconds or DEFAULT_LEASE_SECONDS, adopt=self._adopt,
                note=self._note, refresh=self._refresh)
        else:
            self.coordinator = LocalCoordinator(self.journal, self.writer, self.pacer)
        try:
            return await self._run(started)
        finally:
            try:
                await self.coordinator.stop()
            finally:
                self.writer.close()

    @property
    def _coord(self) -> LocalCoordinator:
        assert self.coordinator is not None, "only while running"
        return self.coordinator

    async def _run(self, started: float) -> RunOutcome:
        begun = await self._coord.start(self.options.concurrency)
        for key in begun.recovered:
            self._note(f"{key}: the last run stopped while its create was out; it may have "
                       "made a task, so it is not sent again (see 'runway batch resolve')")
        self._spent, self._priced = begun.spent, begun.priced
        self._counts.update(begun.counts)
        for record in begun.records:
            self._jobs[record.key] = record
        self._emit("start")
        if self.options.read_org_limits:
            await self._read_org(announce=True)
        for record in begun.records:
            if record.state == states.PENDING:
                self._coord.hold(record, self._lane(record))
            else:
                self._adopt(record)
        stopper = asyncio.create_task(self._watch_stop())
        try:
            await self._dispatch()
        finally:
            stopper.cancel()
            if self._workers:
                await asyncio.gather(*self._workers, return_exceptions=True)
            if self._side:
                await asyncio.gather(*self._side, return_exceptions=True)
        counts = await self._j(self.journal.counts)
        waiting = {r.lane for r in self._jobs.values() if r.state == states.PENDING}
        paused = await self._coord.paused(waiting)
        if self.pacer.shut:
            paused["*"] = self.pacer.shut
        return RunOutcome(counts=counts, elapsed=time.monotonic() - started,
                          created=self._created,
                          stopped="interrupted" if self.stop.is_set() and not self._fatal
                          else None,
                          fatal=self._fatal, paused=paused, undownloaded=self._undownloaded)

    def _lane(self, record: JobRecord) -> Lane:
        org = self._org.get(record.lane)
        return self.pacer.lane(record.lane, org.concurrency if org else None)

    def _adopt(self, record: JobRecord) -> None:
        """Follow a job whose task exists (from an earlier run, or a lapsed worker's)."""
        if self._working[record.key]:
            return
        self._jobs[record.key] = record
        lane = self._lane(record)
        if record.state == states.SUBMITTED and record.task_id:
            lane.in_flight += 1
            self._spawn(record, self._follow_job(record, lane, record.task_id))
        elif record.state == states.SUCCEEDED and record.task_id:
            self._spawn(record, self._fetch(record, record.task_id, None))

    def _refresh(self, counts: dict[str, int], spent: float, priced: int) -> None:
        """Every worker's progress, read from a shared journal now and then."""
        self._counts = Counter(counts)
        self._spent, self._priced = spent, priced
        self._emit("progress")

    def _side_task(self, work: Any) -> None:
        """Lane work from a callback that cannot wait for it (kept until it ends)."""
        task = asyncio.ensure_future(work)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def _spawn(self, record: JobRecord, work: Any) -> None:
        task = asyncio.create_task(self._guard(record.key, work))
        self._workers[task] = record.key
        self._working[record.key] += 1

    async def _guard(self, key: str, work: Any) -> None:
        """Run one job's work; whatever happens, the dispatcher hears that it ended."""
        try:
            await work
        except asyncio.CancelledError:
            pass
        except JournalError as exc:
            if exc.reason != "claim_lost":
                self._stop_all(f"{key}: {exc}")
            else:  # another worker has it now (this one stalled past its lease)
                self._note(f"{key}: {exc}")
                self._jobs.pop(key, None)
        except RunwayError as exc:
            self._stop_all(f"{key}: {exc}")
        except Exception as exc:  # a bug: stop cleanly, the journal stays consistent
            logger.exception("batch job %s", key)
            self._stop_all(f"{key}: unexpected {type(exc).__name__}: {exc}")
        finally:
            this = asyncio.current_task()
            if this is not None and self._workers.pop(this, None) is not None:
                self._working[key] -= 1
                if not self._working[key]:
                    del self._working[key]
            self._wake.set()

    async def _watch_stop(self) -> None:
        await self.stop.wait()
        self._wake.set()
        for task, key in list(self._workers.items()):
            if key not in self._creating:
                task.cancel()

    def _stop_all(self, reason: str) -> None:
        if self._fatal is None:
            self._fatal = reason
            self._note(f"stopping the batch: {reason}")
        self.stop.set()

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            if self.stop.is_set():
                return
            records = await self._coord.next_jobs(self.options.concurrency
                                                  - self.pacer.in_flight)
            for record in records:
                if self._working[record.key]:  # still ours (a lapsed lease re-claimed)
                    continue
                self._jobs[record.key] = record
                lane = self._lane(record)
                lane.in_flight += 1
                self._spawn(record, self._submit_job(record, lane))
            if records:
                continue
            idle = await self._coord.idle(bool(self._workers))
            if idle.finished:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle.wait)

    # ------------------------------------------------------------------ one job

    def _release(self, lane: Lane, key: str) -> None:
        throttled = key in self._throttled
        self._throttled.discard(key)
        self._coord.release(lane, key, throttled)
        self._wake.set()

    async def _requeue(self, record: JobRecord, lane: Lane) -> None:
        await self._coord.requeue(record, lane)

    async def _submit_job(self, record: JobRecord, lane: Lane) -> None:
        """Pending → submitted → settled (resubmitting ``INTERNAL.*`` failures) → files."""
        held = True
        try:
            while True:
                task_id = await self._submit(record, lane)
                if task_id is None:
                    return
                if self.stop.is_set():
                    return
                outcome, task = await self._follow(record, lane, task_id, just_created=True)
                if outcome == "resubmit":
                    await asyncio.sleep(self.options.retry_backoff_seconds)
                    record = self._jobs[record.key]
                    continue
                self._release(lane, record.key)
                held = False
                if outcome == "succeeded":
                    await self._fetch(record, task_id, task)
                return
        finally:
            if held:
                self._release(lane, record.key)

    async def _follow_job(self, record: JobRecord, lane: Lane, task_id: str) -> None:
        """A job whose task was created by an earlier run: follow it, never resubmit it
        unless it fails with a resubmittable code."""
        outcome, task = await self._follow(record, lane, task_id)
        if outcome == "resubmit":
            self._release(lane, record.key)
            await asyncio.sleep(self.options.retry_backoff_seconds)
            await self._requeue(self._jobs[record.key], lane)
            return
        self._release(lane, record.key)
        if outcome == "succeeded":
            await self._fetch(record, task_id, task)

    async def _submit(self, record: JobRecord, lane: Lane) -> str | None:
        """Send the create; the new task id, or ``None`` when the job is not (yet) running."""
        key = record.key
        try:
            body = await self._resolve(record)
        except UsageError as exc:
            await self._move(key, states.FAILED, self.journal.mark_failed,
                             failure=str(exc), retryable=False)
            return None
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop_all(f"the API refused the key: {exc}")
            return None
        except APIError as exc:
            await self._not_sent(record, lane, f"upload failed: {exc}")
            return None
        if self.stop.is_set():  # stopped while uploading: nothing was sent
            await self._requeue(record, lane)
            return None
        if self._over_budget(lane):
            await self._requeue(record, lane)
            return None
        self._creating.add(key)
        try:
            await self._move(key, states.SUBMITTING, self.journal.mark_submitting)
            try:
                # no retries inside the client: a 429 or an unsent request comes straight
                # here, where the lane is paused and the job requeued (nothing was created)
                with _history_link(self.journal, key):
                    task = await self.client.create_task(record.endpoint, body, max_retries=0)
            except RateLimitError as exc:
                await self._move(key, states.PENDING, self.journal.mark_not_sent,
                                 f"429: {exc.message}")
                await self._rate_limited(record, lane, exc)
                return None
            except RequestMayHaveSucceededError as exc:
                await self._move(key, states.UNCERTAIN, self.journal.mark_uncertain, str(exc))
                self._note(f"{key}: {exc.cause}; a task may exist, so it is not resent "
                           "(see 'runway batch resolve')")
                return None
            except (AuthenticationError, PermissionDeniedError) as exc:
                await self._move(key, states.PENDING, self.journal.mark_not_sent, str(exc))
                await self._requeue(self._jobs[key], lane)
                self._stop_all(f"the API refused the key: {exc}")
                return None
            except APIStatusError as exc:
                if _mentions(exc, _CREDIT_WORDS):
                    await self._move(key, states.PENDING, self.journal.mark_not_sent, str(exc))
                    await self._requeue(self._jobs[key], lane)
                    await self._at_limit(None, f"out of credits: {exc.message}", None)
                    return None
                await self._move(key, states.FAILED, self.journal.mark_failed,
                                 failure=str(exc), failure_code=f"HTTP {exc.status_code}",
                                 retryable=False)
                return None
            except APIConnectionError as exc:  # not sent (a sent one is "may have succeeded")
                await self._move(key, states.PENDING, self.journal.mark_not_sent, str(exc))
                await self._not_sent(record, lane, str(exc))
                return None
            except UsageError as exc:  # pre-flight in the client (a spec changed since)
                await self._move(key, states.FAILED, self.journal.mark_failed,
                                 failure=str(exc), retryable=False)
                return None
            try:
                await self._move(key, states.SUBMITTED, self.journal.mark_submitted, task.id,
                                 task.estimated_credits)
            except JournalError as exc:  # the task exists: say which, so nobody pays twice
                self._note(f"{key}: task {task.id} was created but could not be recorded "
                           f"({exc.reason}); once the journal is usable again run 'runway "
                           f"batch resolve {self.journal.reference} --job {key} --task-id "
                           f"{task.id}'")
                raise
            self._created += 1
            if task.estimated_credits is not None:
                self._spent += task.estimated_credits
                self._priced += 1
            self._unreachable = 0
            await self._coord.accepted(lane)
            self._remember(key, task_id=task.id, attempts=self._jobs[key].attempts + 1)
            return task.id
        finally:
            self._creating.discard(key)
            if self.stop.is_set():
                self._wake.set()

    def _over_budget(self, lane: Lane) -> bool:
        """Whether a create must wait for ``max_credits``: what was spent plus, for the
        creates on their way, the average estimate so far. Reaching it pauses the batch.
        Until one create has told what a task costs, creates go one at a time."""
        budget = self.options.max_credits
        if budget is None:
            return False
        if not self._priced:
            if self._creating:
                self._coord.pause(lane, FIRST_PRICE_WAIT)
                return True
            if self._spent < budget:
                return False
        average = self._spent / self._priced if self._priced else 0.0
        if self._priced and self._spent + average * (len(self._creating) + 1) <= budget:
            return False
        if self.pacer.shut is None:
            self.pacer.close_all(f"the budget of {budget:g} credits is reached "
                                 f"({self._spent:g} estimated for the tasks created)")
            self._note(f"pausing the batch: {self.pacer.shut}; raise it with 'runway batch "
                       "resume JOURNAL --max-credits N'")
        return True

    async def _not_sent(self, record: JobRecord, lane: Lane, why: str) -> None:
        """Nothing was created (network down, upload failed): try again after a pause;
        stop the batch when the API stays unreachable."""
        self._unreachable += 1
        await self._requeue(self._jobs[record.key], lane)
        if self._unreachable >= UNREACHABLE_LIMIT:
            self._stop_all(f"the API could not be reached {self._unreachable} times in a row "
                           f"(last: {why})")
            return
        self._coord.pause(lane, min(30.0, NOT_SENT_PAUSE * 2 ** (self._unreachable - 1)))

    async def _rate_limited(self, record: JobRecord, lane: Lane, exc: RateLimitError) -> None:
        """A create got 429: back to the queue, the lane paused at once; shut (or held) if
        the organization shows the model's daily cap reached."""
        await self._requeue(self._jobs[record.key], lane)
        pause = await self._coord.rate_limited(lane, exc.retry_after)
        long_wait = exc.retry_after is not None and exc.retry_after > 3600
        cap = _mentions(exc, _CAP_WORDS) or long_wait
        org = await self._fresh_org() if not cap else None
        model = org.get(lane.name) if org else None
        if model is not None and model.daily_reached:
            cap = True
        if cap:
            used = f" ({model.used_today} of {model.daily} in 24 h)" if model else ""
            await self._at_limit(lane, f"the daily generation limit of {lane.name} is "
                                       f"reached{used}: {exc.message}", exc.retry_after)
        elif lane.refused_too_often:
            await self._at_limit(lane, f"the API refused {lane.rate_limited_streak} creates "
                                       f"of {lane.name} in a row (429): {exc.message}", None)
        else:
            self._note(f"{lane.name}: 429 from the API, submitting less for {pause:.0f} s")

    async def _at_limit(self, lane: Lane | None, reason: str,
                        retry_after: float | None) -> None:
        """A cap: shut the lane (``None``: the batch) for this run, or, when told to wait at
        limits, hold it until the next try (at most ``limit_wait`` away). A shared
        journal's lanes are shut or held for every worker; out of credits, each worker
        finds out by itself (a refused create costs nothing)."""
        wait = self.options.limit_wait
        where = lane.name if lane is not None else "the batch"
        if wait is None:
            if lane is not None:
                await self._coord.close(lane, reason, retry_after)
            else:
                self.pacer.close_all(reason)
            self._note(f"pausing {where}: {reason}; resume later with 'runway batch resume'")
            return
        pause = min(wait, retry_after) if retry_after else wait
        if lane is not None:
            await self._coord.hold_lane(lane, pause)
        else:
            until = asyncio.get_running_loop().time() + pause
            self.pacer.paused_until = max(self.pacer.paused_until, until)
        self._note(f"waiting at a limit ({where}): {reason}; next try in {pause:.0f} s")

    async def _resolve(self, record: JobRecord) -> Any:
        """The body with local media inlined or uploaded (each file uploaded once a run)."""
        from runway_dynamic.uploads import aresolve_body_media

        operation = self.client.spec.catalog.operation(record.endpoint, "POST")
        if operation is None:
            raise UsageError(f"{record.endpoint} is not in the spec in use")
        return await aresolve_body_media(operation, record.model, record.body, self._upload)

    async def _upload(self, path: Path) -> str:
        known = self._uploads.get(path)
        if known is None or (known.done() and known.exception() is not None):
            known = asyncio.ensure_future(self.client.upload(path))
            self._uploads[path] = known
        return await asyncio.shield(known)

    async def _follow(self, record: JobRecord, lane: Lane, task_id: str, *,
                      just_created: bool = False) -> tuple[str, Task | None]:
        """Poll until the task settles: ``succeeded`` (with the task), ``failed``,
        ``resubmit`` or ``stopped``. A task ``just_created`` is first looked at after one
        poll interval (asking at once costs a request and never finds it done)."""
        interval = self.options.poll_interval
        if interval is None:
            interval = self.client._core.poll_interval
        first_poll_after = interval if just_created else 0.0
        key = record.key

        def observe(status: str, _progress: float | None, _elapsed: float) -> None:
            if status == "THROTTLED":
                if key not in self._throttled:
                    self._throttled.add(key)
                    self._ever_throttled.add(key)
                    lane.throttled += 1
                    self._side_task(self._coord.throttled(lane, key))
                    self._emit("throttled", key=key)
                return
            if key in self._throttled:
                self._throttled.discard(key)
                lane.throttled = max(0, lane.throttled - 1)
                self._side_task(self._coord.unthrottled(lane, key))
            if key not in self._started:
                self._started.add(key)
                if key not in self._ever_throttled:
                    self._side_task(self._coord.started(lane, key))

        pause = NOT_SENT_PAUSE
        while True:
            try:
                task = await self.client.tasks.wait(task_id, timeout=None, on_progress=observe,
                                                    poll_interval=self.options.poll_interval,
                                                    first_poll_after=first_poll_after)
                return "succeeded", task
            except TaskFailedError as exc:
                return await self._failed(record, exc), None
            except TaskCancelledError as exc:
                await self._move(key, states.FAILED, self.journal.mark_failed,
                                 failure=str(exc), failure_code="CANCELLED", retryable=False,
                                 task_status="CANCELLED")
                return "failed", None
            except NotFoundError as exc:
                await self._move(key, states.FAILED, self.journal.mark_failed,
                                 failure=f"task {task_id} no longer exists ({exc.message})",
                                 failure_code="NOT_FOUND", retryable=False)
                return "failed", None
            except (AuthenticationError, PermissionDeniedError) as exc:
                self._stop_all(f"the API refused the key: {exc}")
                return "stopped", None
            except APIError as exc:  # the task exists: keep following it after a pause
                logger.info("%s: polling %s failed (%s); trying again", key, task_id, exc)
                await asyncio.sleep(pause)
                pause = min(30.0, pause * 2)

    async def _failed(self, record: JobRecord, exc: TaskFailedError) -> str:
        key = record.key
        current = self._jobs[key]
        code = exc.failure_code
        if should_resubmit(code, status="FAILED", resubmitted=current.resubmissions,
                           max_resubmissions=self.options.retry_on_internal_error):
            await self._move(key, states.PENDING, self.journal.mark_resubmit,
                             failure=str(exc), failure_code=code)
            self._remember(key, task_id=None, resubmissions=current.resubmissions + 1)
            self._note(f"{key}: task failed with {code}; resubmitting "
                       f"({current.resubmissions + 1}/{self.options.retry_on_internal_error})")
            return "resubmit"
        retryable = bool(code and code.upper().startswith(_INTERNAL_PREFIX))
        await self._move(key, states.FAILED, self.journal.mark_failed, failure=str(exc),
                         failure_code=code, retryable=retryable)
        return "failed"

    async def _fetch(self, record: JobRecord, task_id: str, task: Task | None) -> None:
        """Save a SUCCEEDED task's outputs under the job's names (committed first)."""
        key = record.key
        try:
            if task is None or not task.output:
                task = await self.client.tasks.get(task_id)  # fresh output URLs
            urls = list(task.output)
            resumed = self._jobs[key].state != states.SUBMITTED
            if not resumed:
                files = plan_files(self.output_dir, key, urls)
                await self._move(key, states.SUCCEEDED, self.journal.mark_succeeded, files)
            else:
                files = list(self._jobs[key].files)
                if len(files) != len(urls):
                    files = plan_files(self.output_dir, key, urls)
                    await self._j(self.journal.mark_files, key, files)
            await self._save_all(key, urls, files, resumed=resumed)
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop_all(f"the API refused the key: {exc}")
            return
        except APIError as exc:
            self._undownloaded.append(key)
            self._note(f"{key}: outputs not saved yet ({exc}); a resume fetches them")
            return
        self._moved(key, states.DOWNLOADED)

    async def _save_all(self, key: str, urls: list[str], files: list[str], *,
                        resumed: bool) -> list[str]:
        """Fetch what is not saved yet, then record the job ``downloaded``: in the commit
        that names its last file when that one is fetched now (one thread hand-off for
        both). A resumed job first sweeps up the temporary files a killed download of it
        left (only an earlier run can have left any)."""
        saved: list[str] = []
        last = len(urls) - 1
        recorded = False
        for index, (url, planned) in enumerate(zip(urls, files, strict=False)):
            if resumed:
                clear_partials(planned)
            # a name with its extension was planned just now as a free one: nothing of this
            # job can be there (its files come after that commit), so no second look
            there = (existing_output(planned) if resumed or not Path(planned).suffix
                     else None)
            if there is not None:
                saved.append(str(there))
                continue
            record: Callable[[Path], None] | None = None
            if index == last:
                before = list(saved)

                def record(path: Path, before: list[str] = before) -> None:
                    self.journal.mark_downloaded(key, [*before, str(path)])

                recorded = True
            saved.append(str(await self._save_one(url, planned, record)))
        if not recorded:
            await self._j(self.journal.mark_downloaded, key, saved)
        return saved

    async def _save_one(self, url: str, planned: str,
                        record: Callable[[Path], None] | None = None) -> Path:
        """One output to its file, synced and named in the journal's next commit, where
        ``record`` (the job's ``downloaded``) is made too.

        A download slot (``options.downloads`` of them) is held only while the bytes come:
        not during the commit that syncs and names them, nor the pause before another try.
        Held across the job's two commits, the four slots capped a batch at about 160 jobs
        a second here, while the slots' purpose is to bound transfers at once.
        """
        writer = self.writer
        assert writer is not None, "only while running"
        pause = NOT_SENT_PAUSE
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            await self._downloads.acquire()
            held = [True]

            def free(held: list[bool] = held) -> None:
                if held:
                    held.clear()
                    self._downloads.release()

            async def place(staged: StagedFile, free: Callable[[], None] = free) -> Path:
                free()  # the bytes are all here: the commit is the writer's to wait for
                return await writer.place(staged, then=record)

            try:
                return await self.client.download_url(url, planned, place=place)
            except APIConnectionError:
                free()
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise
                await asyncio.sleep(pause)
                pause *= 2
            finally:
                free()
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ the organization

    async def _fresh_org(self) -> dict[str, OrgModel]:
        """The organization's usage now, read at most once per ORG_CHECK_SECONDS (429s come
        in bursts; one look answers all of them)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._org_checked >= ORG_CHECK_SECONDS:
            self._org_checked = loop.time()
            await self._read_org()
        return self._org

    async def _read_org(self, *, announce: bool = False) -> dict[str, OrgModel]:
        """The organization's per-model limits and usage, when the spec has the operation."""
        if self.client.spec.catalog.operation(ORGANIZATION_ENDPOINT, "GET") is None:
            return self._org
        try:
            data = await self.client.request(ORGANIZATION_ENDPOINT, method="GET")
        except (AuthenticationError, PermissionDeniedError) as exc:
            self._stop_all(f"the API refused the key: {exc}")
            return self._org
        except APIError as exc:
            logger.info("organization limits not read: %s", exc)
            return self._org
        self._org = parse_organization(data)
        for name, model in self._org.items():
            if model.concurrency is not None:
                await self._coord.seed(name, model.concurrency)
        if announce:
            self._announce_limits()
        return self._org

    def _announce_limits(self) -> None:
        waiting: Counter[str] = Counter(r.lane for r in self._jobs.values()
                                        if r.state == states.PENDING)
        for lane, count in waiting.items():
            model = self._org.get(lane)
            if model is None:
                continue
            parts = []
            if model.concurrency is not None:
                parts.append(f"{model.concurrency} at a time")
            if model.daily is not None and model.used_today is not None:
                left = max(0, model.daily - model.used_today)
                parts.append(f"{left} of {model.daily} daily generations left")
                if left < count:
                    parts.append(f"so {count - left} of its {count} jobs will wait for a "
                                 "later run")
            if parts:
                self._note(f"{lane}: " + ", ".join(parts))


# ---------------------------------------------------------------------- the history's link


def _history_link(journal: JournalBase, key: str) -> AbstractContextManager[None]:
    """A client recording into the history (runway_dynamic.history) links this job's create
    to its journal instead of copying the body: a file journal by its absolute path, a
    shared one by the words that name it (its URL redacted)."""
    from runway_dynamic.history import batch_job

    where = journal.path
    named = str(where.absolute()) if isinstance(where, Path) else journal.reference
    return batch_job(named, key)
