"""The batch runner against the real sandbox on loopback: every fault Runway can throw at a
batch, and the sandbox's own task records as the proof that nothing was paid for twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import (
    PNG_MAGIC,
    client_for,
    creates_only,
    image_jobs,
    image_model,
    new_batch,
    run_batch,
    tasks_by_prompt,
)

from runway_dynamic._constants import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TASK_FAILED
from runway_dynamic._exceptions import JournalError, UsageError
from runway_dynamic.batch import EXIT_PAUSED, Batch, BatchEvent, BatchOptions
from runway_dynamic.batch import runner as runner_module
from runway_dynamic.sandbox import OrgLimits, Sandbox
from runway_dynamic.spec import Spec


def _assert_done_once(batch: Batch, sandbox: Sandbox, count: int) -> None:
    """Every job downloaded, to a real PNG named after it; one task per job, no more."""
    status = batch.status()
    assert status.counts["downloaded"] == count == status.total, status.report()
    assert set(tasks_by_prompt(sandbox).values()) == {1}
    assert len(tasks_by_prompt(sandbox)) == count == sandbox.state.created_tasks
    for row in batch.results():
        assert row["files"] == [str(batch.output_dir / f"{row['job']}.png")]
        assert Path(row["files"][0]).read_bytes().startswith(PNG_MAGIC)
    leftovers = [p.name for p in batch.output_dir.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


@pytest.fixture
def slow_sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.4) as sb:
        yield sb


def test_a_thousand_jobs_complete_with_every_output_downloaded(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 1000))
    report = run_batch(batch, sandbox, bundled_spec, BatchOptions(concurrency=128),
                       poll_interval=0.1)
    assert report.exit_code == 0, report.status.report()
    _assert_done_once(batch, sandbox, 1000)
    rows = [json.loads(line) for line in report.results.read_text().splitlines()]  # type: ignore[union-attr]
    assert len(rows) == 1000 and {r["status"] for r in rows} == {"SUCCEEDED"}
    assert all(len(r["taskIds"]) == 1 for r in rows)


def test_a_new_task_is_first_polled_one_interval_after_its_create(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    """No poll in the instant after a create (it never finds the task done): 3 requests a
    task (create, poll, download), not 4."""
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 20))
    report = run_batch(batch, sandbox, bundled_spec, BatchOptions(concurrency=8),
                       poll_interval=0.2)
    assert report.exit_code == 0, report.status.report()
    with sandbox.state.lock:
        created = {t.id: t.created_wall for t in sandbox.state.tasks.values()}
        first_get: dict[str, float] = {}
        for r in sandbox.state.requests:
            task_id = r.path.rsplit("/", 1)[-1]
            if r.method == "GET" and r.path.startswith("/v1/tasks/") and task_id in created:
                first_get.setdefault(task_id, r.time)
    assert len(first_get) == len(created) == 20
    gaps = sorted(first_get[t] - created[t] for t in created)
    assert gaps[0] >= 0.18, gaps


def test_throttled_tasks_keep_the_window_near_the_models_concurrency(
    bundled_spec: Spec, tmp_path: Path
) -> None:
    """With the organization's limit unknown, THROTTLED teaches the batch how many run."""
    limits = OrgLimits(concurrency=2)
    with Sandbox(spec=bundled_spec, task_seconds=0.15, limits=limits) as sb:
        batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 30))
        seen: list[BatchEvent] = []

        async def go() -> object:
            async with client_for(sb, bundled_spec) as client:
                return await batch.run(client, BatchOptions(concurrency=16, read_org_limits=False),
                                       on_event=seen.append)

        asyncio.run(go())
        _assert_done_once(batch, sb, 30)
    throttled = [e.throttled for e in seen]
    assert max(throttled) >= 1, "the sandbox queued some"
    late = throttled[len(throttled) // 2:]
    # 16 in flight at once would leave 14 queued; once the window has adapted the queue
    # holds the headroom and what the window's upward probing adds (polls lag a little)
    assert max(late) <= 4, f"the queue stays short once the window has adapted: {late}"


def test_the_organizations_limits_seed_each_models_window(bundled_spec: Spec,
                                                          tmp_path: Path) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=0.15, limits=OrgLimits(concurrency=3)) as sb:
        batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 20))
        seen: list[BatchEvent] = []

        async def go() -> object:
            async with client_for(sb, bundled_spec) as client:
                return await batch.run(client, BatchOptions(concurrency=16),
                                       on_event=seen.append)

        asyncio.run(go())
        _assert_done_once(batch, sb, 20)
    model, _ = image_model(bundled_spec)
    assert f"{model}: 3 at a time" in [e.message for e in seen if e.kind == "note"]
    # 3 run, 1 waits as headroom, and at times 1 or 2 more while the window probes upwards
    # (seen from polls, which lag); without the seed, 13 of 16 would have waited at first
    assert max(e.throttled for e in seen) <= 3


