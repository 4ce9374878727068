"""``runway batch`` as a user runs it: real subprocesses against the sandbox on loopback.

The crash test kills the batch with SIGKILL at random moments (several seeds), resumes it,
settles by hand the jobs whose create was out when it died, and then checks with the
sandbox's own records that every job was submitted exactly once and saved exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import (
    KEY,
    PNG_MAGIC,
    image_jobs,
    image_model,
    tasks_by_prompt,
    write_jsonl,
)

from runway_dynamic.batch import EXIT_PAUSED, Journal
from runway_dynamic.sandbox import OrgLimits, Sandbox
from runway_dynamic.spec import Spec


def _env(sandbox: Sandbox | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "RUNWAY_API_KEY": KEY, **extra}
    if sandbox is not None:
        env["RUNWAY_BASE_URL"] = sandbox.base_url
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "runway_dynamic", *args]


def runway(sandbox: Sandbox | None, *args: str, timeout: float = 120,
           **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_command(*args), capture_output=True, text=True,
                          env=_env(sandbox, **env), timeout=timeout)
    assert KEY not in done.stdout + done.stderr, "the API key was printed"
    return done


@pytest.fixture
def jobs_file(bundled_spec: Spec, tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 12))


@pytest.fixture
def slow_sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.3) as sb:
        yield sb


def _journal(tmp_path: Path) -> Path:
    return tmp_path / "out" / "journal.sqlite3"


def _counts(journal: Path) -> dict[str, int]:
    with Journal.open(journal, readonly=True) as opened:
        return opened.counts()


# --------------------------------------------------------------------------- the basics


def test_run_status_and_results(sandbox: Sandbox, jobs_file: Path, tmp_path: Path) -> None:
    done = runway(sandbox, "batch", "run", str(jobs_file), "--output-dir",
                  str(tmp_path / "out"), "--poll-interval", "0.05", "--concurrency", "4")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is not a terminal: JSON
    assert report["status"]["counts"]["downloaded"] == 12 and report["exitCode"] == 0
    assert "resume with: runway batch resume" in done.stderr
    assert sandbox.state.created_tasks == 12
    status = runway(None, "batch", "status", str(_journal(tmp_path)))
    assert status.returncode == 0 and "12 jobs — 12 downloaded" in status.stdout
    results = runway(None, "batch", "results", str(_journal(tmp_path)))
    rows = [json.loads(line) for line in results.stdout.splitlines()]
    assert [r["job"] for r in rows] == [f"job-{n:04d}" for n in range(1, 13)]
    assert all(Path(r["files"][0]).read_bytes().startswith(PNG_MAGIC) for r in rows)
    written = runway(None, "batch", "results", str(_journal(tmp_path)), "-o",
                     str(tmp_path / "copy.jsonl"))
    assert written.returncode == 0
    assert (tmp_path / "copy.jsonl").read_text() == results.stdout


def test_bad_lines_are_listed_with_their_numbers_before_anything_is_sent(
    sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path
) -> None:
    lines = image_jobs(bundled_spec, 5)
    lines[1]["ratio"] = "999:1"
    lines[3]["promtText"] = lines[3].pop("promptText")
    path = write_jsonl(tmp_path / "jobs.jsonl", lines)
    done = runway(sandbox, "batch", "run", str(path), "--output-dir", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "2 of 5 job line(s) failed the check; nothing was sent" in done.stderr
    assert "line 2: ratio '999:1' (--ratio)" in done.stderr
    assert "line 4: missing required field promptText (--prompt-text)" in done.stderr
    assert "line 4: 'promtText' is not a field" in done.stderr
    assert sandbox.state.requests == [], "nothing reached the API"
    assert not (tmp_path / "out").exists(), "no journal for a refused file"
    as_json = runway(sandbox, "--json", "batch", "run", str(path))
    problems = json.loads(as_json.stderr)["problems"]
    assert {p["line"] for p in problems} == {2, 4}


def test_skip_invalid_runs_the_rest(sandbox: Sandbox, bundled_spec: Spec,
                                    tmp_path: Path) -> None:
    lines = image_jobs(bundled_spec, 3)
    lines[0]["ratio"] = "1:999"
    path = write_jsonl(tmp_path / "jobs.jsonl", lines)
    done = runway(sandbox, "batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                  "--skip-invalid", "--poll-interval", "0.05")
    assert done.returncode == 0, done.stderr
    assert "skipped line 1" in done.stderr
    assert json.loads(done.stdout)["status"]["total"] == 2


def test_without_a_key_nothing_is_written_or_sent(sandbox: Sandbox, jobs_file: Path,
                                                  tmp_path: Path) -> None:
    env = {k: v for k, v in _env(sandbox).items() if k != "RUNWAY_API_KEY"}
    done = subprocess.run(_command("batch", "run", str(jobs_file), "--output-dir",
                                   str(tmp_path / "out")), capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 1 and "RUNWAY_API_KEY" in done.stderr
    assert not (tmp_path / "out").exists() and sandbox.state.requests == []


def test_dry_run_checks_and_shows_the_plan_without_sending(sandbox: Sandbox, jobs_file: Path,
                                                           tmp_path: Path) -> None:
    done = runway(sandbox, "batch", "run", str(jobs_file), "--dry-run", "--output-dir",
                  str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["jobs"] == 12 and plan["sent"] is False
    assert plan["journal"] == str(_journal(tmp_path))
    assert sandbox.state.requests == [] and not (tmp_path / "out").exists()


def test_a_csv_batch_with_the_default_folders(sandbox: Sandbox, bundled_spec: Spec,
                                              tmp_path: Path) -> None:
    """Without --output-dir, outputs go to runway-output/<jobs name>/ in the working dir."""
    model, ratio = image_model(bundled_spec)
    (tmp_path / "photos.csv").write_text(
        f"id,prompt,ratio\nhero,a red kite,{ratio}\nside,a blue kite,{ratio}\n",
        encoding="utf-8")
    done = subprocess.run(
        _command("batch", "run", "photos.csv", "--endpoint", "text_to_image", "--model",
                 model, "--poll-interval", "0.05"),
        capture_output=True, text=True, env=_env(sandbox), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "runway-output" / "photos"
    assert sorted(p.name for p in folder.glob("*.png")) == ["hero.png", "side.png"]
    assert (folder / "journal.sqlite3").is_file() and (folder / "results.jsonl").is_file()


def test_jobs_from_standard_input(sandbox: Sandbox, bundled_spec: Spec,
                                  tmp_path: Path) -> None:
    lines = "".join(json.dumps(x) + "\n" for x in image_jobs(bundled_spec, 3))
    done = subprocess.run(_command("batch", "run", "-", "--poll-interval", "0.05"),
                          input=lines, capture_output=True, text=True, env=_env(sandbox),
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"]["jobsFile"] == "<stdin>"
    assert report["status"]["outputDir"] == str(tmp_path / "runway-output" / "batch")
    assert len(list((tmp_path / "runway-output" / "batch").glob("job-*.png"))) == 3


def test_a_second_run_on_the_same_journal_is_refused(sandbox: Sandbox, jobs_file: Path,
                                                     tmp_path: Path) -> None:
    first = runway(sandbox, "batch", "run", str(jobs_file), "--output-dir",
                   str(tmp_path / "out"), "--poll-interval", "0.05")
    assert first.returncode == 0
    again = runway(sandbox, "batch", "run", str(jobs_file), "--output-dir",
                   str(tmp_path / "out"))
    assert again.returncode == 1 and "runway batch resume" in again.stderr
    assert sandbox.state.created_tasks == 12


def test_failures_give_exit_3_and_retry_failed_resubmits_only_retryable_ones(
    sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 3))
    fault = json.dumps({"X-Sandbox-Fault": "task-fail=INTERNAL.BAD_OUTPUT.CODE01"})
    first = runway(sandbox, "batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                   "--retry-on-internal-error", "0", "--poll-interval", "0.05",
                   RUNWAY_EXTRA_HEADERS=fault)
    assert first.returncode == 3, first.stderr
    status = runway(None, "batch", "status", str(_journal(tmp_path)), "--json")
    assert status.returncode == 1
    found = json.loads(status.stdout)
    assert found["counts"]["failed"] == 3 and all(f["retryable"] for f in found["failed"])
    assert any("retry-failed" in step for step in found["nextSteps"])
    retried = runway(sandbox, "batch", "retry-failed", str(_journal(tmp_path)),
                     "--poll-interval", "0.05")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"]["counts"]["downloaded"] == 3
    assert sandbox.state.created_tasks == 6


def test_a_cap_pauses_with_exit_75_and_resume_continues(bundled_spec: Spec,
                                                        tmp_path: Path) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=0.1, limits=OrgLimits(daily=4)) as sb:
        path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 6))
        first = runway(sb, "batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                       "--poll-interval", "0.05")
        assert first.returncode == EXIT_PAUSED, first.stderr
        assert "paused at a limit; 2 job(s) wait" in first.stderr
        sb.app.limits = OrgLimits(daily=100)
        second = runway(sb, "batch", "resume", str(_journal(tmp_path)), "--poll-interval",
                        "0.05", "--output-dir", str(tmp_path / "later"))
        assert second.returncode == 0, second.stderr
        assert sb.state.created_tasks == 6
    # what the resume fetched went where it was told, the rest stayed where it was saved
    rows = runway(None, "batch", "results", str(_journal(tmp_path)))
    folders = sorted(Path(json.loads(line)["files"][0]).parent.name
                     for line in rows.stdout.splitlines())
    assert folders == ["later"] * 2 + ["out"] * 4, folders


def test_an_unusable_output_folder_is_refused_before_anything_is_sent(
        sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path) -> None:
    """Exit 2 and no request: found at the first download instead, every create of the
    run would already be paid for."""
    from runway_dynamic.batch import Batch, load_jobs

    jobs = load_jobs(write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 2)),
                     bundled_spec)
    Batch.create(jobs, output_dir=tmp_path / "out", spec=bundled_spec).close()
    (tmp_path / "a-file").write_text("not a folder")
    done = runway(sandbox, "batch", "resume", str(_journal(tmp_path)), "--output-dir",
                  str(tmp_path / "a-file" / "outputs"))
    assert done.returncode == 2, done.stderr
    assert "output folder" in done.stderr and "a-file" in done.stderr
    assert sandbox.state.requests == [], "nothing was sent"
    assert _counts(_journal(tmp_path))["pending"] == 2


def test_wait_on_limit_keeps_going_once_the_limit_frees(bundled_spec: Spec,
                                                       tmp_path: Path) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=0.1, limits=OrgLimits(daily=3)) as sb:
        path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 5))
        proc = subprocess.Popen(
            _command("batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                     "--poll-interval", "0.05", "--wait-on-limit",
                     "--limit-recheck-seconds", "0.3"),
            env=_env(sb), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _journal(tmp_path).is_file() and _counts(_journal(tmp_path))[
            "downloaded"] == 3)
        time.sleep(1.0)
        assert proc.poll() is None, "still waiting at the limit, not paused"
        sb.app.limits = OrgLimits()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting at a limit" in err and json.loads(out)["status"]["counts"][
        "downloaded"] == 5


def test_a_damaged_journal_is_refused_and_left_as_it_was(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8000))
    before = path.read_bytes()
    for command in (["batch", "resume", str(path)], ["batch", "status", str(path)],
                    ["batch", "retry-failed", str(path)]):
        done = runway(sandbox, *command)
        assert done.returncode == 1 and "damaged" in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert sandbox.state.requests == []
    missing = runway(sandbox, "batch", "resume", str(tmp_path / "nope.sqlite3"))
    assert missing.returncode == 1 and "no batch journal here" in missing.stderr


def test_a_journal_in_use_by_another_batch_is_refused(slow_sandbox: Sandbox, bundled_spec: Spec,
                                                      tmp_path: Path) -> None:
    # enough jobs that the first run is still going however slowly the second one starts
    path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 200))
    first = subprocess.Popen(
        _command("batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                 "--concurrency", "2", "--poll-interval", "0.05"),
        env=_env(slow_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _journal(tmp_path).is_file() and _counts(_journal(tmp_path))[
            "downloaded"] >= 1)
        second = runway(slow_sandbox, "batch", "resume", str(_journal(tmp_path)))
        assert second.returncode == 1
        assert f"in use by runway batch (pid {first.pid})" in second.stderr
        status = runway(None, "batch", "status", str(_journal(tmp_path)))
        assert "200 jobs" in status.stdout, "status reads it while it runs"
    finally:
        first.kill()
        first.communicate()


def test_ctrl_c_stops_cleanly_and_resume_finishes_without_double_submits(
    slow_sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, 40))
    proc = subprocess.Popen(
        _command("batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
                 "--concurrency", "6", "--poll-interval", "0.05"),
        env=_env(slow_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _journal(tmp_path).is_file() and _counts(_journal(tmp_path))[
        "submitted"] >= 3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"batch resume {_journal(tmp_path)}" in err and "Traceback" not in err
    counts = _counts(_journal(tmp_path))
    assert counts["submitting"] == counts["uncertain"] == 0, "Ctrl-C waits for creates out"
    assert counts["downloaded"] < 40
    again = runway(slow_sandbox, "batch", "resume", str(_journal(tmp_path)),
                   "--poll-interval", "0.05")
    assert again.returncode == 0, again.stderr
    assert set(tasks_by_prompt(slow_sandbox).values()) == {1}
    assert slow_sandbox.state.created_tasks == 40


# --------------------------------------------------------------------------- crashes


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the journal may be mid-creation
            pass
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def _settle_uncertain(sandbox: Sandbox, journal: Path) -> int:
    """Do what a person does with the dashboard: find each uncertain job's task by its
    prompt and give its id, or say it made none."""
    with Journal.open(journal, readonly=True) as opened:
        uncertain = opened.jobs(["uncertain"])
    for record in uncertain:
        made = [t.id for t in sandbox.state.tasks.values()
                if t.body.get("promptText") == record.body["promptText"]]
        assert len(made) <= 1, "a job was submitted twice"
        how = ["--task-id", made[0]] if made else ["--not-submitted"]
        done = runway(sandbox, "batch", "resolve", str(journal), "--job", record.key, *how)
        assert done.returncode == 0, done.stderr
    return len(uncertain)


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_sigkill_at_random_moments_then_resume_does_every_job_exactly_once(
    bundled_spec: Spec, tmp_path: Path, seed: int
) -> None:
    count = 150
    rng = random.Random(seed)
    with Sandbox(spec=bundled_spec, task_seconds=0.25) as sb:
        path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, count))
        journal = _journal(tmp_path)
        run = ["batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
               "--concurrency", "24", "--poll-interval", "0.05"]
        resume = ["batch", "resume", str(journal), "--poll-interval", "0.05"]
        kills = 0
        for _ in range(3):
            proc = subprocess.Popen(_command(*(resume if journal.is_file() else run)),
                                    env=_env(sb), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 2.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(30)
        assert kills >= 1
        settled = 0
        for _ in range(4):
            if not journal.is_file():
                done = runway(sb, *run)
            else:
                settled += _settle_uncertain(sb, journal)
                done = runway(sb, *resume)
            if done.returncode == 0:
                break
        assert done.returncode == 0, done.stderr + done.stdout
        with Journal.open(journal, readonly=True) as opened:
            counts = opened.counts()
            tasks = opened.tasks()
        assert counts["downloaded"] == count, counts
        per_prompt = tasks_by_prompt(sb)
        assert len(per_prompt) == count and set(per_prompt.values()) == {1}, (
            "every job was submitted exactly once")
        assert sb.state.created_tasks == count == len(tasks)
        files = sorted(p.name for p in (tmp_path / "out").iterdir()
                       if p.suffix == ".png" or p.name.endswith(".part"))
        assert files == [f"job-{n:04d}.png" for n in range(1, count + 1)], (
            "every output saved once: no duplicates, no partial files")
        assert all((tmp_path / "out" / f).read_bytes().startswith(PNG_MAGIC) for f in files)
        rows = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text()
                .splitlines()]
        assert len(rows) == count and all(len(r["taskIds"]) == 1 for r in rows)
        print(f"seed {seed}: {kills} kills, {settled} uncertain job(s) settled by hand")


#: A batch run through the library with the journal's group held open ``argv[3]`` seconds,
#: and its commit held as long again once the group's files are named (they are named in
#: the commit's thread, just before it syncs: see LocalJournalWriter.place).
_WIDE_WINDOW_RUN = """
import asyncio, sys, time
from pathlib import Path
from runway_dynamic.batch import Batch, BatchOptions, Journal, load_jobs
from runway_dynamic.batch.writer import LocalJournalWriter
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.spec import load_spec

