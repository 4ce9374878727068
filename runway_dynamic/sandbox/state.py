"""The sandbox's memory: tasks, uploads, CRUD resources and the request log, behind one lock.

Task progress is computed from timestamps when someone looks (no thread per task), so a
thousand tasks cost a thousand small records. Resource records are plain dicts stored
under their collection (``avatars``, ``organization/webapp/audit_logs``…); the server
shapes them into each operation's response schema.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runway_dynamic._constants import (
    SANDBOX_CONCURRENCY_LIMIT,
    SANDBOX_CREDITS,
    SANDBOX_DAILY_LIMIT,
)

# Lifecycle names the API uses for "not started", "working" and "done" (resources poll
# through these; tasks have their own fixed states below).
INITIAL_STATES = ("PENDING", "NOT_READY", "PROCESSING", "QUEUED")
WORKING_STATES = ("RUNNING", "IN_PROGRESS")
FINAL_STATES = ("SUCCEEDED", "READY", "COMPLETED")
TERMINAL_TASK_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})

#: Share of a task's run time spent PENDING before it turns RUNNING.
PENDING_SHARE = 0.2
MAX_LOG = 100_000
#: The rolling window of the daily generation limit.
DAY_SECONDS = 24 * 3600.0

_FAILURE_MESSAGES = {
    "SAFETY": "The input or output was flagged by content moderation (sandbox).",
    "INTERNAL": "The generation did not produce a usable output; a resubmission may succeed "
                "(sandbox).",
    "INPUT_VALIDATION": "The input could not be processed (sandbox).",
}


def failure_message(code: str) -> str:
    """A human failure sentence for a failure code, by its family (the part before the dot)."""
    family = code.split(".", 1)[0].upper()
    return _FAILURE_MESSAGES.get(family, f"The task failed with {code} (sandbox).")


@dataclass(frozen=True)
class OrgLimits:
    """The organization's limits, per model as Runway sets them; ``None`` means no limit.

    ``concurrency``: tasks of one model running at once; more are accepted as THROTTLED and
    start in submission order as slots free. ``daily``: tasks of one model created in a
    rolling 24 hours; beyond it a create is refused with 429. ``credits``: the starting
    balance; a create whose estimate exceeds what is left is refused with 400.
    """

    concurrency: int | None = SANDBOX_CONCURRENCY_LIMIT
    daily: int | None = SANDBOX_DAILY_LIMIT
    credits: float | None = SANDBOX_CREDITS


class LimitReached(Exception):
    """A create refused by an organization limit (``kind`` is ``daily`` or ``credits``)."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


