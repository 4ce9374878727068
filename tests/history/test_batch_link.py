"""Batch jobs are linked to their journal in the history, not copied into it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from runway_dynamic.batch import Batch, BatchOptions, load_jobs
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.history import HistoryStore
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


def test_each_batch_job_leaves_one_linked_entry_without_its_body(
        bundled_spec: Spec, tmp_path: Path) -> None:
    model = next(m for m in bundled_spec.models("text_to_image")
                 if {f.name for f in bundled_spec.fields("text_to_image", m)["required"]}
                 <= {"model", "promptText", "ratio"})
    ratio = (bundled_spec.ratios("text_to_image", model) or [""])[0]
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps({
        "endpoint": "text_to_image", "model": model, "promptText": f"kite number {i}",
        "ratio": ratio}) + "\n" for i in range(3)), encoding="utf-8")
    batch = Batch.create(load_jobs(jobs_file, bundled_spec), output_dir=tmp_path / "out",
                         spec=bundled_spec)
    store_path = tmp_path / "history.sqlite3"

    async def go() -> None:
        async with AsyncRunwayClient("key_batch_link_0a1b2c3d", base_url=sandbox.base_url,
                                     spec=bundled_spec, poll_interval=0.03,
                                     history=store_path) as client:
            await batch.run(client, BatchOptions(retry_backoff_seconds=0))

    with Sandbox(spec=bundled_spec, task_seconds=0.05) as sandbox:
        asyncio.run(go())
    results = {r["job"]: r for r in batch.results()}
    batch.close()

    with HistoryStore(store_path) as store:
        entries = store.entries()
    assert len(entries) == 3
    journal = str((tmp_path / "out" / "journal.sqlite3").absolute())
    for entry in entries:
        assert entry.batch_journal == journal and entry.body is None and entry.media == ()
        result = results[entry.batch_job or ""]
        assert entry.task_id == result["taskId"] and entry.status == "SUCCEEDED"
        assert list(entry.files) == [str(Path(f).absolute()) if not Path(f).is_absolute()
                                     else f for f in result["files"]]
    assert {e.prompt for e in entries} == {f"kite number {i}" for i in range(3)}
