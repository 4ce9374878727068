"""short-video end to end against the sandbox: plan, run, fail, rerun one shot, join."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from creative_support import posts

from runway_dynamic.client import AsyncRunwayClient
from runway_dynamic.creative.executor import execute_plan
from runway_dynamic.creative.jobs import JobsPreflightError
from runway_dynamic.creative.plan import load_plan
from runway_dynamic.creative.planner import PlanRequest, deterministic_plan, resolve_settings
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.spec import Spec

SCENARIO = "A paper boat sets off down a gutter. It rides a small wave. It reaches the river."
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
FAST = ("--poll-interval", "0.02", "--retry-backoff-seconds", "0", "--planner",
        "deterministic")


def _plan(spec: Spec, **kwargs: Any) -> Any:
    request = PlanRequest(SCENARIO, **kwargs)
    return deterministic_plan(request, resolve_settings(spec.catalog, request))


def _run(spec: Spec, sandbox: Sandbox, plan: Any, output: Path, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", None)

    async def go() -> Any:
        async with AsyncRunwayClient("k", base_url=sandbox.base_url, spec=spec,
                                     poll_interval=0.02, retry_backoff_seconds=0,
                                     headers=headers) as client:
            return await execute_plan(plan, output, client, **kwargs)

    return asyncio.run(go())


@needs_ffmpeg
def test_plan_is_saved_before_the_first_paid_call_and_clips_are_joined(
        bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path) -> None:
    plan = _plan(bundled_spec, shots=3)
    output = tmp_path / "boat.mp4"
    plan_file = tmp_path / "boat.plan.json"
    seen: list[bool] = []

    def event(key: str, step: str, status: str, progress: float | None) -> None:
        if status == "SUBMITTING":
            seen.append(plan_file.is_file() and not posts(sandbox, "text_to_video")[3:])

    outcome = _run(bundled_spec, sandbox, plan, output, on_event=event)
    assert outcome.exit_code == 0 and outcome.final == output and output.stat().st_size > 0
    assert seen and seen[0] is True, "the plan existed before the first submission"
    saved = load_plan(plan_file)
    assert saved.output == "boat.mp4"
    assert {k: v["status"] for k, v in saved.results.items()} == {
        "1": "succeeded", "2": "succeeded", "3": "succeeded"}
    for data in saved.results.values():
        clip = tmp_path / data["clip"]
        assert clip.is_file() and clip.parent.name == "boat-shots"
        assert clip.name.startswith("shot-0")
    bodies = posts(sandbox, "text_to_video")
    assert sorted(b["promptText"] for b in bodies) == sorted(s.video_prompt for s in plan.shots)


def test_keyframes_mode_uploads_what_cannot_be_inlined(bundled_spec: Spec, tmp_path: Path
                                                       ) -> None:
    """With a spec whose data: limit is tiny, the keyframe goes up as an upload."""
    document = json.loads(bundled_spec.document.data)
    text = json.dumps(document).replace('"maxLength": 5242880', '"maxLength": 64')
    small = Spec.from_bytes(text.encode(), "small-data-limit")
    image_model = small.catalog.models("text_to_image")[1]
    plan = _plan(small, shots=2, keyframes=image_model)
    with Sandbox(spec=small, task_seconds=0.05) as sb:
        outcome = _run(small, sb, plan, tmp_path / "kf.mp4", join=False)
        assert outcome.exit_code == 0
        images = posts(sb, "text_to_image")
        videos = posts(sb, "image_to_video")
        uploads = posts(sb, "uploads")
    assert {b["model"] for b in images} == {image_model}
    assert {b["ratio"] for b in images} == {plan.keyframes_ratio}
    assert len(uploads) == 2
    assert all(b["promptImage"].startswith("runway://") for b in videos)
    saved = load_plan(tmp_path / "kf.plan.json")
    assert all((tmp_path / r["keyframe"]).suffix == ".png" for r in saved.results.values())


def test_keyframes_inline_small_stills(bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
                                       ) -> None:
    plan = _plan(bundled_spec, shots=2, keyframes=bundled_spec.catalog.models("text_to_image")[1])
    assert _run(bundled_spec, sandbox, plan, tmp_path / "v.mp4", join=False).exit_code == 0
    assert all(b["promptImage"].startswith("data:image/png;base64,")
               for b in posts(sandbox, "image_to_video"))
    assert posts(sandbox, "uploads") == []


def test_internal_failure_is_resubmitted(bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
                                         ) -> None:
    plan = _plan(bundled_spec, shots=2)
    fault = {FAULT_HEADER: "task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=1"}
    outcome = _run(bundled_spec, sandbox, plan, tmp_path / "r.mp4", join=False, concurrency=1,
                   headers=fault)
    assert outcome.exit_code == 0
    assert len(posts(sandbox, "text_to_video")) == 3
    saved = load_plan(tmp_path / "r.plan.json")
    assert len(saved.results["1"]["task_ids"]) == 2


def test_preflight_blocks_every_call(bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path
                                     ) -> None:
    plan = _plan(bundled_spec, shots=3)
    plan.shots[1].ratio = "999:1"
    plan.shots[2].video_prompt = "x" * 5000
    with pytest.raises(JobsPreflightError) as info:
        _run(bundled_spec, sandbox, plan, tmp_path / "p.mp4")
    text = str(info.value)
    assert "shot 2" in text and "shot 3" in text and "999:1" in text
    assert posts(sandbox, "text_to_video") == []


@needs_ffmpeg
def test_cli_failed_shot_exits_nonzero_keeps_the_rest_and_reruns_alone(
        cli: Any, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_EXTRA_HEADERS",
                       json.dumps({FAULT_HEADER: "task-fail=SAFETY.INPUT.TEXT; times=1"}))
    out = tmp_path / "it's here" / "boat.mp4"
    first = cli("short-video", SCENARIO, *FAST, "-o", str(out), "--concurrency", "1",
                "--shots", "3")
    assert first.code == 3, first.err
    assert "shot 1 failed" in first.err and "SAFETY.INPUT.TEXT" in first.err
    assert "--only 1" in first.err
    plan_file = out.with_name("boat.plan.json")
    saved = load_plan(plan_file)
    assert saved.results["1"]["status"] == "failed"
    kept = {k: out.parent / v["clip"] for k, v in saved.results.items() if v.get("clip")}
    assert sorted(kept) == ["2", "3"] and all(p.is_file() for p in kept.values())
    assert not out.exists()

    monkeypatch.delenv("RUNWAY_EXTRA_HEADERS")
    before = len(posts(sandbox, "text_to_video"))
    again = cli("short-video", "run", "--plan", str(plan_file), "--only", "1", *FAST[:4])
    assert again.code == 0, again.err
    assert again.out.strip() == str(out.absolute())
    assert len(posts(sandbox, "text_to_video")) == before + 1, "only shot 1 was made again"
    rerun = load_plan(plan_file)
    assert all(v["status"] == "succeeded" for v in rerun.results.values())
    assert {k: out.parent / v["clip"] for k, v in rerun.results.items() if k != "1"} == kept


def test_cli_plan_only_needs_no_key_and_run_reads_stdin(
        cli: Any, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWAY_API_KEY")
    planned = cli("short-video", SCENARIO, "--plan-only", "--shots", "2", "--planner",
                  "deterministic", "--style", "watercolour")
    assert planned.code == 0, planned.err
    data = json.loads(planned.out)
    assert len(data["shots"]) == 2 and "watercolour" in data["shots"][0]["video_prompt"]
    refused = cli("short-video", SCENARIO, "--planner", "deterministic")
    assert refused.code == 1 and "key" in refused.err.lower()
    monkeypatch.setenv("RUNWAY_API_KEY", "k")
    out = tmp_path / "from-stdin.mp4"
    ran = cli("short-video", "run", "--plan", "-", "-o", str(out), "--no-concat", *FAST[:4],
              stdin=planned.out)
    assert ran.code == 0, ran.err
    assert len(ran.out.split()) == 2 and all(Path(p).is_file() for p in ran.out.split())
    assert (tmp_path / "from-stdin.plan.json").is_file()


def test_cli_brief_sets_shape_and_length(cli: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "MARKETING.md").write_text("## Platform\nTikTok\n\n- **Length**: 20s\n")
    monkeypatch.chdir(tmp_path)
    result = cli("short-video", "plan", SCENARIO, "--planner", "deterministic")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    w, _, h = plan["ratio"].partition(":")
    assert int(w) < int(h)
    assert plan["duration"] == 20 and plan["brief"]["platform"] == "TikTok"
    asked = cli("short-video", "plan", SCENARIO, "--planner", "deterministic", "--interactive",
                stdin="playful\n")
    assert "tone" in asked.err.lower() and json.loads(asked.out)["style"] == "playful"
    assert "?" not in result.err, "no questions without --interactive"


def test_cli_diff(cli: Any, tmp_path: Path) -> None:
    a = cli("short-video", "plan", SCENARIO, "--planner", "deterministic", "--shots", "3")
    b = cli("short-video", "plan", SCENARIO, "--planner", "deterministic", "--shots", "3",
            "--style", "noir")
    (tmp_path / "a.json").write_text(a.out)
    (tmp_path / "b.json").write_text(b.out)
    same = cli("short-video", "diff", str(tmp_path / "a.json"), str(tmp_path / "a.json"))
    assert same.code == 0 and "same" in same.out
    differ = cli("short-video", "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                 "--json")
    assert differ.code == 1
    paths = [c["path"] for c in json.loads(differ.out)["changes"]]
    assert "style" in paths and "shots[2].video_prompt" in paths
