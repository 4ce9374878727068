"""The retry, backoff and resubmission decisions, as tables (pure functions, no I/O)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from runway_dynamic._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    JITTER_MAX,
    JITTER_MIN,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from runway_dynamic._http import (
    ERROR_CONNECT,
    ERROR_CONNECT_TIMEOUT,
    ERROR_DROPPED,
    ERROR_OTHER,
    ERROR_READ_TIMEOUT,
    MAY_HAVE_SUCCEEDED,
    RAISE,
    RETRY,
    classify_transport_error,
    failure_action,
    parse_retry_after,
    retry_delay,
    should_resubmit,
    should_retry,
)

# (method, creates, status, error_kind, attempt) -> expected action, with max_retries=2.
TABLE = [
    # Reads retry on the transient statuses and on every network error.
    ("GET", False, 429, None, 0, RETRY),
    ("GET", False, 502, None, 0, RETRY),
    ("GET", False, 503, None, 1, RETRY),
    ("GET", False, 504, None, 0, RETRY),
    ("GET", False, 500, None, 0, RETRY),
    ("GET", False, 408, None, 0, RETRY),
    ("GET", False, 503, None, 2, RAISE),  # budget spent
    ("GET", False, 409, None, 0, RAISE),
    ("GET", False, 400, None, 0, RAISE),
    ("GET", False, 401, None, 0, RAISE),
    ("GET", False, 404, None, 0, RAISE),
    ("GET", False, 422, None, 0, RAISE),
    ("GET", False, None, ERROR_CONNECT, 0, RETRY),
    ("GET", False, None, ERROR_CONNECT_TIMEOUT, 1, RETRY),
    ("GET", False, None, ERROR_READ_TIMEOUT, 0, RETRY),
    ("GET", False, None, ERROR_DROPPED, 0, RETRY),
    ("GET", False, None, ERROR_DROPPED, 2, RAISE),
    ("GET", False, None, ERROR_OTHER, 0, RAISE),
    ("HEAD", False, 503, None, 0, RETRY),
    # DELETE is idempotent: same as reads.
    ("DELETE", False, 503, None, 0, RETRY),
    ("DELETE", False, None, ERROR_READ_TIMEOUT, 0, RETRY),
    ("DELETE", False, 404, None, 0, RAISE),
    # Task-creating POSTs: only when no task can exist.
    ("POST", True, 429, None, 0, RETRY),
    ("POST", True, 429, None, 1, RETRY),
    ("POST", True, 429, None, 2, RAISE),
    ("POST", True, None, ERROR_CONNECT, 0, RETRY),
    ("POST", True, None, ERROR_CONNECT_TIMEOUT, 0, RETRY),
    ("POST", True, None, ERROR_CONNECT, 2, RAISE),
    ("POST", True, 500, None, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, 502, None, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, 503, None, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, 504, None, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, None, ERROR_READ_TIMEOUT, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, None, ERROR_DROPPED, 0, MAY_HAVE_SUCCEEDED),
    ("POST", True, 400, None, 0, RAISE),
    ("POST", True, 408, None, 0, RAISE),
    ("POST", True, 409, None, 0, RAISE),
    ("POST", True, None, ERROR_OTHER, 0, RAISE),
    # A POST that creates nothing billable (uploads slot, usage query): resend only when
    # nothing was sent or on 429; otherwise report the plain error.
    ("POST", False, 429, None, 0, RETRY),
    ("POST", False, None, ERROR_CONNECT, 0, RETRY),
    ("POST", False, 503, None, 0, RAISE),
    ("POST", False, None, ERROR_DROPPED, 0, RAISE),
    ("PATCH", False, 503, None, 0, RAISE),
    ("PATCH", False, 429, None, 0, RETRY),
    # Success statuses are never "failures".
    ("GET", False, 200, None, 0, RAISE),
]


@pytest.mark.parametrize(("method", "creates", "status", "kind", "attempt", "expected"), TABLE)
def test_failure_action_table(
    method: str, creates: bool, status: int | None, kind: str | None, attempt: int, expected: str
) -> None:
    got = failure_action(method, creates, status, kind, attempt=attempt, max_retries=2)
    assert got == expected
    assert should_retry(method, creates, status, kind, attempt=attempt, max_retries=2) is (
        expected == RETRY
    )


def test_zero_retries_never_retries() -> None:
    assert not should_retry("GET", False, 503, attempt=0, max_retries=0)
    assert not should_retry("POST", True, 429, attempt=0, max_retries=0)


def test_default_budget_is_two_resends() -> None:
    verdicts = [
        should_retry("GET", False, 503, attempt=a, max_retries=DEFAULT_MAX_RETRIES)
        for a in range(4)
    ]
    assert verdicts == [True, True, False, False]


class FixedRng:
    """A random source that always returns one end of the range (or a fixed fraction)."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + (b - a) * self.fraction


NOW = 1_700_000_000.0

