"""External planners: the ``claude`` and ``codex`` CLIs, asked for JSON matching our schema.

The agent writes the shots (roles, beats, prompts); everything the API checks (model,
ratio, durations, prompt lengths) is still decided from the spec by us, and the answer is
validated before it is used. Each run has a deadline: on time-out the agent's whole
process group is stopped (``start_new_session`` + ``os.killpg``), so no orphaned agent
keeps working (or spending) in the background. Under ``--planner auto`` a planner that is
missing, fails, times out or answers nonsense is skipped, and the deterministic planner
writes the plan; the plan records what was tried. An agent never inherits the API key
(:func:`runway_dynamic.boundary.child_environment`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from typing import Any

from runway_dynamic._exceptions import RunwayError, UsageError
from runway_dynamic.boundary import child_environment
from runway_dynamic.catalog import Catalog
from runway_dynamic.creative.plan import ROLES, ShortVideoPlan, Shot, plan_problems
from runway_dynamic.creative.planner import (
    PlanRequest,
    Settings,
    deterministic_plan,
    fit_text,
    plan_from_shots,
    resolve_settings,
)

PLANNERS = ("auto", "deterministic", "claude", "codex")
AGENTS = ("claude", "codex")
ENV_PLANNER = "RUNWAY_SHORT_VIDEO_PLANNER"
ENV_PLANNER_MODEL = "RUNWAY_SHORT_VIDEO_PLANNER_MODEL"
ENV_PLANNER_TIMEOUT = "RUNWAY_SHORT_VIDEO_PLANNER_TIMEOUT_SECONDS"
DEFAULT_PLANNER_TIMEOUT = 180.0
#: Seconds a stopped agent gets to exit after SIGTERM before SIGKILL.
_TERM_GRACE = 2.0


class PlannerError(RunwayError):
    """An external planner could not give a usable plan (missing, failed, timed out, bad JSON)."""

    def __init__(self, planner: str, message: str) -> None:
        super().__init__(f"{planner} planner: {message}")
        self.planner = planner
        self.reason = message

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "planner": self.planner, "reason": self.reason}


# --------------------------------------------------------------------------- the prompt


def agent_prompt(request: PlanRequest, settings: Settings) -> str:
    """What we ask the agent: the scenario, the constraints from the spec, the JSON shape."""
    keyframes = settings.keyframes_model is not None
    limits = f"at most {settings.video_limit} characters" if settings.video_limit else "concise"
    key_limit = (f"at most {settings.keyframe_limit} characters" if settings.keyframe_limit
                 else "concise")
    shape = {
        "title": "short working title",
        "shots": [{
            "index": 1,
            "role": "|".join(ROLES),
            "beat": "the part of the scenario this shot covers",
            "keyframe_prompt": "a still image prompt" if keyframes else None,
            "video_prompt": "the moving shot",
        }],
    }
    lines = [
        "You are planning a short video made of separately generated shots that will be "
        "cut together in order.",
        f"Scenario: {request.scenario.strip()}",
        f"Shots: exactly {settings.shots}, indices 1..{settings.shots}.",
        "Roles: the first shot establishes the setting, the last resolves the story, "
        "middle shots are action, and a transition may lead into the last shot.",
        f"Each video_prompt: {limits}; describe subject, setting, camera movement and "
        "light in plain positive language; one moment per shot; keep characters, wardrobe "
        "and palette consistent across shots.",
    ]
    if keyframes:
        lines.append(f"Each keyframe_prompt: {key_limit}; the opening still of the shot "
                     "(composition, lens, light), with no motion words.")
    else:
        lines.append("Set keyframe_prompt to null.")
    if settings.style:
        lines.append(f"Look and feel for every shot: {settings.style}.")
    if request.brief and request.brief.values:
        brief = "; ".join(f"{k}: {v}" for k, v in sorted(request.brief.values.items()))
        lines.append(f"Marketing brief: {brief}.")
    lines.append("Answer with one JSON object only, no prose and no code fence, shaped like: "
                 + json.dumps(shape))
    return "\n".join(lines)


# --------------------------------------------------------------------------- running agents


def agent_argv(name: str, executable: str, prompt: str, model: str | None) -> list[str]:
    """The non-interactive command line of each agent CLI."""
    if name == "claude":
        argv = [executable, "-p", prompt, "--output-format", "text"]
        return [*argv, "--model", model] if model else argv
    if name == "codex":
        argv = [executable, "exec"]
        if model:
            argv += ["--model", model]
        return [*argv, prompt]
    raise UsageError(f"unknown planner {name!r}; choose one of {', '.join(PLANNERS)}")


def stop_process_tree(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group, then SIGKILL what is left after a short grace."""
    if hasattr(os, "killpg"):
        for sig, wait in ((signal.SIGTERM, _TERM_GRACE), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                process.wait(wait)
                # The leader is gone; make sure the rest of its group is too.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                break
            except subprocess.TimeoutExpired:
                continue
    else:  # pragma: no cover - Windows has no process groups of this kind
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        process.communicate(timeout=_TERM_GRACE)


def run_agent(name: str, prompt: str, *, model: str | None, timeout: float,
              executable: str | None = None) -> str:
    """The agent's stdout; :class:`PlannerError` when missing, failing or too slow."""
    found = executable or shutil.which(name)
    if not found:
        raise PlannerError(name, f"`{name}` is not on PATH")
    argv = agent_argv(name, found, prompt, model)
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                   errors="replace", start_new_session=True,
                                   env=child_environment())
    except OSError as exc:
        raise PlannerError(name, f"cannot start {found}: {exc.strerror}") from None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_tree(process)
        raise PlannerError(name, f"no answer within {timeout:g}s; stopped it") from None
    except BaseException:
        stop_process_tree(process)
        raise
    if process.returncode != 0:
        tail = " ".join((err or "").strip().splitlines()[-2:])[:300]
        raise PlannerError(name, f"exited with status {process.returncode}"
                                 + (f": {tail}" if tail else ""))
    return out


