"""The history store: one SQLite file (WAL, mode 0600) holding an entry per create request.

An entry is written *before* the create request leaves, with status ``SENDING``; the
answer then fills in the task id (status ``SUBMITTED``), or marks the entry
``ANSWER_LOST`` (the request may have made a task nobody can name: see
:meth:`HistoryStore.uncertain`; ``runway history reconcile`` settles it with the task found
in the dashboard, or as ``NO_TASK``) or ``REJECTED`` (the API refused it: nothing was made).
Polls and downloads later fill in the task's status, failure, output URLs and the local
paths they were saved to.

Two processes may write at once (WAL, each change one short ``BEGIN IMMEDIATE``
transaction, a busy timeout): neither loses an entry. Prompts are indexed with SQLite's
FTS5 (``unicode61``, diacritics folded) for :meth:`HistoryStore.search`. The file is
kept under a size cap: past it the oldest entries go first (:meth:`HistoryStore.prune`).

>>> store = HistoryStore(tmp / "history.sqlite3")
>>> entry_id = store.add(endpoint="text_to_image", model="gen4_image", prompt="a kite")
>>> store.update(entry_id, task_id="0f3…", status="SUBMITTED")
>>> [e.prompt for e in store.search("kite")]
['a kite']
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runway_dynamic._exceptions import HistoryError
from runway_dynamic._statuses import in_progress

FILE_NAME = "history.sqlite3"
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of our history files ("RWHS"): a foreign file is refused.
APPLICATION_ID = 0x52574853
#: Seconds to wait for another writer's lock before giving up on one change.
BUSY_TIMEOUT = 10.0
#: The size cap when none is configured (``runway config set history-max-mb``).
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
#: Pruning goes this far below the cap, so that the next few entries do not prune again.
PRUNE_TO = 0.9
#: A ``SENDING`` entry older than this belongs to a command that died mid-request.
STALE_SENDING_SECONDS = 10 * 60

# Statuses of our own (the task's statuses come from the API: PENDING, SUCCEEDED…).
SENDING = "SENDING"
SUBMITTED = "SUBMITTED"
ANSWER_LOST = "ANSWER_LOST"
REJECTED = "REJECTED"
#: A lost answer settled by hand: the user found no task it made (``history reconcile``).
NO_TASK = "NO_TASK"
#: Our statuses after which an entry needs nothing more from the API (a task's own status
#: settles it when :func:`runway_dynamic._statuses.in_progress` says it stopped moving).
SETTLED = frozenset({ANSWER_LOST, REJECTED, NO_TASK})
#: Our statuses of an entry still on its way.
UNSETTLED = frozenset({SENDING, SUBMITTED})

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('bytes', 0);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    command TEXT,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT,
    prompt TEXT,
    body TEXT,
    media TEXT NOT NULL DEFAULT '[]',
    task_id TEXT,
    status TEXT NOT NULL,
    failure TEXT,
    failure_code TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    files TEXT NOT NULL DEFAULT '[]',
    sandbox INTEGER NOT NULL DEFAULT 0,
    spec_sha TEXT,
    batch_journal TEXT,
    batch_job TEXT,
    size INTEGER GENERATED ALWAYS AS (
        256 + length(CAST(coalesce(command, '') AS BLOB))
        + length(CAST(coalesce(prompt, '') AS BLOB)) + length(CAST(coalesce(body, '') AS BLOB))
        + length(CAST(media AS BLOB)) + length(CAST(outputs AS BLOB))
        + length(CAST(files AS BLOB)) + length(CAST(coalesce(failure, '') AS BLOB))
    ) STORED
);
CREATE INDEX entries_by_task ON entries (task_id);
CREATE INDEX entries_by_created ON entries (created);
CREATE INDEX entries_by_status ON entries (status);
CREATE VIRTUAL TABLE prompts USING fts5(
    prompt, content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN
    INSERT INTO prompts (rowid, prompt) VALUES (new.id, new.prompt);
    UPDATE meta SET value = value + new.size WHERE key = 'bytes';
END;
CREATE TRIGGER entries_removed AFTER DELETE ON entries BEGIN
    INSERT INTO prompts (prompts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
    UPDATE meta SET value = value - old.size WHERE key = 'bytes';
END;
CREATE TRIGGER entries_resized AFTER UPDATE ON entries WHEN new.size != old.size BEGIN
    UPDATE meta SET value = value + new.size - old.size WHERE key = 'bytes';
END;
"""

