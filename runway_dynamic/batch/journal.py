"""The batch journal: every job's state in one SQLite file (WAL), durable before each step.

A job moves through these states; each arrow is one committed transaction::

    pending ─▶ submitting ─▶ submitted ─▶ succeeded ─▶ downloaded
       ▲          │  │           │
       │          │  └─▶ uncertain      the create's answer was lost: never resent
       └──────────┘  (429 or not sent: no task exists, so it may go again)
    submitted ─▶ pending     FAILED with INTERNAL.*, resubmissions left (a new, billed task)
    submitted ─▶ failed      FAILED otherwise, or CANCELLED

``submitting`` is written (and synced to disk) *before* the create request leaves, and the
task id the moment the API returns it. So after a crash at any point a job is either
still ``pending`` (nothing was sent), ``submitted`` (its task is known and is polled, not
paid for again) or ``submitting`` — the request may have reached Runway, and with no
idempotency key and no way to list tasks nobody can tell. :meth:`Journal.recover` turns
those into ``uncertain``; they are never resubmitted without a person saying so
(:meth:`Journal.resolve`: here is its task id, or: it was never sent).

Every task ever created is kept in the ``tasks`` table: what was billed, per job.

Nothing here resets or rewrites a journal it cannot read: a damaged, foreign or locked
file is a :class:`~runway_dynamic.JournalError` and stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runway_dynamic._exceptions import JournalError
from runway_dynamic._files import link_new

if TYPE_CHECKING:
    from runway_dynamic.batch.jobfile import BatchJob

FORMAT = "runway-batch-journal"
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of our journals ("RWBJ"): a foreign SQLite file is refused.
APPLICATION_ID = 0x5257424A
#: Seconds to wait for SQLite's lock before reporting the journal as locked.
BUSY_TIMEOUT = 5.0

PENDING = "pending"
SUBMITTING = "submitting"
SUBMITTED = "submitted"
SUCCEEDED = "succeeded"
DOWNLOADED = "downloaded"
FAILED = "failed"
UNCERTAIN = "uncertain"
STATES = (PENDING, SUBMITTING, SUBMITTED, SUCCEEDED, DOWNLOADED, FAILED, UNCERTAIN)
#: States in which a job needs nothing more from this program.
FINAL_STATES = frozenset({DOWNLOADED, FAILED})
#: A column value in :meth:`Journal._move` meaning "one more than it is".
_INCREMENT = object()

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    line INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in STATES)})),
    task_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    resubmissions INTEGER NOT NULL DEFAULT 0,
    failure TEXT,
    failure_code TEXT,
    retryable INTEGER NOT NULL DEFAULT 0,
    files TEXT NOT NULL DEFAULT '[]',
    note TEXT,
    updated REAL NOT NULL
);
CREATE INDEX jobs_by_state ON jobs (state);
CREATE TABLE tasks (
    task_id TEXT NOT NULL,
    job INTEGER NOT NULL REFERENCES jobs (seq),
    attempt INTEGER NOT NULL,
    created REAL NOT NULL,
    status TEXT,
    failure_code TEXT,
    source TEXT NOT NULL DEFAULT 'api',
    credits REAL,
    PRIMARY KEY (job, attempt)
);
CREATE INDEX tasks_by_id ON tasks (task_id);
"""


def dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def loads(text: str) -> Any:
    import orjson

    return orjson.loads(text)


@dataclass(frozen=True)
class JobRecord:
    """A job as the journal holds it."""

    seq: int
    key: str
    line: int
    endpoint: str
    model: str | None
    body: Mapping[str, Any]
    state: str
    task_id: str | None
    attempts: int
    resubmissions: int
    failure: str | None
    failure_code: str | None
    retryable: bool
    files: tuple[str, ...]
    note: str | None
    updated: float
    #: The worker that holds (or last held) the job; a shared journal's claims.
    owner: str | None = None
    #: The machine its outputs were saved on (a shared journal's workers each have theirs).
    host: str | None = None

    @property
    def lane(self) -> str:
        """What Runway's limits count per: the model, else the endpoint."""
        return self.model or self.endpoint

    def changed(self, **changes: Any) -> JobRecord:
        """A copy with ``changes`` (field names): ``dataclasses.replace`` without running
        the frozen ``__init__`` again, which took 4.5 µs of its 5 (a run copies a job's
        record at each of its state changes)."""
        unknown = changes.keys() - _JOB_FIELDS
        if unknown:
            raise TypeError(f"JobRecord has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(JobRecord)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.key, "line": self.line, "endpoint": self.endpoint,
                "model": self.model, "state": self.state, "taskId": self.task_id,
                "attempts": self.attempts, "resubmissions": self.resubmissions,
                "failure": self.failure, "failureCode": self.failure_code,
                "retryable": self.retryable, "files": list(self.files), "note": self.note,
                "host": self.host}


