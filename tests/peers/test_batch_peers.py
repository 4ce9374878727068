"""A batch against Steady serving the official spec: an independent judge of the requests.

Every task variant of the spec becomes a job line (JSONL, and CSV where its fields are
plain values, so text cells are typed by our reading); Steady validates each create
against the official schema. Its tasks never finish, so the run is stopped once every
job is submitted: the proof is that each create was accepted and recorded exactly once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.batch import Batch, BatchEvent, BatchOptions
from runway_dynamic.batch.jobfile import parse_jobs
from runway_dynamic.catalog import CREATES_TASK, iter_variants
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec

from .conftest import peer_spec

KEY = "key_peer_batch_0123456789abcdef"


@pytest.fixture(scope="module")
def spec() -> Spec:
    path = peer_spec()
    return Spec.from_bytes(path.read_bytes(), str(path))


def _lines(spec: Spec) -> tuple[list[dict[str, Any]], str]:
    """One JSONL job per task variant, and a CSV of those whose fields are all scalars."""
    catalog = spec.catalog
    jsonl: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for variant in iter_variants(catalog):
        op = catalog.operation(variant.endpoint, "POST")
        if op is None or op.kind != CREATES_TASK:
            continue
        body = example(variant.schema)
        assert isinstance(body, dict)
        jsonl.append({"endpoint": variant.endpoint, **body})
        if all(isinstance(v, (str, int, float, bool)) for v in body.values()):
            rows.append({"endpoint": variant.endpoint, **body})
    columns = sorted({k for row in rows for k in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, bool) else v
                         for k, v in row.items()})
    return jsonl, out.getvalue()


def _submit_all(spec: Spec, url: str, batch: Batch, total: int) -> dict[str, int]:
    stop = asyncio.Event()

    def watch(event: BatchEvent) -> None:
        settled = event.counts.get("submitted", 0) + event.counts.get("failed", 0)
        if settled + event.counts.get("uncertain", 0) >= total:
            stop.set()

    async def go() -> None:
        async with AsyncRunwayClient(KEY, base_url=url, spec=spec, poll_interval=0.2) as client:
            # Steady's tasks never finish: room for every job at once
            await batch.run(client, BatchOptions(concurrency=total, read_org_limits=False),
                            on_event=watch, stop=stop)

    asyncio.run(asyncio.wait_for(go(), 60))
    return batch.status().counts


@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_steady_accepts_every_create_a_batch_sends(spec: Spec, steady_url: str,
                                                   tmp_path: Path, form: str) -> None:
    jsonl, csv_text = _lines(spec)
    text = "\n".join(json.dumps(line) for line in jsonl) if form == "jsonl" else csv_text
    jobs = parse_jobs(text, spec, source=f"jobs.{form}", fmt=form)
    assert len(jobs.jobs) >= (20 if form == "jsonl" else 5)
    batch = Batch.create(jobs, output_dir=tmp_path / "out", spec=spec)
    counts = _submit_all(spec, steady_url, batch, len(jobs.jobs))
    failed = [f["failure"] for f in batch.status().failed]
    assert failed == [], failed[:3]
    assert counts["submitted"] == len(jobs.jobs) and counts["uncertain"] == 0
    # Steady answers every create with its example id, so ids repeat here; what counts is
    # one create per job, each recorded.
    assert [r.attempts for r in batch.journal.jobs()] == [1] * len(jobs.jobs)
    assert len(batch.journal.tasks()) == len(jobs.jobs)
