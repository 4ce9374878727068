"""The PostgreSQL journal on a real server: the SQLite journal's states and arrows, plus
claims, the owner fence, leases on the database's clock, take-overs and migrations."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from batch_support import image_jobs, write_jsonl

from runway_dynamic import JournalError
from runway_dynamic.batch import journal as states
from runway_dynamic.batch import load_jobs
from runway_dynamic.batch.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresJournal, redact
from runway_dynamic.spec import Spec

pytestmark = pytest.mark.usefixtures("pg_cluster")


@pytest.fixture
def journal(bundled_spec: Spec, pg_url: str, tmp_path: object) -> Iterator[PostgresJournal]:
    jobs = load_jobs(write_jsonl(tmp_path / "j.jsonl", image_jobs(bundled_spec, 3)),  # type: ignore[operator]
                     bundled_spec)
    opened = PostgresJournal.create(pg_url, "shots", jobs.jobs, {"output_dir": "out"})
    yield opened
    opened.close()


def _worker(url: str, concurrency: int = 8, lease: float = 30.0) -> PostgresJournal:
    opened = PostgresJournal.open(url, "shots")
    opened.register(concurrency=concurrency, lease_seconds=lease)
    return opened


def _lapse(worker: PostgresJournal) -> None:
    """Let the worker's lease run out (as if it had stalled past it), on the server."""
    with psycopg.connect(worker.url, autocommit=True) as conn:
        conn.execute("UPDATE runway_batch.workers SET lease_until = clock_timestamp() - "
                     "interval '1 second' WHERE id = %s", (worker.worker,))


def test_a_new_batch_holds_every_job_pending_in_file_order(journal: PostgresJournal) -> None:
    assert journal.counts() == {**dict.fromkeys(states.STATES, 0), "pending": 3}
    assert [j.key for j in journal.jobs()] == ["job-0001", "job-0002", "job-0003"]
    assert journal.meta()["format"] == states.FORMAT and journal.meta()["output_dir"] == "out"
    assert journal.jobs()[0].body["promptText"] == "p00000"


def test_a_second_batch_of_the_same_name_is_refused(journal: PostgresJournal,
                                                    pg_url: str) -> None:
    with pytest.raises(JournalError) as caught:
        PostgresJournal.create(pg_url, "shots", [], {})
    assert caught.value.reason == "exists" and "--batch shots" in str(caught.value)


def test_a_job_walks_the_happy_path_and_every_task_is_kept(journal: PostgresJournal,
                                                           pg_url: str) -> None:
    worker = _worker(pg_url)
    key = "job-0001"
    assert [j.key for j in worker.claim_jobs(1)] == [key]
    worker.mark_submitting(key)
    worker.mark_submitted(key, "task-a")
    worker.mark_resubmit(key, failure="bad output", failure_code="INTERNAL.BAD_OUTPUT.X")
    worker.mark_submitting(key)  # the same worker keeps its claim through a resubmission
    worker.mark_submitted(key, "task-b")
    worker.mark_succeeded(key, ["out/job-0001.png"])
    worker.mark_downloaded(key, ["out/job-0001.png"])
    job = journal.job(key)
    assert (job.state, job.task_id, job.attempts, job.resubmissions) == (
        "downloaded", "task-b", 2, 1)
    assert job.files == ("out/job-0001.png",) and job.host == worker.host
    assert [(t.task_id, t.attempt, t.status, t.failure_code) for t in journal.tasks(key)] == [
        ("task-a", 1, "FAILED", "INTERNAL.BAD_OUTPUT.X"), ("task-b", 2, "SUCCEEDED", None)]
    worker.close()


def test_a_worker_moves_only_jobs_it_claimed(journal: PostgresJournal, pg_url: str) -> None:
    one, two = _worker(pg_url), _worker(pg_url)
    assert [j.key for j in one.claim_jobs(1)] == ["job-0001"]
    assert [j.key for j in two.claim_jobs(5)] == ["job-0002", "job-0003"]
    with pytest.raises(JournalError) as caught:
        two.mark_submitting("job-0001")
    assert caught.value.reason == "claim_lost" and "nothing was sent" in str(caught.value)
    assert journal.job("job-0001").state == "pending"
    one.close()
    two.close()


def test_claims_of_a_lapsed_lease_go_to_another_worker_and_the_first_sends_nothing(
    journal: PostgresJournal, pg_url: str,
) -> None:
    """Claimed-but-unsent jobs come back by themselves when the lease lapses; the stalled
    worker's later ``submitting`` is refused (the fence), so the create never leaves."""
    slow = _worker(pg_url)
    assert len(slow.claim_jobs(3)) == 3
    other = _worker(pg_url)
    assert other.claim_jobs(3) == []  # live claims are not taken
    _lapse(slow)
    assert [j.key for j in other.claim_jobs(3)] == ["job-0001", "job-0002", "job-0003"]
    assert slow.heartbeat() is False  # it learns the lease had lapsed
    with pytest.raises(JournalError) as caught:
        slow.mark_submitting("job-0001")
    assert caught.value.reason == "claim_lost"
    other.mark_submitting("job-0001")
    assert journal.job("job-0001").owner == other.worker
    slow.close()
    other.close()