_JOB_FIELDS = frozenset(field.name for field in fields(JobRecord))


@dataclass(frozen=True)
class TaskRecord:
    """A task created for a job (a billed generation)."""

    task_id: str
    job_key: str
    attempt: int
    created: float
    status: str | None
    failure_code: str | None
    source: str
    credits: float | None = None


_JOB_COLUMNS = ("seq, key, line, endpoint, model, body, state, task_id, attempts, "
                "resubmissions, failure, failure_code, retryable, files, note, updated")


def _job(row: Sequence[Any]) -> JobRecord:
    return JobRecord(row[0], row[1], row[2], row[3], row[4], loads(row[5]), row[6], row[7],
                     row[8], row[9], row[10], row[11], bool(row[12]), tuple(loads(row[13])),
                     row[14], row[15])


class JournalBase(ABC):
    """What runs and people need of a journal; the SQLite file (:class:`Journal`) and the
    PostgreSQL database (:class:`~runway_dynamic.batch.postgres.PostgresJournal`) keep it
    with the same states, arrows and write-ahead promise.

    Every ``mark_*`` commits before it returns; inside :meth:`group` the changes commit
    together, each undone alone if it fails.
    """

    #: Several workers at once (claims, leases, shared pacing), or one process (a lock).
    shared = False
    readonly: bool
    #: Where the journal is, for messages (a file, or a database and a batch name).
    path: Any

    @property
    def reference(self) -> str:
        """The command-line words that name this journal (``runway batch resume …``)."""
        return str(self.path)

    def claim(self) -> None:  # noqa: B027 - a shared journal has no run lock
        """Take the run lock, where the journal has one (a shared one has none)."""

    def release(self) -> None:  # noqa: B027
        """Give the run lock back."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abstractmethod
    def group(self) -> contextlib.AbstractContextManager[None]: ...

    @abstractmethod
    def meta(self) -> dict[str, Any]: ...

    @abstractmethod
    def set_meta(self, **values: Any) -> None: ...

    @abstractmethod
    def jobs(self, states: Iterable[str] | None = None) -> list[JobRecord]: ...

    @abstractmethod
    def job(self, key: str) -> JobRecord: ...

    @abstractmethod
    def counts(self) -> dict[str, int]: ...

    @abstractmethod
    def credits(self) -> float: ...

    @abstractmethod
    def tasks(self, key: str | None = None) -> list[TaskRecord]: ...

    @abstractmethod
    def mark_submitting(self, key: str) -> None:
        """The intent, durable before the create request is sent."""

    @abstractmethod
    def mark_submitted(self, key: str, task_id: str, credits: float | None = None) -> None:
        """The create answered with a task id: polled from now on, never sent again."""

    @abstractmethod
    def mark_not_sent(self, key: str, note: str) -> None:
        """The create was refused before any task existed (429, not sent): pending again."""

    @abstractmethod
    def mark_uncertain(self, key: str, note: str) -> None:
        """The create may have made a task whose id we never saw."""

    @abstractmethod
    def mark_succeeded(self, key: str, files: Sequence[str]) -> None: ...

    @abstractmethod
    def mark_files(self, key: str, files: Sequence[str]) -> None: ...

    @abstractmethod
    def mark_downloaded(self, key: str, files: Sequence[str]) -> None: ...

    @abstractmethod
    def mark_failed(self, key: str, *, failure: str, failure_code: str | None = None,
                    retryable: bool = False, task_status: str | None = None) -> None: ...

    @abstractmethod
    def mark_resubmit(self, key: str, *, failure: str, failure_code: str | None) -> None: ...

    @abstractmethod
    def recover(self) -> list[str]:
        """Jobs caught mid-create by a run that is gone become ``uncertain``; their keys."""

    @abstractmethod
    def reset_failed(self, keys: Iterable[str]) -> list[str]: ...

    @abstractmethod
    def resolve(self, key: str, *, task_id: str | None) -> None: ...


class Journal(JournalBase):
    """One batch's journal file. :meth:`create` a new one or :meth:`open` an existing one.

    Methods that change a job each commit one transaction, synced to disk
    (``synchronous=FULL``) before they return. A :class:`Journal` is not shared between
    threads at once; the async runner gives it one worker thread of its own.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._db = connection
        self._lock_handle: IO[str] | None = None
        self._grouped = False

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, path: str | os.PathLike[str], jobs: Iterable[BatchJob],
               meta: Mapping[str, Any]) -> Journal:
        """Write a new journal holding every job as ``pending``; never over an existing file."""
        target = Path(path)
        if target.exists():
            raise JournalError("a journal already exists here; continue it with 'runway batch "
                               "resume', or choose another --journal", path=str(target),
                               reason="exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.creating")
        for leftover in _sqlite_files(partial):
            leftover.unlink(missing_ok=True)
        db = _connect(partial, readonly=False)
        try:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            now = time.time()
            rows = [(job.key, job.line, job.endpoint, job.model, dumps(dict(job.body)),
                     PENDING, now) for job in jobs]
            db.executemany("INSERT INTO jobs (key, line, endpoint, model, body, state, updated)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            entries = {"format": FORMAT, "created": now, **meta}
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                           [(k, dumps(v)) for k, v in entries.items()])
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            db.close()
            for leftover in _sqlite_files(partial):
                leftover.unlink(missing_ok=True)
            raise
        db.close()
        _claim_name(partial, target)
        return cls.open(target)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Journal:
        """Open an existing journal, checking that it is ours, of a known version and sound.

        ``readonly`` journals (``batch status``) can be read while a run writes to them.
        """
        target = Path(path)
        if not target.is_file():
            raise JournalError("no batch journal here (start one with 'runway batch run')",
                               path=str(target), reason="missing")
        db = _connect(target, readonly=readonly)
        journal = cls(target, db, readonly=readonly)
        try:
            journal._check()
        except BaseException:
            db.close()
            raise
        return journal

    def _check(self) -> None:
        with self._errors():
            app = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if app != APPLICATION_ID:
            raise JournalError("this is not a runway batch journal (it was left untouched)",
                               path=str(self.path), reason="not_a_journal")
        if version != SCHEMA_VERSION:
            raise JournalError(f"journal version {version} is not known to this runway "
                               f"(it reads version {SCHEMA_VERSION}); use the runway that "
                               "wrote it", path=str(self.path), reason="version")
        if not self.readonly:
            with self._errors():
                verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise JournalError(f"the journal is damaged (SQLite: {verdict}); it was left "
                                   "as it is. Keep a copy, then see 'runway batch status' on "
                                   "the copy for what was submitted", path=str(self.path),
                                   reason="damaged")

    def close(self) -> None:
        self.release()
        self._db.close()

    # ------------------------------------------------------------------ the run lock

    def claim(self) -> None:
        """Take the run lock: only one ``runway batch`` may drive a journal at a time.

        The lock (``flock`` on ``JOURNAL.lock``) dies with its process, so a run killed with
        SIGKILL never leaves a journal that cannot be resumed.
        """
        if self._lock_handle is not None:
            return
        try:
            import fcntl
        except ImportError:  # no flock here: SQLite's own locking still keeps writes whole
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise JournalError(f"the journal is in use by {holder}; wait for it to end or "
                               "stop it first", path=str(self.path), reason="in_use") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"runway batch (pid {os.getpid()})\n")
        handle.flush()
        self._lock_handle = handle

    def release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    # ------------------------------------------------------------------ reading

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as :class:`JournalError`s that say what to do."""
        try:
            yield
        except sqlite3.Error as exc:
            raise journal_error(exc, self.path) from None

    @contextlib.contextmanager
    def _transaction(self, *, single: bool = False) -> Iterator[sqlite3.Connection]:
        """One change: its own transaction, or a savepoint inside :meth:`group`.

        A ``single`` statement needs no savepoint in a group: SQLite undoes a failed
        statement by itself, and one that matched no row changed nothing (each change is
        a few statements, so the two a savepoint adds were a third of a job's).
        """
        with self._errors():
            if self._grouped:
                if not self._db.in_transaction:  # SQLite ended the group after an error
                    raise self._group_lost()
                if single:
                    yield self._db
                    return
                self._db.execute("SAVEPOINT change")
                try:
                    yield self._db
                except BaseException:
                    self._undo("ROLLBACK TO change", "RELEASE change")
                    raise
                self._db.execute("RELEASE change")
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._undo("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _undo(self, *statements: str) -> None:
        """Roll back what a failed change began; SQLite may already have (a full disk rolls
        the whole transaction back), and the first error is the one worth reporting."""
        if not self._db.in_transaction:
            return
        for statement in statements:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute(statement)

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """Many changes in one transaction, synced once (group commit). A change that fails
        inside is undone alone; none is durable before the group ends."""
        if self._grouped:
            yield
            return
        self.begin_group()
        try:
            yield
        except BaseException:
            self.abandon_group()
            raise
        self.commit_group()

    def begin_group(self) -> None:
        """Open a group (:meth:`group` in two steps, for a writer that commits it elsewhere:
        the changes run on one thread, the commit, which waits for the disk, on another)."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
        self._grouped = True

    def commit_group(self) -> None:
        """End the open group: its changes are durable when this returns, or none is."""
        self._grouped = False
        if not self._db.in_transaction:  # a full disk ended it: none of it was made
            raise self._group_lost()
        try:
            with self._errors():
                self._db.execute("COMMIT")
        except BaseException:
            self._undo("ROLLBACK")
            raise

    def abandon_group(self) -> None:
        """Roll the open group back: none of its changes is made."""
        self._grouped = False
        self._undo("ROLLBACK")

    def _group_lost(self) -> JournalError:
        return JournalError("a change failed and SQLite rolled back the changes made with it "
                            "(is the disk full?); none of them was made", path=str(self.path),
                            reason="full")

    def meta(self) -> dict[str, Any]:
        with self._errors():
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {key: loads(value) for key, value in rows}

    def set_meta(self, **values: Any) -> None:
        with self._transaction() as db:
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value",
                           [(k, dumps(v)) for k, v in values.items()])

    def jobs(self, states: Iterable[str] | None = None) -> list[JobRecord]:
        """Jobs in file order (only those in ``states`` when given)."""
        query = f"SELECT {_JOB_COLUMNS} FROM jobs"
        wanted = list(states) if states is not None else None
        args: list[Any] = []
        if wanted is not None:
            query += f" WHERE state IN ({', '.join('?' * len(wanted))})"
            args = wanted
        with self._errors():
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [_job(r) for r in rows]

    def job(self, key: str) -> JobRecord:
        with self._errors():
            row = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            raise JournalError(f"no job {key!r} in this journal", path=str(self.path),
                               reason="missing")
        return _job(row)

    def counts(self) -> dict[str, int]:
        """``{state: number of jobs}`` for every state (zeros included)."""
        with self._errors():
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in STATES}

    def credits(self) -> float:
        """The credits the API estimated for every task created so far (what was spent)."""
        with self._errors():
            total = self._db.execute("SELECT TOTAL(credits) FROM tasks").fetchone()[0]
        return float(total)

    def tasks(self, key: str | None = None) -> list[TaskRecord]:
        """Every task created (for one job, or all), oldest first."""
        query = ("SELECT t.task_id, j.key, t.attempt, t.created, t.status, t.failure_code, "
                 "t.source, t.credits FROM tasks t JOIN jobs j ON j.seq = t.job")
        args: tuple[Any, ...] = ()
        if key is not None:
            query += " WHERE j.key = ?"
            args = (key,)
        with self._errors():
            rows = self._db.execute(query + " ORDER BY t.created, t.rowid", args).fetchall()
        return [TaskRecord(*row) for row in rows]

    # ------------------------------------------------------------------ transitions

    def _move(self, db: sqlite3.Connection, key: str, allowed: Iterable[str], state: str,
              **columns: Any) -> None:
        allowed = tuple(allowed)
        sets = ", ".join(f"{name} = {name} + 1" if value is _INCREMENT else f"{name} = ?"
                         for name, value in (("state", state), ("updated", None),
                                             *columns.items()))
        values = [state, time.time(), *(v for v in columns.values() if v is not _INCREMENT)]
        cursor = db.execute(
            f"UPDATE jobs SET {sets} WHERE key = ? AND state IN "
            f"({', '.join('?' * len(allowed))})", [*values, key, *allowed])
        if cursor.rowcount != 1:
            raise self._wrong_state(db, key, allowed)

    def _wrong_state(self, db: sqlite3.Connection, key: str,
                     allowed: tuple[str, ...]) -> JournalError:
        row = db.execute("SELECT state FROM jobs WHERE key = ?", (key,)).fetchone()
        now = row[0] if row else "missing"
        return JournalError(f"job {key!r} is {now}, not {' or '.join(allowed)}",
                            path=str(self.path), reason="state")

    def mark_submitting(self, key: str) -> None:
        """The intent, durable before the create request is sent."""
        with self._transaction(single=True) as db:
            self._move(db, key, (PENDING,), SUBMITTING, note=None)

    def mark_submitted(self, key: str, task_id: str, credits: float | None = None) -> None:
        """The create answered with a task id (and the credits it estimated): the task is
        polled from now on, never sent again."""
        with self._transaction() as db:
            self._move(db, key, (SUBMITTING,), SUBMITTED, task_id=task_id,
                       attempts=_INCREMENT, failure=None, failure_code=None)
            db.execute("INSERT INTO tasks (task_id, job, attempt, created, credits) SELECT "
                       "?, seq, attempts, ?, ? FROM jobs WHERE key = ?",
                       (task_id, time.time(), credits, key))

    def mark_not_sent(self, key: str, note: str) -> None:
        """The create was refused before any task existed (429, not sent): pending again."""
        with self._transaction(single=True) as db:
            self._move(db, key, (SUBMITTING,), PENDING, note=note)

    def mark_uncertain(self, key: str, note: str) -> None:
        """The create may have made a task whose id we never saw."""
        with self._transaction(single=True) as db:
            self._move(db, key, (SUBMITTING,), UNCERTAIN, note=note)

    @staticmethod
    def _settle_task(db: sqlite3.Connection, key: str, status: str,
                     failure_code: str | None = None) -> None:
        """Record how the job's current task ended (its row of the ``tasks`` table)."""
        db.execute("UPDATE tasks SET status = ?, failure_code = ? WHERE (job, attempt) = "
                   "(SELECT seq, attempts FROM jobs WHERE key = ?)", (status, failure_code, key))

    def mark_succeeded(self, key: str, files: Sequence[str]) -> None:
        """The task SUCCEEDED; ``files`` are where its outputs will be saved."""
        with self._transaction() as db:
            self._move(db, key, (SUBMITTED,), SUCCEEDED, files=dumps(list(files)))
            self._settle_task(db, key, "SUCCEEDED")

    def mark_files(self, key: str, files: Sequence[str]) -> None:
        """Where the outputs go changed (an extension learnt from the download)."""
        with self._transaction(single=True) as db:
            self._move(db, key, (SUCCEEDED,), SUCCEEDED, files=dumps(list(files)))

    def mark_downloaded(self, key: str, files: Sequence[str]) -> None:
        with self._transaction(single=True) as db:
            self._move(db, key, (SUCCEEDED,), DOWNLOADED, files=dumps(list(files)), note=None)

    def mark_failed(self, key: str, *, failure: str, failure_code: str | None = None,
                    retryable: bool = False, task_status: str | None = None) -> None:
        """The job ended without output (the task failed or was cancelled, or the API or a
        local file refused it)."""
        with self._transaction() as db:
            was = db.execute("SELECT state FROM jobs WHERE key = ?", (key,)).fetchone()
            if was and was[0] == SUBMITTED:
                self._settle_task(db, key, task_status or "FAILED", failure_code)
            self._move(db, key, (SUBMITTING, SUBMITTED, SUCCEEDED, PENDING), FAILED,
                       failure=failure, failure_code=failure_code, retryable=int(retryable))

    def mark_resubmit(self, key: str, *, failure: str, failure_code: str | None) -> None:
        """The task FAILED with a code worth another try: pending again, as a new task."""
        with self._transaction() as db:
            job = db.execute("SELECT resubmissions FROM jobs WHERE key = ?", (key,)).fetchone()
            self._settle_task(db, key, "FAILED", failure_code)
            self._move(db, key, (SUBMITTED,), PENDING, task_id=None, failure=failure,
                       failure_code=failure_code, resubmissions=job[0] + 1,
                       note=f"resubmitting after {failure_code}")

    # ------------------------------------------------------------------ people's decisions

    def recover(self) -> list[str]:
        """After a crash: jobs caught mid-create become ``uncertain``; their keys."""
        with self._transaction() as db:
            keys = [r[0] for r in db.execute(
                "SELECT key FROM jobs WHERE state = ? ORDER BY seq", (SUBMITTING,))]
            db.execute("UPDATE jobs SET state = ?, updated = ?, note = ? WHERE state = ?",
                       (UNCERTAIN, time.time(), "the run stopped while the create request "
                        "was out; a task may exist", SUBMITTING))
        return keys

    def reset_failed(self, keys: Iterable[str]) -> list[str]:
        """Failed jobs back to ``pending`` (``batch retry-failed``); the keys moved."""
        moved = []
        with self._transaction() as db:
            for key in keys:
                self._move(db, key, (FAILED,), PENDING, note="retrying a failed job",
                           task_id=None)
                moved.append(key)
        return moved

    def resolve(self, key: str, *, task_id: str | None) -> None:
        """A person's answer for an ``uncertain`` job: its task id (then it is polled and
        downloaded), or ``None``: no task exists (then it is submitted again)."""
        with self._transaction() as db:
            if task_id is None:
                self._move(db, key, (UNCERTAIN,), PENDING,
                           note="resolved: the create never made a task")
                return
            job = db.execute("SELECT seq, attempts FROM jobs WHERE key = ?", (key,)).fetchone()
            self._move(db, key, (UNCERTAIN,), SUBMITTED, task_id=task_id,
                       attempts=job[1] + 1, note="resolved: task id given by hand")
            db.execute("INSERT INTO tasks (task_id, job, attempt, created, source) "
                       "VALUES (?, ?, ?, ?, 'resolved')", (task_id, job[0], job[1] + 1,
                                                           time.time()))


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                                 isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT)
        else:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT)
        if not readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise journal_error(exc, path) from None
    return db


