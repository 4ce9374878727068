"""The pacing decisions, as tables: windows per model, 429 pauses, caps, lane choice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runway_dynamic.batch.pacing import (
    FIRST_RATE_LIMIT_PAUSE,
    MAX_RATE_LIMIT_PAUSE,
    RATE_LIMIT_STREAK_LIMIT,
    Lane,
    Pacer,
    headroom,
)


@pytest.mark.parametrize(("running", "extra"), [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2),
                                                (20, 5)])
def test_headroom_is_a_quarter_of_what_runs_and_at_least_one(running: int, extra: int) -> None:
    assert headroom(running) == extra


@pytest.mark.parametrize(("ceiling", "model", "window"), [
    (64, None, 64),    # nothing known: up to --concurrency
    (64, 5, 7),        # the model runs 5: 5 + 2 headroom
    (4, 20, 4),        # never beyond --concurrency
    (64, 0, 64),       # a nonsense limit is ignored
])
def test_a_lane_starts_from_what_the_organization_says(ceiling: int, model: int | None,
                                                       window: int) -> None:
    assert Lane.seeded("m", ceiling, model).limit == window


def test_throttled_tasks_shrink_the_window_to_what_runs_plus_headroom() -> None:
    lane = Lane("m", ceiling=64)
    lane.in_flight, lane.throttled = 30, 22  # 8 run, 22 wait in Runway's queue
    lane.on_throttled()
    assert lane.limit == 8 + 2
    lane.on_throttled()
    assert lane.limit == 10, "seeing more THROTTLED at the same load changes nothing"


def test_tasks_that_start_at_once_grow_the_window_slowly_up_to_the_ceiling() -> None:
    lane = Lane("m", ceiling=12, window=4)
    for _ in range(4):
        lane.on_started()
    assert lane.limit == 4
    lane.on_started()
    assert lane.limit == 5, "about one more per window's worth of started tasks"
    for _ in range(500):
        lane.on_started()
    assert lane.limit == 12


def test_a_429_halves_the_window_and_pauses_the_lane() -> None:
    lane = Lane("m", ceiling=16)
    assert lane.on_rate_limited(100.0, retry_after=3) == 3
    assert lane.limit == 8 and not lane.has_room(102.9) and lane.has_room(103.0)
    now, pauses = 200.0, []
    for _ in range(6):
        pauses.append(lane.on_rate_limited(now, retry_after=None))
        now += pauses[-1]
    assert pauses == [FIRST_RATE_LIMIT_PAUSE * 2 ** n for n in range(1, 5)] + [
        MAX_RATE_LIMIT_PAUSE] * 2
    assert lane.limit == 1, "never below one"
    assert lane.on_rate_limited(now + 100, retry_after=3600) == MAX_RATE_LIMIT_PAUSE


def test_creates_refused_together_are_one_refusal() -> None:
    lane = Lane("m", ceiling=16)
    assert lane.on_rate_limited(10.0, retry_after=2) == 2
    assert lane.on_rate_limited(10.5, retry_after=2) == 1.5, "the pause already running"
    assert lane.on_rate_limited(11.0, retry_after=None) == 1.0
    assert (lane.limit, lane.rate_limited_streak) == (8, 1)


def test_an_accepted_create_ends_the_429_streak_and_a_long_streak_shuts_the_lane() -> None:
    lane = Lane("m", ceiling=4)
    for n in range(RATE_LIMIT_STREAK_LIMIT - 1):
        lane.on_rate_limited(1000.0 * n, None)
    lane.on_accepted()
    assert lane.rate_limited_streak == 0 and not lane.refused_too_often
    for n in range(RATE_LIMIT_STREAK_LIMIT):
        lane.on_rate_limited(1000.0 * (n + 10), None)
    assert lane.refused_too_often


def test_a_shut_lane_takes_nothing_more() -> None:
    lane = Lane("m", ceiling=4)
    lane.close("daily cap")
    lane.close("later reason")
    assert lane.shut == "daily cap" and not lane.has_room(1e9)


def test_the_pacer_picks_the_oldest_job_whose_lane_has_room() -> None:
    pacer = Pacer(concurrency=10)
    full = pacer.lane("busy", model_concurrency=1)  # window 2
    full.in_flight = 2
    pacer.lane("free")
    assert pacer.pick([(1, "busy"), (5, "free")], now=0) == "free", "no head-of-line block"
    full.in_flight = 1
    assert pacer.pick([(1, "busy"), (5, "free")], now=0) == "busy", "file order otherwise"


def test_the_pacer_respects_the_batch_wide_bound_and_its_own_pause() -> None:
    pacer = Pacer(concurrency=3)
    pacer.lane("a").in_flight = 2
    pacer.lane("b").in_flight = 1
    assert pacer.pick([(9, "c")], now=0) is None
    pacer.lane("a").in_flight = 0
    assert pacer.pick([(9, "c")], now=0) == "c"
    pacer.close_all("out of credits")
    assert pacer.pick([(9, "c")], now=0) is None and pacer.shut == "out of credits"


def test_the_next_wake_is_the_nearest_reopening_of_a_waiting_lane() -> None:
    pacer = Pacer(concurrency=4)
    pacer.lane("a").paused_until = 10.0
    pacer.lane("b").paused_until = 4.0
    pacer.lane("c").close("cap")
    pacer.lane("c").paused_until = 1.0
    assert pacer.next_wake(["a", "b", "c"], now=2.0) == 2.0
    assert pacer.next_wake(["c"], now=2.0) is None


def test_a_pause_of_the_whole_organization_holds_every_lane() -> None:
    pacer = Pacer(concurrency=4)
    pacer.lane("a").paused_until = 3.0
    pacer.paused_until = 10.0
    assert pacer.pick([(1, "a"), (2, "b")], now=5.0) is None
    assert pacer.next_wake(["a", "b"], now=5.0) == 5.0
    assert pacer.pick([(1, "a"), (2, "b")], now=10.0) == "a"


_EVENTS = st.lists(st.tuples(
    st.sampled_from(["started", "throttled", "rate_limited", "accepted"]),
    st.integers(min_value=0, max_value=300),     # tasks in flight when it happens
    st.integers(min_value=0, max_value=300),     # of them seen THROTTLED
    st.one_of(st.none(), st.floats(min_value=0, max_value=7200)),  # Retry-After
), max_size=60)


@given(ceiling=st.integers(min_value=1, max_value=256),
       seed=st.one_of(st.none(), st.integers(min_value=-5, max_value=500)), events=_EVENTS)
@settings(max_examples=300, deadline=None)
def test_no_sequence_of_signals_takes_a_window_out_of_bounds(
    ceiling: int, seed: int | None, events: list[tuple[str, int, int, float | None]]
) -> None:
    """Whatever THROTTLED, 429 and start signals arrive in whatever order, a lane lets
    between 1 and --concurrency tasks be in flight, and a pause never shortens."""
    lane = Lane.seeded("m", ceiling, seed)
    now, paused = 0.0, 0.0
    for kind, in_flight, throttled, retry_after in events:
        lane.in_flight, lane.throttled = in_flight, min(throttled, in_flight)
        now += 1.0
        if kind == "started":
            lane.on_started()
        elif kind == "throttled":
            lane.on_throttled()
        elif kind == "rate_limited":
            pause = lane.on_rate_limited(now, retry_after)
            assert 0 <= pause <= MAX_RATE_LIMIT_PAUSE
        else:
            lane.on_accepted()
        assert 1 <= lane.limit <= ceiling
        assert lane.paused_until >= paused
        paused = lane.paused_until
