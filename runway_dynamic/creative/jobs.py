"""Running many generations at once: pre-flight all, then a bounded, concurrent run.

A *job* is one output people asked for (a shot, a product photo); it has one or more
*steps* (a keyframe still, then the clip animated from it). Every step's body is
pre-flighted before the first submission, so a mistake in job 7 costs nothing for jobs
1–6. Jobs then run concurrently (at most ``concurrency`` at a time) on
:class:`~runway_dynamic.client.AsyncRunwayClient`; a job that fails is recorded and the
others go on. Local files become ``data:`` URIs when they fit the field's limit, else
uploads (:func:`~runway_dynamic.uploads.aresolve_media`).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import RunwayError, TaskFailedError, UsageError
from runway_dynamic.catalog import Catalog, Field, MediaFacts, flatten_object, media_facts
from runway_dynamic.uploads import aresolve_media, is_uri

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.spec import Spec
    from runway_dynamic.validation import Problem

#: Stands in for a media value that only exists at run time (a local file not yet sent,
#: the keyframe a previous step will make) while the rest of the body is pre-flighted.
PLACEHOLDER_URI = "https://example.com/runway-dynamic-placeholder.png"
DEFAULT_CONCURRENCY = 3
DEFAULT_RETRY_ON_INTERNAL_ERROR = 2

#: ``on_event(job key, step name, status, progress)`` — for progress lines.
EventCallback = Callable[[str, str, str, "float | None"], None]


@dataclass
class Step:
    """One generation: ``endpoint`` + ``body``; media in ``inputs`` are resolved at run time.

    ``inputs`` maps a body field to local paths or URIs (an array field gets
    ``[{"uri": …}]`` items); ``chain`` names the field that receives the previous step's
    first output file.
    """

    name: str
    endpoint: str
    body: dict[str, Any]
    prefix: str
    inputs: dict[str, list[str]] = field(default_factory=dict)
    chain: str | None = None


@dataclass
class Job:
    key: str
    label: str
    steps: list[Step]


@dataclass
class JobResult:
    status: str = "pending"
    files: dict[str, list[str]] = field(default_factory=dict)
    #: Per step, a digest of what was asked (body and inputs): a kept file is reused only
    #: when the step is unchanged.
    digests: dict[str, str] = field(default_factory=dict)
    task_ids: list[str] = field(default_factory=list)
    error: str | None = None
    failure_code: str | None = None
    exit_code: int = 0


class JobsPreflightError(UsageError):
    """One or more jobs failed pre-flight; nothing was sent (every problem is listed)."""

    def __init__(self, failures: Mapping[str, Sequence[Problem]], labels: Mapping[str, str]):
        self.failures = {k: list(v) for k, v in failures.items()}
        lines = ["pre-flight check failed; nothing was sent:"]
        for key, problems in self.failures.items():
            for problem in problems:
                lines.append(f"  - {labels.get(key, key)}: {problem.message}")
        super().__init__("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "jobs": {k: [p.to_dict() for p in v]
                                              for k, v in self.failures.items()}}


def _field_media(field_: Field) -> tuple[bool, MediaFacts | None]:
    """(is an array of ``{uri}`` items, media facts of the value or of the items' uri)."""
    if field_.kind == "array":
        items = field_.schema.get("items")
        if isinstance(items, Mapping):
            uri = flatten_object(items)[0].get("uri")
            if isinstance(uri, Mapping):
                return True, media_facts(uri)
    return False, field_.media


def step_digest(step: Step) -> str:
    """A short, stable digest of what a step asks for."""
    import hashlib
    import json

    data = json.dumps([step.endpoint, step.body, step.inputs, step.chain], sort_keys=True,
                      default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def preflight_body(catalog: Catalog, step: Step) -> dict[str, Any]:
    """The step's body with placeholders where run-time media will go."""
    body = copy.deepcopy(step.body)
    variant = catalog.variant(step.endpoint, str(body.get("model")))
    names = list(step.inputs) + ([step.chain] if step.chain else [])
    for name in names:
        count = len(step.inputs.get(name, [])) or 1
        field_ = variant.field_map.get(name) if variant else None
        is_array = field_ is not None and _field_media(field_)[0]
        body[name] = [{"uri": PLACEHOLDER_URI}] * count if is_array else PLACEHOLDER_URI
    return body


def preflight_jobs(spec: Spec, jobs: Sequence[Job]) -> None:
    """Pre-flight every step of every job; :class:`JobsPreflightError` lists all problems."""
    from runway_dynamic.validation import errors

    failures: dict[str, list[Problem]] = {}
    for job in jobs:
        for step in job.steps:
            problems = errors(spec.preflight(step.endpoint, preflight_body(spec.catalog, step)))
            if problems:
                failures.setdefault(job.key, []).extend(problems)
    if failures:
        raise JobsPreflightError(failures, {j.key: j.label for j in jobs})


async def _resolve(client: AsyncRunwayClient, step: Step, previous: Path | None
                   ) -> dict[str, Any]:
    body = copy.deepcopy(step.body)
    variant = client.spec.catalog.variant(step.endpoint, str(body.get("model")))
    wanted: dict[str, list[str]] = dict(step.inputs)
    if step.chain:
        if previous is None:
            raise UsageError(f"{step.name}: no earlier output to take {step.chain} from")
        wanted[step.chain] = [str(previous)]
    for name, values in wanted.items():
        field_ = variant.field_map.get(name) if variant else None
        is_array, facts = _field_media(field_) if field_ else (False, None)
        resolved = []
        for value in values:
            if not is_uri(value):
                value = str(Path(value).expanduser())
            resolved.append(await aresolve_media(value, facts, client.upload,
                                                 label=f"{step.name} {name}"))
        body[name] = [{"uri": uri} for uri in resolved] if is_array else resolved[0]
    return body


async def run_jobs(
    client: AsyncRunwayClient,
    jobs: Sequence[Job],
    out_dir: Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry_on_internal_error: int = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: float | None = None,
    poll_interval: float | None = None,
    timeout: float | None = None,
    results: dict[str, JobResult] | None = None,
    on_event: EventCallback | None = None,
    on_change: Callable[[str, JobResult], None] | None = None,
) -> dict[str, JobResult]:
    """Run ``jobs`` (bounded concurrency); every job's :class:`JobResult`, failures included.

    ``results`` may carry results of earlier runs (files of steps already done are reused
    when they still exist); ``on_change`` is called after every step, e.g. to save a plan.
    """
    if concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}")
    gate = asyncio.Semaphore(concurrency)
    known = results if results is not None else {}
    events = on_event or (lambda *args: None)
    changed = on_change or (lambda key, result: None)
    wait_kwargs: dict[str, Any] = {}
    if timeout is not None:
        wait_kwargs["timeout"] = timeout

    async def run_one(job: Job) -> tuple[str, JobResult]:
        result = known.get(job.key) or JobResult()
        result.status, result.error, result.failure_code, result.exit_code = (
            "running", None, None, 0)
        async with gate:
            previous: Path | None = None
            current = job.steps[0].name if job.steps else "job"
            try:
                for step in job.steps:
                    current = step.name
                    kept = [Path(p) for p in result.files.get(step.name, [])]
                    digest = step_digest(step)
                    if (kept and all(p.is_file() for p in kept) and step is not job.steps[-1]
                            and result.digests.get(step.name) == digest):
                        previous = kept[0]  # an earlier run made it: reuse, do not pay again
                        continue
                    body = await _resolve(client, step, previous)
                    events(job.key, step.name, "SUBMITTING", None)

                    def progress(status: str, value: float | None, _elapsed: float,
                                 _step: str = step.name) -> None:
                        events(job.key, _step, status, value)

                    def submitted(task: Any) -> None:
                        result.task_ids.append(task.id)

                    task = await client.run(
                        step.endpoint, body, on_progress=progress, on_submit=submitted,
                        retry_on_internal_error=retry_on_internal_error,
                        retry_backoff_seconds=retry_backoff_seconds,
                        poll_interval=poll_interval, **wait_kwargs)
                    paths = await client.download(task, out_dir, prefix=step.prefix)
                    result.files[step.name] = [str(p) for p in paths]
                    result.digests[step.name] = digest
                    previous = paths[0] if paths else None
                    events(job.key, step.name, "DOWNLOADED", 1.0)
                    changed(job.key, result)
                result.status = "succeeded"
            except RunwayError as exc:
                result.status = "failed"
                result.error = str(exc)
                result.exit_code = exc.exit_code
                if isinstance(exc, TaskFailedError):
                    result.failure_code = exc.failure_code
                events(job.key, current, "FAILED", None)
            changed(job.key, result)
            return job.key, result

    out_dir.mkdir(parents=True, exist_ok=True)
    done = await asyncio.gather(*(run_one(job) for job in jobs))
    known.update(dict(done))
    return known
