"""How fast a batch submits: pure decisions per lane, tested with tables.

Runway's limits belong to the organization and to each model: a model runs so many tasks
at once and queues the rest as THROTTLED (in submission order); a rolling 24-hour cap on
generations per model answers further creates with 429; credits run out. The queue is the
organization's, shared by everyone in it, so a batch that dumped 2,000 tasks into it would
hold up every other user for hours and leave more in flight if the batch is stopped. A
batch therefore keeps, per *lane* (a model), about as many tasks in flight as the model
runs at once plus a little headroom, so that a freed slot is taken at once:

* a task first seen THROTTLED while others run shrinks the window to what runs plus
  headroom; a task that starts without waiting grows it by ``1 / window`` (additive
  increase, as TCP does), up to ``--concurrency``;
* a 429 halves the window and pauses the lane for ``Retry-After`` (or a doubling backoff),
  once per pause: the other creates refused with it are the same refusal;
* a cap (daily generations, credits) shuts the lane, or the whole batch, for this run —
  or, when the batch is told to wait at limits, holds it until the next try.

Nothing here does I/O or reads a clock: the runner passes ``now`` in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Share of the running tasks kept queued on top of them (at least one task).
HEADROOM_SHARE = 0.25
#: The first pause after a 429 without ``Retry-After``; it doubles per 429 in a row.
FIRST_RATE_LIMIT_PAUSE = 2.0
#: The longest pause a 429 causes (a longer Retry-After means a cap: see the runner).
MAX_RATE_LIMIT_PAUSE = 60.0
#: 429s in a row on one lane, with no create accepted between, after which it is shut.
RATE_LIMIT_STREAK_LIMIT = 8


def headroom(running: int) -> int:
    """Tasks to keep queued beyond ``running``: a quarter of them, at least one."""
    return max(1, math.ceil(running * HEADROOM_SHARE))


@dataclass
class Lane:
    """The submit window of one model (or endpoint): how many tasks may be in flight."""

    name: str
    ceiling: int
    window: float = 0.0
    in_flight: int = 0
    throttled: int = 0
    paused_until: float = 0.0
    shut: str | None = None
    rate_limited_streak: int = 0

    def __post_init__(self) -> None:
        self.ceiling = max(1, self.ceiling)
        if self.window <= 0:
            self.window = float(self.ceiling)
        self.window = min(float(self.ceiling), max(1.0, self.window))

    @classmethod
    def seeded(cls, name: str, ceiling: int, model_concurrency: int | None) -> Lane:
        """A lane whose window starts at the model's known concurrency plus headroom."""
        if model_concurrency is None or model_concurrency < 1:
            return cls(name, ceiling)
        return cls(name, ceiling, window=model_concurrency + headroom(model_concurrency))

    @property
    def limit(self) -> int:
        """Tasks this lane may have in flight now."""
        return max(1, math.floor(self.window + 1e-9))

    def has_room(self, now: float) -> bool:
        return self.shut is None and now >= self.paused_until and self.in_flight < self.limit

    def on_started(self) -> None:
        """One of this lane's tasks started without waiting THROTTLED: grow the window."""
        self.window = min(float(self.ceiling), self.window + 1.0 / self.window)

    def on_throttled(self) -> None:
        """A task was first seen THROTTLED: keep only what runs plus headroom in flight."""
        running = max(0, self.in_flight - self.throttled)
        target = float(max(1, running + headroom(running)))
        self.window = min(self.window, target)

    def on_accepted(self) -> None:
        """A create was accepted: the 429 streak is over."""
        self.rate_limited_streak = 0

    def on_rate_limited(self, now: float, retry_after: float | None) -> float:
        """A create got 429: halve the window, pause the lane; the pause in seconds.

        Creates sent together are refused together: a 429 that arrives while the lane is
        already paused is the same refusal, so it neither halves again nor counts twice.
        """
        if now < self.paused_until:
            return self.paused_until - now
        self.rate_limited_streak += 1
        self.window = max(1.0, self.window / 2)
        if retry_after is not None and 0 <= retry_after <= MAX_RATE_LIMIT_PAUSE:
            pause = retry_after
        else:
            pause = min(MAX_RATE_LIMIT_PAUSE,
                        FIRST_RATE_LIMIT_PAUSE * 2 ** (self.rate_limited_streak - 1))
        self.paused_until = max(self.paused_until, now + pause)
        return pause

    @property
    def refused_too_often(self) -> bool:
        return self.rate_limited_streak >= RATE_LIMIT_STREAK_LIMIT

    def close(self, reason: str) -> None:
        """Stop submitting on this lane for the rest of the run (a cap was reached)."""
        if self.shut is None:
            self.shut = reason


@dataclass
class Pacer:
    """Every lane of a batch, and the batch-wide bound on tasks in flight."""

    concurrency: int
    lanes: dict[str, Lane] = field(default_factory=dict)
    shut: str | None = None
    #: No lane submits before this time (the whole organization is at a limit).
    paused_until: float = 0.0

    def lane(self, name: str, model_concurrency: int | None = None) -> Lane:
        found = self.lanes.get(name)
        if found is None:
            found = Lane.seeded(name, self.concurrency, model_concurrency)
            self.lanes[name] = found
        return found

    @property
    def in_flight(self) -> int:
        return sum(lane.in_flight for lane in self.lanes.values())

    def pick(self, waiting: Iterable[tuple[int, str]], now: float) -> str | None:
        """The lane to submit from next: among ``(first waiting job's seq, lane)``, the one
        with the oldest job whose lane has room (file order, no head-of-line blocking)."""
        if self.shut is not None or now < self.paused_until or (
                self.in_flight >= self.concurrency):
            return None
        for _, name in sorted(waiting):
            if self.lane(name).has_room(now):
                return name
        return None

    def next_wake(self, waiting_lanes: Iterable[str], now: float) -> float | None:
        """Seconds until a paused lane with waiting jobs opens again (``None``: none is)."""
        times = [max(lane.paused_until, self.paused_until) - now for name in waiting_lanes
                 if (lane := self.lane(name)).shut is None
                 and max(lane.paused_until, self.paused_until) > now]
        return min(times) if times else None

    def close_all(self, reason: str) -> None:
        if self.shut is None:
            self.shut = reason
