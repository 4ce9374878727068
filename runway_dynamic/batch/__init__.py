"""Batch runs: thousands of generations from a jobs file, resumable, never paid for twice.

>>> from runway_dynamic.batch import Batch, BatchOptions, load_jobs
>>> batch = Batch.create(load_jobs("jobs.jsonl", spec), output_dir="out/")
>>> report = await batch.run(client, BatchOptions(concurrency=16))   # an AsyncRunwayClient

:mod:`~runway_dynamic.batch.jobfile` reads and checks the jobs, the
:mod:`~runway_dynamic.batch.journal` keeps every job's state in SQLite,
:mod:`~runway_dynamic.batch.pacing` decides how many tasks each model has in flight, and
:mod:`~runway_dynamic.batch.runner` moves jobs along. ``runway batch`` is a thin CLI over
:class:`Batch`.
"""

from __future__ import annotations

from runway_dynamic.batch.api import Batch, BatchReport, BatchStatus, default_output_dir
from runway_dynamic.batch.jobfile import BatchJob, JobsFile, JobsFileError, LineProblem, load_jobs
from runway_dynamic.batch.journal import JobRecord, Journal, TaskRecord
from runway_dynamic.batch.runner import EXIT_PAUSED, BatchEvent, BatchOptions, RunOutcome

__all__ = [
    "EXIT_PAUSED",
    "Batch",
    "BatchEvent",
    "BatchJob",
    "BatchOptions",
    "BatchReport",
    "BatchStatus",
    "JobRecord",
    "JobsFile",
    "JobsFileError",
    "Journal",
    "LineProblem",
    "RunOutcome",
    "TaskRecord",
    "default_output_dir",
    "load_jobs",
]
