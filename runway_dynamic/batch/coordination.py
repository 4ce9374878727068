"""Where a run's jobs come from and who paces its lanes: this process alone, or every
worker of a shared journal.

The runner moves jobs the same way with either journal; what differs is asked here:

* :class:`LocalCoordinator` (the SQLite journal: one process holds its lock) queues the
  pending jobs in memory and paces each lane with an in-memory :class:`Lane`, as the
  decisions of :mod:`~runway_dynamic.batch.pacing` say.
* :class:`SharedCoordinator` (the PostgreSQL journal) claims jobs from the database as the
  shared windows allow, applies the same decisions to the lanes' rows under their locks,
  renews the worker's lease, turns the creates of lapsed workers ``uncertain`` and takes
  over their running tasks. Each worker still keeps its own ``--concurrency`` bound, and
  its own short pauses for troubles of its own (its network, its budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from runway_dynamic.batch import journal as states
from runway_dynamic.batch.journal import JobRecord, JournalBase
from runway_dynamic.batch.pacing import Lane, Pacer

if TYPE_CHECKING:
    from runway_dynamic.batch.postgres import PostgresJournal
    from runway_dynamic.batch.writer import JournalWriter, LocalJournalWriter

logger = logging.getLogger("runway_dynamic.batch")
T = TypeVar("T")

#: How often an idle shared worker looks for work freed by others (seconds).
SHARED_POLL_SECONDS = 0.2
#: How long a cap shuts a shared lane when the API gave no Retry-After (seconds): then a
#: worker tries again (a refused create costs nothing).
SHARED_CAP_SECONDS = 600.0


@dataclass
class Start:
    """What a run begins with: jobs left mid-create, and the jobs it holds."""

    recovered: list[str]
    records: list[JobRecord]
    counts: dict[str, int]
    spent: float
    priced: int


@dataclass
class Idle:
    """The dispatcher's answer when nothing could be sent: finished, or wait this long."""

    finished: bool
    wait: float | None = None


class LocalCoordinator:
    """One process drives the journal (it holds the run lock): queues and lanes in memory."""

    shared = False

    def __init__(self, journal: JournalBase, writer: JournalWriter | LocalJournalWriter,
                 pacer: Pacer) -> None:
        self.journal = journal
        self.writer = writer
        self.pacer = pacer
        self.queues: dict[str, deque[JobRecord]] = {}

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def start(self, concurrency: int) -> Start:
        recovered = await self.writer.call(self.journal.recover)
        spent = await self.writer.call(self.journal.credits)
        priced = len([t for t in await self.writer.call(self.journal.tasks)
                      if t.credits is not None])
        records = await self.writer.call(self.journal.jobs)
        counts = {state: 0 for state in states.STATES}
        for record in records:
            counts[record.state] += 1
        return Start(recovered, records, counts, spent, priced)

    def hold(self, record: JobRecord, lane: Lane) -> None:
        """A pending job this run will submit (from the start, or back after a resubmit)."""
        self.queues.setdefault(lane.name, deque()).append(record)

    async def next_jobs(self, room: int) -> list[JobRecord]:
        waiting = [(queue[0].seq, name) for name, queue in self.queues.items() if queue]
        name = self.pacer.pick(waiting, self.now())
        return [self.queues[name].popleft()] if name is not None else []

    async def requeue(self, record: JobRecord, lane: Lane) -> None:
        self.queues.setdefault(lane.name, deque()).appendleft(record)

    def _open_lanes(self) -> list[str]:
        return [name for name, queue in self.queues.items() if queue
                and self.pacer.lane(name).shut is None and self.pacer.shut is None]

    async def idle(self, busy: bool) -> Idle:
        open_lanes = self._open_lanes()
        if not open_lanes and not busy:
            return Idle(True)
        return Idle(False, self.pacer.next_wake(open_lanes, self.now()))

    # ---- lanes: the decisions of pacing.py, applied in memory

    async def throttled(self, lane: Lane, key: str) -> None:
        """``key`` was first seen THROTTLED (``lane.throttled`` counts it already)."""
        lane.on_throttled()

    async def unthrottled(self, lane: Lane, key: str) -> None:
        """``key`` left THROTTLED (``lane.throttled`` no longer counts it)."""

    async def started(self, lane: Lane, key: str) -> None:
        lane.on_started()

    async def accepted(self, lane: Lane) -> None:
        lane.on_accepted()

    async def rate_limited(self, lane: Lane, retry_after: float | None) -> float:
        return lane.on_rate_limited(self.now(), retry_after)

    def pause(self, lane: Lane, seconds: float) -> None:
        """A pause of this process's own (its network, its budget)."""
        lane.paused_until = max(lane.paused_until, self.now() + seconds)

    async def hold_lane(self, lane: Lane, seconds: float) -> None:
        """Wait at a limit: no create on this lane for ``seconds``."""
        lane.paused_until = max(lane.paused_until, self.now() + seconds)
        lane.rate_limited_streak = 0

    async def close(self, lane: Lane, reason: str, retry_after: float | None) -> None:
        lane.close(reason)

    async def seed(self, lane: str, model_concurrency: int) -> None:
        """The organization told this model's concurrency (the lane is made seeded)."""

    def release(self, lane: Lane, key: str, throttled: bool) -> None:
        lane.in_flight = max(0, lane.in_flight - 1)
        if throttled:
            lane.throttled = max(0, lane.throttled - 1)

    async def paused(self, waiting: set[str]) -> dict[str, str]:
        return {name: lane.shut for name, lane in self.pacer.lanes.items()
                if lane.shut and name in waiting}

    async def stop(self) -> None:
        """The run ended (nothing to hand over: the next run takes it from the journal)."""


