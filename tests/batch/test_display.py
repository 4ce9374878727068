"""The batch's live progress: a redrawn line on a terminal, periodic lines otherwise,
silence with --json; counts, rate and ETA from this run's pace."""

from __future__ import annotations

import io
import time

from runway_dynamic.batch import BatchEvent
from runway_dynamic.cli.batch_cmd import BatchDisplay, _duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _event(kind: str = "job", **counts: int) -> BatchEvent:
    return BatchEvent(kind, counts, key="job-0001", state="downloaded", throttled=2)


def test_the_line_shows_counts_throttled_rate_and_eta() -> None:
    display = BatchDisplay(100, stream=io.StringIO())
    display.event(_event(downloaded=10, submitted=5, pending=85))
    display._started -= 10  # pretend this run has gone on for ten seconds
    display.event(_event(downloaded=30, submitted=5, failed=2, uncertain=1, pending=62))
    line = display.line()
    assert line.startswith("30/100 done · 5 running (2 throttled) · 2 failed · 1 uncertain")
    assert "2.00 jobs/s" in line and "ETA 33s" in line, line


def test_plain_output_writes_a_line_now_and_then_and_every_failure() -> None:
    stream = io.StringIO()
    display = BatchDisplay(3, stream=stream, interval=3600)
    with display:
        display.event(_event(pending=3))
        display.event(BatchEvent("job", {"failed": 1, "pending": 2}, key="job-0002",
                                 state="failed"))
        display.event(BatchEvent("note", {"failed": 1, "pending": 2},
                                 message="gen4.5: 429 from the API"))
    text = stream.getvalue().splitlines()
    assert text[0] == "runway: 0/3 done · 0 running (2 throttled)"
    assert "runway: job-0002: failed" in text and "runway: gen4.5: 429 from the API" in text
    assert text[-1].startswith("runway: 0/3 done"), "a last line when it ends"


def test_a_terminal_gets_a_live_line_and_json_gets_nothing() -> None:
    terminal = Terminal()
    with BatchDisplay(2, stream=terminal) as live:
        live.event(_event(downloaded=1, submitted=1))
        live.note("a note above the line")
        time.sleep(0.3)
        live.event(_event(downloaded=2))
    shown = terminal.getvalue()
    assert "2/2 done" in shown and "a note above the line" in shown
    quiet = io.StringIO()
    with BatchDisplay(2, stream=quiet, quiet=True) as silent:
        silent.event(_event(downloaded=2))
        silent.note("not shown")
    assert quiet.getvalue() == ""


def test_durations_read_naturally() -> None:
    assert [_duration(s) for s in (5, 75, 3 * 3600 + 120, -1)] == ["5s", "1m15s", "3h02m",
                                                                   "0s"]
