"""The poll-until-terminal waiter, statuses from the spec, and the Task view."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from runway_dynamic._exceptions import TaskCancelledError, TaskFailedError, TaskTimeoutError
from runway_dynamic.spec import Spec
from runway_dynamic.tasks import (
    TASK_TERMINAL,
    Task,
    apoll_until_terminal,
    poll_until_terminal,
    status_values,
    terminal_statuses,
)


class FakeTime:
    """A clock that only moves when the waiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def sequence(*statuses: str, **extra: Any) -> Any:
    """A fetch() that answers the statuses in turn (the last one repeats)."""
    answers = [{"id": "t-1", "status": s, **extra} for s in statuses]
    calls = {"n": 0}

    def fetch() -> Mapping[str, Any]:
        i = min(calls["n"], len(answers) - 1)
        calls["n"] += 1
        return answers[i]

    return fetch


def test_polls_until_succeeded_reporting_progress() -> None:
    t = FakeTime()
    seen: list[tuple[str, float | None, float]] = []
    answers = iter(
        [
            {"id": "a", "status": "PENDING"},
            {"id": "a", "status": "THROTTLED"},
            {"id": "a", "status": "RUNNING", "progress": 0.4},
            {"id": "a", "status": "SUCCEEDED", "output": ["https://x/1.png"]},
        ]
    )
    done = poll_until_terminal(
        lambda: next(answers),
        interval=2,
        timeout=60,
        clock=t.clock,
        sleep=t.sleep,
        on_progress=lambda s, p, e: seen.append((s, p, e)),
    )
    assert done["status"] == "SUCCEEDED"
    assert t.sleeps == [2, 2, 2]
    assert seen == [
        ("PENDING", None, 0),
        ("THROTTLED", None, 2),
        ("RUNNING", 0.4, 4),
        ("SUCCEEDED", None, 6),
    ]


def test_failed_raises_with_code_and_id() -> None:
    t = FakeTime()
    fetch = sequence(
        "RUNNING", "FAILED", failure="bad output", failureCode="INTERNAL.BAD_OUTPUT.CODE01"
    )
    with pytest.raises(TaskFailedError) as info:
        poll_until_terminal(fetch, interval=1, clock=t.clock, sleep=t.sleep)
    assert info.value.failure_code == "INTERNAL.BAD_OUTPUT.CODE01"
    assert info.value.failure == "bad output"
    assert info.value.task_id == "t-1"
    assert info.value.exit_code == 3


def test_cancelled_raises() -> None:
    t = FakeTime()
    with pytest.raises(TaskCancelledError, match="t-1"):
        poll_until_terminal(
            sequence("PENDING", "CANCELLED"), interval=1, clock=t.clock, sleep=t.sleep
        )


def test_timeout_makes_a_last_poll_at_the_deadline_then_raises() -> None:
    t = FakeTime()
    fetch = sequence("RUNNING")
    with pytest.raises(TaskTimeoutError) as info:
        poll_until_terminal(fetch, interval=4, timeout=10, clock=t.clock, sleep=t.sleep)
    assert t.sleeps == [4, 4, 2]  # never sleeps past the deadline
    assert info.value.task_id == "t-1"
    assert info.value.exit_code == 4
    assert "after 10s" in str(info.value)


def test_a_short_timeout_is_told_as_given_not_rounded_to_zero() -> None:
    t = FakeTime()
    with pytest.raises(TaskTimeoutError, match=r"still RUNNING after 0\.5s"):
        poll_until_terminal(sequence("RUNNING"), interval=4, timeout=0.5, clock=t.clock,
                            sleep=t.sleep)


def test_no_raise_on_failure_returns_the_failed_resource() -> None:
    t = FakeTime()
    got = poll_until_terminal(
        sequence("FAILED"), clock=t.clock, sleep=t.sleep, raise_on_failure=False
    )
    assert got["status"] == "FAILED"


def test_async_waiter_makes_the_same_decisions() -> None:
    t_sync, t_async = FakeTime(), FakeTime()
    seen_sync: list[Any] = []
    seen_async: list[Any] = []
    statuses = ("PENDING", "RUNNING", "RUNNING", "SUCCEEDED")
    poll_until_terminal(
        sequence(*statuses),
        interval=3,
        timeout=60,
        clock=t_sync.clock,
        sleep=t_sync.sleep,
        on_progress=lambda *a: seen_sync.append(a),
    )
    fetch = sequence(*statuses)

    async def afetch() -> Mapping[str, Any]:
        return fetch()

    asyncio.run(
        apoll_until_terminal(
            afetch,
            interval=3,
            timeout=60,
            clock=t_async.clock,
            sleep=t_async.asleep,
            on_progress=lambda *a: seen_async.append(a),
        )
    )
    assert seen_sync == seen_async
    assert t_sync.sleeps == t_async.sleeps == [3, 3, 3]


def test_async_waiter_raises_like_the_sync_one() -> None:
    t = FakeTime()
    fetch = sequence("RUNNING", "FAILED", failureCode="SAFETY.INPUT.TEXT")

    async def afetch() -> Mapping[str, Any]:
        return fetch()

    with pytest.raises(TaskFailedError, match=r"SAFETY\.INPUT\.TEXT"):
        asyncio.run(apoll_until_terminal(afetch, interval=1, clock=t.clock, sleep=t.asleep))


def test_terminal_statuses_come_from_the_official_schemas(official_spec: Spec) -> None:
    catalog = official_spec.catalog

    def terminal(endpoint: str) -> set[str]:
        op = catalog.operation(endpoint, "GET")
        assert op is not None
        return set(terminal_statuses(op.success_schema()))

    assert terminal("tasks/{id}") == {"SUCCEEDED", "FAILED", "CANCELLED"}
    assert terminal("avatars/{id}") == {"READY", "FAILED"}
    assert terminal("realtime_sessions/{id}") == {"READY", "COMPLETED", "FAILED", "CANCELLED"}
    op = catalog.operation("tasks/{id}", "GET")
    assert op is not None
    assert "THROTTLED" in status_values(op.success_schema())


def test_terminal_statuses_fall_back_without_an_enum() -> None:
    assert terminal_statuses(None) == TASK_TERMINAL
    assert terminal_statuses({"type": "object", "properties": {"status": {"type": "string"}}}) == (
        TASK_TERMINAL
    )
    assert terminal_statuses(
        {"type": "object", "properties": {"status": {"enum": ["QUEUED", "DONE", "ERROR"]}}}
    ) == {"DONE", "ERROR"}


def test_task_view() -> None:
    raw = {"id": "abc", "status": "RUNNING", "progress": 0.25, "createdAt": "x"}
    task = Task.from_json(raw)
    assert (task.id, task.status, task.progress, task.output) == ("abc", "RUNNING", 0.25, ())
    assert not task.is_terminal
    assert task.raw["createdAt"] == "x"
    done = Task.from_json(
        {"id": "abc", "status": "FAILED", "failure": "f", "failureCode": "SAFETY.INPUT.TEXT"}
    )
    assert done.is_terminal and done.failure_code == "SAFETY.INPUT.TEXT"
    fresh = Task.from_json({"id": "abc", "estimatedCost": {"credits": 5}})
    assert fresh.status is None and not fresh.is_terminal
    assert Task.from_json({"id": "a", "status": "SUCCEEDED", "output": ["u1", "u2"]}).output == (
        "u1",
        "u2",
    )
