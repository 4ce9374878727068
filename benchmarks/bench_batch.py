"""Batch runs against the sandbox: jobs per second by concurrency, CPU and memory per 1,000
jobs, and the journal's cost per job — each against a plain-script peer in the same run.

Run: python benchmarks/bench_batch.py [--jobs 1000] [--repeat 3] [--levels 1 8 64 256] [--promises]

The sandbox runs in its own process (``runway sandbox serve``, limits raised so that it never
throttles), tasks take ``TASK_SECONDS`` and are polled every ``POLL`` s. Each measurement runs
in a fresh child process, so CPU time (user + system, ``getrusage``) and memory are the
client's alone. Two contenders do the same work (create, wait, download one PNG per job):

* ``batch``: ``runway_dynamic.batch`` — jobs read from a JSONL file and pre-flighted, the SQLite
  journal (WAL, synchronous=FULL, group commit), per-model pacing, job-named atomic files;
* ``gather``: the peer a user would write in ten lines — ``asyncio.gather`` over
  ``AsyncRunwayClient.run`` + ``download`` behind a semaphore; no journal, no resume;
* ``bare``: the same ten lines on a bare ``httpx.AsyncClient`` — POST the create, sleep
  ``POLL``, GET the task until it ends, GET its output and write the file; no pre-flight,
  no retries, no journal. The goal (issue 16): batch within 1.1x its CPU per job.

All use the same client settings (16 requests on the wire, a pool of 16). ``batch`` and
``gather`` use the client as the library and ``runway batch`` build it (``AsyncRunwayClient``
makes its own pool, with the linear bookkeeping pass of :mod:`runway_dynamic._pool`);
``batch-stock`` is the batch again on a caller's plain ``httpx.AsyncClient`` (httpcore's own
pool, as ``bare`` has), so the pool's share and the rest's are told apart. At concurrency 1 a
job is bound by latency, so fewer jobs are run there (jobs/s stays comparable). Medians of
``--repeat`` rounds; ratios are each contender ÷ bare of the same round.

``--promises`` also runs the batch without each of the promises the bare script does not
keep, one at a time and all together, to say what each costs (issue 16's closing note):

* ``fsync``: files and journal commits are not waited onto the disk (``os.fsync`` a no-op,
  the journal's ``synchronous=OFF``);
* ``thread``: the journal's commits (and the files' syncs and names that ride on them) run
  on the event loop instead of a thread, so no thread hand-off is paid;
* ``atomic``: each output is written under its final name at once (no unnamed file
  claimed by ``linkat``).

These patch the product inside the benchmark's own child process only: they are for
measuring, never a setting of the product.

The journal is also measured alone: four changes per job (submitting, submitted, succeeded,
downloaded) one transaction at a time, and through the runner's writer with 64 jobs moving
at once (group commit), both synchronous=FULL as in a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

TASK_SECONDS = 0.1
POLL = 0.1
REQUESTS_AT_ONCE = 16
LEVELS = (1, 8, 64, 256)
KEY = "bench-key-not-secret"


def _lines(spec: Any, n: int) -> list[dict[str, Any]]:
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return [{"endpoint": "text_to_image", "model": model, "promptText": f"shot {i}",
                     "ratio": ratios[0]} for i in range(n)]
    raise SystemExit("no text_to_image model with only promptText and ratio in this spec")


def _client(spec: Any, url: str, *, stock: bool = False) -> Any:
    """The client as users get it (its own pool of ``REQUESTS_AT_ONCE``); with ``stock``, on
    a caller's plain ``httpx.AsyncClient`` of the same size (httpcore's own pool)."""
    import httpx

    from runway_dynamic.client import AsyncRunwayClient

    if not stock:
        return AsyncRunwayClient(KEY, base_url=url, spec=spec, poll_interval=POLL, timeout=120,
                                 max_connections=REQUESTS_AT_ONCE)
    limits = httpx.Limits(max_connections=REQUESTS_AT_ONCE,
                          max_keepalive_connections=REQUESTS_AT_ONCE)
    return AsyncRunwayClient(KEY, base_url=url, spec=spec, poll_interval=POLL, timeout=120,
                             http_client=httpx.AsyncClient(timeout=120, limits=limits),
                             max_concurrent_requests=REQUESTS_AT_ONCE)


async def _batch(spec: Any, url: str, n: int, concurrency: int, tmp: Path, *,
                 stock: bool = False) -> int:
    from runway_dynamic.batch import Batch, BatchOptions, load_jobs

    jobs_file = tmp / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps(x) + "\n" for x in _lines(spec, n)))
    batch = Batch.create(load_jobs(jobs_file, spec), output_dir=tmp / "out", spec=spec)
    async with _client(spec, url, stock=stock) as client:
        report = await batch.run(client, BatchOptions(concurrency=concurrency,
                                                      retry_backoff_seconds=0))
    done = report.status.counts["downloaded"]
    batch.close()
    return int(done)


async def _batch_stock(spec: Any, url: str, n: int, concurrency: int, tmp: Path) -> int:
    return await _batch(spec, url, n, concurrency, tmp, stock=True)


async def _gather(spec: Any, url: str, n: int, concurrency: int, tmp: Path) -> int:
    lines = _lines(spec, n)
    gate = asyncio.Semaphore(concurrency)
    async with _client(spec, url) as client:

        async def one(index: int, line: dict[str, Any]) -> int:
            body = {k: v for k, v in line.items() if k != "endpoint"}
            async with gate:
                task = await client.run("text_to_image", body, timeout=300)
            return len(await client.download(task, tmp / "out" / str(index)))

        return sum(await asyncio.gather(*(one(i, x) for i, x in enumerate(lines))))


async def _bare(spec: Any, url: str, n: int, concurrency: int, tmp: Path) -> int:
    import httpx

    lines = _lines(spec, n)
    headers = {"Authorization": f"Bearer {KEY}"}
    for op in spec.catalog.operations:
        headers.update(op.constant_headers)
    gate = asyncio.Semaphore(concurrency)
    (tmp / "out").mkdir()
    limits = httpx.Limits(max_connections=REQUESTS_AT_ONCE,
                          max_keepalive_connections=REQUESTS_AT_ONCE)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=120) as http:

        async def one(index: int, line: dict[str, Any]) -> int:
            body = {k: v for k, v in line.items() if k != "endpoint"}
            async with gate:
                created = await http.post("/v1/text_to_image", json=body)
                created.raise_for_status()
                task_id = created.json()["id"]
                while True:
                    await asyncio.sleep(POLL)
                    polled = await http.get(f"/v1/tasks/{task_id}")
                    polled.raise_for_status()
                    task = polled.json()
                    if task["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                        break
            if task["status"] != "SUCCEEDED":
                return 0
            answer = await http.get(task["output"][0])
            answer.raise_for_status()
            (tmp / "out" / f"{index}.png").write_bytes(answer.content)
            return 1

        return sum(await asyncio.gather(*(one(i, x) for i, x in enumerate(lines))))


#: What ``--promises`` switches off, one at a time and then together (see the docstring).
PROMISES = ("fsync", "thread", "atomic")


def _without(promises: set[str]) -> None:
    """Measurement only: patch this child process so the batch runs without ``promises``."""
    if "fsync" in promises:
        import runway_dynamic.batch.journal as journal_module

        os.fsync = lambda fd: None
        connect = journal_module._connect

        def unsynced(path: Path, *, readonly: bool) -> Any:
            db = connect(path, readonly=readonly)
            if not readonly:
                db.execute("PRAGMA synchronous = OFF")
            return db

        journal_module._connect = unsynced  # type: ignore[assignment]
    if "thread" in promises:
        from concurrent.futures import Executor, Future

        from runway_dynamic.batch.writer import LocalJournalWriter

        class OnTheLoop(Executor):
            """Runs each commit where it is handed over (the event loop), not in a thread."""

            def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
                done: Future[Any] = Future()
                try:
                    done.set_result(fn(*args, **kwargs))
                except Exception as exc:
                    done.set_exception(exc)
                return done

        made = LocalJournalWriter.__init__

        def commit_on_the_loop(self: Any, journal: Any) -> None:
            made(self, journal)
            self._thread.shutdown()
            self._thread = OnTheLoop()

        LocalJournalWriter.__init__ = commit_on_the_loop  # type: ignore[method-assign]
    if "atomic" in promises:
        import runway_dynamic.downloads as downloads

        def named_at_once(target: Path, suffix: str = ".tmp") -> tuple[int, None]:
            target.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            return os.open(target, flags, 0o666), None

        downloads.staged_file_beside = named_at_once  # type: ignore[assignment]
        downloads.link_staged = lambda fd, tmp, target: None  # type: ignore[assignment]


def child(kind: str, url: str, n: int, concurrency: int, trace: bool,
          without: set[str] | None = None) -> None:
    import httpx  # noqa: F401 - imported before the baseline: not per-job memory

    import runway_dynamic.batch
    import runway_dynamic.client  # noqa: F401
    from runway_dynamic.spec import load_spec

    _without(without or set())
    spec = load_spec()
    work = {"batch": _batch, "gather": _gather, "bare": _bare, "batch-stock": _batch_stock}[kind]
    with tempfile.TemporaryDirectory() as tmp:
        if trace:
            tracemalloc.start()
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        done = asyncio.run(work(spec, url, n, concurrency, Path(tmp)))
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        peak = tracemalloc.get_traced_memory()[1] if trace else None
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"wall": wall, "cpu": cpu, "done": done, "peak": peak,
                      "rss_growth": (after.ru_maxrss - before.ru_maxrss) * 1024}))


def _measure(kind: str, url: str, n: int, concurrency: int, *, trace: bool = False,
             without: tuple[str, ...] = ()) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--url", url,
                           "--jobs", str(n), "--levels", str(concurrency),
                           *(["--trace"] if trace else []),
                           *(["--without", ",".join(without)] if without else [])],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["done"] != n:
        raise SystemExit(f"{kind}: only {result['done']} of {n} jobs finished")
    return result


def _sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic", "sandbox", "serve", "--no-auth",
         "--task-seconds", str(TASK_SECONDS), "--concurrency-limit", "1000000",
         "--daily-limit", "100000000", "--credits", "1000000000000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {url!r}")
    return proc, url


def journal_overhead(n: int = 1000, concurrency: int = 64) -> tuple[float, float, float]:
    """Seconds per job for four journal changes: one transaction each, and grouped by the
    runner's writer with ``concurrency`` jobs moving at once; and changes per commit."""
    from runway_dynamic.batch import BatchJob, Journal
    from runway_dynamic.batch.writer import writer_for

    jobs = [BatchJob(f"job-{i:05d}", i, "text_to_image", {"promptText": f"shot {i}"})
            for i in range(1, n + 1)]

    def steps(journal: Journal, key: str) -> list[Any]:
        return [(journal.mark_submitting, (key,)), (journal.mark_submitted, (key, f"t-{key}")),
                (journal.mark_succeeded, (key, [f"{key}.png"])),
                (journal.mark_downloaded, (key, [f"{key}.png"]))]

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal.create(Path(tmp) / "a.sqlite3", jobs, {})
        start = time.perf_counter()
        for job in jobs:
            for method, args in steps(journal, job.key):
                method(*args)
        alone = (time.perf_counter() - start) / n
        journal.close()

        journal = Journal.create(Path(tmp) / "b.sqlite3", jobs, {})
        writer = writer_for(journal)

        async def grouped() -> None:
            gate = asyncio.Semaphore(concurrency)

            async def one(key: str) -> None:
                async with gate:
                    for method, args in steps(journal, key):
                        await writer.call(method, *args)

            await asyncio.gather(*(one(j.key) for j in jobs))

        start = time.perf_counter()
        asyncio.run(grouped())
        together = (time.perf_counter() - start) / n
        writer.close()
        per_commit = writer.changes / max(1, writer.commits)
        journal.close()
    return alone, together, per_commit