def test_429_on_creates_slows_the_lane_and_never_creates_twice(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 12))
    notes: list[str] = []

    async def go() -> object:
        fault = creates_only("status=429; retry-after=0.1", first=9)
        async with client_for(sandbox, bundled_spec, fault=fault, max_retries=0) as client:
            return await batch.run(client, BatchOptions(concurrency=4, retry_backoff_seconds=0),
                                   on_event=lambda e: notes.append(e.message or ""))

    asyncio.run(go())
    _assert_done_once(batch, sandbox, 12)
    refused = [r for r in sandbox.state.requests_to("POST", "/v1/text_to_image")
               if r.status == 429]
    assert len(refused) == 9
    assert any("429 from the API" in n for n in notes)


def test_the_daily_cap_pauses_only_its_model_and_a_resume_finishes_later(
    bundled_spec: Spec, tmp_path: Path
) -> None:
    capped, _ = image_model(bundled_spec, 0)
    with Sandbox(spec=bundled_spec, task_seconds=0.1, limits=OrgLimits(daily=5)) as sb:
        lines = image_jobs(bundled_spec, 8, model_index=0, prefix="a") + image_jobs(
            bundled_spec, 3, model_index=1, prefix="b")
        batch = new_batch(tmp_path, bundled_spec, lines)
        first = run_batch(batch, sb, bundled_spec, BatchOptions(concurrency=4))
        assert first.exit_code == EXIT_PAUSED
        assert first.status.counts["downloaded"] == 5 + 3 and first.status.counts["pending"] == 3
        assert "daily generation limit" in first.status.paused[capped]
        assert "runway batch resume" in first.status.report()
        sb.app.limits = OrgLimits(daily=100)  # the rolling window moved on
        second = run_batch(batch, sb, bundled_spec)
        assert second.exit_code == 0 and second.status.counts["downloaded"] == 11
        assert second.status.paused == {}
        assert sb.state.created_tasks == 11


@pytest.mark.parametrize("limit", ["daily", "credits"])
def test_waiting_at_limits_carries_on_by_itself_once_they_free(
    bundled_spec: Spec, tmp_path: Path, limit: str
) -> None:
    """With limit_wait the batch does not stop at a cap: it tries again now and then
    (a refused create costs nothing) and finishes once the limit frees."""
    tight = OrgLimits(daily=3) if limit == "daily" else OrgLimits(credits=25 * 3)
    with Sandbox(spec=bundled_spec, task_seconds=0.1, limits=tight) as sb:
        batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 6))
        notes: list[str] = []

        async def go() -> object:
            async def free_later() -> None:
                await asyncio.sleep(1.0)
                sb.app.limits = OrgLimits()

            helper = asyncio.create_task(free_later())
            async with client_for(sb, bundled_spec) as client:
                report = await batch.run(client, BatchOptions(concurrency=2, limit_wait=0.2),
                                         on_event=lambda e: notes.append(e.message or ""))
            await helper
            return report

        report = asyncio.run(go())
        assert report.exit_code == 0, report.status.report()  # type: ignore[attr-defined]
        assert any("waiting at a limit" in n for n in notes)
        assert report.status.paused == {}  # type: ignore[attr-defined]
        _assert_done_once(batch, sb, 6)


def test_a_budget_stops_submitting_before_it_is_passed(bundled_spec: Spec, sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    """Each sandbox task is estimated at 25 credits: a budget of 110 allows four, even at
    concurrency 4 (creates on their way count at the average so far); a resume with a
    larger budget finishes the rest."""
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 10))
    first = run_batch(batch, sandbox, bundled_spec,
                      BatchOptions(concurrency=4, max_credits=110, retry_backoff_seconds=0))
    assert first.exit_code == EXIT_PAUSED
    assert sandbox.state.created_tasks == 4 and first.status.credits == 100
    assert "budget of 110 credits is reached" in first.status.paused["*"]
    assert first.status.counts["pending"] == 6
    second = run_batch(batch, sandbox, bundled_spec, BatchOptions(max_credits=250))
    assert second.exit_code == 0 and second.status.credits == 250
    _assert_done_once(batch, sandbox, 10)