#: SQLite result names → (reason, what to tell people). The rest means damage.
_SQLITE_REASONS = {
    "SQLITE_BUSY": ("locked", "the journal is locked by another program; close it and try "
                              "again"),
    "SQLITE_LOCKED": ("locked", "the journal is locked by another program; close it and try "
                                "again"),
    "SQLITE_FULL": ("full", "the disk is full; free some space, then resume (nothing was "
                            "lost: the last change was not made)"),
    "SQLITE_READONLY": ("readonly", "the journal cannot be written here (read-only file or "
                                    "folder)"),
    "SQLITE_CANTOPEN": ("missing", "the journal cannot be opened (check the path and its "
                                   "permissions)"),
    "SQLITE_CONSTRAINT": ("state", "a change was refused as contradicting what is recorded; "
                                   "the journal is unchanged"),
}


def journal_error(exc: sqlite3.Error, path: Path) -> JournalError:
    """The :class:`JournalError` for an SQLite error: what happened and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if not name:  # Python < 3.11: the message says it
        words = {"locked": "SQLITE_LOCKED", "busy": "SQLITE_BUSY", "disk is full":
                 "SQLITE_FULL", "readonly": "SQLITE_READONLY", "unable to open":
                 "SQLITE_CANTOPEN", "constraint": "SQLITE_CONSTRAINT"}
        name = next((code for word, code in words.items() if word in text.lower()), "")
    primary = "_".join(name.split("_")[:2])  # SQLITE_CONSTRAINT_UNIQUE → SQLITE_CONSTRAINT
    reason, advice = _SQLITE_REASONS.get(primary, (
        "damaged", "the journal is damaged or not a database; it was left as it is"))
    return JournalError(f"{advice} (SQLite: {text})", path=str(path), reason=reason)


def _claim_name(partial: Path, target: Path) -> None:
    """Move the finished journal into place; an existing file is never replaced."""
    try:
        link_new(partial, target)  # fails if the name appeared meanwhile
    except FileExistsError:
        partial.unlink(missing_ok=True)
        raise JournalError("a journal already exists here", path=str(target),
                           reason="exists") from None


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
