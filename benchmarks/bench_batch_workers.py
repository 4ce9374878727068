"""A shared PostgreSQL journal: jobs per second and CPU per job with 1, 2 and 4 workers
against the sandbox, beside the SQLite journal in the same run; and the journal's own
cost per job on each.

Run: python benchmarks/bench_batch_workers.py [--jobs 400] [--repeat 3] [--workers 1 2 4]

Needs PostgreSQL's server binaries (``apt-get install postgresql``) and psycopg
(``pip install -e '.[postgres]'``). A throwaway cluster is started on a loopback port with
PostgreSQL's durable defaults (fsync on, synchronous_commit on), as a real journal runs.

The sandbox runs in its own process with its limits raised (it never throttles), tasks
take ``TASK_SECONDS``, polled every ``POLL`` s. Each worker is a child process (CPU is
``getrusage`` of the children: client and journal work, not the sandbox's nor the
server's). Contenders, each draining the same number of jobs:

* ``sqlite``: one ``Batch.run`` on the SQLite journal (one process is all it allows);
* ``pg×N``: N workers on one PostgreSQL batch, each ``--concurrency`` ``PER_WORKER``.

jobs/s is over the batch's wall time from the first worker's start to the last one's end
(after imports and loading the spec, which every worker pays once).
The rate is the client's ceiling here, not Runway's: against the real API the
organization's limits set the rate (README, "Batches beyond one machine").

The journal alone: five changes per job (claim, submitting, submitted, succeeded,
downloaded; SQLite has no claim write) one transaction at a time, and through the
runner's writer with 64 jobs moving at once (group commit).
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "batch"))  # the throwaway cluster helper

TASK_SECONDS = 0.1
POLL = 0.1
PER_WORKER = 16
REQUESTS_AT_ONCE = 16
KEY = "bench-key-not-secret"


def _lines(spec: Any, n: int) -> list[dict[str, Any]]:
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return [{"endpoint": "text_to_image", "model": model, "promptText": f"shot {i}",
                     "ratio": ratios[0]} for i in range(n)]
    raise SystemExit("no text_to_image model with only promptText and ratio in this spec")


def _client(spec: Any, url: str) -> Any:
    import httpx

    from runway_dynamic.client import AsyncRunwayClient

    limits = httpx.Limits(max_connections=REQUESTS_AT_ONCE,
                          max_keepalive_connections=REQUESTS_AT_ONCE)
    return AsyncRunwayClient(KEY, base_url=url, spec=spec, poll_interval=POLL, timeout=120,
                             http_client=httpx.AsyncClient(timeout=120, limits=limits),
                             max_concurrent_requests=REQUESTS_AT_ONCE)


def child(sandbox: str, journal: str, name: str, out: str) -> None:
    """One worker: run the batch (a file, or a PostgreSQL batch) until nothing is left."""
    import httpx  # noqa: F401 - imported before the baseline: not per-job cost

    from runway_dynamic.batch import Batch, BatchOptions
    from runway_dynamic.spec import load_spec

    spec = load_spec()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.time()  # wall clock: comparable across the workers' processes

    async def go() -> int:
        with Batch.open(journal, name=name if "://" in journal else None,
                        output_dir=out) as batch:
            async with _client(spec, sandbox) as client:
                report = await batch.run(client, BatchOptions(
                    concurrency=PER_WORKER, retry_backoff_seconds=0, read_org_limits=False))
            return int(report.outcome.created)

    created = asyncio.run(go())
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"began": began, "ended": ended, "cpu": cpu, "created": created}))


def _create(spec: Any, journal: str, n: int, tmp: Path, name: str) -> None:
    from runway_dynamic.batch import Batch, load_jobs

    jobs_file = tmp / f"{name}.jsonl"
    jobs_file.write_text("".join(json.dumps(x) + "\n" for x in _lines(spec, n)))
    Batch.create(load_jobs(jobs_file, spec), output_dir=tmp / name, journal=journal,
                 name=name, spec=spec).close()


def _round(spec: Any, sandbox: str, journal: str, name: str, workers: int,
           tmp: Path) -> dict[str, float]:
    """Drain one batch with ``workers`` child processes: the wall time from the first
    worker's start to the last one's end (interpreter start-up left out), summed CPU,
    creates."""
    procs = [subprocess.Popen([sys.executable, __file__, "--child", sandbox, journal, name,
                               str(tmp / f"{name}-w{n}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(workers)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    return {"wall": wall, "cpu": sum(r["cpu"] for r in results),
            "created": sum(r["created"] for r in results)}


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


def journal_cost(url: str, n: int = 500, concurrency: int = 64) -> dict[str, float]:
    """Seconds per job for a job's journal changes on each journal, one transaction each
    and grouped by the writer; and the client CPU per job of the grouped run."""
    from runway_dynamic.batch import BatchJob, Journal
    from runway_dynamic.batch.journal import JournalBase
    from runway_dynamic.batch.postgres import PostgresJournal
    from runway_dynamic.batch.writer import JournalWriter, LocalJournalWriter, writer_for

    jobs = [BatchJob(f"job-{i:05d}", i, "text_to_image", {"model": "m", "promptText": str(i)})
            for i in range(1, n + 1)]

    def steps(journal: JournalBase, key: str) -> list[Any]:
        return [(journal.mark_submitting, (key,)), (journal.mark_submitted, (key, f"t-{key}")),
                (journal.mark_succeeded, (key, [f"{key}.png"])),
                (journal.mark_downloaded, (key, [f"{key}.png"]))]

    def opened(kind: str, tag: str, tmp: Path) -> JournalBase:
        if kind == "sqlite":
            return Journal.create(tmp / f"{tag}.sqlite3", jobs, {})
        journal = PostgresJournal.create(url, tag, jobs, {})
        journal.register(concurrency=concurrency)
        return journal

    def claim(journal: JournalBase, count: int) -> list[str]:
        if isinstance(journal, PostgresJournal):
            return [r.key for r in journal.claim_jobs(count)]
        return []

    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for kind in ("sqlite", "pg"):
            journal = opened(kind, f"{kind}-alone", tmp)
            start = time.perf_counter()
            for job in jobs:
                claim(journal, 1)
                for method, args in steps(journal, job.key):
                    method(*args)
            found[f"{kind}_alone"] = (time.perf_counter() - start) / n
            journal.close()

            journal = opened(kind, f"{kind}-grouped", tmp)
            writer = writer_for(journal)

            async def grouped(journal: JournalBase = journal,
                              writer: JournalWriter | LocalJournalWriter = writer
                              ) -> None:
                gate = asyncio.Semaphore(concurrency)

                async def one(key: str) -> None:
                    async with gate:
                        await writer.alone(claim, journal, 1)
                        for method, args in steps(journal, key):
                            await writer.call(method, *args)

                await asyncio.gather(*(one(j.key) for j in jobs))

            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            asyncio.run(grouped())
            found[f"{kind}_grouped"] = (time.perf_counter() - start) / n
            after = resource.getrusage(resource.RUSAGE_SELF)
            found[f"{kind}_cpu"] = ((after.ru_utime - before.ru_utime)
                                    + (after.ru_stime - before.ru_stime)) / n
            writer.close()
            journal.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    import pg_cluster

    from runway_dynamic.spec import load_spec

    why = pg_cluster.unavailable()
    if why is not None:
        raise SystemExit(f"cannot run: {why}")
    spec = load_spec()
    print(f"sandbox: own process, tasks {TASK_SECONDS}s, limits raised; each worker: "
          f"--concurrency {PER_WORKER}, poll {POLL}s; {args.jobs} jobs; PostgreSQL: "
          f"throwaway cluster, durable defaults; {os.cpu_count()} CPUs; median of "
          f"{args.repeat}")
    rows: dict[str, list[dict[str, float]]] = {}
    with pg_cluster.cluster(durable=True) as cluster, \
            tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = cluster.database("bench")
        for round_no in range(args.repeat):
            proc, sandbox = _sandbox()
            try:
                name = f"sqlite{round_no}"
                _create(spec, str(tmp / f"{name}.sqlite3"), args.jobs, tmp, name)
                rows.setdefault("sqlite", []).append(
                    _round(spec, sandbox, str(tmp / f"{name}.sqlite3"), name, 1, tmp))
                for workers in args.workers:
                    name = f"pg{workers}x{round_no}"
                    _create(spec, url, args.jobs, tmp, name)
                    rows.setdefault(f"pg×{workers}", []).append(
                        _round(spec, sandbox, url, name, workers, tmp))
            finally:
                proc.terminate()
                proc.wait(10)
        cost = journal_cost(url)

    print(f"\n{'journal':>8} {'jobs/s':>8} {'vs sqlite':>10} {'CPU ms/job':>11} "
          f"{'creates':>8}")
    base = statistics.median(args.jobs / r["wall"] for r in rows["sqlite"])
    for kind, found in rows.items():
        rate = statistics.median(args.jobs / r["wall"] for r in found)
        cpu = statistics.median(r["cpu"] / args.jobs * 1e3 for r in found)
        created = {int(r["created"]) for r in found}
        print(f"{kind:>8} {rate:>8.1f} {rate / base:>10.2f} {cpu:>11.2f} "
              f"{'/'.join(map(str, sorted(created))):>8}")
    print(f"\njournal alone, per job (4 changes; PostgreSQL also 1 claim): one transaction "
          f"each — SQLite {cost['sqlite_alone'] * 1e3:.2f} ms, PostgreSQL "
          f"{cost['pg_alone'] * 1e3:.2f} ms; grouped by the writer, 64 jobs at once — SQLite "
          f"{cost['sqlite_grouped'] * 1e3:.3f} ms ({cost['sqlite_cpu'] * 1e3:.3f} ms CPU), "
          f"PostgreSQL {cost['pg_grouped'] * 1e3:.3f} ms ({cost['pg_cpu'] * 1e3:.3f} ms "
          "client CPU)")


if __name__ == "__main__":
    main()
