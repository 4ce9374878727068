"""Executing a short-video plan: every shot pre-flighted, then shots run concurrently.

The plan is written beside the final video before the first paid call and updated after
every step, so an interrupted or partly failed run leaves a plan that says which clips
exist; ``short-video run --plan P`` resumes it (shots with a clip are kept) and
``--only N`` re-makes just shot N. A failed shot never disappears silently: the run
reports it and ends non-zero, and the clips of the other shots stay where they are.

>>> async with AsyncRunwayClient() as client:
...     outcome = await execute_plan(plan, Path("launch.mp4"), client)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import EXIT_ERROR, EXIT_TASK_FAILED, RATIO_PROPERTY
from runway_dynamic._exceptions import RunwayError, UsageError
from runway_dynamic.catalog import Catalog
from runway_dynamic.creative import _facts
from runway_dynamic.creative.ffmpeg import concat
from runway_dynamic.creative.jobs import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRY_ON_INTERNAL_ERROR,
    EventCallback,
    Job,
    JobResult,
    Step,
    preflight_jobs,
    run_jobs,
)
from runway_dynamic.creative.plan import ShortVideoPlan, plan_path_for, save_plan
from runway_dynamic.creative.planner import TEXT_TO_IMAGE

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient

KEYFRAME_STEP = "keyframe"
CLIP_STEP = "clip"


def clips_dir_for(output: Path) -> Path:
    """``out/launch.mp4`` → ``out/launch-shots/`` (clips and keyframes of one video)."""
    return output.with_name(output.stem + "-shots")


def _optional(variant: Any, name: str, value: Any, body: dict[str, Any]) -> None:
    if value is not None and name in variant.field_map:
        body[name] = value


def shot_jobs(plan: ShortVideoPlan, catalog: Catalog) -> list[Job]:
    """One job per shot: a clip, preceded by its keyframe still in keyframes mode."""
    endpoint = plan.video_endpoint
    video = _facts.require_variant(catalog, endpoint, plan.model)
    prompt = _facts.prompt_field(video)
    if plan.audio and _facts.AUDIO_PROPERTY not in video.field_map:
        with_audio = [m for m in catalog.models(endpoint)
                      if _facts.AUDIO_PROPERTY in catalog.variant(endpoint, m).field_map]  # type: ignore[union-attr]
        raise UsageError(f"--audio: {plan.model} on {endpoint} has no audio option; models "
                         f"with one: {', '.join(with_audio) or 'none in this spec'}")
    image = image_prompt = chain = None
    if plan.keyframes_model:
        image = _facts.require_variant(catalog, TEXT_TO_IMAGE, plan.keyframes_model)
        image_prompt = _facts.prompt_field(image)
        image_field = _facts.first_image_field(video)
        if image_field is None:
            raise UsageError(f"{plan.model} on {endpoint} takes no image to animate")
        chain = image_field.name
    jobs = []
    for shot in plan.shots:
        steps = []
        number = f"{shot.index:02d}"
        if image is not None:
            body: dict[str, Any] = {"model": plan.keyframes_model}
            if image_prompt is not None:
                body[image_prompt.name] = shot.keyframe_prompt or shot.video_prompt
            _optional(image, RATIO_PROPERTY, plan.keyframes_ratio, body)
            _optional(image, _facts.SEED_PROPERTY, plan.seed, body)
            steps.append(Step(KEYFRAME_STEP, TEXT_TO_IMAGE, body, f"keyframe-{number}"))
        body = {"model": plan.model}
        if prompt is not None:
            body[prompt.name] = shot.video_prompt
        _optional(video, RATIO_PROPERTY, shot.ratio or plan.ratio, body)
        _optional(video, _facts.DURATION_PROPERTY, shot.duration, body)
        _optional(video, _facts.SEED_PROPERTY, plan.seed, body)
        if plan.audio:
            body[_facts.AUDIO_PROPERTY] = True
        steps.append(Step(CLIP_STEP, endpoint, body, f"shot-{number}", chain=chain))
        jobs.append(Job(str(shot.index), f"shot {shot.index}", steps))
    return jobs


# --------------------------------------------------------------------------- results


def _relative(path: str, base: Path) -> str:
    return os.path.relpath(path, base)


def results_to_plan(plan: ShortVideoPlan, key: str, result: JobResult, base: Path) -> None:
    clip = result.files.get(CLIP_STEP)
    keyframe = result.files.get(KEYFRAME_STEP)
    plan.results[key] = {
        "status": result.status,
        "clip": _relative(clip[0], base) if clip else None,
        "keyframe": _relative(keyframe[0], base) if keyframe else None,
        "task_ids": list(result.task_ids),
        "error": result.error,
        "failure_code": result.failure_code,
        **({"digests": dict(result.digests)} if result.digests else {}),
    }


def results_from_plan(plan: ShortVideoPlan, base: Path) -> dict[str, JobResult]:
    out = {}
    for key, data in plan.results.items():
        files = {step: [str(base / data[name])] for step, name in
                 ((CLIP_STEP, "clip"), (KEYFRAME_STEP, "keyframe")) if data.get(name)}
        out[key] = JobResult(status=str(data.get("status") or "pending"), files=files,
                             digests=dict(data.get("digests") or {}),
                             task_ids=list(data.get("task_ids") or []),
                             error=data.get("error"), failure_code=data.get("failure_code"))
    return out


def clip_path(plan: ShortVideoPlan, index: int, base: Path) -> Path | None:
    data = plan.results.get(str(index)) or {}
    if data.get("status") != "succeeded" or not data.get("clip"):
        return None
    path = base / data["clip"]
    return path if path.is_file() else None


# --------------------------------------------------------------------------- the run


@dataclass
class ShortVideoOutcome:
    """What a run did: where the plan and clips are, which shots failed, the final video."""

    plan_path: Path
    output: Path
    ran: list[int]
    failed: dict[int, str] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    final: Path | None = None
    exit_code: int = 0

    def report(self) -> str:
        lines = []
        for index, error in sorted(self.failed.items()):
            lines.append(f"shot {index} failed: {error}")
        if self.failed:
            again = " ".join(f"--only {i}" for i in sorted(self.failed))
            lines.append(f"the plan and the other clips are kept; rerun with: runway "
                         f"short-video run --plan {self.plan_path} {again}")
        if self.missing and not self.failed:
            lines.append("no clip yet for shot(s) "
                         + ", ".join(map(str, self.missing))
                         + f"; run them with: runway short-video run --plan {self.plan_path}")
        return "\n".join(lines)


def select_shots(plan: ShortVideoPlan, base: Path, only: Sequence[int] | None) -> list[int]:
    """``--only`` shots (checked), else every shot without a kept clip."""
    if only:
        for index in only:
            plan.shot(index)
        return sorted(set(only))
    return [s.index for s in plan.shots if clip_path(plan, s.index, base) is None]


async def execute_plan(
    plan: ShortVideoPlan,
    output: Path,
    client: AsyncRunwayClient,
    *,
    only: Sequence[int] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry_on_internal_error: int = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: float | None = None,
    poll_interval: float | None = None,
    join: bool = True,
    ffmpeg: str | None = None,
    plan_path: Path | None = None,
    on_event: EventCallback | None = None,
    log: Callable[[str], None] | None = None,
) -> ShortVideoOutcome:
    """Pre-flight every shot, save the plan, run the chosen shots, join the clips."""
    say = log or (lambda message: None)
    output = output.absolute()
    plan_file = (plan_path or plan_path_for(output)).absolute()
    base = plan_file.parent
    jobs = shot_jobs(plan, client.spec.catalog)
    preflight_jobs(client.spec, jobs)
    chosen = select_shots(plan, base, only)
    plan.output = _relative(str(output), base)
    save_plan(plan, plan_file)
    say(f"plan: {plan_file}")
    outcome = ShortVideoOutcome(plan_file, output, chosen)
    if chosen:
        def changed(key: str, result: JobResult) -> None:
            results_to_plan(plan, key, result, base)
            save_plan(plan, plan_file)

        results = await run_jobs(
            client, [j for j in jobs if int(j.key) in chosen], clips_dir_for(output),
            concurrency=concurrency, retry_on_internal_error=retry_on_internal_error,
            retry_backoff_seconds=retry_backoff_seconds, poll_interval=poll_interval,
            results=results_from_plan(plan, base), on_event=on_event, on_change=changed)
        for key, result in results.items():
            if int(key) in chosen and result.status == "failed":
                outcome.failed[int(key)] = result.error or "failed"
                code = result.exit_code or EXIT_ERROR
                outcome.exit_code = max(outcome.exit_code, code)
    else:
        say("every shot already has its clip; nothing to generate")
    clips = [clip_path(plan, s.index, base) for s in plan.shots]
    outcome.missing = [s.index for s, c in zip(plan.shots, clips, strict=False) if c is None]
    if outcome.failed:
        outcome.exit_code = outcome.exit_code or EXIT_TASK_FAILED
        return outcome
    if outcome.missing:
        outcome.exit_code = EXIT_ERROR
        return outcome
    if join:
        try:
            outcome.final = concat([c for c in clips if c is not None], output, ffmpeg=ffmpeg)
        except RunwayError as exc:
            outcome.exit_code = exc.exit_code
            raise
    return outcome