_COLUMNS = ("id, created, updated, command, method, endpoint, model, prompt, body, media, "
            "task_id, status, failure, failure_code, outputs, files, sandbox, spec_sha, "
            "batch_journal, batch_job")
#: Columns :meth:`HistoryStore.update` may change (JSON ones are encoded there).
_UPDATABLE = frozenset({"task_id", "status", "failure", "failure_code", "outputs", "files"})
_JSON_COLUMNS = frozenset({"outputs", "files"})


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    import orjson

    return orjson.loads(text)


def default_path() -> Path:
    """``history.sqlite3`` in the user data directory (``RUNWAY_DATA_DIR`` overrides it)."""
    from runway_dynamic import _paths

    return _paths.data_dir() / FILE_NAME


def normalize_status(text: str) -> str:
    """``answer lost``, ``answer-lost`` and ``ANSWER_LOST`` are one status; so are cases."""
    return text.strip().upper().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True)
class Entry:
    """One create request and what became of it."""

    id: int
    created: float
    updated: float
    command: str | None
    method: str
    endpoint: str
    model: str | None
    prompt: str | None
    body: Any
    media: tuple[Mapping[str, Any], ...]
    task_id: str | None
    status: str
    failure: str | None
    failure_code: str | None
    outputs: tuple[str, ...]
    files: tuple[str, ...]
    sandbox: bool
    spec_sha: str | None
    batch_journal: str | None = None
    batch_job: str | None = None

    @property
    def settled(self) -> bool:
        """Nothing more will change on the API's side (a terminal status, lost or refused)."""
        if self.status in SETTLED:
            return True
        return self.status not in UNSETTLED and not in_progress(self.status)

    @property
    def uncertain(self) -> bool:
        """The request may have made a task that nobody can name (its answer never came)."""
        return self.status == ANSWER_LOST or (
            self.status == SENDING and time.time() - self.updated > STALE_SENDING_SECONDS)

    def to_dict(self) -> dict[str, Any]:
        from runway_dynamic.history.when import iso

        out: dict[str, Any] = {
            "id": self.id, "created": iso(self.created), "updated": iso(self.updated),
            "command": self.command, "method": self.method, "endpoint": self.endpoint,
            "model": self.model, "prompt": self.prompt, "taskId": self.task_id,
            "status": self.status, "failure": self.failure, "failureCode": self.failure_code,
            "outputs": list(self.outputs), "files": list(self.files), "sandbox": self.sandbox,
            "specSha256": self.spec_sha, "body": self.body, "media": list(self.media),
        }
        if self.batch_journal is not None:
            out["batch"] = {"journal": self.batch_journal, "job": self.batch_job}
        return out


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(
        id=row[0], created=row[1], updated=row[2], command=row[3], method=row[4],
        endpoint=row[5], model=row[6], prompt=row[7], body=_loads(row[8]),
        media=tuple(_loads(row[9]) or ()), task_id=row[10], status=row[11], failure=row[12],
        failure_code=row[13], outputs=tuple(_loads(row[14]) or ()),
        files=tuple(_loads(row[15]) or ()), sandbox=bool(row[16]), spec_sha=row[17],
        batch_journal=row[18], batch_job=row[19],
    )


@dataclass(frozen=True)
class Filters:
    """What :meth:`HistoryStore.entries` keeps; ``None`` means "any"."""

    model: str | None = None
    endpoint: str | None = None
    status: str | None = None
    since: float | None = None
    before: float | None = None
    sandbox: bool | None = None
    limit: int | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.model is not None:
            clauses.append("e.model = ?")
            params.append(self.model)
        if self.endpoint is not None:
            clauses.append("e.endpoint = ?")
            params.append(self.endpoint)
        if self.status is not None:
            clauses.append("e.status = ?")
            params.append(normalize_status(self.status))
        if self.since is not None:
            clauses.append("e.created >= ?")
            params.append(self.since)
        if self.before is not None:
            clauses.append("e.created < ?")
            params.append(self.before)
        if self.sandbox is not None:
            clauses.append("e.sandbox = ?")
            params.append(int(self.sandbox))
        return clauses, params


