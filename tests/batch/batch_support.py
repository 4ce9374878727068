"""Helpers shared by the batch tests: jobs files, a client on a sandbox, PNG checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from runway_dynamic.batch import Batch, BatchOptions, BatchReport, load_jobs
from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec

KEY = "key_batch_s3cret_never_printed_7f21"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_model(spec: Spec, index: int = 0) -> tuple[str, str]:
    """(model, ratio) of the ``index``-th text_to_image model that needs only a prompt."""
    found = []
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            found.append((model, ratios[0]))
    return found[index]


def image_jobs(spec: Spec, count: int, *, model_index: int = 0, prefix: str = "p",
               **extra: Any) -> list[dict[str, Any]]:
    """``count`` valid text_to_image job lines, each with a unique prompt (to find its task)."""
    model, ratio = image_model(spec, model_index)
    return [{"endpoint": "text_to_image", "model": model, "promptText": f"{prefix}{i:05d}",
             "ratio": ratio, **extra} for i in range(count)]


def video_job(spec: Spec, endpoint: str = "text_to_video") -> dict[str, Any]:
    """One valid job for ``endpoint`` from its first model's example body."""
    model = spec.models(endpoint)[0]
    variant = spec.catalog.variant(endpoint, model)
    assert variant is not None
    return {"endpoint": endpoint, **example(variant.schema)}


def write_jsonl(path: Path, lines: Iterable[Mapping[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def client_for(sandbox: Sandbox, spec: Spec, *,
               fault: Callable[[httpx.Request], str | None] | None = None,
               poll_interval: float = 0.03, **kwargs: Any) -> AsyncRunwayClient:
    """An async client on ``sandbox``; ``fault(request)`` may add an X-Sandbox-Fault header
    to chosen requests (e.g. only creates), which server-wide faults cannot single out."""
    hooks: dict[str, list[Any]] = {}
    if fault is not None:
        async def add_fault(request: httpx.Request) -> None:
            text = fault(request)
            if text:
                request.headers[FAULT_HEADER] = text

        hooks["request"] = [add_fault]
    http = httpx.AsyncClient(timeout=10, event_hooks=hooks,
                             limits=httpx.Limits(max_connections=16,
                                                 max_keepalive_connections=16))
    return AsyncRunwayClient(KEY, base_url=sandbox.base_url, spec=spec,
                             poll_interval=poll_interval, http_client=http,
                             max_concurrent_requests=16, **kwargs)


def creates_only(text: str, endpoint: str = "text_to_image",
                 first: int | None = None) -> Callable[[httpx.Request], str | None]:
    """A fault for POSTs to ``endpoint`` only (the first ``first`` of them when given)."""
    seen = [0]

    def choose(request: httpx.Request) -> str | None:
        if request.method != "POST" or not request.url.path.endswith("/" + endpoint):
            return None
        seen[0] += 1
        return text if first is None or seen[0] <= first else None

    return choose


def run_batch(batch: Batch, sandbox: Sandbox, spec: Spec, options: BatchOptions | None = None,
              **client_kwargs: Any) -> BatchReport:
    async def go() -> BatchReport:
        async with client_for(sandbox, spec, **client_kwargs) as client:
            return await batch.run(client, options or BatchOptions(retry_backoff_seconds=0))

    return asyncio.run(go())


def new_batch(tmp_path: Path, spec: Spec, lines: Iterable[Mapping[str, Any]],
              name: str = "jobs.jsonl", **options: Any) -> Batch:
    jobs = load_jobs(write_jsonl(tmp_path / name, lines), spec)
    return Batch.create(jobs, output_dir=tmp_path / "out", spec=spec,
                        options=BatchOptions(**options) if options else None)


def tasks_by_prompt(sandbox: Sandbox) -> dict[str, int]:
    """How many tasks the sandbox made per prompt: the proof of no double submission."""
    with sandbox.state.lock:
        tasks = list(sandbox.state.tasks.values())
    counts: dict[str, int] = {}
    for task in tasks:
        prompt = task.body.get("promptText")
        if isinstance(prompt, str):
            counts[prompt] = counts.get(prompt, 0) + 1
    return counts
