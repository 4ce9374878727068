"""Shared pieces of the creative commands: an async client, multi-job progress, names.

Their clients come from :mod:`runway_dynamic.cli._clients` (the same rules as every other
command); they use the asynchronous one because creative commands run many tasks at once.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from runway_dynamic.cli._context import PROG, Invocation, is_terminal, terminal_safe

ConcurrencyOption = Annotated[int, typer.Option(
    "--concurrency", metavar="K", help="Run at most K generations at a time.")]
RetryInternalOption = Annotated[int, typer.Option(
    "--retry-on-internal-error", metavar="N",
    help="Resubmit a job up to N times when it fails with an INTERNAL.* code (each "
         "resubmission is a new, billed task).")]
RetryBackoffOption = Annotated[float, typer.Option(
    "--retry-backoff-seconds", metavar="S", help="Pause before such a resubmission.")]
PollIntervalOption = Annotated[float | None, typer.Option(
    "--poll-interval", metavar="SECONDS", show_default=False,
    help="Seconds between status checks (default: 5).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def slug(text: str, limit: int = 48) -> str:
    """``"Launch our new feature!"`` → ``launch-our-new-feature`` (ASCII, file-name safe)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return words[:limit].rstrip("-") or "untitled"


def stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def free_path(path: Path) -> Path:
    """``path`` or the first ``<stem>-N<suffix>`` that does not exist yet."""
    if not path.exists():
        return path
    for n in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    return path


class JobsDisplay:
    """Progress of many jobs on stderr: one line per job and status change (plain), or
    one bar per job on a terminal; nothing under ``--json``."""

    def __init__(self, labels: dict[str, str], *, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        self.labels = labels
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self._last: dict[tuple[str, str], tuple[str, int]] = {}
        self._progress: Any = None
        self._bars: dict[str, Any] = {}

    def __enter__(self) -> JobsDisplay:
        if not self.quiet and is_terminal(self.stream):
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), console=Console(file=self.stream))
            self._progress.start()
            for key, label in self.labels.items():
                self._bars[key] = self._progress.add_task(f"{label}: waiting", total=1.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def event(self, key: str, step: str, status: str, progress: float | None) -> None:
        label = self.labels.get(key, key)
        if self._progress is not None:
            done = 1.0 if status == "SUCCEEDED" else (progress or 0.0)
            self._progress.update(self._bars[key], description=f"{label} {step}: {status}",
                                  completed=done)
            return
        if self.quiet:
            return
        mark = (status, int((progress or 0.0) * 4) if status == "RUNNING" else 0)
        if self._last.get((key, step)) == mark:
            return
        self._last[(key, step)] = mark
        shown = f" {progress:.0%}" if progress is not None and status == "RUNNING" else ""
        self.stream.write(f"{PROG}: {terminal_safe(f'{label} {step}: {status}{shown}')}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(terminal_safe(text), markup=False)
        elif not self.quiet:
            self.stream.write(f"{PROG}: {terminal_safe(text)}\n")
            self.stream.flush()


def say(invocation: Invocation, text: str) -> None:
    """A progress note on stderr (silent under ``--json``)."""
    if not invocation.json:
        sys.stderr.write(f"{PROG}: {terminal_safe(text)}\n")
        sys.stderr.flush()
