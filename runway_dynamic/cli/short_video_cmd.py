"""``runway short-video``: plan a multi-shot video, run the shots, join the clips.

``short-video "<scenario>"`` plans and runs; ``short-video plan`` only plans (no key
needed); ``short-video run --plan FILE|-`` only runs (never plans); ``short-video diff``
compares two plans.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runway_dynamic._constants import RESUBMIT_BACKOFF
from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._clients import make_async_client
from runway_dynamic.cli._context import current, echo, emit_json, terminal_safe
from runway_dynamic.cli._creative import (
    ConcurrencyOption,
    JobsDisplay,
    JsonOption,
    PollIntervalOption,
    RetryBackoffOption,
    RetryInternalOption,
    free_path,
    say,
    slug,
    stamp,
)
from runway_dynamic.creative.external import (
    DEFAULT_PLANNER_TIMEOUT,
    ENV_PLANNER,
    ENV_PLANNER_MODEL,
    ENV_PLANNER_TIMEOUT,
    make_plan,
)
from runway_dynamic.creative.jobs import DEFAULT_CONCURRENCY, DEFAULT_RETRY_ON_INTERNAL_ERROR
from runway_dynamic.creative.plan import ShortVideoPlan

ScenarioArg = Annotated[str, typer.Argument(
    metavar="SCENARIO", show_default=False,
    help="What the video shows, in a few sentences (each sentence tends to become a shot).")]
ShotsOption = Annotated[int | None, typer.Option(
    "--shots", metavar="N", show_default=False,
    help="Number of shots (default 4, or from --duration).")]
DurationOption = Annotated[float | None, typer.Option(
    "--duration", metavar="SECONDS", show_default=False,
    help="Target total length; each shot gets the nearest length its model allows.")]
RatioOption = Annotated[str | None, typer.Option(
    "--ratio", metavar="W:H", show_default=False,
    help="Output ratio (e.g. 1280:720, 9:16, portrait); the model's closest accepted ratio "
         "is used.")]
ModelOption = Annotated[str | None, typer.Option(
    "--model", metavar="MODEL", show_default=False,
    help="Video model (default: the spec's first text_to_video model, or image_to_video "
         "with --keyframes).")]
StyleOption = Annotated[str | None, typer.Option(
    "--style", metavar="TEXT", show_default=False, help="Look and feel added to every shot.")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", metavar="INT", min=0, show_default=False, help="Seed for models that take one.")]
KeyframesOption = Annotated[str | None, typer.Option(
    "--keyframes", metavar="IMAGE_MODEL", show_default=False,
    help="Make a still per shot with this text_to_image model, then animate it.")]
AudioOption = Annotated[bool, typer.Option(
    "--audio", help="Ask for generated audio (models that offer it).")]
OutputOption = Annotated[str | None, typer.Option(
    "-o", "--output", metavar="PATH", show_default=False,
    help="The final video (its plan is written beside it as NAME.plan.json).")]
NameOption = Annotated[str | None, typer.Option(
    "--name", metavar="NAME", show_default=False, help="Name of the final video (NAME.mp4).")]
AutoNameOption = Annotated[bool, typer.Option(
    "--auto-name", help="Name the video after the plan's title.")]
PlanOnlyOption = Annotated[bool, typer.Option(
    "--plan-only", help="Print the plan and stop (no API call, no key needed).")]
NoConcatOption = Annotated[bool, typer.Option(
    "--no-concat", help="Keep the separate clips; do not join them with ffmpeg.")]
PlannerOption = Annotated[str, typer.Option(
    "--planner", metavar="auto|deterministic|claude|codex", envvar=ENV_PLANNER,
    help="Who writes the shots; auto tries claude, then codex, then our own planner.")]
PlannerModelOption = Annotated[str | None, typer.Option(
    "--planner-model", metavar="MODEL", envvar=ENV_PLANNER_MODEL, show_default=False,
    help="Model the external planner should use.")]
PlannerTimeoutOption = Annotated[float, typer.Option(
    "--planner-timeout-seconds", metavar="S", envvar=ENV_PLANNER_TIMEOUT,
    help="Stop an external planner (and its child processes) after this long.")]
InteractiveOption = Annotated[bool, typer.Option(
    "--interactive", help="Ask (on stderr) for what MARKETING.md leaves open.")]
FfmpegOption = Annotated[str | None, typer.Option(
    "--ffmpeg", metavar="PATH", show_default=False,
    help="ffmpeg to join clips (default: $FFMPEG_BINARY, PATH, imageio-ffmpeg).")]
OnlyOption = Annotated[list[int] | None, typer.Option(
    "--only", metavar="N", show_default=False,
    help="Run only shot N (repeatable); other shots keep their clips.")]


def _plan(scenario: str, *, shots: int | None, duration: float | None, ratio: str | None,
          model: str | None, style: str | None, seed: int | None, keyframes: str | None,
          audio: bool, planner: str, planner_model: str | None, planner_timeout: float,
          interactive: bool) -> ShortVideoPlan:
    from runway_dynamic.creative.brief import ask_missing, find_brief
    from runway_dynamic.creative.planner import PlanRequest

    invocation = current()
    brief = find_brief(Path.cwd())
    if brief is not None:
        say(invocation, f"using defaults from {brief.path}")
    if interactive:
        brief = ask_missing(brief)
    if planner == "auto" and not invocation.boundary.agent_allowed(named=False):
        planner = "deterministic"  # under --sandbox an agent runs only when named
    request = PlanRequest(scenario=scenario, shots=shots, duration=duration, ratio=ratio,
                          model=model, style=style, seed=seed, keyframes=keyframes,
                          audio=audio, brief=brief)
    plan, settings = make_plan(invocation.spec().catalog, request, planner=planner,
                               planner_model=planner_model, timeout=planner_timeout,
                               log=lambda text: say(invocation, text))
    for note in settings.notes:
        say(invocation, note)
    return plan


def short_video(
    scenario: ScenarioArg,
    shots: ShotsOption = None,
    duration: DurationOption = None,
    ratio: RatioOption = None,
    model: ModelOption = None,
    style: StyleOption = None,
    seed: SeedOption = None,
    keyframes: KeyframesOption = None,
    audio: AudioOption = False,
    output: OutputOption = None,
    name: NameOption = None,
    auto_name: AutoNameOption = False,
    plan_only: PlanOnlyOption = False,
    no_concat: NoConcatOption = False,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    planner: PlannerOption = "auto",
    planner_model: PlannerModelOption = None,
    planner_timeout_seconds: PlannerTimeoutOption = DEFAULT_PLANNER_TIMEOUT,
    interactive: InteractiveOption = False,
    ffmpeg: FfmpegOption = None,
    retry_on_internal_error: RetryInternalOption = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None,
    json: JsonOption = False,
) -> int:
    """Plan a multi-shot video from a scenario, generate the shots, join them.

    The plan is written next to the video (NAME.plan.json) before anything is paid for;
    a shot that fails ends the command non-zero and can be rerun alone with
    'runway short-video run --plan NAME.plan.json --only N'.
    """
    invocation = current()
    if json:
        invocation.json = True
    if name and auto_name:
        raise UsageError("--name and --auto-name exclude each other")
    if not plan_only:
        from runway_dynamic.cli._clients import require_api_key

        require_api_key(invocation)  # fail before planning (an external planner takes a while)
    plan = _plan(scenario, shots=shots, duration=duration, ratio=ratio, model=model,
                 style=style, seed=seed, keyframes=keyframes, audio=audio, planner=planner,
                 planner_model=planner_model, planner_timeout=planner_timeout_seconds,
                 interactive=interactive)
    if plan_only:
        sys.stdout.write(plan.dumps())
        return 0
    target = _output_path(output, name, plan.title if auto_name else None)
    return _execute(plan, target, None, only=None, concurrency=concurrency,
                    retry_on_internal_error=retry_on_internal_error,
                    retry_backoff_seconds=retry_backoff_seconds, poll_interval=poll_interval,
                    join=not no_concat, ffmpeg=ffmpeg)


def plan_command(
    scenario: ScenarioArg,
    shots: ShotsOption = None,
    duration: DurationOption = None,
    ratio: RatioOption = None,
    model: ModelOption = None,
    style: StyleOption = None,
    seed: SeedOption = None,
    keyframes: KeyframesOption = None,
    audio: AudioOption = False,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", metavar="FILE", show_default=False,
        help="Write the plan here instead of printing it.")] = None,
    planner: PlannerOption = "auto",
    planner_model: PlannerModelOption = None,
    planner_timeout_seconds: PlannerTimeoutOption = DEFAULT_PLANNER_TIMEOUT,
    interactive: InteractiveOption = False,
) -> int:
    """Plan a short video without running it (no API call, no key needed).

    Edit the plan if you like, then run it with 'runway short-video run --plan FILE'.
    """
    plan = _plan(scenario, shots=shots, duration=duration, ratio=ratio, model=model,
                 style=style, seed=seed, keyframes=keyframes, audio=audio, planner=planner,
                 planner_model=planner_model, planner_timeout=planner_timeout_seconds,
                 interactive=interactive)
    if output:
        from runway_dynamic.creative.plan import save_plan

        save_plan(plan, Path(output))
        echo(str(Path(output)))
    else:
        sys.stdout.write(plan.dumps())
    return 0


def run_command(
    plan: Annotated[str, typer.Option(
        "--plan", metavar="FILE|-", show_default=False,
        help="The plan to run ('-' reads it from stdin).")],
    only: OnlyOption = None,
    output: OutputOption = None,
    no_concat: NoConcatOption = False,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    ffmpeg: FfmpegOption = None,
    retry_on_internal_error: RetryInternalOption = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: RetryBackoffOption = RESUBMIT_BACKOFF,
    poll_interval: PollIntervalOption = None,
    json: JsonOption = False,
) -> int:
    """Run a plan as it is (never plans): pre-flight every shot, run, join.

    Shots that already have their clip (see the plan's results) are kept; --only N
    re-makes shot N.
    """
    from runway_dynamic.creative.plan import load_plan

    invocation = current()
    if json:
        invocation.json = True
    stdin = sys.stdin.read() if plan == "-" else None
    loaded = load_plan(plan, stdin)
    plan_file = None if plan == "-" else Path(plan)
    if output:
        target = Path(output)
    elif plan_file is not None and loaded.output:
        target = plan_file.parent / loaded.output
    elif plan_file is not None:
        target = plan_file.with_name(plan_file.name.removesuffix(".json").removesuffix(".plan")
                                     + ".mp4")
    else:
        target = _output_path(None, None, loaded.title)
    return _execute(loaded, target, plan_file, only=only, concurrency=concurrency,
                    retry_on_internal_error=retry_on_internal_error,
                    retry_backoff_seconds=retry_backoff_seconds, poll_interval=poll_interval,
                    join=not no_concat, ffmpeg=ffmpeg)


def diff_command(
    a: Annotated[str, typer.Argument(metavar="A", help="A plan file ('-' reads stdin).",
                                     show_default=False)],
    b: Annotated[str, typer.Argument(metavar="B", help="Another plan file ('-' reads stdin).",
                                     show_default=False)],
    json: JsonOption = False,
) -> int:
    """Compare two plans shot by shot (exit 1 when they differ, 2 when one is invalid)."""
    from runway_dynamic.creative.plan import diff_plans, format_diff, load_plan

    if a == b == "-":
        raise UsageError("only one of A and B can be '-' (stdin is read once)")
    stdin = sys.stdin.read() if "-" in (a, b) else None
    # Both are checked as plans first: an invalid plan (duplicate shot indices, a missing
    # field) is reported as invalid, never compared as if it were one.
    plans = [load_plan(name, stdin) for name in (a, b)]
    changes = diff_plans(plans[0].to_dict(), plans[1].to_dict())
    if current().wants_json(json):
        emit_json({"same": not changes, "changes": changes})
    else:
        echo(format_diff(changes))
    return 1 if changes else 0


# --------------------------------------------------------------------------- helpers


def _output_path(output: str | None, name: str | None, title: str | None) -> Path:
    if output:
        path = Path(output).expanduser()
        if path.is_dir() or output.endswith(("/", "\\")):
            return path / f"{slug(title) if title else 'short-video-' + stamp()}.mp4"
        return path if path.suffix else path.with_suffix(".mp4")
    if name:
        return Path(name if name.endswith(".mp4") else f"{name}.mp4")
    if title:
        return free_path(Path(f"{slug(title)}.mp4"))
    return free_path(Path(f"short-video-{stamp()}.mp4"))


def _execute(plan: ShortVideoPlan, target: Path, plan_file: Path | None, *,
             only: list[int] | None, concurrency: int, retry_on_internal_error: int,
             retry_backoff_seconds: float, poll_interval: float | None, join: bool,
             ffmpeg: str | None) -> int:
    from runway_dynamic.creative.executor import execute_plan

    invocation = current()
    if retry_on_internal_error < 0:
        raise UsageError("--retry-on-internal-error must be 0 or more")
    if join and not only:
        from runway_dynamic.creative.ffmpeg import find_ffmpeg

        find_ffmpeg(ffmpeg)  # say so now, not after paying for every shot
    from runway_dynamic._files import check_writable_dir, check_writable_file
    from runway_dynamic.creative.executor import clips_dir_for

    check_writable_file(target, "the video")  # local things first: nothing is paid yet
    check_writable_dir(clips_dir_for(target), "the clips folder")
    labels = {str(s.index): f"shot {s.index}" for s in plan.shots}

    async def go() -> Any:
        async with make_async_client(invocation, poll_interval=poll_interval,
                                     retry_backoff_seconds=retry_backoff_seconds) as client:
            with JobsDisplay(labels, quiet=invocation.json) as display:
                return await execute_plan(
                    plan, target, client, only=only, concurrency=concurrency,
                    retry_on_internal_error=retry_on_internal_error,
                    retry_backoff_seconds=retry_backoff_seconds, poll_interval=poll_interval,
                    join=join, ffmpeg=ffmpeg, plan_path=plan_file, on_event=display.event,
                    log=display.note)

    outcome = asyncio.run(go())
    base = outcome.plan_path.parent
    clips = {int(k): str(base / v["clip"]) for k, v in plan.results.items() if v.get("clip")}
    if invocation.json:
        emit_json({"plan": str(outcome.plan_path), "output": str(outcome.final)
                   if outcome.final else None, "clips": clips,
                   "failed": {str(k): v for k, v in outcome.failed.items()},
                   "missing": outcome.missing, "exitCode": outcome.exit_code})
    else:
        report = outcome.report()
        if report:
            sys.stderr.write("\n".join(f"runway: {terminal_safe(line)}"
                                       for line in report.splitlines()) + "\n")
        if outcome.final is not None:
            echo(str(outcome.final))
        elif not outcome.failed and not outcome.missing:
            for index in sorted(clips):
                echo(clips[index])
    return outcome.exit_code