def test_running_out_of_credits_pauses_the_whole_batch(bundled_spec: Spec,
                                                       tmp_path: Path) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=0.1, limits=OrgLimits(credits=25 * 4)) as sb:
        batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 6))
        first = run_batch(batch, sb, bundled_spec, BatchOptions(concurrency=2))
        assert first.exit_code == EXIT_PAUSED
        assert first.status.counts["downloaded"] == 4 and "credits" in first.status.paused["*"]
        sb.app.limits = OrgLimits(credits=10_000)
        assert run_batch(batch, sb, bundled_spec).exit_code == 0
        _assert_done_once(batch, sb, 6)


def test_internal_failures_are_resubmitted_and_safety_failures_are_final(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    lines = image_jobs(bundled_spec, 4)
    batch = new_batch(tmp_path, bundled_spec, lines)

    def fault(request: object) -> str | None:
        body = json.loads(getattr(request, "content", b"") or b"{}")
        prompt = body.get("promptText") if isinstance(body, dict) else None
        if prompt == "p00001":
            return "task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=2"
        if prompt == "p00002":
            return "task-fail=SAFETY.INPUT.TEXT"
        return None

    report = run_batch(batch, sandbox, bundled_spec,
                       BatchOptions(concurrency=4, retry_on_internal_error=2,
                                    retry_backoff_seconds=0), fault=fault)
    assert report.exit_code == EXIT_TASK_FAILED
    counts = report.status.counts
    assert (counts["downloaded"], counts["failed"]) == (3, 1)
    retried = batch.journal.job("job-0002")
    assert (retried.state, retried.resubmissions, retried.attempts) == ("downloaded", 2, 3)
    assert [t.failure_code for t in batch.journal.tasks("job-0002")] == [
        "INTERNAL.BAD_OUTPUT.CODE01", "INTERNAL.BAD_OUTPUT.CODE01", None]
    blocked = batch.journal.job("job-0003")
    assert (blocked.state, blocked.failure_code, blocked.retryable) == (
        "failed", "SAFETY.INPUT.TEXT", False)
    assert len(batch.journal.tasks("job-0003")) == 1, "moderation is never resubmitted"
    assert batch.retry_failed() == [], "retry-failed leaves final failures alone"
    assert batch.retry_failed(["job-0003"]) == ["job-0003"], "unless asked by name"
    assert sandbox.state.created_tasks == 4 + 2


def test_internal_failures_beyond_the_retries_stay_retryable(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 2))
    fault = creates_only("task-fail=INTERNAL.BAD_OUTPUT.CODE01", first=2)
    first = run_batch(batch, sandbox, bundled_spec,
                      BatchOptions(retry_on_internal_error=0, retry_backoff_seconds=0),
                      fault=fault)
    assert first.status.counts["failed"] == 2
    assert all(f["retryable"] for f in first.status.failed)
    assert "runway batch retry-failed" in "\n".join(first.status.next_steps())
    assert sorted(batch.retry_failed()) == ["job-0001", "job-0002"]
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    assert [len(batch.journal.tasks(k)) for k in ("job-0001", "job-0002")] == [2, 2]


@pytest.mark.parametrize("drop", ["drop=after", "drop"])
def test_a_lost_create_answer_leaves_the_job_uncertain_never_resent(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path, drop: str
) -> None:
    """drop=after: the task exists; drop: it does not. Either way nobody can tell, so the
    job waits for a person, who settles it; then it is finished without a second task."""
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 3))
    first = run_batch(batch, sandbox, bundled_spec, fault=creates_only(drop, first=1))
    assert first.exit_code == EXIT_ERROR
    assert first.status.counts == {**first.status.counts, "downloaded": 2, "uncertain": 1}
    uncertain = first.status.uncertain[0]
    assert "runway batch resolve" in first.status.report()
    again = run_batch(batch, sandbox, bundled_spec)
    assert again.status.counts["uncertain"] == 1, "a resume never resends it on its own"
    made = [t for t in sandbox.state.tasks.values()
            if t.body.get("promptText") == batch.journal.job(uncertain["job"]).body["promptText"]]
    assert len(made) == (1 if drop == "drop=after" else 0)

    async def settle() -> None:
        async with client_for(sandbox, bundled_spec) as client:
            await batch.resolve(client, uncertain["job"],
                                task_id=made[0].id if made else None)

    asyncio.run(settle())
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    _assert_done_once(batch, sandbox, 3)


