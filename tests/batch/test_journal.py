"""The journal: states move only along the allowed arrows, every task is kept, and a
journal that is damaged, foreign, locked or in use is refused and left exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from batch_support import image_jobs, write_jsonl

from runway_dynamic import JournalError
from runway_dynamic.batch import Journal, load_jobs
from runway_dynamic.batch import journal as states
from runway_dynamic.spec import Spec


@pytest.fixture
def journal(bundled_spec: Spec, tmp_path: Path) -> Journal:
    jobs = load_jobs(write_jsonl(tmp_path / "j.jsonl", image_jobs(bundled_spec, 3)),
                     bundled_spec)
    return Journal.create(tmp_path / "journal.sqlite3", jobs.jobs, {"output_dir": "out"})


def test_a_new_journal_holds_every_job_pending_in_file_order(journal: Journal) -> None:
    assert journal.counts() == {**dict.fromkeys(states.STATES, 0), "pending": 3}
    assert [j.key for j in journal.jobs()] == ["job-0001", "job-0002", "job-0003"]
    assert journal.meta()["format"] == states.FORMAT
    assert journal.meta()["output_dir"] == "out"
    assert journal.jobs()[0].body["promptText"] == "p00000"


def test_a_job_walks_the_happy_path_and_every_task_is_kept(journal: Journal) -> None:
    key = "job-0001"
    journal.mark_submitting(key)
    journal.mark_submitted(key, "task-a")
    journal.mark_resubmit(key, failure="bad output", failure_code="INTERNAL.BAD_OUTPUT.X")
    journal.mark_submitting(key)
    journal.mark_submitted(key, "task-b")
    journal.mark_succeeded(key, ["out/job-0001.png"])
    journal.mark_downloaded(key, ["out/job-0001.png"])
    job = journal.job(key)
    assert (job.state, job.task_id, job.attempts, job.resubmissions) == (
        "downloaded", "task-b", 2, 1)
    assert job.files == ("out/job-0001.png",)
    assert [(t.task_id, t.attempt, t.status, t.failure_code) for t in journal.tasks(key)] == [
        ("task-a", 1, "FAILED", "INTERNAL.BAD_OUTPUT.X"), ("task-b", 2, "SUCCEEDED", None)]


def test_a_changed_record_is_what_dataclasses_replace_makes_and_the_original_stays(
        journal: Journal) -> None:
    """``JobRecord.changed`` (the runner's copy at every state change) is ``replace``
    without ``__init__``: same value, the original untouched, unknown names refused."""
    import dataclasses

    record = journal.jobs()[0]
    changed = record.changed(state=states.SUBMITTED, task_id="task-a")
    assert changed == dataclasses.replace(record, state=states.SUBMITTED, task_id="task-a")
    assert (record.state, record.task_id) == (states.PENDING, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.state = states.PENDING  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field colour"):
        record.changed(colour="red")


@pytest.mark.parametrize("move", [
    lambda j: j.mark_submitted("job-0001", "t"),          # never went through submitting
    lambda j: j.mark_succeeded("job-0001", []),
    lambda j: j.mark_downloaded("job-0001", []),
    lambda j: j.resolve("job-0001", task_id="t"),         # not uncertain
])
def test_moves_off_the_allowed_arrows_are_refused(journal: Journal, move: object) -> None:
    with pytest.raises(JournalError) as caught:
        move(journal)  # type: ignore[operator]
    assert caught.value.reason == "state" and "is pending" in str(caught.value)
    assert journal.job("job-0001").state == "pending"


def test_a_crash_mid_create_leaves_an_uncertain_job_that_only_a_person_settles(
    journal: Journal,
) -> None:
    journal.mark_submitting("job-0001")
    journal.mark_submitting("job-0002")
    assert journal.recover() == ["job-0001", "job-0002"]
    assert journal.counts()["uncertain"] == 2
    journal.resolve("job-0001", task_id="found-in-dashboard")
    journal.resolve("job-0002", task_id=None)
    one, two = journal.job("job-0001"), journal.job("job-0002")
    assert (one.state, one.task_id, one.attempts) == ("submitted", "found-in-dashboard", 1)
    assert journal.tasks("job-0001")[0].source == "resolved"
    assert (two.state, two.attempts) == ("pending", 0)


def test_retrying_failed_jobs_keeps_their_history(journal: Journal) -> None:
    journal.mark_submitting("job-0002")
    journal.mark_submitted("job-0002", "t1")
    journal.mark_failed("job-0002", failure="moderation", failure_code="SAFETY.INPUT.TEXT")
    assert journal.tasks("job-0002")[0].status == "FAILED"
    assert journal.reset_failed(["job-0002"]) == ["job-0002"]
    assert journal.job("job-0002").state == "pending"
    assert [t.task_id for t in journal.tasks("job-0002")] == ["t1"]


def test_create_never_replaces_an_existing_file(bundled_spec: Spec, tmp_path: Path) -> None:
    target = tmp_path / "taken.sqlite3"
    target.write_bytes(b"someone else's data")
    with pytest.raises(JournalError) as caught:
        Journal.create(target, [], {})
    assert caught.value.reason == "exists" and "runway batch resume" in str(caught.value)
    assert target.read_bytes() == b"someone else's data"


@pytest.mark.parametrize(("content", "reason"), [
    (b"SQLite format 3\x00" + b"\xff" * 4000, "damaged"),
    (b"just some text, not a database at all" * 50, "damaged"),
])
def test_a_damaged_journal_is_refused_and_left_untouched(tmp_path: Path, content: bytes,
                                                         reason: str) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(content)
    with pytest.raises(JournalError) as caught:
        Journal.open(path)
    assert caught.value.reason == reason and "left as it is" in str(caught.value)
    assert path.read_bytes() == content


def test_a_journal_damaged_inside_is_caught_by_the_integrity_check(journal: Journal,
                                                                   tmp_path: Path) -> None:
    """A bad page anywhere (its b-tree type byte overwritten) is found on open."""
    journal.close()
    good = journal.path.read_bytes()
    page = 4096
    assert len(good) >= 3 * page
    for number in range(1, len(good) // page):
        damaged = bytearray(good)
        damaged[number * page] = 0x42
        path = tmp_path / f"damaged-{number}.sqlite3"
        path.write_bytes(bytes(damaged))
        with pytest.raises(JournalError) as caught:
            Journal.open(path)
        assert caught.value.reason == "damaged", number
        assert path.read_bytes() == bytes(damaged)


def test_a_foreign_database_or_another_version_is_refused(tmp_path: Path,
                                                         journal: Journal) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text)")
    with pytest.raises(JournalError) as caught:
        Journal.open(foreign)
    assert caught.value.reason == "not_a_journal"
    path = journal.path
    journal.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(JournalError) as caught:
        Journal.open(path)
    assert caught.value.reason == "version" and "99" in str(caught.value)


def test_a_second_runner_is_refused_while_the_first_holds_the_journal(journal: Journal,
                                                                      tmp_path: Path) -> None:
    """The run lock is another process's; it is gone as soon as that process dies."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from runway_dynamic.batch import Journal
        j = Journal.open({str(journal.path)!r}); j.claim()
        print("held", flush=True); time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = Journal.open(journal.path)
        with pytest.raises(JournalError) as caught:
            second.claim()
        assert caught.value.reason == "in_use" and f"pid {holder.pid}" in str(caught.value)
        holder.kill()  # SIGKILL: no clean-up code runs
        holder.wait(10)
        second.claim()  # the lock died with its process
        second.close()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_journal_locked_by_another_program_gives_a_clear_error(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sqlite3.connect(journal.path, isolation_level=None, timeout=0.1)
    other.execute("BEGIN EXCLUSIVE")
    try:
        journal._db.execute("PRAGMA busy_timeout = 200")
        started = time.monotonic()
        with pytest.raises(JournalError) as caught:
            journal.mark_submitting("job-0001")
        assert caught.value.reason == "locked" and "close it and try again" in str(caught.value)
        assert time.monotonic() - started < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    journal.mark_submitting("job-0001")  # works again once the other program lets go
    assert journal.job("job-0001").state == "submitting"


def test_a_reader_sees_a_consistent_journal_while_a_writer_works(journal: Journal) -> None:
    reader = Journal.open(journal.path, readonly=True)
    journal.mark_submitting("job-0001")
    journal.mark_submitted("job-0001", "t1")
    assert reader.counts()["submitted"] == 1 and reader.job("job-0001").task_id == "t1"
    with pytest.raises(JournalError):
        reader.mark_submitting("job-0002")
    reader.close()


def test_a_task_id_given_to_two_jobs_is_recorded_for_both(journal: Journal) -> None:
    """Real task ids are unique; mock servers (Steady) repeat one. Neither breaks the
    journal: each job keeps its own record of the task it was given."""
    for key in ("job-0001", "job-0002"):
        journal.mark_submitting(key)
        journal.mark_submitted(key, "same-id")
    journal.mark_succeeded("job-0001", ["a.png"])
    assert [(t.job_key, t.status) for t in journal.tasks()] == [
        ("job-0001", "SUCCEEDED"), ("job-0002", None)]


def test_a_full_disk_undoes_the_whole_group_and_says_so(journal: Journal) -> None:
    """Group commit is all or nothing: when SQLite rolls a group back (a full disk), every
    change in it reports the failure, so no caller believes in a change that was undone."""
    pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
    journal._db.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow
    with pytest.raises(JournalError) as caught, journal.group():
        journal.mark_submitting("job-0001")
        with pytest.raises(JournalError):
            journal.mark_submitted("job-0001", "x" * 20_000)
        with pytest.raises(JournalError):
            journal.mark_submitting("job-0002")
    assert caught.value.reason == "full" and "none of them was made" in str(caught.value)
    assert [j.state for j in journal.jobs()] == ["pending"] * 3
    journal._db.execute("PRAGMA max_page_count = 1000000")
    journal.mark_submitting("job-0001")  # room again: it works
    with pytest.raises(JournalError) as alone:
        journal._db.execute(f"PRAGMA max_page_count = {pages}")
        journal.mark_submitted("job-0001", "y" * 20_000)
    assert alone.value.reason == "full" and "free some space" in str(alone.value)
    assert journal.job("job-0001").state == "submitting"


def _succeeded(journal: Journal, key: str, file: Path) -> None:
    journal.mark_submitting(key)
    journal.mark_submitted(key, f"task-{key}")
    journal.mark_succeeded(key, [str(file)])


def test_a_placed_file_is_named_and_recorded_by_the_commit_that_syncs_the_journal(
    journal: Journal, tmp_path: Path
) -> None:
    """The writer's place(): the bytes are synced and named in the commit's thread, never
    over another file, and the job's 'downloaded' is made in that same commit; the caller
    hears where the file went once it is committed."""
    import asyncio

    from runway_dynamic.batch.writer import LocalJournalWriter
    from runway_dynamic.downloads import StagedFile

    target = tmp_path / "job-0001.png"
    target.write_bytes(b"someone else's")
    _succeeded(journal, "job-0001", target)

    async def run() -> Path:
        writer = LocalJournalWriter(journal)
        staged = StagedFile(target)
        staged.write(b"png bytes")
        try:
            return await writer.place(
                staged, then=lambda path: journal.mark_downloaded("job-0001", [str(path)]))
        finally:
            writer.close()

    placed = asyncio.run(run())
    assert placed.name == "job-0001.2.png" and placed.read_bytes() == b"png bytes"
    assert target.read_bytes() == b"someone else's"
    job = journal.job("job-0001")
    assert (job.state, job.files) == ("downloaded", (str(placed),))
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == [
        "job-0001.2.png", "job-0001.png"]


def test_a_caller_cancelled_after_handing_a_file_over_still_gets_it_placed_and_recorded(
    journal: Journal, tmp_path: Path
) -> None:
    """Once handed to the writer the file is the commit's: a cancelled caller (Ctrl-C, a
    stopping batch) neither closes it under the commit's thread nor loses the record."""
    import asyncio

    from runway_dynamic.batch.writer import LocalJournalWriter
    from runway_dynamic.downloads import StagedFile

    target = tmp_path / "job-0002.png"
    _succeeded(journal, "job-0002", target)

    async def run() -> None:
        writer = LocalJournalWriter(journal)
        staged = StagedFile(target)
        staged.write(b"png bytes")
        caller = asyncio.ensure_future(writer.place(
            staged, then=lambda path: journal.mark_downloaded("job-0002", [str(path)])))
        await asyncio.sleep(0)  # handed over, the group not committed yet
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        writer.close()  # commits the open group: the file is placed and recorded

    asyncio.run(run())
    assert target.read_bytes() == b"png bytes"
    assert journal.job("job-0002").state == "downloaded"
