"""Many ``runway batch worker`` processes on one PostgreSQL journal, against the sandbox
with organization limits: a worker SIGKILLed at random moments costs nothing twice, and
the workers together keep within the organization's concurrency.

The sandbox's own task records (what ``/_sandbox/tasks`` lists) are the proof: one task per
job, however the workers died.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from batch_support import KEY, PNG_MAGIC, image_jobs, image_model, tasks_by_prompt, write_jsonl

from runway_dynamic.batch import Batch, BatchOptions, load_jobs
from runway_dynamic.batch.pacing import headroom
from runway_dynamic.sandbox import OrgLimits, Sandbox
from runway_dynamic.spec import Spec

pytestmark = pytest.mark.usefixtures("pg_cluster")
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def _env(sandbox: Sandbox) -> dict[str, str]:
    return {**os.environ, "RUNWAY_API_KEY": KEY, "RUNWAY_BASE_URL": sandbox.base_url}


def _runway(*args: str) -> list[str]:
    return [sys.executable, "-m", "runway_dynamic", *args]


def _run(sandbox: Sandbox, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_runway(*args), capture_output=True, text=True, env=_env(sandbox),
                          timeout=timeout)
    assert KEY not in done.stdout + done.stderr, "the API key was printed"
    return done


def _create(spec: Spec, url: str, tmp_path: Path, count: int, name: str) -> None:
    jobs = load_jobs(write_jsonl(tmp_path / f"{name}.jsonl", image_jobs(spec, count)), spec)
    Batch.create(jobs, output_dir=tmp_path / "created", journal=url, name=name, spec=spec,
                 options=BatchOptions(retry_backoff_seconds=0)).close()


def _worker(sandbox: Sandbox, url: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _runway("batch", "worker", "--journal", url, "--output-dir", str(out),
                "--poll-interval", "0.05", "--lease-seconds", "2.5", *extra),
        env=_env(sandbox), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _settle_uncertain(sandbox: Sandbox, url: str, name: str) -> int:
    """What a person does with the dashboard: find each uncertain job's task by its prompt
    and give its id, or say it made none."""
    with Batch.open(url, name=name, readonly=True) as batch:
        uncertain = batch.journal.jobs(["uncertain"])
    for record in uncertain:
        with sandbox.state.lock:
            made = [t.id for t in sandbox.state.tasks.values()
                    if t.body.get("promptText") == record.body["promptText"]]
        assert len(made) <= 1, "a job was submitted twice"
        how = ["--task-id", made[0]] if made else ["--not-submitted"]
        done = _run(sandbox, "batch", "resolve", "--journal", url, "--batch", name,
                    "--job", record.key, *how)
        assert done.returncode == 0, done.stderr
    return len(uncertain)


def test_run_status_results_and_resolve_take_a_postgresql_journal(
    bundled_spec: Spec, sandbox: Sandbox, pg_url: str, tmp_path: Path,
) -> None:
    jobs = write_jsonl(tmp_path / "shots.jsonl", image_jobs(bundled_spec, 6))
    done = _run(sandbox, "batch", "run", str(jobs), "--journal", pg_url, "--output-dir",
                str(tmp_path / "out"), "--poll-interval", "0.05")
    assert done.returncode == 0, done.stderr
    assert "--journal 'postgresql://runway@127.0.0.1:" in done.stderr
    assert json.loads(done.stdout)["status"]["counts"]["downloaded"] == 6
    env_status = subprocess.run(_runway("batch", "status"), capture_output=True, text=True,
                                env={**_env(sandbox), "RUNWAY_JOURNAL_URL": pg_url},
                                timeout=60)
    assert env_status.returncode == 0 and "6 jobs — 6 downloaded" in env_status.stdout
    rows = [json.loads(x) for x in _run(sandbox, "batch", "results", "--journal", pg_url,
                                        "--batch", "shots").stdout.splitlines()]
    assert len(rows) == 6 and all(r["host"] and Path(r["files"][0]).is_file() for r in rows)
    assert sandbox.state.created_tasks == 6


def test_an_uncertain_job_is_settled_by_hand_then_resumed(
    bundled_spec: Spec, sandbox: Sandbox, pg_url: str, tmp_path: Path,
) -> None:
    """A worker stopped with a create out leaves the job uncertain; 'batch resolve
    --journal … --not-submitted' puts it back, and a resume sends it (once)."""
    from runway_dynamic.batch.postgres import PostgresJournal

    _create(bundled_spec, pg_url, tmp_path, 2, "hand")
    gone = PostgresJournal.open(pg_url, "hand")
    gone.register(concurrency=2)
    gone.claim_jobs(1)
    gone.mark_submitting("job-0001")  # ... and the process died before sending
    gone.leave()
    gone.close()
    status = _run(sandbox, "batch", "status", "--journal", pg_url, "--json")
    assert status.returncode == 1
    resumed = _run(sandbox, "batch", "resume", "--journal", pg_url, "--poll-interval", "0.05")
    assert resumed.returncode == 1 and "uncertain" in resumed.stderr
    assert sandbox.state.created_tasks == 1, "the uncertain job was not sent"
    settled = _run(sandbox, "batch", "resolve", "--journal", pg_url, "--job", "job-0001",
                   "--not-submitted")
    assert settled.returncode == 0 and "job-0001: pending" in settled.stdout
    assert "--journal 'postgresql://runway@127.0.0.1:" in settled.stderr
    done = _run(sandbox, "batch", "resume", "--journal", pg_url, "--batch", "hand",
                "--poll-interval", "0.05", "--output-dir", str(tmp_path / "here"))
    assert done.returncode == 0, done.stderr
    assert sandbox.state.created_tasks == 2 and set(tasks_by_prompt(sandbox).values()) == {1}
    # the settled job's output is saved where this resume was told, on this machine
    rows = {r["job"]: r for r in map(json.loads, _run(
        sandbox, "batch", "results", "--journal", pg_url, "--batch", "hand").stdout.splitlines())}
    saved = Path(rows["job-0001"]["files"][0])
    assert saved.parent == tmp_path / "here" and saved.read_bytes().startswith(PNG_MAGIC)