def extract_json(text: str) -> Any:
    """The JSON object in an agent's answer (bare, fenced, or wrapped in prose)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    candidates = [fenced.group(1)] if fenced else []
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON object in the answer")


def plan_from_answer(answer: str, request: PlanRequest, settings: Settings,
                     planner: dict[str, Any]) -> ShortVideoPlan:
    """Turn an agent's answer into a plan; :class:`ValueError` says why it is unusable."""
    data = extract_json(answer)
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        raise ValueError("the answer has no `shots` list")
    raw_shots = data["shots"]
    if len(raw_shots) != settings.shots:
        raise ValueError(f"asked for {settings.shots} shots, got {len(raw_shots)}")
    keyframes = settings.keyframes_model is not None
    shots = []
    for position, raw in enumerate(raw_shots, start=1):
        if not isinstance(raw, dict):
            raise ValueError(f"shot {position} is not an object")
        video = raw.get("video_prompt")
        key = raw.get("keyframe_prompt")
        if not isinstance(video, str) or not video.strip():
            raise ValueError(f"shot {position} has no video_prompt")
        if keyframes and (not isinstance(key, str) or not key.strip()):
            raise ValueError(f"shot {position} has no keyframe_prompt (keyframes mode)")
        shots.append(Shot(
            index=position, role=str(raw.get("role") or ""),
            beat=" ".join(str(raw.get("beat") or "").split()),
            keyframe_prompt=fit_text(key, settings.keyframe_limit) if keyframes and key else None,
            video_prompt=fit_text(video, settings.video_limit),
            duration=settings.shot_duration,
        ))
    request_title = request.title or (data.get("title") if isinstance(data.get("title"), str)
                                      else None)
    plan = plan_from_shots(
        PlanRequest(**{**request.__dict__, "title": request_title}), settings, shots, planner)
    problems = plan_problems(plan.to_dict())
    if problems:
        raise ValueError("; ".join(problems[:5]))
    return plan


def external_plan(name: str, request: PlanRequest, settings: Settings, *,
                  model: str | None, timeout: float,
                  runner: Callable[..., str] = run_agent) -> ShortVideoPlan:
    answer = runner(name, agent_prompt(request, settings), model=model, timeout=timeout)
    try:
        return plan_from_answer(answer, request, settings, {"name": name, "model": model})
    except ValueError as exc:
        raise PlannerError(name, f"unusable answer ({exc})") from None


# --------------------------------------------------------------------------- choosing


def make_plan(
    catalog: Catalog,
    request: PlanRequest,
    *,
    planner: str = "auto",
    planner_model: str | None = None,
    timeout: float = DEFAULT_PLANNER_TIMEOUT,
    log: Callable[[str], None] | None = None,
) -> tuple[ShortVideoPlan, Settings]:
    """Plan with the chosen planner; under ``auto``: claude, codex, then deterministic."""
    if planner not in PLANNERS:
        raise UsageError(f"--planner {planner!r}: choose one of {', '.join(PLANNERS)}")
    if timeout <= 0:
        raise UsageError(f"--planner-timeout-seconds must be positive, got {timeout:g}")
    settings = resolve_settings(catalog, request)
    say = log or (lambda message: None)
    if planner == "deterministic":
        return deterministic_plan(request, settings), settings
    if planner in AGENTS:
        if not shutil.which(planner):
            raise UsageError(f"--planner {planner}: `{planner}` is not on PATH "
                             "(install it, or use --planner deterministic)")
        plan = external_plan(planner, request, settings, model=planner_model, timeout=timeout)
        say(f"planned by {planner}")
        return plan, settings
    tried: list[str] = []
    for name in AGENTS:
        if not shutil.which(name):
            continue
        try:
            plan = external_plan(name, request, settings, model=planner_model, timeout=timeout)
        except PlannerError as exc:
            tried.append(f"{name}: {exc.reason}")
            say(f"{exc}; trying the next planner")
            continue
        say(f"planned by {name}")
        return plan, settings
    plan = deterministic_plan(request, settings)
    if tried:
        plan.planner["fallback_from"] = tried
    say("planned by the deterministic planner")
    return plan, settings