def test_resolving_with_a_wrong_task_id_is_refused(bundled_spec: Spec, sandbox: Sandbox,
                                                   tmp_path: Path) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 1))
    run_batch(batch, sandbox, bundled_spec, fault=creates_only("drop=after"))

    async def settle() -> None:
        async with client_for(sandbox, bundled_spec) as client:
            await batch.resolve(client, "job-0001", task_id=str(uuid.uuid4()))

    with pytest.raises(Exception, match="not found"):
        asyncio.run(settle())
    assert batch.journal.job("job-0001").state == "uncertain"


def test_a_refused_key_stops_the_batch_and_loses_nothing(bundled_spec: Spec, sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 5))
    first = run_batch(batch, sandbox, bundled_spec, BatchOptions(concurrency=1),
                      fault=creates_only("status=401", first=1))
    assert first.exit_code == EXIT_ERROR and "refused the key" in (first.outcome.fatal or "")
    assert first.status.counts["pending"] == 5 and sandbox.state.created_tasks == 0
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    _assert_done_once(batch, sandbox, 5)


def test_an_unreachable_api_stops_the_batch_after_a_few_tries(
    bundled_spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "NOT_SENT_PAUSE", 0.01)
    sandbox = Sandbox(spec=bundled_spec)
    sandbox.stop()  # its port is closed now: every connection is refused
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 3))
    report = run_batch(batch, sandbox, bundled_spec, BatchOptions(read_org_limits=False),
                       max_retries=0)
    assert report.exit_code == EXIT_ERROR
    assert "could not be reached" in (report.outcome.fatal or "")
    assert report.status.counts["pending"] == 3, "nothing was sent, so nothing is uncertain"


def test_stopping_records_every_create_already_out_and_a_resume_finishes(
    bundled_spec: Spec, slow_sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 40))
    stop = asyncio.Event()

    def stop_after_some(event: BatchEvent) -> None:
        if event.counts.get("submitted", 0) >= 6:
            stop.set()

    async def go() -> object:
        async with client_for(slow_sandbox, bundled_spec) as client:
            return await batch.run(client, BatchOptions(concurrency=8),
                                   on_event=stop_after_some, stop=stop)

    first = asyncio.run(go())
    assert first.exit_code == EXIT_INTERRUPTED  # type: ignore[attr-defined]
    counts = batch.status().counts
    assert counts["submitting"] == 0 and counts["uncertain"] == 0
    assert counts["pending"] > 0 and counts["downloaded"] < 40
    assert run_batch(batch, slow_sandbox, bundled_spec).exit_code == 0
    _assert_done_once(batch, slow_sandbox, 40)


def test_a_batch_is_never_resumed_against_an_api_that_does_not_know_its_tasks(
    bundled_spec: Spec, slow_sandbox: Sandbox, tmp_path: Path
) -> None:
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 10))
    stop = asyncio.Event()

    async def go() -> object:
        async with client_for(slow_sandbox, bundled_spec) as client:
            return await batch.run(client, on_event=lambda e: (
                stop.set() if e.counts.get("submitted") else None), stop=stop)

    asyncio.run(go())
    with Sandbox(spec=bundled_spec) as other, pytest.raises(UsageError, match="would not know"):
        run_batch(batch, other, bundled_spec)


