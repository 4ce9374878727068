"""The batch journal in PostgreSQL: many workers on many machines drain the same batches.

The same jobs, states and arrows as the SQLite journal (:mod:`runway_dynamic.batch.journal`),
in a ``runway_batch`` schema that holds any number of named batches. What one process and
a file lock gave the SQLite journal, rows and transactions give here:

* **Claims.** A worker takes pending jobs with ``SELECT … FOR UPDATE SKIP LOCKED`` and
  writes its id into ``owner``; the job stays ``pending``. A claim is live while its
  worker's lease (``workers.lease_until``, renewed by a heartbeat, on the database's
  clock) is; once the lease lapses the job is claimable again by anyone. No sweeper is
  needed and nothing is ever moved back for it.
* **The fence.** Every change a worker makes to a job names the job's owner in its
  ``WHERE``: ``pending → submitting`` commits only while the claim is still this worker's,
  and the create is sent only after that commit. A worker that stalled past its lease
  finds its claim gone and sends nothing, even if it never noticed the lease lapse.
* **Never twice.** A ``submitting`` job is never pending again by a lease: once its worker
  is gone (lease lapsed) any worker turns it ``uncertain`` — the create may have reached
  Runway — and only a person settles it (``batch resolve``), as with SQLite. Should the
  stalled worker come back with the task id, it may still record it: ``uncertain →
  submitted`` is allowed to the owner, since that job can have been sent only by it.
* **Take-overs.** ``submitted`` and ``succeeded`` jobs of a lapsed worker are taken over
  (owner replaced) and followed: polling and downloading cost nothing.
* **Shared pacing.** One ``lanes`` row per model holds the window, the pause and the
  shut reason that :mod:`~runway_dynamic.batch.pacing` decides; the tasks in flight are
  counted from the jobs of every worker. A claim locks its lane's row, so N workers
  together keep within one window.

Versioned: ``runway_batch.version`` says which of :data:`MIGRATIONS` were applied. A writer
upgrades an older schema (under an advisory lock, in one transaction); a newer one is
refused, as is a read-only look at an older one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from runway_dynamic._exceptions import JournalError, UsageError
from runway_dynamic._http import redact_url as redact
from runway_dynamic.batch.journal import (
    FINAL_STATES,
    FORMAT,
    PENDING,
    STATES,
    SUBMITTED,
    SUBMITTING,
    SUCCEEDED,
    UNCERTAIN,
    JobRecord,
    JournalBase,
    TaskRecord,
    dumps,
    loads,
)
from runway_dynamic.batch.pacing import Lane

if TYPE_CHECKING:
    import psycopg

    from runway_dynamic.batch.jobfile import BatchJob

T = TypeVar("T")

SCHEMA = "runway_batch"
#: Seconds a worker's claims live without a heartbeat (``--lease-seconds``).
DEFAULT_LEASE_SECONDS = 30.0
#: ``pg_advisory_xact_lock`` key taken while a schema is created or upgraded ("RWBJ").
MIGRATION_LOCK = 0x5257424A

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)

#: The schema, one step per version: step N upgrades version N-1 to N. Never edit a step
#: that was released; add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the SQLite journal's tables, with a batch column (a database holds many batches)
    f"""
    CREATE TABLE batches (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                          created DOUBLE PRECISION NOT NULL);
    CREATE TABLE meta (batch BIGINT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
                       key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (batch, key));
    CREATE TABLE jobs (
        seq BIGSERIAL PRIMARY KEY,
        batch BIGINT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        line INTEGER NOT NULL,
        endpoint TEXT NOT NULL,
        model TEXT,
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ({_STATE_LIST})),
        task_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        resubmissions INTEGER NOT NULL DEFAULT 0,
        failure TEXT,
        failure_code TEXT,
        retryable BOOLEAN NOT NULL DEFAULT false,
        files TEXT NOT NULL DEFAULT '[]',
        note TEXT,
        updated DOUBLE PRECISION NOT NULL,
        UNIQUE (batch, key)
    );
    CREATE INDEX jobs_by_state ON jobs (batch, state);
    CREATE TABLE tasks (
        task_id TEXT NOT NULL,
        job BIGINT NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        status TEXT,
        failure_code TEXT,
        source TEXT NOT NULL DEFAULT 'api',
        credits DOUBLE PRECISION,
        PRIMARY KEY (job, attempt)
    );
    CREATE INDEX tasks_by_id ON tasks (task_id);
    """,
    # 2: many workers — claims (owner), leases, shared pacing, where outputs went
    """
    ALTER TABLE jobs ADD COLUMN lane TEXT, ADD COLUMN owner TEXT,
        ADD COLUMN throttled BOOLEAN NOT NULL DEFAULT false, ADD COLUMN host TEXT;
    UPDATE jobs SET lane = COALESCE(model, endpoint);
    ALTER TABLE jobs ALTER COLUMN lane SET NOT NULL;
    CREATE INDEX jobs_waiting ON jobs (lane, seq) WHERE state = 'pending';
    CREATE INDEX jobs_in_flight ON jobs (lane) WHERE state IN ('submitting', 'submitted');
    CREATE INDEX jobs_by_owner ON jobs (owner) WHERE owner IS NOT NULL;
    CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        concurrency INTEGER NOT NULL,
        started TIMESTAMPTZ NOT NULL DEFAULT now(),
        lease_until TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE lanes (
        name TEXT PRIMARY KEY,
        span DOUBLE PRECISION,
        org_concurrency INTEGER,
        paused_until DOUBLE PRECISION NOT NULL DEFAULT 0,
        shut TEXT,
        streak INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO lanes (name) SELECT DISTINCT lane FROM jobs;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_JOB_COLUMNS = ("seq, key, line, endpoint, model, body, state, task_id, attempts, "
                "resubmissions, failure, failure_code, retryable, files, note, updated, owner, "
                "host")
#: A job's owner holds a live lease (the database's clock decides).
_LIVE = ("EXISTS (SELECT 1 FROM workers w WHERE w.id = {col} AND "
         "w.lease_until > clock_timestamp())")
LIVE_OWNER = _LIVE.format(col="j.owner")
#: A pending job anyone may claim: nobody's, or a lapsed worker's — never one's own again
#: (a worker that stalled past its lease still holds the job in memory).
_CLAIMABLE = f"(j.owner IS NULL OR (j.owner <> %s AND NOT {LIVE_OWNER}))"
#: Tasks in flight in a lane (``l``), every worker's: claimed, being sent, or running.
_IN_FLIGHT_WHERE = (f"j.lane = l.name AND (j.state IN ('submitting', 'submitted') OR "
                    f"(j.state = 'pending' AND j.owner IS NOT NULL AND {LIVE_OWNER}))")
_IN_FLIGHT_COUNT = f"SELECT count(*) FROM jobs j WHERE {_IN_FLIGHT_WHERE}"
_THROTTLED_COUNT = f"SELECT count(*) FROM jobs j WHERE j.throttled AND {_IN_FLIGHT_WHERE}"


@dataclass(frozen=True)
class _Sql:
    """A column's new value as SQL over its old one (``attempts + 1``), not a parameter."""

    text: str


def _job(row: Sequence[Any]) -> JobRecord:
    return JobRecord(row[0], row[1], row[2], row[3], row[4], loads(row[5]), row[6], row[7],
                     row[8], row[9], row[10], row[11], bool(row[12]), tuple(loads(row[13])),
                     row[14], row[15], owner=row[16], host=row[17])


def worker_id() -> str:
    """A new worker's id: where it runs, its process, and a random part (ids never repeat)."""
    import secrets

    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Outlook:
    """What a worker with nothing to do needs to know: is more work coming?"""

    #: Pending jobs that nobody live holds, in lanes that are open now.
    claimable: int
    #: Pending jobs in lanes shut at a cap (they wait for the cap, not for a slot).
    at_limit: int
    #: Jobs other live workers hold (claimed, sending, running, downloading), and jobs of
    #: lapsed workers not yet swept: either may still come back as work.
    elsewhere: int


class PostgresJournal(JournalBase):
    """One batch of a PostgreSQL journal, as one worker (or a person) sees it.

    ``worker`` set: this object changes only jobs it owns (the fence); ``None``: a person's
    view (status, results, resolve, retry-failed), which changes no claimed job.
    """

    shared = True

    def __init__(self, url: str, conn: psycopg.Connection[Any], batch_id: int, name: str, *,
                 readonly: bool) -> None:
        self.url = url
        self.name = name
        self.readonly = readonly
        self.batch_id = batch_id
        self.worker: str | None = None
        self.host = socket.gethostname()
        self._db = conn

    # ------------------------------------------------------------------ naming

    @property
    def path(self) -> str:
        return f"{redact(self.url)} (batch {self.name})"

    @property
    def reference(self) -> str:
        return f"--journal '{redact(self.url)}' --batch {self.name}"

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, url: str, name: str, jobs: Iterable[BatchJob],
               meta: Mapping[str, Any]) -> PostgresJournal:
        """A new batch named ``name`` holding every job ``pending``; never over one of that
        name."""
        conn = _connect(url)
        try:
            _prepare(conn, url, readonly=False)
            with _errors(url), conn.transaction():
                found = conn.execute("SELECT id FROM batches WHERE name = %s",
                                     (name,)).fetchone()
                if found is not None:
                    raise JournalError(
                        f"a batch named {name!r} is already in this journal; continue it "
                        f"with 'runway batch resume --journal URL --batch {name}', or choose "
                        "another --batch", path=redact(url), reason="exists")
                now = time.time()
                batch_id = conn.execute("INSERT INTO batches (name, created) VALUES (%s, %s) "
                                        "RETURNING id", (name, now)).fetchone()[0]  # type: ignore[index]
                lanes: set[str] = set()
                with conn.cursor().copy(
                        "COPY jobs (batch, key, line, endpoint, model, body, state, updated, "
                        "lane) FROM STDIN") as copy:
                    for job in jobs:
                        lane = job.model or job.endpoint
                        lanes.add(lane)
                        copy.write_row((batch_id, job.key, job.line, job.endpoint, job.model,
                                        dumps(dict(job.body)), PENDING, now, lane))
                entries = {"format": FORMAT, "created": now, "name": name, **meta}
                conn.cursor().executemany(
                    "INSERT INTO meta (batch, key, value) VALUES (%s, %s, %s)",
                    [(batch_id, k, dumps(v)) for k, v in entries.items()])
                conn.cursor().executemany(
                    "INSERT INTO lanes (name) VALUES (%s) ON CONFLICT DO NOTHING",
                    [(lane,) for lane in sorted(lanes)])
        except BaseException:
            conn.close()
            raise
        return cls(url, conn, batch_id, name, readonly=False)

    @classmethod
    def open(cls, url: str, name: str | None = None, *,
             readonly: bool = False) -> PostgresJournal:
        """Open batch ``name`` (``None``: the only one there is)."""
        conn = _connect(url)
        try:
            _prepare(conn, url, readonly=readonly)
            batch_id, name = _pick_batch(conn, url, name)
        except BaseException:
            conn.close()
            raise
        return cls(url, conn, batch_id, name, readonly=readonly)

    @classmethod
    def batch_names(cls, url: str, *, with_work: bool = False) -> list[str]:
        """The batches in this journal, oldest first (only those with jobs not final)."""
        conn = _connect(url)
        try:
            _prepare(conn, url, readonly=True)
            query = "SELECT b.name FROM batches b"
            if with_work:
                query += (" WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.batch = b.id AND "
                          f"j.state NOT IN ({', '.join(repr(s) for s in FINAL_STATES)}))")
            with _errors(url):
                return [r[0] for r in conn.execute(query + " ORDER BY b.id").fetchall()]
        finally:
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._db.close()

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One change: its own transaction, or a savepoint inside :meth:`group`."""
        with _errors(self.url), self._db.transaction():
            yield self._db

    @contextlib.contextmanager
    def _coordination(self) -> Iterator[psycopg.Connection[Any]]:
        """A claim, lease or lane change: its own transaction, committed without waiting
        for the WAL to reach the disk. Safe to lose in a server crash: such a change only
        ever precedes a job change that waits for the flush (which flushes it too, the WAL
        being in order), and without one it is redone (a claim is claimable again, a lane
        re-decided, a take-over or settling repeated)."""
        with _errors(self.url), self._db.transaction():
            self._db.execute("SET LOCAL synchronous_commit TO off")
            yield self._db

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """Many changes in one transaction (group commit); each inside is a savepoint, so a
        change that fails is undone alone."""
        with _errors(self.url), self._db.transaction():
            yield

    def _one(self, query: str, args: Sequence[Any] = ()) -> Any:
        with _errors(self.url):
            return self._db.execute(query, args).fetchone()

    def _all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        with _errors(self.url):
            return self._db.execute(query, args).fetchall()

    # ------------------------------------------------------------------ reading

    def meta(self) -> dict[str, Any]:
        rows = self._all("SELECT key, value FROM meta WHERE batch = %s", (self.batch_id,))
        return {key: loads(value) for key, value in rows}

    def set_meta(self, **values: Any) -> None:
        with self._transaction() as db:
            db.cursor().executemany(
                "INSERT INTO meta (batch, key, value) VALUES (%s, %s, %s) ON CONFLICT "
                "(batch, key) DO UPDATE SET value = excluded.value",
                [(self.batch_id, k, dumps(v)) for k, v in values.items()])

    def jobs(self, states: Iterable[str] | None = None) -> list[JobRecord]:
        query = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE batch = %s"
        args: list[Any] = [self.batch_id]
        if states is not None:
            query += " AND state = ANY(%s)"
            args.append(list(states))
        return [_job(r) for r in self._all(query + " ORDER BY seq", args)]

    def job(self, key: str) -> JobRecord:
        row = self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE batch = %s AND key = %s",
                        (self.batch_id, key))
        if row is None:
            raise JournalError(f"no job {key!r} in this batch", path=self.path,
                               reason="missing")
        return _job(row)

    def counts(self) -> dict[str, int]:
        rows = self._all("SELECT state, count(*) FROM jobs WHERE batch = %s GROUP BY state",
                         (self.batch_id,))
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in STATES}

    def credits(self) -> float:
        row = self._one("SELECT COALESCE(sum(t.credits), 0) FROM tasks t JOIN jobs j ON "
                        "j.seq = t.job WHERE j.batch = %s", (self.batch_id,))
        return float(row[0])

    def tasks(self, key: str | None = None) -> list[TaskRecord]:
        query = ("SELECT t.task_id, j.key, t.attempt, t.created, t.status, t.failure_code, "
                 "t.source, t.credits FROM tasks t JOIN jobs j ON j.seq = t.job "
                 "WHERE j.batch = %s")
        args: list[Any] = [self.batch_id]
        if key is not None:
            query += " AND j.key = %s"
            args.append(key)
        rows = self._all(query + " ORDER BY t.created, t.job, t.attempt", args)
        return [TaskRecord(*row) for row in rows]

    # ------------------------------------------------------------------ transitions

    def _move(self, db: psycopg.Connection[Any], key: str, allowed: Iterable[str], state: str,
              *, fenced: bool = True, **columns: Any) -> tuple[int, int]:
        """Move one job in one statement; a worker only moves jobs it owns.
        ``(seq, attempts)`` after the move."""
        allowed = list(allowed)
        values: dict[str, Any] = {"state": state, "updated": time.time(), **columns}
        sets = ", ".join(f"{name} = {value.text}" if isinstance(value, _Sql) else
                         f"{name} = %s" for name, value in values.items())
        args: list[Any] = [v for v in values.values() if not isinstance(v, _Sql)]
        args += [self.batch_id, key, allowed]
        fence = ""
        if fenced and self.worker is not None:
            fence = " AND owner = %s"
            args.append(self.worker)
        row = db.execute(f"UPDATE jobs SET {sets} WHERE batch = %s AND key = %s AND "
                         f"state = ANY(%s){fence} RETURNING seq, attempts", args).fetchone()
        if row is not None:
            return int(row[0]), int(row[1])
        before = db.execute("SELECT state, owner FROM jobs WHERE batch = %s AND key = %s",
                            (self.batch_id, key)).fetchone()
        if before is None:
            raise JournalError(f"no job {key!r} in this batch", path=self.path,
                               reason="missing")
        if fence and before[1] != self.worker:
            raise JournalError(f"job {key!r} is no longer this worker's (its lease lapsed "
                               "and another worker took it); nothing was sent for it "
                               "here", path=self.path, reason="claim_lost")
        raise JournalError(f"job {key!r} is {before[0]}, not {' or '.join(allowed)}",
                           path=self.path, reason="state")

    def mark_submitting(self, key: str) -> None:
        with self._transaction() as db:
            self._move(db, key, (PENDING,), SUBMITTING, note=None)

    def mark_submitted(self, key: str, task_id: str, credits: float | None = None) -> None:
        # from uncertain too: a worker that stalled past its lease and then got the answer
        # may record it (only its own create can have made that job's task)
        with self._transaction() as db:
            seq, attempt = self._move(db, key, (SUBMITTING, UNCERTAIN), SUBMITTED,
                                      task_id=task_id, throttled=False, failure=None,
                                      failure_code=None, attempts=_Sql("attempts + 1"))
            db.execute("INSERT INTO tasks (task_id, job, attempt, created, credits) "
                       "VALUES (%s, %s, %s, %s, %s)",
                       (task_id, seq, attempt, time.time(), credits))

    def mark_not_sent(self, key: str, note: str) -> None:
        with self._transaction() as db:
            self._move(db, key, (SUBMITTING, UNCERTAIN), PENDING, note=note)

    def mark_uncertain(self, key: str, note: str) -> None:
        with self._transaction() as db:
            self._move(db, key, (SUBMITTING,), UNCERTAIN, note=note)

    def _settle_task(self, db: psycopg.Connection[Any], seq: int, attempts: int, status: str,
                     failure_code: str | None = None) -> None:
        """Record how the job's current task ended (a task already settled stays so)."""
        db.execute("UPDATE tasks SET status = %s, failure_code = %s WHERE job = %s AND "
                   "attempt = %s AND status IS NULL", (status, failure_code, seq, attempts))

    def mark_succeeded(self, key: str, files: Sequence[str]) -> None:
        with self._transaction() as db:
            seq, attempts = self._move(db, key, (SUBMITTED,), SUCCEEDED, throttled=False,
                                       files=dumps(list(files)), host=self.host)
            self._settle_task(db, seq, attempts, "SUCCEEDED")

    def mark_files(self, key: str, files: Sequence[str]) -> None:
        with self._transaction() as db:
            self._move(db, key, (SUCCEEDED,), SUCCEEDED, files=dumps(list(files)),
                       host=self.host)

    def mark_downloaded(self, key: str, files: Sequence[str]) -> None:
        with self._transaction() as db:
            self._move(db, key, (SUCCEEDED,), "downloaded", files=dumps(list(files)),
                       note=None, host=self.host)

    def mark_failed(self, key: str, *, failure: str, failure_code: str | None = None,
                    retryable: bool = False, task_status: str | None = None) -> None:
        with self._transaction() as db:
            seq, attempts = self._move(db, key, (SUBMITTING, SUBMITTED, SUCCEEDED, PENDING),
                                       "failed", failure=failure, failure_code=failure_code,
                                       retryable=retryable, throttled=False)
            # the job's latest task, if it is still open (a job failed before its create
            # has none open: its earlier tasks were settled when they ended)
            self._settle_task(db, seq, attempts, task_status or "FAILED", failure_code)

    def mark_resubmit(self, key: str, *, failure: str, failure_code: str | None) -> None:
        with self._transaction() as db:
            seq, attempts = self._move(
                db, key, (SUBMITTED,), PENDING, task_id=None, failure=failure,
                failure_code=failure_code, throttled=False,
                resubmissions=_Sql("resubmissions + 1"),
                note=f"resubmitting after {failure_code}")
            self._settle_task(db, seq, attempts, "FAILED", failure_code)

    # ------------------------------------------------------------------ people's decisions

    def recover(self) -> list[str]:
        """Jobs caught mid-create by a worker that is gone become ``uncertain``; their keys.
        (A live worker's ``submitting`` jobs are its own business.)"""
        with self._coordination() as db:
            rows = db.execute(
                f"UPDATE jobs SET state = %s, updated = %s, note = %s WHERE seq IN ("
                f"SELECT j.seq FROM jobs j WHERE j.batch = %s AND j.state = %s AND NOT "
                f"{LIVE_OWNER} FOR UPDATE SKIP LOCKED) RETURNING key, seq",
                (UNCERTAIN, time.time(), "the worker stopped while the create request was "
                 "out; a task may exist", self.batch_id, SUBMITTING)).fetchall()
        return [key for key, _ in sorted(rows, key=lambda r: r[1])]

    def reset_failed(self, keys: Iterable[str]) -> list[str]:
        moved = []
        with self._transaction() as db:
            for key in keys:
                self._move(db, key, ("failed",), PENDING, fenced=False,
                           note="retrying a failed job", task_id=None, owner=None)
                moved.append(key)
        return moved

    def resolve(self, key: str, *, task_id: str | None) -> None:
        with self._transaction() as db:
            if task_id is None:
                self._move(db, key, (UNCERTAIN,), PENDING, fenced=False, owner=None,
                           note="resolved: the create never made a task")
                return
            seq, attempt = self._move(db, key, (UNCERTAIN,), SUBMITTED, fenced=False,
                                      task_id=task_id, owner=None,
                                      attempts=_Sql("attempts + 1"),
                                      note="resolved: task id given by hand")
            db.execute("INSERT INTO tasks (task_id, job, attempt, created, source) VALUES "
                       "(%s, %s, %s, %s, 'resolved')", (task_id, seq, attempt, time.time()))

    # ------------------------------------------------------------------ workers and leases

    def register(self, *, concurrency: int, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 worker: str | None = None) -> str:
        """Join as a worker (a fresh id each time: a restarted worker is a new one)."""
        self.worker = worker or worker_id()
        self.lease_seconds = lease_seconds
        with self._coordination() as db:
            db.execute("INSERT INTO workers (id, host, pid, concurrency, lease_until) VALUES "
                       "(%s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s))",
                       (self.worker, self.host, os.getpid(), concurrency, lease_seconds))
        return self.worker

    def heartbeat(self) -> bool:
        """Renew the lease; ``False`` when it had lapsed (claims may have been taken: the
        fence keeps this worker from acting on them, and it renews for what is left)."""
        with self._coordination() as db:
            row = db.execute(
                "UPDATE workers SET lease_until = clock_timestamp() + make_interval(secs => "
                "%s) WHERE id = %s RETURNING (SELECT lease_until > clock_timestamp() FROM "
                "workers WHERE id = %s)", (self.lease_seconds, self.worker, self.worker)
            ).fetchone()
        return bool(row and row[0])

    def leave(self) -> None:
        """A clean exit: unclaim what was not sent; what it follows is taken over at once."""
        if self.worker is None:
            return
        with self._coordination() as db:
            db.execute("UPDATE jobs SET owner = NULL WHERE owner = %s AND state = %s",
                       (self.worker, PENDING))
            db.execute("DELETE FROM workers WHERE id = %s", (self.worker,))

    def unclaim(self, keys: Iterable[str]) -> None:
        """Give back claims on pending jobs (not sent, e.g. their lane paused)."""
        with self._coordination() as db:
            db.execute("UPDATE jobs SET owner = NULL WHERE batch = %s AND key = ANY(%s) AND "
                       "state = %s AND owner = %s",
                       (self.batch_id, list(keys), PENDING, self.worker))

    def take_over(self, limit: int) -> list[JobRecord]:
        """Submitted or succeeded jobs whose worker is gone, now this worker's to follow."""
        with self._coordination() as db:
            rows = db.execute(
                f"UPDATE jobs SET owner = %s WHERE seq IN (SELECT j.seq FROM jobs j WHERE "
                f"j.batch = %s AND j.state IN (%s, %s) AND NOT {LIVE_OWNER} "
                f"ORDER BY j.seq LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {_JOB_COLUMNS}",
                (self.worker, self.batch_id, SUBMITTED, SUCCEEDED, limit)).fetchall()
        return sorted((_job(r) for r in rows), key=lambda r: r.seq)

    def outlook(self) -> Outlook:
        row = self._one(
            f"SELECT count(*) FILTER (WHERE j.state = %s AND l.ready AND (j.owner IS NULL OR "
            f"NOT {LIVE_OWNER})), "
            f"count(*) FILTER (WHERE j.state = %s AND NOT l.ready), "
            f"count(*) FILTER (WHERE j.owner IS DISTINCT FROM %s AND (j.state IN (%s, %s, %s) "
            f"OR (j.state = %s AND j.owner IS NOT NULL AND {LIVE_OWNER}))) "
            f"FROM jobs j JOIN (SELECT name, shut IS NULL OR paused_until <= "
            f"extract(epoch FROM clock_timestamp()) AS ready FROM lanes) l ON l.name = j.lane "
            f"WHERE j.batch = %s",
            (PENDING, PENDING, self.worker, SUBMITTING, SUBMITTED, SUCCEEDED, PENDING,
             self.batch_id))
        return Outlook(int(row[0]), int(row[1]), int(row[2]))

    # ------------------------------------------------------------------ shared pacing

    def _load_lane(self, db: psycopg.Connection[Any], name: str, *,
                   skip_locked: bool = False) -> tuple[Lane, float] | None:
        """The lane's row (locked) as a :class:`Lane` with every worker's tasks in flight,
        and the database's clock; ``None`` when another worker holds it right now."""
        row = db.execute(
            "SELECT span, paused_until, shut, streak, extract(epoch FROM clock_timestamp()), "
            "(SELECT COALESCE(sum(concurrency), 0) FROM workers WHERE lease_until > "
            f"clock_timestamp()), ({_IN_FLIGHT_COUNT}), ({_THROTTLED_COUNT}) FROM lanes l "
            "WHERE name = %s FOR UPDATE OF l" + (" SKIP LOCKED" if skip_locked else ""),
            (name,)).fetchone()
        if row is None:
            if skip_locked:
                exists = db.execute("SELECT 1 FROM lanes WHERE name = %s", (name,)).fetchone()
                if exists is not None:
                    return None
            db.execute("INSERT INTO lanes (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
            return self._load_lane(db, name)
        span, paused_until, shut, streak, now, ceiling, in_flight, throttled = row
        if shut is not None and now >= paused_until:
            shut = None  # a cap's pause is over: try again (a refused create costs nothing)
        lane = Lane(name, max(1, int(ceiling)), window=float(span or 0.0),
                    in_flight=int(in_flight), throttled=int(throttled),
                    paused_until=float(paused_until), shut=shut, rate_limited_streak=streak)
        return lane, float(now)

    @staticmethod
    def _store_lane(db: psycopg.Connection[Any], lane: Lane) -> None:
        db.execute("UPDATE lanes SET span = %s, paused_until = %s, shut = %s, streak = %s "
                   "WHERE name = %s", (lane.window, lane.paused_until, lane.shut,
                                       lane.rate_limited_streak, lane.name))

    def lane_change(self, name: str, change: Callable[[Lane, float], T], *,
                    job: str | None = None, throttled: bool | None = None) -> tuple[Lane, T]:
        """Apply ``change(lane, now)`` (a decision of :mod:`~runway_dynamic.batch.pacing`)
        to the shared lane under its row lock; ``job``'s THROTTLED mark is set first."""
        with self._coordination() as db:
            if job is not None and throttled is not None:
                db.execute("UPDATE jobs SET throttled = %s WHERE batch = %s AND key = %s AND "
                           "owner = %s", (throttled, self.batch_id, job, self.worker))
            loaded = self._load_lane(db, name)
            assert loaded is not None
            lane, now = loaded
            result = change(lane, now)
            self._store_lane(db, lane)
        return lane, result

    def seed_lane(self, name: str, model_concurrency: int) -> None:
        """Start a lane's window from the model's known concurrency, once per value seen."""
        seeded = Lane.seeded(name, 10**6, model_concurrency).window
        with self._coordination() as db:
            db.execute("INSERT INTO lanes (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
            db.execute("UPDATE lanes SET org_concurrency = %s, span = %s WHERE name = %s AND "
                       "org_concurrency IS DISTINCT FROM %s",
                       (model_concurrency, seeded, name, model_concurrency))

    def lanes(self) -> dict[str, Lane]:
        """Every lane of this batch as the database holds it now."""
        with self._transaction() as db:
            names = [r[0] for r in db.execute("SELECT DISTINCT lane FROM jobs WHERE batch = %s",
                                              (self.batch_id,)).fetchall()]
            found = {}
            for name in sorted(names):
                loaded = self._load_lane(db, name)
                if loaded is not None:
                    found[name] = loaded[0]
        return found

    def claim_jobs(self, limit: int, *, exclude: Iterable[str] = ()) -> list[JobRecord]:
        """Claim up to ``limit`` pending jobs, oldest first across lanes, as the shared
        windows allow; each lane is decided under its row lock (a lane another worker is
        deciding right now is skipped, not waited for)."""
        skip = set(exclude)
        with _errors(self.url):
            firsts = self._db.execute(
                f"SELECT l.name, (SELECT j.seq FROM jobs j WHERE j.lane = l.name AND "
                f"j.state = %s AND j.batch = %s AND {_CLAIMABLE} ORDER BY j.seq LIMIT 1) "
                f"FROM lanes l", (PENDING, self.batch_id, self.worker)).fetchall()
        order = sorted((seq, name) for name, seq in firsts if seq is not None
                       and name not in skip)
        claimed: list[JobRecord] = []
        for _, name in order:
            if len(claimed) >= limit:
                break
            with self._coordination() as db:
                loaded = self._load_lane(db, name, skip_locked=True)
                if loaded is None:
                    continue
                lane, now = loaded
                if not lane.has_room(now):
                    continue
                room = min(limit - len(claimed), lane.limit - lane.in_flight)
                rows = db.execute(
                    f"UPDATE jobs SET owner = %s WHERE seq IN (SELECT j.seq FROM jobs j "
                    f"WHERE j.lane = %s AND j.state = %s AND j.batch = %s AND {_CLAIMABLE} "
                    f"ORDER BY j.seq LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {_JOB_COLUMNS}",
                    (self.worker, name, PENDING, self.batch_id, self.worker, room)).fetchall()
                claimed += [_job(r) for r in rows]
        return sorted(claimed, key=lambda r: r.seq)


# --------------------------------------------------------------------------- helpers


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError:
        raise UsageError("a PostgreSQL journal needs psycopg: pip install "
                         "'runway-dynamic[postgres]'") from None
    with _errors(url):
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10,
                               application_name="runway batch")
        conn.execute(f"SET search_path TO {SCHEMA}")
    return conn


def _prepare(conn: psycopg.Connection[Any], url: str, *, readonly: bool) -> None:
    """Check the schema's format and version; create or upgrade it for a writer."""
    where = redact(url)
    with _errors(url), conn.transaction():
        present = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.version",)).fetchone()
        if present is None or present[0] is None:
            if readonly:
                raise JournalError("no batch journal in this database (start one with "
                                   "'runway batch run JOBS --journal URL')", path=where,
                                   reason="missing")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            conn.execute("CREATE TABLE IF NOT EXISTS version (format TEXT NOT NULL, "
                         "version INTEGER NOT NULL)")
            if conn.execute("SELECT 1 FROM version").fetchone() is None:
                conn.execute("INSERT INTO version VALUES (%s, 0)", (FORMAT,))
        elif not readonly:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        row = conn.execute("SELECT format, version FROM version").fetchone()
        if row is None or row[0] != FORMAT:
            raise JournalError(f"the {SCHEMA} schema here is not a runway batch journal (it "
                               "was left untouched)", path=where, reason="not_a_journal")
        version = int(row[1])
        if version > SCHEMA_VERSION:
            raise JournalError(f"this journal has schema version {version}, newer than this "
                               f"runway knows ({SCHEMA_VERSION}); use a newer runway",
                               path=where, reason="version")
        if version < SCHEMA_VERSION:
            if readonly:
                raise JournalError(f"this journal has schema version {version}, older than "
                                   f"this runway's ({SCHEMA_VERSION}); any writing command "
                                   "(e.g. 'runway batch resume') upgrades it", path=where,
                                   reason="version")
            for step in MIGRATIONS[version:]:
                conn.execute(step)
            conn.execute("UPDATE version SET version = %s", (SCHEMA_VERSION,))


def _pick_batch(conn: psycopg.Connection[Any], url: str, name: str | None) -> tuple[int, str]:
    with _errors(url):
        rows = conn.execute("SELECT id, name FROM batches ORDER BY id").fetchall()
    if name is not None:
        for batch_id, found in rows:
            if found == name:
                return int(batch_id), found
        known = ", ".join(r[1] for r in rows) or "none"
        raise JournalError(f"no batch named {name!r} in this journal (batches: {known})",
                           path=redact(url), reason="missing")
    if len(rows) == 1:
        return int(rows[0][0]), rows[0][1]
    if not rows:
        raise JournalError("this journal holds no batch yet (start one with 'runway batch run "
                           "JOBS --journal URL')", path=redact(url), reason="missing")
    raise UsageError("this journal holds several batches; choose one with --batch NAME "
                     f"({', '.join(r[1] for r in rows)})")


@contextlib.contextmanager
def _errors(url: str) -> Iterator[None]:
    """psycopg's errors as :class:`JournalError`s that say what to do (never the password)."""
    try:
        yield
    except JournalError:
        raise
    except Exception as exc:
        import psycopg

        if not isinstance(exc, psycopg.Error):
            raise
        where = redact(url)
        text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if isinstance(exc, psycopg.OperationalError):
            raise JournalError(f"cannot reach the journal's database ({text}); check the URL "
                               "and that the server runs", path=where,
                               reason="unreachable") from None
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise JournalError(f"the database refused this user ({text})", path=where,
                               reason="readonly") from None
        raise JournalError(f"the journal's database refused a change ({text}); the journal "
                           "is unchanged", path=where, reason="damaged") from None
