"""Task states and the poll-until-terminal waiter (clock and sleep injected).

The same waiter serves tasks (``GET /v1/tasks/{id}``), avatars, voices and realtime
sessions: anything polled until its ``status`` settles. Which statuses settle is read from
the response schema's status values where the spec has them (``READY``/``FAILED`` for
avatars), so a new status in a newer spec needs no code change here.

>>> task = poll_until_terminal(lambda: client.request("tasks/{id}", path_params={"id": tid}),
...                            terminal=TASK_TERMINAL, interval=5, timeout=600)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runway_dynamic._constants import DEFAULT_POLL_INTERVAL
from runway_dynamic._exceptions import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    RateLimitError,
    RunwayError,
    TaskCancelledError,
    TaskFailedError,
    TaskTimeoutError,
)
from runway_dynamic._statuses import (
    CANCELLED_STATUSES,
    FAILED_STATUSES,
    TASK_TERMINAL,
    in_progress,
)
from runway_dynamic.catalog import Schema, flatten_object, schema_choices

#: The longest pause between polls while the API keeps failing (no answer, 5xx, 429).
MAX_POLL_BACKOFF = 30.0

#: ``on_progress(status, progress, elapsed_seconds)`` — called after every poll.
ProgressCallback = Callable[[str, "float | None", float], None]


# --------------------------------------------------------------------------- statuses


def status_values(schema: Schema | None) -> tuple[str, ...]:
    """Every ``status`` value a response schema names, through ``oneOf``/``anyOf`` branches."""
    if not schema:
        return ()
    found: list[str] = []
    branches = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
    for branch in branches:
        found.extend(status_values(branch))
    properties, _ = flatten_object(schema)
    status = properties.get("status")
    if isinstance(status, Mapping):
        found.extend(str(v) for v in schema_choices(status) or ())
    return tuple(dict.fromkeys(found))


def terminal_statuses(
    schema: Schema | None, fallback: frozenset[str] = TASK_TERMINAL
) -> frozenset[str]:
    """Statuses at which polling stops: the schema's values minus the in-progress words."""
    values = status_values(schema)
    settled = {v for v in values if not in_progress(v)}
    return frozenset(settled) if settled else fallback


def is_terminal(status: str | None, terminal: frozenset[str] = TASK_TERMINAL) -> bool:
    return status is not None and status.upper() in {t.upper() for t in terminal}


def check_outcome(resource: Mapping[str, Any], *, label: str = "task") -> None:
    """Raise for a resource that settled badly: FAILED → :class:`TaskFailedError`, CANCELLED →
    :class:`TaskCancelledError`; any other status returns quietly."""
    status = str(resource.get("status") or "").upper()
    rid = str(resource.get("id") or "?")
    if status in FAILED_STATUSES:
        raise TaskFailedError(
            task_id=rid,
            failure=_text(resource.get("failure")),
            failure_code=_text(resource.get("failureCode")),
            task=resource,
        )
    if status in CANCELLED_STATUSES:
        raise TaskCancelledError(f"{label} {rid} was cancelled", task_id=rid, task=resource)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def is_transient(error: BaseException) -> bool:
    """Whether a failed read may succeed if asked again later: no answer, a timeout, a 5xx,
    a 408 or a 429. Anything else (401, 404, a bad answer) ends a wait at once."""
    if isinstance(error, (APIConnectionError, InternalServerError, RateLimitError)):
        return True
    return isinstance(error, APIStatusError) and error.status_code == 408


def request_timeout(deadline: float | None, now: float, per_request: float) -> float:
    """The timeout of one poll: the client's per-request timeout, cut to what is left of the
    wait (at least a moment, so a late request still fails cleanly rather than instantly)."""
    if deadline is None:
        return per_request
    return max(0.1, min(per_request, deadline - now))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] + ("…" if len(text) > 200 else "")


# --------------------------------------------------------------------------- Task


