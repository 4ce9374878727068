"""External planners: fake ``claude``/``codex`` executables on PATH (good, bad, too slow)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic._exceptions import UsageError
from runway_dynamic.creative.external import PlannerError, agent_prompt, make_plan
from runway_dynamic.creative.planner import PlanRequest, resolve_settings
from runway_dynamic.spec import Spec

SCENARIO = "A kite lifts off a windy beach. It loops over the dunes."


def _good_answer(shots: int) -> str:
    return "Here is the plan:\n```json\n" + json.dumps({
        "title": "Kite day",
        "shots": [{"index": i, "role": "establish" if i == 1 else "resolve",
                   "beat": f"beat {i}", "keyframe_prompt": None,
                   "video_prompt": f"Agent shot {i}: a red kite " + "x" * 3000}
                  for i in range(1, shots + 1)],
    }) + "\n```\n"


def fake_agent(directory: Path, name: str, body: str) -> Path:
    """An executable ``name`` in ``directory`` that logs its argv and runs ``body`` (sh)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{directory}/{name}.argv"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def agents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH = a directory for fake agents + the system basics (no real agent can leak in)."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; read its state where /proc exists.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_claude_answer_is_validated_and_fitted(bundled_spec: Spec, agents_dir: Path,
                                                tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text(_good_answer(2))
    fake_agent(agents_dir, "claude", f'cat "{answer}"')
    plan, chosen = make_plan(bundled_spec.catalog, PlanRequest(SCENARIO, shots=2),
                             planner="auto", planner_model="opus-test", timeout=20)
    assert plan.planner == {"name": "claude", "model": "opus-test"}
    assert plan.title == "Kite day"
    assert [s.video_prompt[:12] for s in plan.shots] == ["Agent shot 1", "Agent shot 2"]
    assert all(len(s.video_prompt) <= (chosen.video_limit or 10**9) for s in plan.shots)
    argv = (agents_dir / "claude.argv").read_text().splitlines()
    assert argv[0] == "-p" and "--model" in argv and "opus-test" in argv
    assert "exactly 2" in "\n".join(argv)


def test_bad_json_falls_back_to_codex_then_deterministic(bundled_spec: Spec,
                                                         agents_dir: Path) -> None:
    fake_agent(agents_dir, "claude", 'echo "I would rather write a poem."')
    fake_agent(agents_dir, "codex", 'echo \'{"shots": [{"index": 1}]}\'')
    plan, _ = make_plan(bundled_spec.catalog, PlanRequest(SCENARIO, shots=2), planner="auto",
                        timeout=20)
    assert plan.planner["name"] == "deterministic"
    tried = plan.planner["fallback_from"]
    assert tried[0].startswith("claude: unusable answer")
    assert tried[1].startswith("codex: unusable answer") and "asked for 2 shots" in tried[1]
    assert (agents_dir / "codex.argv").read_text().splitlines()[0] == "exec"


def test_timeout_kills_the_whole_process_tree_then_falls_back(
        bundled_spec: Spec, agents_dir: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    fake_agent(agents_dir, "claude",
               f'sleep 60 &\necho $! >> "{pids}"\necho $$ >> "{pids}"\nwait')
    started = time.monotonic()
    plan, _ = make_plan(bundled_spec.catalog, PlanRequest(SCENARIO, shots=2), planner="auto",
                        timeout=1.0)
    assert time.monotonic() - started < 10
    assert plan.planner["name"] == "deterministic"
    assert "no answer within 1s" in plan.planner["fallback_from"][0]
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in recorded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in recorded), "the agent and its child were both stopped"


def test_explicit_planner_fails_loudly(bundled_spec: Spec, agents_dir: Path) -> None:
    fake_agent(agents_dir, "codex", "echo nope; exit 7")
    with pytest.raises(PlannerError, match="exited with status 7"):
        make_plan(bundled_spec.catalog, PlanRequest(SCENARIO), planner="codex", timeout=20)
    with pytest.raises(UsageError, match="not on PATH"):
        make_plan(bundled_spec.catalog, PlanRequest(SCENARIO), planner="claude", timeout=20)


def test_prompt_carries_spec_limits_and_the_brief(bundled_spec: Spec) -> None:
    from runway_dynamic.creative.brief import parse_brief

    request = PlanRequest(SCENARIO, shots=3, style="pastel",
                          keyframes=bundled_spec.catalog.models("text_to_image")[0],
                          brief=parse_brief("Platform: TikTok"))
    chosen = resolve_settings(bundled_spec.catalog, request)
    prompt = agent_prompt(request, chosen)
    assert f"at most {chosen.video_limit} characters" in prompt
    assert "exactly 3" in prompt and "pastel" in prompt and "platform: TikTok" in prompt


def test_cli_planner_env_and_fallback(cli: Any, agents_dir: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The env equivalents drive the CLI; a slow agent is stopped and the plan still comes."""
    fake_agent(agents_dir, "claude", "sleep 30")
    monkeypatch.setenv("RUNWAY_SHORT_VIDEO_PLANNER_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("RUNWAY_SHORT_VIDEO_PLANNER_MODEL", "m-env")
    result = cli("short-video", "plan", SCENARIO, "--shots", "2")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["planner"]["name"] == "deterministic"
    assert "claude" in plan["planner"]["fallback_from"][0]
    assert "m-env" in (agents_dir / "claude.argv").read_text()
    monkeypatch.setenv("RUNWAY_SHORT_VIDEO_PLANNER", "deterministic")
    again = cli("short-video", "plan", SCENARIO, "--shots", "2")
    assert json.loads(again.out)["planner"] == {"name": "deterministic"}