class SharedCoordinator(LocalCoordinator):
    """One of many workers on a shared journal: claims, leases and lanes in the database.

    ``adopt`` receives the running jobs of lapsed workers that this one takes over.
    """

    shared = True

    def __init__(self, journal: PostgresJournal, writer: JournalWriter | LocalJournalWriter,
                 pacer: Pacer, *,
                 lease_seconds: float, adopt: Callable[[JobRecord], None],
                 note: Callable[[str], None],
                 refresh: Callable[[dict[str, int], float, int], None]) -> None:
        super().__init__(journal, writer, pacer)
        self.shared_journal = journal
        self.lease_seconds = lease_seconds
        self.adopt = adopt
        self.note = note
        self.refresh = refresh
        self._beat: asyncio.Task[None] | None = None
        #: This worker's own pauses per lane (loop clock): its network, its budget.
        self._own_pause: dict[str, float] = {}

    async def _alone(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.writer.alone(method, *args, **kwargs)

    async def start(self, concurrency: int) -> Start:
        journal = self.shared_journal
        await self._alone(journal.register, concurrency=concurrency,
                          lease_seconds=self.lease_seconds)
        recovered = await self._alone(journal.recover)
        taken = await self._alone(journal.take_over, 10**6)
        counts = await self.writer.call(journal.counts)
        spent = await self.writer.call(journal.credits)
        priced = len([t for t in await self.writer.call(journal.tasks)
                      if t.credits is not None])
        self._beat = asyncio.create_task(self._heartbeat(concurrency))
        return Start(recovered, taken, counts, spent, priced)

    def hold(self, record: JobRecord, lane: Lane) -> None:
        raise AssertionError("a shared run holds no pending job of its own: it claims them")

    async def _heartbeat(self, concurrency: int) -> None:
        """Renew the lease, settle lapsed workers' creates, take over their running tasks,
        and refresh the counts that every worker changes."""
        journal = self.shared_journal
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                if not await self._alone(journal.heartbeat):
                    self.note(f"worker {journal.worker}: the lease had lapsed (stalled longer "
                              "than --lease-seconds); its unsent claims went to others")
                for key in await self._alone(journal.recover):
                    self.note(f"{key}: its worker stopped while the create was out; it may "
                              "have made a task, so it is not sent again (see 'runway batch "
                              "resolve')")
                for record in await self._alone(journal.take_over, max(1, concurrency)):
                    self.adopt(record)
                counts = await self.writer.call(journal.counts)
                spent = await self.writer.call(journal.credits)
                priced = len([t for t in await self.writer.call(journal.tasks)
                              if t.credits is not None])
                self.refresh(counts, spent, priced)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a missed beat is retried; the lease has room
                logger.warning("heartbeat: %s", exc)

    async def next_jobs(self, room: int) -> list[JobRecord]:
        if room <= 0 or self.pacer.shut is not None or self.now() < self.pacer.paused_until:
            return []
        now = self.now()
        mine = [name for name, until in self._own_pause.items() if until > now]
        return await self._alone(self.shared_journal.claim_jobs, room, exclude=mine)

    async def requeue(self, record: JobRecord, lane: Lane) -> None:
        await self.writer.call(self.shared_journal.unclaim, [record.key])

    async def idle(self, busy: bool) -> Idle:
        if busy:
            return Idle(False, SHARED_POLL_SECONDS)
        outlook = await self._alone(self.shared_journal.outlook)
        if outlook.claimable == 0 and outlook.elsewhere == 0:
            return Idle(True)
        return Idle(False, SHARED_POLL_SECONDS)

    # ---- lanes: the same decisions, on the lane's row under its lock

    async def _change(self, lane: Lane, change: Callable[[Lane, float], T],
                      **job: Any) -> T:
        shared, result = await self._alone(self.shared_journal.lane_change, lane.name,
                                           change, **job)
        # the local mirror shows the shared window, pause and shut; the counts stay local
        lane.window, lane.shut = shared.window, shared.shut
        lane.rate_limited_streak = shared.rate_limited_streak
        return result

    async def throttled(self, lane: Lane, key: str) -> None:
        await self._change(lane, lambda shared, now: shared.on_throttled(), job=key,
                           throttled=True)

    async def unthrottled(self, lane: Lane, key: str) -> None:
        await self._change(lane, lambda shared, now: None, job=key, throttled=False)

    async def started(self, lane: Lane, key: str) -> None:
        await self._change(lane, lambda shared, now: shared.on_started())

    async def accepted(self, lane: Lane) -> None:
        if lane.rate_limited_streak:  # only a streak needs ending
            await self._change(lane, lambda shared, now: shared.on_accepted())

    async def rate_limited(self, lane: Lane, retry_after: float | None) -> float:
        return await self._change(lane, lambda shared, now: shared.on_rate_limited(
            now, retry_after))

    def pause(self, lane: Lane, seconds: float) -> None:
        until = self.now() + seconds
        self._own_pause[lane.name] = max(self._own_pause.get(lane.name, 0.0), until)

    async def hold_lane(self, lane: Lane, seconds: float) -> None:
        def hold(shared: Lane, now: float) -> None:
            shared.paused_until = max(shared.paused_until, now + seconds)
            shared.rate_limited_streak = 0

        await self._change(lane, hold)

    async def close(self, lane: Lane, reason: str, retry_after: float | None) -> None:
        """Shut the lane for every worker until the cap may have passed."""
        seconds = retry_after if retry_after else SHARED_CAP_SECONDS

        def shut(shared: Lane, now: float) -> None:
            shared.close(reason)
            shared.paused_until = max(shared.paused_until, now + seconds)

        await self._change(lane, shut)

    async def seed(self, lane: str, model_concurrency: int) -> None:
        await self._alone(self.shared_journal.seed_lane, lane, model_concurrency)

    async def paused(self, waiting: set[str]) -> dict[str, str]:
        lanes = await self._alone(self.shared_journal.lanes)
        outlook = await self._alone(self.shared_journal.outlook)
        if not outlook.at_limit:
            return {}
        return {name: lane.shut for name, lane in lanes.items() if lane.shut}

    async def stop(self) -> None:
        """Unclaim what was not sent and leave: running tasks are taken over at once."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._beat
        try:
            await self._alone(self.shared_journal.leave)
        except Exception as exc:  # the lease lapses by itself
            logger.warning("leaving the journal: %s", exc)