@dataclass
class RequestRecord:
    """One request as the sandbox saw it (the Authorization value is never kept)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    fault: str | None = None
    status: int | None = None  # None: no response was sent (dropped connection)
    time: float = field(default_factory=time.time)


@dataclass
class Task:
    """A generation (or invocation) whose state is a function of the clock."""

    id: str
    collection: str
    endpoint: str
    body: Mapping[str, Any]
    kind: str  # image | video | audio
    ratio: tuple[int, int] | None
    outputs: int
    seconds: float
    credits: float
    throttled: float = 0.0
    fail_code: str | None = None
    created_wall: float = field(default_factory=time.time)
    created: float = field(default_factory=time.monotonic)
    cancelled_at: float | None = None
    media_seconds: float = 1.0

    @property
    def model(self) -> str | None:
        value = self.body.get("model")
        return value if isinstance(value, str) else None

    def _natural(self, now: float) -> tuple[str, float | None]:
        elapsed = now - self.created
        if elapsed < self.throttled:
            return "THROTTLED", None
        elapsed -= self.throttled
        if elapsed >= self.seconds:
            return ("FAILED" if self.fail_code else "SUCCEEDED"), None
        pending = self.seconds * PENDING_SHARE
        if elapsed < pending:
            return "PENDING", None
        return "RUNNING", min(1.0, max(0.0, (elapsed - pending) / (self.seconds - pending)))

    def phase(self, now: float | None = None) -> tuple[str, float | None]:
        """(status, progress) at ``now``; progress only while RUNNING."""
        now = time.monotonic() if now is None else now
        if self.cancelled_at is not None:
            status, progress = self._natural(self.cancelled_at)
            if status not in TERMINAL_TASK_STATES:
                return "CANCELLED", None
            return status, progress
        return self._natural(now)

    @property
    def status(self) -> str:
        return self.phase()[0]


@dataclass
class Upload:
    """An upload slot created by ``POST /v1/uploads``; ``path`` once the file arrived (the
    file is kept on disk, in the state's upload directory, never in memory)."""

    id: str
    filename: str
    runway_uri: str
    path: Path | None = None
    size: int = 0
    content_type: str | None = None
    #: The form's ``metadata`` field, kept as sent (the API takes one beside the file).
    metadata: str | None = None
    created_wall: float = field(default_factory=time.time)

    @property
    def received(self) -> bool:
        return self.path is not None

    @property
    def data(self) -> bytes | None:
        """The received bytes, read from disk (for tests; ``None`` before the file came)."""
        return self.path.read_bytes() if self.path is not None else None


@dataclass
class Record:
    """A stored resource: its data as the API shows it, and when it was made."""

    id: str
    data: dict[str, Any]
    created: float = field(default_factory=time.monotonic)
    sequence: int = 0


class SandboxState:
    """Everything the sandbox remembers. Read it in tests; mutate only through methods."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tasks: dict[str, Task] = {}
        self.uploads: dict[str, Upload] = {}
        self.resources: dict[str, dict[str, Record]] = {}
        self.requests: list[RequestRecord] = []
        self._sequence = 0
        #: Tasks ever created (deleting a task does not lower it): proof of no double submits.
        self.created_tasks = 0
        #: Credits spent by created tasks (a cancelled task is refunded).
        self.spent = 0.0
        self._slots: dict[str, list[float]] = {}
        self._generations: dict[str, deque[float]] = {}
        self._upload_dir: Path | None = None

    def upload_dir(self) -> Path:
        """A private temporary directory for uploaded files (made on first use)."""
        import tempfile

        with self.lock:
            if self._upload_dir is None:
                self._upload_dir = Path(tempfile.mkdtemp(prefix="runway-sandbox-uploads-"))
            return self._upload_dir

    def close(self) -> None:
        """Remove the uploaded files (the state stays readable, its uploads are gone)."""
        with self.lock:
            directory, self._upload_dir = self._upload_dir, None
            for upload in self.uploads.values():
                upload.path = None
        if directory is not None:
            import shutil

            shutil.rmtree(directory, ignore_errors=True)

    # ---- request log

    def log(self, record: RequestRecord) -> RequestRecord:
        with self.lock:
            self.requests.append(record)
            if len(self.requests) > MAX_LOG:
                del self.requests[: len(self.requests) - MAX_LOG]
        return record

    def requests_to(self, method: str, path: str) -> list[RequestRecord]:
        """The logged requests with this method and exact path (e.g. POSTs not resent)."""
        with self.lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # ---- tasks

    def add_task(self, task: Task) -> Task:
        with self.lock:
            self.tasks[task.id] = task
            self.created_tasks += 1
        return task

    def reserve(self, lane: str, credits: float, seconds: float, limits: OrgLimits,
                now: float | None = None) -> float:
        """Admit one new task of ``lane`` (its model) under ``limits``; how long it waits
        THROTTLED before a concurrency slot is free. :class:`LimitReached` refuses it.

        ``now`` is the task's ``created`` instant: its slot must be counted from the same
        clock reading as its schedule, or a task made a moment after its reservation runs
        past the slot the next task was given (six running where five may)."""
        with self.lock:
            wall = time.time()
            now = time.monotonic() if now is None else now
            made = self._generations.setdefault(lane, deque())
            while made and made[0] <= wall - DAY_SECONDS:
                made.popleft()
            if limits.daily is not None and len(made) >= limits.daily:
                retry = max(1.0, made[0] + DAY_SECONDS - wall) if made else DAY_SECONDS
                raise LimitReached("daily", f"the daily generation limit of {lane} is reached: "
                                   f"{len(made)} of {limits.daily} in the last 24 hours "
                                   "(sandbox)", retry)
            if limits.credits is not None and self.spent + credits > limits.credits:
                left = max(0.0, limits.credits - self.spent)
                raise LimitReached("credits", f"not enough credits for this task (sandbox): "
                                   f"it needs {credits:g}, {left:g} are left")
            made.append(wall)
            self.spent += credits
            if limits.concurrency is None:
                return 0.0
            slots = self._slots.setdefault(lane, [])
            free = heapq.heappop(slots) if len(slots) >= max(1, limits.concurrency) else now
            start = max(now, free)
            heapq.heappush(slots, start + seconds)
            return start - now

    def daily_generations(self, lane: str) -> int:
        with self.lock:
            cutoff = time.time() - DAY_SECONDS
            return sum(1 for t in self._generations.get(lane, ()) if t > cutoff)

    def lanes(self) -> list[str]:
        with self.lock:
            return list(self._generations)

    def task(self, task_id: str, collection: str | None = None) -> Task | None:
        with self.lock:
            found = self.tasks.get(task_id)
        if found is None or (collection is not None and found.collection != collection):
            return None
        return found

    def cancel_or_delete_task(self, task_id: str) -> str | None:
        """Cancel a task still in progress, delete a finished one; what happened, or None."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return None
            if task.status in TERMINAL_TASK_STATES:
                del self.tasks[task_id]
                return "deleted"
            task.cancelled_at = time.monotonic()
            self.spent = max(0.0, self.spent - task.credits)
            return "cancelled"

    # ---- uploads

    def add_upload(self, filename: str, make_uri: Any) -> Upload:
        upload_id = str(uuid.uuid4())
        upload = Upload(upload_id, filename, make_uri(upload_id, filename))
        with self.lock:
            self.uploads[upload_id] = upload
        return upload

    def receive_upload(
        self, upload_id: str, path: Path, size: int, content_type: str | None,
        metadata: str | None = None,
    ) -> bool:
        """Keep the file at ``path`` (in :meth:`upload_dir`) as the upload's content; a file
        sent again to the same slot replaces the earlier one."""
        with self.lock:
            upload = self.uploads.get(upload_id)
            if upload is None:
                return False
            previous, upload.path = upload.path, path
            upload.size, upload.content_type = size, content_type
            upload.metadata = metadata
        if previous is not None and previous != path:
            with contextlib.suppress(OSError):
                previous.unlink()
        return True

    def resolve_uri(self, uri: str) -> Upload | None:
        """The completed upload a ``runway://`` URI names, if any."""
        with self.lock:
            for upload in self.uploads.values():
                if upload.runway_uri == uri and upload.received:
                    return upload
        return None

    # ---- resources

    def add_record(self, collection: str, record_id: str, data: dict[str, Any]) -> Record:
        with self.lock:
            self._sequence += 1
            record = Record(record_id, data, sequence=self._sequence)
            self.resources.setdefault(collection, {})[record_id] = record
        return record

    def record(self, collection: str, record_id: str) -> Record | None:
        with self.lock:
            return self.resources.get(collection, {}).get(record_id)

    def records(self, collection: str) -> list[Record]:
        with self.lock:
            return list(self.resources.get(collection, {}).values())

    def update_record(
        self, collection: str, record_id: str, changes: Mapping[str, Any]
    ) -> Record | None:
        with self.lock:
            record = self.resources.get(collection, {}).get(record_id)
            if record is not None:
                record.data.update(changes)
            return record

    def remember(self, record: Record, shown: Mapping[str, Any]) -> None:
        """Keep values invented while showing a record, so the next look shows the same."""
        with self.lock:
            for key, value in shown.items():
                record.data.setdefault(key, value)

    def delete_record(self, collection: str, record_id: str) -> bool:
        with self.lock:
            return self.resources.get(collection, {}).pop(record_id, None) is not None

    def collections(self) -> Iterable[str]:
        with self.lock:
            return list(self.resources)


def lifecycle_status(states: Iterable[str], elapsed: float, seconds: float) -> str | None:
    """The status a polled resource shows ``elapsed`` seconds after creation, from its states."""
    available = list(states)

    def first(names: tuple[str, ...]) -> str | None:
        return next((s for s in available if s.upper() in names), None)

    final, working, initial = first(FINAL_STATES), first(WORKING_STATES), first(INITIAL_STATES)
    if elapsed >= seconds and final:
        return final
    if elapsed >= seconds * PENDING_SHARE and working:
        return working
    return initial or working or final
