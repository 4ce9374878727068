"""Small timing helpers: medians of repeats, ratios against peers measured in the same run."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence


def median_seconds(fn: Callable[[], object], *, repeat: int = 7, number: int = 1) -> float:
    """Median wall time of ``number`` calls of ``fn``, over ``repeat`` rounds (per call)."""
    fn()  # warm-up
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return statistics.median(rounds)


def median_process_seconds(
    argv: Sequence[str], *, repeat: int = 15, env: dict | None = None
) -> float:
    """Median wall time of a whole process (start-up included)."""
    subprocess.run(argv, capture_output=True, env=env, check=False)  # warm the page cache
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env, check=False)
        rounds.append(time.perf_counter() - start)
    return statistics.median(rounds)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def process_cpu_seconds(argv: Sequence[str], *, env: dict | None = None) -> float:
    """CPU time (user + system) one whole process spent, from ``getrusage`` of children.

    CPU rather than wall time: on a loaded machine a process waits for a core, and that
    wait is not its cost."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, capture_output=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