def promise_costs(n: int, repeat: int, concurrency: int = 64) -> None:
    """The batch's CPU per job without each promise (and without all), against the bare
    script in the same round: what each promise costs, as a share of the gap."""
    contenders: list[tuple[str, tuple[str, ...]]] = [
        ("bare", ()), ("batch", ()), *(("batch", (p,)) for p in PROMISES),
        ("batch", PROMISES)]
    rounds: list[list[float]] = []
    for _ in range(repeat):
        proc, url = _sandbox()
        try:
            rounds.append([_measure(kind, url, n, concurrency, without=without)["cpu"]
                           for kind, without in contenders])
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\nwhat each promise costs (concurrency {concurrency}, {n} jobs; CPU ÷ bare of the "
          "same round, median and range; measurement only):")
    gap = statistics.median(r[1] / r[0] for r in rounds) - 1
    for i, (kind, without) in enumerate(contenders[1:], start=1):
        ratios = [r[i] / r[0] for r in rounds]
        label = kind + (" without " + "+".join(without) if without else "")
        saved = statistics.median((r[1] - r[i]) / r[0] for r in rounds)
        share = f"; saves {saved:+.3f} of bare ({saved / gap:.0%} of the gap)" if (
            without and gap > 0) else ""
        print(f"  {label:>38}: {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f}){share}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--levels", type=int, nargs="*", default=list(LEVELS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without", default="", help=argparse.SUPPRESS)
    parser.add_argument("--promises", action="store_true",
                        help="also measure the batch without each promise the bare script "
                             "does not keep (measurement only)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.jobs, args.levels[0], args.trace,
              set(filter(None, args.without.split(","))))
        return

    print(f"sandbox: own process, tasks {TASK_SECONDS}s, limits raised; client: poll {POLL}s, "
          f"{REQUESTS_AT_ONCE} requests on the wire; {os.cpu_count()} CPUs; "
          f"median of {args.repeat}")
    print(f"\n{'conc':>5} {'jobs':>5} {'batch j/s':>10} {'gather j/s':>11} {'bare j/s':>9} "
          f"{'CPU ms/job: batch':>18} {'gather':>7} {'bare':>6} {'batch/bare':>11} "
          f"{'gather/bare':>12}")
    for level in args.levels:
        n = args.jobs if level > 1 else min(args.jobs, 40)
        rounds: list[dict[str, dict[str, Any]]] = []
        for _ in range(args.repeat):
            proc, url = _sandbox()
            try:
                rounds.append({kind: _measure(kind, url, n, level)
                               for kind in ("batch", "gather", "bare", "batch-stock")})
            finally:
                proc.terminate()
                proc.wait(10)

        rate = {k: statistics.median(n / r[k]["wall"] for r in rounds) for k in rounds[0]}
        cpu = {k: statistics.median(r[k]["cpu"] / n * 1e3 for r in rounds) for k in rounds[0]}
        # CPU ratios within each round, then their median
        ratios = {k: [r[k]["cpu"] / r["bare"]["cpu"] for r in rounds] for k in rounds[0]}
        versus = {k: statistics.median(v) for k, v in ratios.items()}
        print(f"{level:>5} {n:>5} {rate['batch']:>10.1f} {rate['gather']:>11.1f} "
              f"{rate['bare']:>9.1f} {cpu['batch']:>18.2f} {cpu['gather']:>7.2f} "
              f"{cpu['bare']:>6.2f} {versus['batch']:>11.2f} {versus['gather']:>12.2f}",
              flush=True)
        # the machine is noisy: every round's figures, so a median comes with its spread
        for kind in ("batch", "gather", "bare", "batch-stock"):
            per_job = ", ".join(f"{r[kind]['cpu'] / n * 1e3:.2f}" for r in rounds)
            spread = "" if kind == "bare" else (
                f"; /bare {versus[kind]:.2f} ({min(ratios[kind]):.2f}-"
                f"{max(ratios[kind]):.2f})")
            print(f"{'':>5}{kind:>12} CPU ms/job by round: {per_job}{spread}")

    if args.promises:
        promise_costs(args.jobs, args.repeat)

    print(f"\nmemory and CPU for {args.jobs} jobs (concurrency 64; tracemalloc peak of Python "
          "allocations during the run, RSS growth; fixed costs included, so use --jobs 1000 "
          "for per-1,000 figures):")
    proc, url = _sandbox()
    try:
        for kind in ("batch", "gather"):
            traced = _measure(kind, url, args.jobs, 64, trace=True)
            timed = _measure(kind, url, args.jobs, 64)
            print(f"  {kind:>6}: peak {traced['peak'] / 2**20:6.2f} MB, RSS growth "
                  f"{timed['rss_growth'] / 2**20:6.2f} MB, CPU {timed['cpu']:5.2f} s")
    finally:
        proc.terminate()
        proc.wait(10)

    alone, together, per_commit = journal_overhead()
    print(f"\njournal, 4 changes per job (synchronous=FULL): {alone * 1e3:.2f} ms/job one "
          f"transaction each; {together * 1e3:.3f} ms/job grouped by the writer with 64 jobs "
          f"at once ({per_commit:.1f} changes per commit)")


if __name__ == "__main__":
    main()