LocalJournalWriter.COMMIT_WINDOW = float(sys.argv[3])
commit_group = Journal.commit_group

def slow_commit(self):
    time.sleep(LocalJournalWriter.COMMIT_WINDOW)
    commit_group(self)

Journal.commit_group = slow_commit
jobs, out = Path(sys.argv[1]), Path(sys.argv[2])
journal = out / "journal.sqlite3"
batch = (Batch.open(journal) if journal.is_file()
         else Batch.create(load_jobs(jobs, load_spec()), output_dir=out))

async def main():
    async with AsyncRunwayClient(poll_interval=0.05) as client:
        await batch.run(client, BatchOptions(concurrency=24, poll_interval=0.05))

asyncio.run(main())
"""


def _known(journal: Path) -> tuple[int, int]:
    """(tasks, downloaded jobs) the journal holds as committed; zeros before it exists."""
    if not journal.is_file():
        return 0, 0
    with Journal.open(journal, readonly=True) as opened:
        return len(opened.tasks()), opened.counts()["downloaded"]


def test_sigkill_inside_an_open_commit_group_then_resume_does_every_job_exactly_once(
    bundled_spec: Spec, tmp_path: Path
) -> None:
    """The journal commits changes in groups (one sync per window). With the window held
    open a whole second, the run is killed once while tasks exist whose ``submitted`` is
    not committed yet, and once while files are saved whose ``downloaded`` is not: those
    changes are lost, none was acted on, and the resume still submits and saves every job
    exactly once."""
    count = 60
    with Sandbox(spec=bundled_spec, task_seconds=0.25) as sb:
        path = write_jsonl(tmp_path / "jobs.jsonl", image_jobs(bundled_spec, count))
        journal, out = _journal(tmp_path), tmp_path / "out"

        def created_unrecorded() -> bool:
            return sb.state.created_tasks > _known(journal)[0]

        def saved_unrecorded() -> bool:
            return len(list(out.glob("job-*.png"))) > _known(journal)[1]

        for lost in (created_unrecorded, saved_unrecorded):
            proc = subprocess.Popen([sys.executable, "-c", _WIDE_WINDOW_RUN, str(path),
                                     str(out), "1.0"], env=_env(sb),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _wait_for(lambda: proc.poll() is not None or lost())  # noqa: B023
            assert proc.poll() is None, proc.communicate()[1]
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            assert lost(), "the kill came after the commit; the window is too short"
        resume = ["batch", "resume", str(journal), "--poll-interval", "0.05"]
        for _ in range(3):
            _settle_uncertain(sb, journal)
            done = runway(sb, *resume)
            if done.returncode == 0:
                break
        assert done.returncode == 0, done.stderr + done.stdout
        assert _known(journal) == (count, count)
        per_prompt = tasks_by_prompt(sb)
        assert len(per_prompt) == count and set(per_prompt.values()) == {1}, (
            "every job was submitted exactly once")
        files = sorted(p.name for p in out.iterdir()
                       if p.suffix == ".png" or p.name.endswith(".part"))
        assert files == [f"job-{n:04d}.png" for n in range(1, count + 1)]
        assert all((out / f).read_bytes().startswith(PNG_MAGIC) for f in files)


def test_on_a_terminal_the_progress_line_redraws_and_the_report_is_text(
    sandbox: Sandbox, jobs_file: Path, tmp_path: Path
) -> None:
    """In a real pseudo-terminal: a live line (redrawn in place) on stderr, the report as
    text on stdout."""
    import pty

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        _command("batch", "run", str(jobs_file), "--output-dir", str(tmp_path / "out"),
                 "--poll-interval", "0.05", "--concurrency", "3"),
        env={**_env(sandbox), "COLUMNS": "120", "TERM": "xterm"}, stdin=subprocess.DEVNULL,
        stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(30)
    os.close(primary)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, shown[-2000:]
    assert "\x1b[" in shown, "rich drew the line with terminal control codes"
    assert "12/12 done" in shown
    assert "12 jobs — 12 downloaded" in shown and "results:" in shown, "a text report"
    assert KEY not in shown


def test_a_near_miss_model_in_a_job_is_refused_by_line_unless_allowed(
    sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path
) -> None:
    """As on one command: a job whose model id is a near miss of a listed one is refused as
    a typo (its line named, exit 2, nothing sent) unless ``--allow-unknown-model``, which
    sends it as written (the sandbox, knowing only the spec's models, refuses it)."""
    lines = image_jobs(bundled_spec, 3)
    model = lines[1]["model"]
    assert model[-1].isalpha() and bundled_spec.catalog.near_misses(model[:-1])[:1] == [model]
    lines[1] = {**lines[1], "model": model[:-1]}
    path = write_jsonl(tmp_path / "jobs.jsonl", lines)
    run = ["batch", "run", str(path), "--output-dir", str(tmp_path / "out"),
           "--poll-interval", "0.05"]
    refused = runway(sandbox, *run)
    assert refused.returncode == 2, refused.stderr
    assert "line 2" in refused.stderr and model in refused.stderr
    assert sandbox.state.created_tasks == 0 and not (tmp_path / "out").exists()
    allowed = runway(sandbox, *run, "--allow-unknown-model")
    assert allowed.returncode == 3, allowed.stderr  # the one job the API refused failed
    sent = [r.body["model"] for r in sandbox.state.requests_to("POST", "/v1/text_to_image")]
    assert sorted(sent) == sorted(line["model"] for line in lines)
    counts = _counts(_journal(tmp_path))
    assert counts["downloaded"] == 2 and counts["failed"] == 1