DELAY_TABLE = [
    # (attempt, Retry-After, jitter fraction) -> delay
    (0, None, 1.0, 0.5),
    (1, None, 1.0, 1.0),
    (2, None, 1.0, 2.0),
    (3, None, 1.0, 4.0),
    (4, None, 1.0, 8.0),
    (9, None, 1.0, 8.0),  # capped
    (0, None, 0.0, 0.375),  # 0.5 * 0.75
    (4, None, 0.0, 6.0),
    (0, "2", 1.0, 2.0),  # Retry-After seconds honoured exactly
    (0, "0", 1.0, 0.0),
    (3, "1.5", 0.0, 1.5),
    (0, "60", 1.0, 60.0),  # at the limit
    (0, "61", 1.0, 0.5),  # beyond the limit: back to the backoff
    (0, "3600", 0.0, 0.375),
    (0, "soon", 1.0, 0.5),  # unreadable: backoff
    (0, "", 1.0, 0.5),
    (1, "-5", 1.0, 0.0),  # in the past: no wait
]


@pytest.mark.parametrize(("attempt", "header", "fraction", "expected"), DELAY_TABLE)
def test_retry_delay_table(
    attempt: int, header: str | None, fraction: float, expected: float
) -> None:
    assert retry_delay(attempt, header, FixedRng(fraction), now=NOW) == pytest.approx(expected)


def test_retry_after_http_date_is_honoured() -> None:
    when = datetime.fromtimestamp(NOW, tz=timezone.utc) + timedelta(seconds=30)
    assert retry_delay(0, format_datetime(when, usegmt=True), FixedRng(1), now=NOW) == (
        pytest.approx(30)
    )
    far = datetime.fromtimestamp(NOW, tz=timezone.utc) + timedelta(hours=2)
    assert retry_delay(1, format_datetime(far, usegmt=True), FixedRng(1), now=NOW) == 1.0
    past = datetime.fromtimestamp(NOW, tz=timezone.utc) - timedelta(seconds=30)
    assert parse_retry_after(format_datetime(past, usegmt=True), now=NOW) == 0.0


def test_jitter_stays_in_its_range_with_a_real_rng() -> None:
    """Property: every backoff lies in [0.75, 1.0] x min(0.5 * 2**attempt, 8)."""
    rng = random.Random(7)
    for attempt in range(10):
        base = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        for _ in range(50):
            delay = retry_delay(attempt, None, rng)
            assert base * JITTER_MIN <= delay <= base * JITTER_MAX


def test_jitter_bounds_are_passed_to_the_rng() -> None:
    rng = FixedRng(0.5)
    retry_delay(0, None, rng)
    assert rng.calls == [(JITTER_MIN, JITTER_MAX)]
    assert MAX_RETRY_AFTER == 60.0


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), ERROR_CONNECT),
        (httpx.ConnectTimeout("slow"), ERROR_CONNECT_TIMEOUT),
        (httpx.PoolTimeout("pool"), ERROR_CONNECT_TIMEOUT),
        (httpx.ReadTimeout("slow"), ERROR_READ_TIMEOUT),
        (httpx.WriteTimeout("slow"), ERROR_READ_TIMEOUT),
        (httpx.RemoteProtocolError("gone"), ERROR_DROPPED),
        (httpx.ReadError("reset"), ERROR_DROPPED),
        (httpx.WriteError("reset"), ERROR_DROPPED),
        (httpx.UnsupportedProtocol("ftp"), ERROR_OTHER),
        (httpx.LocalProtocolError("bad"), ERROR_OTHER),
    ],
)
def test_transport_errors_are_classified(exc: Exception, kind: str) -> None:
    assert classify_transport_error(exc) == kind


RESUBMIT_TABLE = [
    # (status, failureCode, resubmitted so far, allowed) -> resubmit?
    ("FAILED", "INTERNAL.BAD_OUTPUT.CODE01", 0, 1, True),
    ("FAILED", "INTERNAL.BAD_OUTPUT.CODE01", 1, 1, False),
    ("FAILED", "INTERNAL.BAD_OUTPUT.CODE01", 1, 3, True),
    ("FAILED", "INTERNAL", 0, 2, True),
    ("FAILED", "internal.bad_output", 0, 1, True),
    ("FAILED", "INTERNAL.BAD_OUTPUT.CODE01", 0, 0, False),  # default: off
    ("FAILED", "SAFETY.INPUT.TEXT", 0, 5, False),
    ("FAILED", "SAFETY.OUTPUT.VIDEO", 0, 5, False),
    ("FAILED", "INPUT_VALIDATION.IMAGE", 0, 5, False),
    ("FAILED", "ASSET.INVALID", 0, 5, False),
    ("FAILED", None, 0, 5, False),
    ("FAILED", "", 0, 5, False),
    ("CANCELLED", "INTERNAL.BAD_OUTPUT.CODE01", 0, 5, False),
    ("SUCCEEDED", None, 0, 5, False),
]


@pytest.mark.parametrize(("status", "code", "done", "allowed", "expected"), RESUBMIT_TABLE)
def test_should_resubmit_table(
    status: str, code: str | None, done: int, allowed: int, expected: bool
) -> None:
    assert should_resubmit(code, status=status, resubmitted=done, max_resubmissions=allowed) is (
        expected
    )
