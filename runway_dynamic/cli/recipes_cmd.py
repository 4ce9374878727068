"""``product-photoshoot create``, ``marketplace-cards create``, ``ad-video create``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from runway_dynamic._constants import RESUBMIT_BACKOFF
from runway_dynamic.cli._clients import make_async_client
from runway_dynamic.cli._context import current, echo, emit_json, terminal_safe
from runway_dynamic.cli._creative import (
    ConcurrencyOption,
    JobsDisplay,
    JsonOption,
    PollIntervalOption,
    RetryBackoffOption,
    RetryInternalOption,
    say,
    stamp,
)
from runway_dynamic.creative.jobs import DEFAULT_CONCURRENCY, DEFAULT_RETRY_ON_INTERNAL_ERROR
from runway_dynamic.creative.recipes import AD_MODES, MARKETPLACE_SCOPES, PHOTOSHOOT_MODES

ProductOption = Annotated[str, typer.Option(
    "--product", metavar="TEXT", show_default=False,
    help="What the product is (material, colour, shape: the more concrete the better).")]
ModelOption = Annotated[str | None, typer.Option(
    "--model", metavar="MODEL", show_default=False,
    help="Model to use (default: the spec's first one that fits).")]
RatioOption = Annotated[str | None, typer.Option(
    "--ratio", metavar="W:H", show_default=False,
    help="One ratio for every job (default: each job's own shape, at the model's closest).")]
StyleOption = Annotated[str | None, typer.Option(
    "--style", metavar="TEXT", show_default=False, help="Art direction added to every prompt.")]
ImageOption = Annotated[list[str] | None, typer.Option(
    "--image", metavar="PATH|URL", show_default=False,
    help="Reference photo (repeatable); capped by the model's limit for reference images.")]
SoulIdOption = Annotated[list[str] | None, typer.Option(
    "--soul-id", metavar="ID", show_default=False,
    help="Attach a soul-id's photos as references (repeatable).")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", metavar="INT", min=0, show_default=False, help="Seed for models that take one.")]
PlanOnlyOption = Annotated[bool, typer.Option(
    "--plan-only", help="Print the plan of jobs and stop (pre-flighted; nothing is sent).")]
OutputDirOption = Annotated[str | None, typer.Option(
    "--output-dir", metavar="DIR", show_default=False,
    help="Where outputs and recipe.plan.json go (default: ./KIND-MODE-TIMESTAMP).")]
OnlyOption = Annotated[list[int] | None, typer.Option(
    "--only", metavar="N", show_default=False,
    help="Make only job N again (repeatable), into --output-dir of the earlier run; the "
         "other jobs keep their files. A failed job's message gives the exact command.")]


def _recipe(kind: str, mode: str, flags: Mapping[str, Any]) -> int:
    """Run recipe ``kind`` in ``mode`` with the command's flags (its ``locals()``: the three
    commands share every option but their mode's name and ad-video's --duration)."""
    from runway_dynamic._exceptions import UsageError
    from runway_dynamic.creative.jobs import preflight_jobs
    from runway_dynamic.creative.recipes import (
        RECIPE_PLAN,
        RecipeRequest,
        build_recipe,
        check_only,
        load_recipe_plan,
        merge_earlier_run,
        recipe_jobs,
        rerun_line,
        run_recipe,
    )

    invocation = current()
    retry_on_internal_error = flags["retry_on_internal_error"]
    retry_backoff_seconds = flags["retry_backoff_seconds"]
    poll_interval, concurrency = flags["poll_interval"], flags["concurrency"]
    if flags["json"]:
        invocation.json = True
    if retry_on_internal_error < 0:
        raise UsageError("--retry-on-internal-error must be 0 or more")
    spec = invocation.spec()
    notes: list[str] = []
    plan = build_recipe(spec.catalog, kind, mode, RecipeRequest(
        product=flags["product"], model=flags["model"], ratio=flags["ratio"],
        style=flags["style"], images=list(flags["image"] or []),
        soul_ids=list(flags["soul_id"] or []), duration=flags.get("duration"),
        seed=flags["seed"]), notes)
    for note in notes:
        say(invocation, note)
    keys = [str(n) for n in flags["only"] or []]
    output_dir = flags["output_dir"]
    check_only(plan, keys)
    if keys and output_dir is None:
        raise UsageError("--only makes jobs again into an earlier run's folder: give its "
                         "--output-dir")
    if flags["plan_only"]:
        preflight_jobs(spec, [job for job in recipe_jobs(plan, spec.catalog)
                              if not keys or job.key in keys])
        emit_json(plan)
        return 0
    out_dir = Path(output_dir or f"{kind}-{mode}-{stamp()}").expanduser()
    from runway_dynamic._files import check_writable_dir

    check_writable_dir(out_dir, "--output-dir")  # before anything is paid for
    if keys:
        saved = load_recipe_plan(out_dir / RECIPE_PLAN)
        if saved is not None:
            merge_earlier_run(plan, saved, keys, out_dir / RECIPE_PLAN)
    labels = {str(job["index"]): job["label"] for job in plan["jobs"]
              if not keys or str(job["index"]) in keys}

    async def go() -> Any:
        async with make_async_client(invocation, poll_interval=poll_interval,
                                     retry_backoff_seconds=retry_backoff_seconds) as client:
            with JobsDisplay(labels, quiet=invocation.json) as display:
                return await run_recipe(
                    plan, out_dir, client, concurrency=concurrency,
                    retry_on_internal_error=retry_on_internal_error,
                    retry_backoff_seconds=retry_backoff_seconds, poll_interval=poll_interval,
                    on_event=display.event, log=display.note, only=keys)

    results = asyncio.run(go())
    failed = {k: r for k, r in results.items() if r.status != "succeeded"}
    files = [p for k in sorted(results, key=int) for p in results[k].files.get("output", [])]
    if invocation.json:
        emit_json({"plan": str(out_dir.absolute() / RECIPE_PLAN), "files": files,
                   "failed": {k: r.error for k, r in failed.items()},
                   "rerun": rerun_line(plan, out_dir, failed) if failed else None})
    else:
        for path in files:
            echo(path)
        for key, result in sorted(failed.items(), key=lambda kv: int(kv[0])):
            sys.stderr.write("runway: " + terminal_safe(
                f"job {key} ({labels[key]}) failed: {result.error}") + "\n")
        if failed:
            sys.stderr.write("runway: make the failed job(s) again with: " + terminal_safe(
                rerun_line(plan, out_dir, failed)) + "\n")
    if failed:
        return max(r.exit_code for r in failed.values()) or 1
    return 0


def photoshoot(
    product: ProductOption,
    mode: Annotated[str, typer.Option(
        "--mode", metavar="|".join(PHOTOSHOOT_MODES), help="The kind of shoot.")
    ] = "product_shot",
    model: ModelOption = None, ratio: RatioOption = None, style: StyleOption = None,
    image: ImageOption = None, soul_id: SoulIdOption = None, seed: SeedOption = None,
    plan_only: PlanOnlyOption = False, output_dir: OutputDirOption = None,
    only: OnlyOption = None, concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    retry_on_internal_error: RetryInternalOption = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None, json: JsonOption = False,
) -> int:
    """Generate a set of product photos for one mode (text_to_image).

    Writes recipe.plan.json beside the images before anything is paid for.
    """
    return _recipe("product-photoshoot", mode, locals())


def marketplace(
    product: ProductOption,
    scope: Annotated[str, typer.Option(
        "--scope", metavar="|".join(MARKETPLACE_SCOPES), help="Which cards to make.")
    ] = "main",
    model: ModelOption = None, ratio: RatioOption = None, style: StyleOption = None,
    image: ImageOption = None, soul_id: SoulIdOption = None, seed: SeedOption = None,
    plan_only: PlanOnlyOption = False, output_dir: OutputDirOption = None,
    only: OnlyOption = None, concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    retry_on_internal_error: RetryInternalOption = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None, json: JsonOption = False,
) -> int:
    """Generate marketplace-style listing images (a creative set, not a compliance check)."""
    return _recipe("marketplace-cards", scope, locals())


def ad_video(
    product: ProductOption,
    mode: Annotated[str, typer.Option(
        "--mode", metavar="|".join(AD_MODES), help="The kind of ad.")] = "product_showcase",
    model: ModelOption = None, ratio: RatioOption = None, style: StyleOption = None,
    image: ImageOption = None, soul_id: SoulIdOption = None, seed: SeedOption = None,
    duration: Annotated[float | None, typer.Option(
        "--duration", metavar="SECONDS", show_default=False,
        help="Seconds per clip (the nearest the model allows).")] = None,
    plan_only: PlanOnlyOption = False, output_dir: OutputDirOption = None,
    only: OnlyOption = None, concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    retry_on_internal_error: RetryInternalOption = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None, json: JsonOption = False,
) -> int:
    """Generate short ad clips (text_to_video; image_to_video from --image)."""
    return _recipe("ad-video", mode, locals())