def test_a_job_mid_create_never_returns_to_pending_by_a_lease(journal: PostgresJournal,
                                                               pg_url: str) -> None:
    """``submitting`` of a lapsed worker turns ``uncertain`` (a person settles it); the
    worker that comes back with the task id may still record it."""
    slow = _worker(pg_url)
    slow.claim_jobs(2)
    slow.mark_submitting("job-0001")
    slow.mark_submitting("job-0002")
    other = _worker(pg_url)
    assert other.recover() == []  # the lease is live: its creates are its own business
    _lapse(slow)
    assert other.claim_jobs(5) == [journal.job("job-0003")]  # not the two being sent
    assert other.recover() == ["job-0001", "job-0002"]
    assert journal.counts()["uncertain"] == 2
    slow.mark_submitted("job-0001", "late-task")  # the answer arrived after all
    assert (journal.job("job-0001").state, journal.job("job-0001").task_id) == (
        "submitted", "late-task")
    with pytest.raises(JournalError):
        other.mark_submitted("job-0002", "not-its-task")
    journal.resolve("job-0002", task_id=None)  # a person checked: never made
    assert journal.job("job-0002").state == "pending" and journal.job("job-0002").owner is None
    slow.close()
    other.close()


def test_running_tasks_of_a_lapsed_worker_are_taken_over(journal: PostgresJournal,
                                                         pg_url: str) -> None:
    gone = _worker(pg_url)
    gone.claim_jobs(2)
    for key in ("job-0001", "job-0002"):
        gone.mark_submitting(key)
        gone.mark_submitted(key, f"task-{key}")
    gone.mark_succeeded("job-0002", ["x.png"])
    heir = _worker(pg_url)
    assert heir.take_over(10) == []
    _lapse(gone)
    taken = heir.take_over(10)
    assert [(j.key, j.state) for j in taken] == [("job-0001", "submitted"),
                                                 ("job-0002", "succeeded")]
    heir.mark_downloaded("job-0002", ["x.png"])
    with pytest.raises(JournalError) as caught:
        gone.mark_succeeded("job-0001", [])
    assert caught.value.reason == "claim_lost"
    gone.close()
    heir.close()


def test_a_clean_exit_hands_over_at_once(journal: PostgresJournal, pg_url: str) -> None:
    leaving = _worker(pg_url)
    leaving.claim_jobs(2)
    leaving.mark_submitting("job-0001")
    leaving.mark_submitted("job-0001", "t1")
    leaving.leave()
    heir = _worker(pg_url)
    assert [j.key for j in heir.take_over(5)] == ["job-0001"]
    assert [j.key for j in heir.claim_jobs(5)] == ["job-0002", "job-0003"]
    leaving.close()
    heir.close()


def test_the_shared_window_bounds_claims_across_workers(journal: PostgresJournal,
                                                        pg_url: str) -> None:
    lane = journal.job("job-0001").lane
    journal.seed_lane(lane, 1)  # the organization runs one at a time: window 1 + 1
    one, two = _worker(pg_url), _worker(pg_url)
    assert len(one.claim_jobs(5)) == 2
    assert two.claim_jobs(5) == []
    one.lane_change(lane, lambda lane, now: lane.on_rate_limited(now, 30.0))
    one.unclaim(["job-0002"])
    assert two.claim_jobs(5) == []  # paused for everyone
    assert (two.outlook().claimable, two.outlook().at_limit) == (2, 0)  # after the pause
    one.lane_change(lane, lambda lane, now: lane.close("the daily limit is reached"))
    assert (two.outlook().claimable, two.outlook().at_limit) == (0, 3)
    assert two.lanes()[lane].shut == "the daily limit is reached"
    one.close()
    two.close()


def test_older_schemas_are_upgraded_and_newer_ones_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA runway_batch; SET search_path TO runway_batch")
        conn.execute("CREATE TABLE version (format TEXT NOT NULL, version INTEGER NOT NULL)")
        conn.execute("INSERT INTO version VALUES (%s, 1)", (states.FORMAT,))
        conn.execute(MIGRATIONS[0])
        conn.execute("INSERT INTO batches (name, created) VALUES ('old', 0)")
        conn.execute("INSERT INTO jobs (batch, key, line, endpoint, model, body, state, "
                     "updated) VALUES (1, 'job-0001', 1, 'text_to_image', 'm', '{}', "
                     "'pending', 0)")
    with pytest.raises(JournalError) as caught:
        PostgresJournal.open(pg_url, readonly=True)
    assert caught.value.reason == "version" and "upgrades it" in str(caught.value)
    with PostgresJournal.open(pg_url) as upgraded:
        assert upgraded.job("job-0001").lane == "m"
        assert upgraded.counts()["pending"] == 1
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM runway_batch.version").fetchone() == (
            SCHEMA_VERSION,)
        conn.execute("UPDATE runway_batch.version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(JournalError) as newer:
        PostgresJournal.open(pg_url)
    assert newer.value.reason == "version" and "newer runway" in str(newer.value)


def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    url = "postgresql://me:hunter2@127.0.0.1:1/none"
    with pytest.raises(JournalError) as caught:
        PostgresJournal.open(url)
    assert caught.value.reason == "unreachable"
    assert "hunter2" not in str(caught.value) and "me:***@127.0.0.1:1" in str(caught.value)
    assert redact(url) == "postgresql://me:***@127.0.0.1:1/none"
