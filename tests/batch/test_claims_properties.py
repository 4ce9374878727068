"""A hypothesis state machine over the shared journal's claims, on a real PostgreSQL server:
workers claim jobs, commit ``submitting``, send creates whose answers arrive, get lost, or
never leave; workers crash and restart, stall past their leases and carry on regardless,
take over each other's tasks and settle each other's creates; a person settles uncertain
jobs from the dashboard. Whatever the order, no job is ever paid for twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from runway_dynamic import JournalError
from runway_dynamic.batch.jobfile import BatchJob
from runway_dynamic.batch.postgres import PostgresJournal

JOBS = 2
SLOTS = 2
BATCH = "prop"


class ClaimsMachine(RuleBasedStateMachine):
    """Two worker slots and a person around one small batch; the sandbox is a counter of
    the tasks each job's creates made."""

    url = ""
    #: The test's own connection (leases, clean-up), kept across examples.
    admin: Any = None

    @initialize()
    def fresh_batch(self) -> None:
        present = self.admin.execute("SELECT to_regclass('runway_batch.batches')").fetchone()
        if present and present[0]:
            self.admin.execute("TRUNCATE runway_batch.batches, runway_batch.workers, "
                               "runway_batch.lanes CASCADE")
        jobs = [BatchJob(f"job-{n}", n, "text_to_image", {"model": "m", "promptText": str(n)})
                for n in range(1, JOBS + 1)]
        self.person = PostgresJournal.create(self.url, BATCH, jobs, {})
        self.slots: list[PostgresJournal] = [self._start() for _ in range(SLOTS)]
        #: What each slot's process believes it holds: key -> ("claimed", None) or
        #: ("sending", task id or None when the create made no task).
        self.local: list[dict[str, tuple[str, str | None]]] = [{} for _ in range(SLOTS)]
        self.ids: list[str] = [s.worker or "" for s in self.slots]
        self.ids_of: list[str] = list(self.ids)  # each slot's current worker
        self.sent: Counter[str] = Counter()           # creates that left the client
        self.made: dict[str, list[str]] = {}          # tasks the API made, per job
        self.recorded: set[str] = set()               # task ids the journal knows
        self.not_submitted: Counter[str] = Counter()  # a person's "it made no task"

    def _start(self) -> PostgresJournal:
        opened = PostgresJournal.open(self.url, BATCH)
        opened.register(concurrency=4, lease_seconds=60)
        return opened

    def teardown(self) -> None:
        for opened in [*getattr(self, "slots", []), getattr(self, "person", None)]:
            if opened is not None:
                opened.close()

    # ------------------------------------------------------------------ workers

    @rule(slot=st.integers(0, SLOTS - 1), limit=st.integers(1, JOBS))
    def claim(self, slot: int, limit: int) -> None:
        """A worker's loop: renew its lease (a stalled worker comes back), settle lapsed
        workers' creates, take over their tasks, claim."""
        worker = self.slots[slot]
        worker.heartbeat()
        worker.recover()
        worker.take_over(JOBS)
        for record in worker.claim_jobs(limit):
            self.local[slot][record.key] = ("claimed", None)

    def _holding(self, stage: str) -> list[int]:
        return [n for n, local in enumerate(self.local)
                if any(s == stage for s, _ in local.values())]

    @precondition(lambda self: self._holding("claimed"))
    @rule(data=st.data(), outcome=st.sampled_from(["made", "lost_no_task", "never_left"]))
    def send(self, data: st.DataObject, outcome: str) -> None:
        """A worker, for each job it claimed: commit ``submitting``; only then does the
        create leave (or fail to leave)."""
        slot = data.draw(st.sampled_from(self._holding("claimed")))
        worker = self.slots[slot]
        for key in sorted(k for k, (stage, _) in self.local[slot].items() if stage == "claimed"):
            try:
                worker.mark_submitting(key)
            except JournalError:
                del self.local[slot][key]  # the fence: not ours any more, nothing is sent
                continue
            if outcome == "never_left":  # refused before sending (no connection): no task
                worker.mark_not_sent(key, "not sent")
                continue
            self.sent[key] += 1
            task = None
            if outcome == "made":
                task = f"task-{key}-{self.sent[key]}"
                self.made.setdefault(key, []).append(task)
            self.local[slot][key] = ("sending", task)

    @precondition(lambda self: self._holding("sending"))
    @rule(data=st.data(), lost=st.booleans())
    def answer(self, data: st.DataObject, lost: bool) -> None:
        """The create's answer arrives (the task id is committed) or is lost (uncertain)."""
        slot = data.draw(st.sampled_from(self._holding("sending")))
        sending = sorted(k for k, (stage, _) in self.local[slot].items() if stage == "sending")
        if not sending:
            return
        key = data.draw(st.sampled_from(sending))
        _, task = self.local[slot].pop(key)
        worker = self.slots[slot]
        try:
            if task is not None and not lost:
                worker.mark_submitted(key, task)
                self.recorded.add(task)
            else:
                worker.mark_uncertain(key, "the answer was lost")
        except JournalError:
            pass  # swept to uncertain meanwhile and settled by a person: nothing to send

    @rule(slot=st.integers(0, SLOTS - 1))
    def crash(self, slot: int) -> None:
        """SIGKILL and restart: a new worker; the old one's lease runs on until it lapses."""
        self.slots[slot].close()
        self.slots[slot] = self._start()
        self.local[slot] = {}
        self.ids.append(self.slots[slot].worker or "")
        self.ids_of[slot] = self.ids[-1]

    @rule(data=st.data())
    def lease_lapses(self, data: st.DataObject) -> None:
        """A worker (gone, or only stalled: it carries on after) is silent past its lease;
        mostly one that holds something."""
        busy = [self.ids_of[n] for n in self._holding("claimed") + self._holding("sending")]
        worker = data.draw(st.sampled_from(busy or self.ids) | st.sampled_from(self.ids))
        self.admin.execute("UPDATE runway_batch.workers SET lease_until = clock_timestamp() - "
                           "interval '1 second' WHERE id = %s", (worker,))

    # ------------------------------------------------------------------ a person

    @rule()
    def person_settles_uncertain_jobs(self) -> None:
        """From the dashboard: the job's unrecorded task if there is one, else 'none'."""
        for record in self.person.jobs(["uncertain"]):
            unknown = [t for t in self.made.get(record.key, []) if t not in self.recorded]
            if unknown:
                self.person.resolve(record.key, task_id=unknown[-1])
                self.recorded.add(unknown[-1])
            else:
                self.person.resolve(record.key, task_id=None)
                self.not_submitted[record.key] += 1

    # ------------------------------------------------------------------ the promise

    @invariant()
    def no_job_is_paid_for_twice(self) -> None:
        for key, tasks in self.made.items():
            assert len(tasks) <= 1, f"{key} made {len(tasks)} tasks"
        for key, count in self.sent.items():
            assert count <= 1 + self.not_submitted[key], (
                f"{key} was sent {count} times with {self.not_submitted[key]} settled as "
                "never made")

    @invariant()
    def one_sender_at_a_time(self) -> None:
        senders = Counter(key for local in self.local for key, (stage, _) in local.items()
                          if stage == "sending")
        assert all(n == 1 for n in senders.values()), senders


@pytest.mark.usefixtures("pg_cluster")
def test_no_job_is_ever_submitted_twice_whatever_workers_claim_crash_or_stall(
    pg_url: str,
) -> None:
    """No job is ever submitted twice: across any interleaving of claims, commits of
    ``submitting``, answers (kept or lost), crashes, lapsed leases of stalled workers,
    sweeps, take-overs and a person's settling, a job's creates make at most one task, and
    a create is sent again only after a person said the last one made none."""
    ClaimsMachine.url = pg_url
    run: Any = ClaimsMachine.TestCase
    run.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])
    with psycopg.connect(pg_url, autocommit=True) as admin:
        ClaimsMachine.admin = admin
        run().runTest()