def fts_query(text: str) -> str:
    """A safe FTS5 query for what a person typed: every word must appear, as a word or the
    start of one (``lightho`` finds ``lighthouse``); quotes and operators are literal."""
    words = [w for w in text.split() if w]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class HistoryStore:
    """The history file. Cheap to make: nothing is opened until the first read or write.

    ``max_bytes`` caps the entries' size (oldest go first); ``command`` is recorded with
    every entry made through this object (the CLI passes its command line, key redacted).
    Safe to share between threads (one connection behind a lock).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 max_bytes: int | None = DEFAULT_MAX_BYTES, command: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.max_bytes = max_bytes
        self.command = command
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"

    # ------------------------------------------------------------------ opening

    def _connection(self, *, create: bool = True) -> sqlite3.Connection | None:
        """The open connection; ``None`` when the file does not exist and ``create`` is off.

        A file that is not ours is refused before anything in it changes.
        """
        if self._db is not None:
            return self._db
        if not create and not self.path.exists():
            return None
        with self._errors():
            fresh, loose = self._make_file()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                 check_same_thread=False)
            try:
                if not fresh and _unmade(db):
                    fresh = True  # another process is making it right now
                if not fresh:
                    self._check(db)
                _use_wal(db)
                db.execute("PRAGMA synchronous = NORMAL")
                if fresh:
                    self._create_schema(db)
                    self._check(db)
            except BaseException:
                db.close()
                raise
            if loose:
                self.path.chmod(0o600)
        self._db = db
        return db

    def _make_file(self) -> tuple[bool, bool]:
        """Create the file with mode 0600 (SQLite gives its -wal and -shm files the same
        mode). Whether it is new (empty), and whether its mode lets others read it."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        return info.st_size == 0, bool(info.st_mode & 0o077)

    def _create_schema(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            # another process may have made the schema while this one waited for the lock
            if db.execute("PRAGMA application_id").fetchone()[0] == 0:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                for statement in _statements(_SCHEMA):
                    db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _check(self, db: sqlite3.Connection) -> None:
        app = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if app != APPLICATION_ID:
            raise HistoryError("this is not a runway history file (it was left untouched)",
                               path=str(self.path), reason="not_history")
        if version != SCHEMA_VERSION:
            raise HistoryError(f"history version {version} is not known to this runway "
                               f"(it reads version {SCHEMA_VERSION})", path=str(self.path),
                               reason="version")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's and the file system's errors as :class:`HistoryError`s."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _history_error(exc, self.path) from None
        except OSError as exc:
            raise HistoryError(f"cannot open the history ({exc.strerror})",
                               path=str(self.path), reason="unreadable") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One change, in its own ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            db = self._connection()
            assert db is not None
            with self._errors():
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            db = self._connection(create=False)
            if db is None:
                return []
            with self._errors():
                return db.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ writing

    def add(self, *, endpoint: str, method: str = "POST", model: str | None = None,
            prompt: str | None = None, body: Any = None,
            media: Sequence[Mapping[str, Any]] = (), status: str = SENDING,
            task_id: str | None = None, sandbox: bool = False, spec_sha: str | None = None,
            command: str | None = None, batch_journal: str | None = None,
            batch_job: str | None = None, created: float | None = None) -> int:
        """Write a new entry; its id. Past the size cap, the oldest entries are pruned."""
        now = time.time() if created is None else created
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO entries (created, updated, command, method, endpoint, model, "
                "prompt, body, media, task_id, status, sandbox, spec_sha, batch_journal, "
                "batch_job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, now, command if command is not None else self.command, method, endpoint,
                 model, prompt, None if body is None else _dumps(body), _dumps(list(media)),
                 task_id, status, int(sandbox), spec_sha, batch_journal, batch_job))
            entry_id = int(cursor.lastrowid or 0)
            self._prune(db, keep=entry_id)
        return entry_id

    def update(self, entry_id: int, **changes: Any) -> None:
        """Change some of ``task_id``, ``status``, ``failure``, ``failure_code``, ``outputs``."""
        self._update("id = ?", entry_id, changes)

    def update_task(self, task_id: str, **changes: Any) -> int:
        """Change every entry of ``task_id`` (normally one); how many there were."""
        return self._update("task_id = ?", task_id, changes)

    def _update(self, where: str, key: Any, changes: Mapping[str, Any]) -> int:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
        if not changes:
            return 0
        names = sorted(changes)
        values = [_dumps(list(changes[n])) if n in _JSON_COLUMNS else changes[n] for n in names]
        sets = ", ".join(f"{n} = ?" for n in names)
        with self._write() as db:
            cursor = db.execute(f"UPDATE entries SET {sets}, updated = ? WHERE {where}",
                                (*values, time.time(), key))
            return cursor.rowcount

    def add_files(self, paths: Iterable[str], *, task_id: str | None = None,
                  output: str | None = None) -> int:
        """Record local paths an output was saved to, on the entry of ``task_id`` or else the
        one whose outputs hold the URL ``output``; how many entries took them."""
        saved = [str(p) for p in paths]
        with self._write() as db:
            if task_id is not None:
                rows = db.execute("SELECT id, files FROM entries WHERE task_id = ?",
                                  (task_id,)).fetchall()
            elif output is not None:
                rows = db.execute(
                    "SELECT id, files FROM entries WHERE instr(outputs, ?) > 0 "
                    "ORDER BY id DESC LIMIT 1", (_dumps(output),)).fetchall()
            else:
                raise ValueError("add_files needs task_id or output")
            for entry_id, files in rows:
                known = list(_loads(files) or ())
                known += [p for p in saved if p not in known]
                db.execute("UPDATE entries SET files = ?, updated = ? WHERE id = ?",
                           (_dumps(known), time.time(), entry_id))
        return len(rows)

    def remove(self, entry_id: int) -> bool:
        """Delete one entry; whether it was there."""
        with self._write() as db:
            return db.execute("DELETE FROM entries WHERE id = ?", (entry_id,)).rowcount > 0

    def clear(self, before: float | None = None) -> int:
        """Delete every entry (or those made before ``before``); how many went."""
        with self._write() as db:
            if before is None:
                cursor = db.execute("DELETE FROM entries")
            else:
                cursor = db.execute("DELETE FROM entries WHERE created < ?", (before,))
            removed = cursor.rowcount
        self._vacuum()
        return removed

    def prune(self) -> int:
        """Apply the size cap now; how many entries went."""
        with self._write() as db:
            removed = self._prune(db)
        return removed

    def _prune(self, db: sqlite3.Connection, keep: int | None = None) -> int:
        """Delete the oldest entries while the total is over the cap (never ``keep``)."""
        if self.max_bytes is None:
            return 0
        total = db.execute("SELECT value FROM meta WHERE key = 'bytes'").fetchone()[0]
        if total <= self.max_bytes:
            return 0
        excess = total - int(self.max_bytes * PRUNE_TO)
        last = None
        freed = 0
        for entry_id, size in db.execute("SELECT id, size FROM entries ORDER BY id"):
            if entry_id == keep or freed >= excess:
                break
            freed += size
            last = entry_id
        if last is None:
            return 0
        return db.execute("DELETE FROM entries WHERE id <= ?", (last,)).rowcount

    def _vacuum(self) -> None:
        """Give freed pages back to the file system (the FTS index is merged first)."""
        with self._lock:
            db = self._connection(create=False)
            if db is None:
                return
            with self._errors():
                db.execute("INSERT INTO prompts (prompts) VALUES ('optimize')")
                db.execute("VACUUM")

    # ------------------------------------------------------------------ reading

    def get(self, entry_id: int) -> Entry | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,))
        return _entry(rows[0]) if rows else None

    def by_task(self, task_id: str) -> Entry | None:
        """The newest entry of ``task_id``."""
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE task_id = ? "
                          "ORDER BY id DESC LIMIT 1", (task_id,))
        return _entry(rows[0]) if rows else None

    def entries(self, filters: Filters | None = None, *, search: str | None = None
                ) -> list[Entry]:
        """Entries newest first, kept by ``filters``; ``search`` keeps those whose prompt
        has every word of it (FTS5)."""
        filters = filters or Filters()
        if search is None:
            return self._select(filters, "entries AS e", [], [], "e.id")
        query = fts_query(search)
        if not query:
            return []
        # newest first, in the index's own rowid order (the same order), which FTS5 walks
        # backwards and stops at the limit instead of sorting every hit
        found = self._select(filters, "prompts JOIN entries AS e ON e.id = prompts.rowid",
                             ["prompts MATCH ?"], [query], "prompts.rowid")
        if found:
            return found
        # SQLite's tokenizer knows letters by its own (older) Unicode tables: a word made
        # only of letters it lacks ('ᦰ') leaves the match empty, so look for it as text
        words = search.split()
        like = [r"e.prompt LIKE ? ESCAPE '\'"] * len(words)
        return self._select(filters, "entries AS e", like, [
            "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for w in words], "e.id")

    def _select(self, filters: Filters, source: str, clauses: list[str], params: list[Any],
                order: str) -> list[Entry]:
        """The entries of ``source`` kept by ``clauses`` and ``filters``, newest first."""
        kept, kept_params = filters.where()
        columns = ", ".join(f"e.{c.strip()}" for c in _COLUMNS.split(","))
        sql = f"SELECT {columns} FROM {source}"
        if clauses or kept:
            sql += " WHERE " + " AND ".join([*clauses, *kept])
        sql += f" ORDER BY {order} DESC"
        if filters.limit:
            sql += f" LIMIT {int(filters.limit)}"
        return [_entry(row) for row in self._read(sql, [*params, *kept_params])]

    def search(self, text: str, filters: Filters | None = None) -> list[Entry]:
        """:meth:`entries` whose prompt has every word of ``text``."""
        return self.entries(filters, search=text)

    def uncertain(self) -> list[Entry]:
        """Entries whose create may have made a task nobody can name, oldest first."""
        stale = time.time() - STALE_SENDING_SECONDS
        rows = self._read(f"SELECT {_COLUMNS} FROM entries WHERE status = ? "
                          "OR (status = ? AND updated < ?) ORDER BY id",
                          (ANSWER_LOST, SENDING, stale))
        return [_entry(row) for row in rows]

    def size(self) -> int:
        """The entries' total size in bytes, as the cap counts it."""
        rows = self._read("SELECT value FROM meta WHERE key = 'bytes'")
        return int(rows[0][0]) if rows else 0

    def count(self) -> int:
        rows = self._read("SELECT count(*) FROM entries")
        return int(rows[0][0]) if rows else 0


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL (kept in the file once done). SQLite answers "locked" to the
    switch at once, without its busy handler, while another process holds the file (two
    commands making a new history together): retry for up to :data:`BUSY_TIMEOUT`."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _unmade(db: sqlite3.Connection) -> bool:
    """A database with no application id and nothing in it yet."""
    if db.execute("PRAGMA application_id").fetchone()[0] != 0:
        return False
    return db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def _statements(script: str) -> list[str]:
    """The schema's statements one by one (``executescript`` would commit on its own)."""
    out: list[str] = []
    current = ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def _history_error(exc: sqlite3.Error, path: Path) -> HistoryError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return HistoryError(f"the history is locked by another program ({text}); try again",
                            path=str(path), reason="locked")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return HistoryError(f"the history file is damaged ({text}); it was left as it is — "
                            "move it away to start a new one", path=str(path),
                            reason="damaged")
    return HistoryError(f"the history cannot be used ({text})", path=str(path),
                        reason="unusable")