@dataclass(frozen=True)
class Task:
    """A typed view over the task JSON; ``raw`` keeps everything the API sent.

    A freshly created task (the POST answers ``{id, estimatedCost}``) has ``status=None``.
    """

    id: str
    status: str | None = None
    progress: float | None = None
    output: tuple[str, ...] = ()
    failure: str | None = None
    failure_code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        progress = data.get("progress")
        output = data.get("output") or ()
        return cls(
            id=str(data.get("id", "")),
            status=_text(data.get("status")),
            progress=float(progress) if isinstance(progress, (int, float)) else None,
            output=tuple(str(u) for u in output) if isinstance(output, (list, tuple)) else (),
            failure=_text(data.get("failure")),
            failure_code=_text(data.get("failureCode")),
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def estimated_credits(self) -> float | None:
        """What the API estimated the task will cost (``estimatedCost.credits``), if said."""
        cost = self.raw.get("estimatedCost")
        credits = cost.get("credits") if isinstance(cost, Mapping) else None
        if isinstance(credits, (int, float)) and not isinstance(credits, bool):
            return float(credits)
        return None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


# --------------------------------------------------------------------------- the waiter


@dataclass
class Poller:
    """The waiting decisions, shared by the sync and async loops (which only fetch and sleep).

    After each fetch, :meth:`after_poll` reports progress and says how long to sleep, or
    ``None`` when the resource settled; it raises :class:`TaskTimeoutError` past the deadline.
    """

    terminal: frozenset[str] = TASK_TERMINAL
    interval: float = DEFAULT_POLL_INTERVAL
    timeout: float | None = None
    on_progress: ProgressCallback | None = None
    label: str = "task"
    started: float = 0.0

    #: The id being waited for (named in a time-out before any answer arrived).
    resource_id: str | None = None
    #: Fetches that failed in a row (connection errors, 5xx, 429): they set the backoff.
    failures: int = 0
    last: Mapping[str, Any] | None = None

    def remaining(self, now: float) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        if self.timeout is None:
            return None
        return self.timeout - max(0.0, now - self.started)

    def first_delay(self, wanted: float, now: float) -> float:
        """The sleep before the first fetch: ``wanted``, cut to the time left."""
        remaining = self.remaining(now)
        return max(0.0, wanted if remaining is None else min(wanted, remaining))

    def after_error(self, error: BaseException, now: float) -> float:
        """A fetch failed in a way that may pass (the API is down, slow or busy): seconds to
        back off before the next one — doubling from the poll interval up to
        :data:`MAX_POLL_BACKOFF` — or :class:`TaskTimeoutError` when the wait's time is up."""
        self.failures += 1
        remaining = self.remaining(now)
        if remaining is not None and remaining <= 0:
            rid = str((self.last or {}).get("id") or self.resource_id or "?")
            status = str((self.last or {}).get("status") or "unknown")
            raise TaskTimeoutError(
                f"{self.label} {rid}: no answer from the API for the last {self.failures} "
                f"tries ({_one_line(error)}); last status {status}; wait again later with "
                "its id",
                task_id=rid,
                task=self.last or {"id": rid},
            )
        delay = min(MAX_POLL_BACKOFF, max(self.interval, 0.05) * 2 ** (self.failures - 1))
        return delay if remaining is None else min(delay, remaining)

    def after_poll(self, resource: Mapping[str, Any], now: float) -> float | None:
        self.failures = 0
        self.last = resource
        elapsed = max(0.0, now - self.started)
        status = str(resource.get("status") or "")
        if self.on_progress is not None:
            progress = resource.get("progress")
            self.on_progress(
                status, float(progress) if isinstance(progress, (int, float)) else None, elapsed
            )
        if is_terminal(status, self.terminal):
            return None
        if self.timeout is None:
            return self.interval
        remaining = self.timeout - elapsed
        if remaining <= 0:
            rid = str(resource.get("id") or "?")
            raise TaskTimeoutError(
                f"{self.label} {rid} still {status or 'unfinished'} after {round(elapsed, 1):g}s; "
                f"wait again later with its id",
                task_id=rid,
                task=resource,
            )
        return min(self.interval, remaining)


def poll_until_terminal(
    fetch: Callable[[], Mapping[str, Any]],
    *,
    terminal: frozenset[str] = TASK_TERMINAL,
    interval: float = DEFAULT_POLL_INTERVAL,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    label: str = "task",
    raise_on_failure: bool = True,
    resource_id: str | None = None,
    first_poll_after: float = 0.0,
) -> Mapping[str, Any]:
    """Fetch until the status is terminal; then raise on FAILED/CANCELLED or return the JSON.

    ``first_poll_after``: sleep that long (within the deadline) before the first fetch; a
    task created a moment ago is not done yet, so asking at once is a wasted request.

    A fetch that fails transiently (:func:`is_transient`) is retried with backoff until the
    deadline, so a wait rides out minutes of API trouble; ``fetch`` should bound its own
    request by the same deadline (see :func:`request_timeout`) so the wait never outlives
    ``timeout``.
    """
    poller = Poller(terminal, interval, timeout, on_progress, label, clock(), resource_id)
    if first_poll_after > 0:
        sleep(poller.first_delay(first_poll_after, clock()))
    while True:
        try:
            resource = fetch()
        except RunwayError as exc:
            if not is_transient(exc):
                raise
            sleep(poller.after_error(exc, clock()))
            continue
        delay = poller.after_poll(resource, clock())
        if delay is None:
            break
        sleep(delay)
    if raise_on_failure:
        check_outcome(resource, label=label)
    return resource


async def apoll_until_terminal(
    fetch: Callable[[], Awaitable[Mapping[str, Any]]],
    *,
    terminal: frozenset[str] = TASK_TERMINAL,
    interval: float = DEFAULT_POLL_INTERVAL,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    label: str = "task",
    raise_on_failure: bool = True,
    resource_id: str | None = None,
    first_poll_after: float = 0.0,
) -> Mapping[str, Any]:
    """The async twin of :func:`poll_until_terminal` (same :class:`Poller` decisions)."""
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    poller = Poller(terminal, interval, timeout, on_progress, label, clock(), resource_id)
    if first_poll_after > 0:
        await sleep(poller.first_delay(first_poll_after, clock()))
    while True:
        try:
            resource = await fetch()
        except RunwayError as exc:
            if not is_transient(exc):
                raise
            await sleep(poller.after_error(exc, clock()))
            continue
        delay = poller.after_poll(resource, clock())
        if delay is None:
            break
        await sleep(delay)
    if raise_on_failure:
        check_outcome(resource, label=label)
    return resource
