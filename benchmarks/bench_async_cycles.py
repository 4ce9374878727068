"""N concurrent generate → wait → download cycles with ``AsyncRunwayClient`` against the sandbox.

Run: python benchmarks/bench_async_cycles.py [N ...]        (default: 10 100 1000)

Each N runs in a fresh child process (so ``ru_maxrss`` and the allocator start clean) against
a sandbox served by another process (``python -m runway_dynamic.sandbox``), so the server's
threads and its task store are not counted in the client's time or memory. The child runs N
coroutines at once, each ``client.run(text_to_image, body)`` (create, then poll every
``POLL`` s until SUCCEEDED) followed by ``client.download``; it reports wall time, the peak
of Python allocations (tracemalloc, measured in a second child so its overhead does not
touch the timing) and the growth of the resident set (``ru_maxrss`` after − before).

The sandbox is the standard library's threaded ``http.server``: every connection costs a
thread, so the client's connection pool is bounded (``--connections``, default 16, via
``httpx.Limits``). All N cycles are still in flight at once; their requests queue for a
pooled connection. (Before the sandbox's listen backlog was raised from the stdlib's 5 to
128, 64 connections overflowed it and a few POSTs lost their responses — which the client
rightly did not resend.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

TASK_SECONDS = 0.5
POLL = 0.1
DEFAULT_SIZES = (10, 100, 1000)
KEY = "bench-key-not-secret"


def _body(spec: Any) -> dict[str, Any]:
    """A valid text_to_image body for the first model that needs only a prompt and a ratio."""
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return {"model": model, "promptText": "a lighthouse at dusk", "ratio": ratios[0]}
    raise SystemExit("no text_to_image model with only promptText and ratio in this spec")


async def _cycles(n: int, base_url: str, connections: int, out_dir: Path, spec: Any,
                  trace: bool) -> dict[str, Any]:
    import httpx

    from runway_dynamic.client import AsyncRunwayClient

    body = _body(spec)
    if trace:
        tracemalloc.start()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    sent = [0]

    async def count(request: httpx.Request) -> None:
        sent[0] += 1

    http = httpx.AsyncClient(timeout=120, limits=limits, event_hooks={"request": [count]})
    failures: list[str] = []
    async with AsyncRunwayClient(KEY, base_url=base_url, spec=spec, poll_interval=POLL,
                                 http_client=http, timeout=120) as client:

        async def one(index: int) -> int:
            try:
                task = await client.run("text_to_image", body, timeout=300)
                paths = await client.download(task, out_dir / str(index))
                return len(paths)
            except Exception as exc:  # counted and reported, the benchmark goes on
                failures.append(f"{type(exc).__name__}: {exc}")
                return 0

        start = time.perf_counter()
        files = sum(await asyncio.gather(*(one(i) for i in range(n))))
        wall = time.perf_counter() - start
    await http.aclose()
    return {"n": n, "wall": wall, "files": files, "failures": failures[:3],
            "failed": len(failures), "requests": sent[0]}


def child(n: int, base_url: str, connections: int, trace: bool) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import httpx  # noqa: F401 - imported before the baseline so it is not counted as growth

    import runway_dynamic.client  # noqa: F401
    from runway_dynamic.spec import load_spec

    spec = load_spec()  # loaded before the baseline: the spec is not per-task memory
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_cycles(n, base_url, connections, Path(tmp), spec, trace))
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["traced_peak"] = peak
    result["rss_growth"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    print(json.dumps(result))


def _start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic.sandbox", "--task-seconds", str(TASK_SECONDS)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = next((w for w in line.split() if w.startswith("http://")), None)
    if url is None:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, url


def _measure(n: int, url: str, connections: int, trace: bool) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--url", url,
         "--connections", str(connections), *(["--trace"] if trace else [])],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child for N={n} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.connections, args.trace)
        return

    print(f"sandbox: separate process, task_seconds={TASK_SECONDS}; client: poll {POLL}s, "
          f"{args.connections} pooled connections, all N cycles concurrent; "
          f"{os.cpu_count()} CPUs")
    rows = []
    for n in args.sizes:
        proc, url = _start_sandbox()  # a fresh sandbox per N: its task store starts empty
        try:
            timed = _measure(n, url, args.connections, trace=False)
            traced = _measure(n, url, args.connections, trace=True)
        finally:
            proc.terminate()
            proc.wait(10)
        if timed["failed"] or traced["failed"]:
            print(f"N={n}: {timed['failed']} + {traced['failed']} cycles failed, e.g. "
                  f"{(timed['failures'] or traced['failures'])[:1]}")
        rows.append((n, timed["wall"], traced["traced_peak"], timed["rss_growth"],
                     timed["files"], timed["requests"]))

    base_n, base_wall, base_peak, *_ = rows[0]
    print()
    print(f"{'N':>6} {'files':>6} {'wall s':>8} {'ms/task':>8} {'x wall':>7} {'peak MB':>8} "
          f"{'KB/task':>8} {'marg KB':>8} {'x peak':>7} {'RSS+ MB':>8} {'x N':>6} "
          f"{'req/task':>8} {'req/s':>6}")
    previous: tuple[int, float] | None = None
    for n, wall, peak, rss, files, requests in rows:
        marginal = ((peak - previous[1]) / (n - previous[0]) / 1024
                    if previous and n != previous[0] else float("nan"))
        previous = (n, peak)
        print(f"{n:>6} {files:>6} {wall:>8.2f} {wall / n * 1e3:>8.2f} {wall / base_wall:>7.1f} "
              f"{peak / 2**20:>8.2f} {peak / n / 1024:>8.1f} {marginal:>8.1f} "
              f"{peak / base_peak:>7.1f} {rss / 2**20:>8.1f} {n / base_n:>6.0f} "
              f"{requests / n:>8.1f} {requests / wall:>6.0f}")
    print("\nx wall / x peak / x N: growth against the first N (linear growth tracks x N). "
          "peak = tracemalloc peak of Python allocations during the cycles (spec excluded); "
          "marg KB = extra peak per extra task against the previous row; RSS+ = ru_maxrss "
          "growth over the same span (allocator slack included); req/task = HTTP requests per "
          "cycle (create + polls + download); req/s = the sandbox's throughput. Once the "
          "sandbox saturates, a poll waits in its queue longer than the poll interval, so "
          "polls per task fall and wall time ≈ total requests / throughput.")


if __name__ == "__main__":
    main()