def test_three_workers_one_killed_at_random_moments_do_every_job_exactly_once(
    bundled_spec: Spec, pg_url: str, tmp_path: Path,
) -> None:
    """3 workers drain 300 jobs; one is SIGKILLed at random moments and restarted. Claims
    it held return after its lease, its running tasks are taken over, its creates that
    were out become uncertain and a person settles them from the dashboard. In the end:
    300 jobs downloaded, 300 creates at the sandbox, one per job, every output on disk."""
    count, name = 300, "big"
    rng = random.Random(19)
    limits = OrgLimits(concurrency=10, daily=None, credits=None)
    with Sandbox(spec=bundled_spec, task_seconds=0.3, limits=limits) as sb:
        _create(bundled_spec, pg_url, tmp_path, count, name)
        outs = [tmp_path / f"w{n}" for n in range(3)]
        workers = [_worker(sb, pg_url, out) for out in outs]
        kills = 0
        deadline = time.monotonic() + 120
        while workers[1].poll() is None or workers[2].poll() is None:
            assert time.monotonic() < deadline, "the workers did not finish"
            time.sleep(rng.uniform(0.3, 1.5))
            if workers[0].poll() is None and kills < 4:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(10)
                kills += 1
                workers[0] = _worker(sb, pg_url, outs[0])
        workers[0].wait(60)
        with Batch.open(pg_url, name=name, readonly=True) as batch:
            left = batch.status().counts
        for proc in workers:
            # a worker that ends while a killed worker's create is uncertain exits 1: a
            # person must settle it (below); any other failure is a failure
            said = proc.stderr.read().decode() if proc.stderr else ""
            assert proc.returncode == 0 or (proc.returncode == 1 and left.get("uncertain")), (
                proc.returncode, left, said)
        assert kills >= 3
        settled = _settle_uncertain(sb, pg_url, name)
        if settled:
            final = _run(sb, "batch", "resume", "--journal", pg_url, "--batch", name,
                         "--output-dir", str(outs[0] / name), "--poll-interval", "0.05")
            assert final.returncode == 0, final.stderr
        with Batch.open(pg_url, name=name, readonly=True) as batch:
            counts = batch.status().counts
            rows = batch.results()
            tasks = batch.journal.tasks()
        assert counts["downloaded"] == count, counts
        per_prompt = tasks_by_prompt(sb)
        assert len(per_prompt) == count and set(per_prompt.values()) == {1}, (
            "every job was submitted exactly once")
        assert sb.state.created_tasks == count == len(tasks)
        listed = httpx.get(sb.url("/_sandbox/tasks"), timeout=30).json()["data"]
        assert len(listed) == count, "the sandbox's task list: one task per job"
    files = [Path(r["files"][0]) for r in rows]
    assert len(set(files)) == count and all(f.read_bytes().startswith(PNG_MAGIC) for f in files)
    assert {f.parent.parent for f in files} <= set(outs), "each worker saved in its own folder"
    print(f"{kills} kills, {settled} uncertain job(s) settled by hand; outputs per worker: "
          f"{Counter(f.parent.parent.name for f in files)}")


def _most_at_once(spans: list[tuple[float, float]], slack: float = 0.005) -> int:
    """The most of ``[start, end)`` spans open at one moment (ends first on ties; spans that
    touch within ``slack`` do not overlap: the sandbox's clock reads differ by that)."""
    events = sorted([(end - slack, -1) for _, end in spans] + [(start, 1) for start, _ in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_workers_together_keep_within_the_organizations_concurrency(
    bundled_spec: Spec, pg_url: str, tmp_path: Path,
) -> None:
    """Concurrency limit 5 per model, 3 workers each allowed 8 in flight: the sandbox never
    runs more than 5 of the model at once, and the tasks it holds THROTTLED beyond them stay
    within one shared window's headroom — one window for all three workers, not three
    (three would hold up to 3 × (5 + 2) - 5 = 16 queued).

    Measured from the sandbox's own schedule of every task (created, queued, ran)."""
    model, _ = image_model(bundled_spec)
    limits = OrgLimits(concurrency=5, daily=None, credits=None)
    with Sandbox(spec=bundled_spec, task_seconds=0.3, limits=limits) as sb:
        _create(bundled_spec, pg_url, tmp_path, 90, "paced")
        workers = [_worker(sb, pg_url, tmp_path / f"w{n}", "--concurrency", "8")
                   for n in range(3)]
        for proc in workers:
            assert proc.wait(120) == 0, proc.stderr.read().decode() if proc.stderr else ""
        assert sb.state.created_tasks == 90
        with sb.state.lock:
            tasks = [t for t in sb.state.tasks.values() if t.model == model]
    running = _most_at_once([(t.created + t.throttled, t.created + t.throttled + t.seconds)
                             for t in tasks])
    queued = _most_at_once([(t.created, t.created + t.throttled) for t in tasks
                            if t.throttled > 0])
    assert running <= 5, "the organization's limit holds"
    assert queued >= 1, "the limit was reached: the sandbox queued some"
    # one shared window: 5 running + headroom(5), plus what its upward probing adds
    bound = headroom(5) + 3
    assert queued <= bound, f"queued at most {bound} beyond the limit, not {queued}"
    print(f"at most {running} running, {queued} queued THROTTLED, across 3 workers")