def test_a_download_slot_is_held_only_while_the_bytes_come(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one download slot, never two transfers at once; but the next transfer starts
    while the last one's file waits for the commit that syncs and names it (the slot is
    not held through the commit)."""
    from runway_dynamic.client import AsyncRunwayClient

    download_url = AsyncRunwayClient.download_url
    now = {"transferring": 0, "committing": 0}
    seen = {"most_transferring": 0, "started_during_a_commit": 0}

    async def spy(self: AsyncRunwayClient, url: str, target: Any, *, place: Any = None) -> Path:
        now["transferring"] += 1
        seen["most_transferring"] = max(seen["most_transferring"], now["transferring"])
        seen["started_during_a_commit"] += bool(now["committing"])
        transferring = [True]

        async def placed(staged: Any) -> Path:
            now["transferring"] -= 1
            transferring.clear()
            now["committing"] += 1
            try:
                return await place(staged)  # type: ignore[no-any-return]
            finally:
                now["committing"] -= 1

        try:
            return await download_url(self, url, target, place=placed)
        finally:
            if transferring:
                now["transferring"] -= 1

    monkeypatch.setattr(AsyncRunwayClient, "download_url", spy)
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 16))
    report = run_batch(batch, sandbox, bundled_spec,
                       BatchOptions(concurrency=16, downloads=1, retry_backoff_seconds=0),
                       poll_interval=0.05)
    assert report.exit_code == 0, report.status.report()
    _assert_done_once(batch, sandbox, 16)
    assert seen["most_transferring"] == 1
    assert seen["started_during_a_commit"] > 0


def test_several_outputs_are_numbered_and_other_files_are_never_replaced(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    model = next(m for m in bundled_spec.models("text_to_image")
                 if "outputCount" in {f.name for f in bundled_spec.fields(
                     "text_to_image", m)["optional"]})
    ratio = (bundled_spec.ratios("text_to_image", model) or [None])[0]
    lines = [{"endpoint": "text_to_image", "model": model, "promptText": "two",
              "outputCount": 2, **({"ratio": ratio} if ratio else {})},
             {"endpoint": "text_to_image", "id": "mine", **image_jobs(bundled_spec, 1)[0]}]
    lines[1].pop("endpoint", None)
    lines[1]["endpoint"] = "text_to_image"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.png").write_bytes(b"a file that was here before")
    batch = new_batch(tmp_path, bundled_spec, lines)
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    files = {r["job"]: [Path(f).name for f in r["files"]] for r in batch.results()}
    assert files == {"job-0001": ["job-0001-1.png", "job-0001-2.png"], "mine": ["mine.2.png"]}
    assert (tmp_path / "out" / "mine.png").read_bytes() == b"a file that was here before"


def test_local_files_are_uploaded_once_for_every_job_that_uses_them(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A picture too big to inline goes up once a run, however many jobs name it."""
    from runway_dynamic.sandbox.media import png

    op = bundled_spec.catalog.operation("image_to_video", "POST")
    assert op is not None
    picture = tmp_path / "big.png"
    picture.write_bytes(png(64, 36) + b"\0" * 6_000_000)  # past the data: URI limit
    lines = [{"endpoint": "image_to_video", "model": "gen4.5", "promptText": f"pan {i}",
              "ratio": "1280:720", "duration": 5, "promptImage": "big.png"} for i in range(4)]
    batch = new_batch(tmp_path, bundled_spec, lines)
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    uploads = sandbox.state.requests_to("POST", "/v1/uploads")
    assert len(uploads) == 1 and len(sandbox.state.uploads) == 1
    sent = {t.body["promptImage"] for t in sandbox.state.tasks.values()}
    assert len(sent) == 1 and sent.pop().startswith("runway://")
    assert batch.status().counts["downloaded"] == 4


def test_a_task_id_that_cannot_be_recorded_stops_the_batch_and_is_named(
    bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal refuses the 5th task id (a full disk, say): the batch stops at once,
    prints that task's id and the command that settles it; nothing is sent twice."""
    batch = new_batch(tmp_path, bundled_spec, image_jobs(bundled_spec, 12))
    journal = batch.journal
    real = journal.mark_submitted
    calls = [0]

    def failing(key: str, task_id: str, credits: float | None = None) -> None:
        calls[0] += 1
        if calls[0] == 5:
            raise JournalError("the disk is full", path=str(journal.path), reason="full")
        real(key, task_id, credits)

    monkeypatch.setattr(journal, "mark_submitted", failing)
    notes: list[str] = []

    async def go() -> object:
        async with client_for(sandbox, bundled_spec) as client:
            return await batch.run(client, BatchOptions(concurrency=2),
                                   on_event=lambda e: notes.append(e.message or ""))

    first = asyncio.run(go())
    assert first.exit_code == EXIT_ERROR  # type: ignore[attr-defined]
    assert "disk is full" in (first.outcome.fatal or "")  # type: ignore[attr-defined]
    lost = [n for n in notes if "was created but could not be recorded" in n]
    assert len(lost) == 1 and "runway batch resolve" in lost[0]
    monkeypatch.setattr(journal, "mark_submitted", real)  # space again
    again = run_batch(batch, sandbox, bundled_spec)
    assert again.exit_code == EXIT_ERROR and again.status.counts["uncertain"] == 1
    key, task_id = lost[0].split(":")[0], lost[0].split("task ")[1].split(" ")[0]

    async def settle() -> None:
        async with client_for(sandbox, bundled_spec) as client:
            await batch.resolve(client, key, task_id=task_id)

    asyncio.run(settle())
    assert run_batch(batch, sandbox, bundled_spec).exit_code == 0
    _assert_done_once(batch, sandbox, 12)
