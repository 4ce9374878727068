"""Issue 15 habits, through the real CLI in a subprocess: what a new user tries first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCENARIO = "a barista opens the cafe at dawn"


def _plan(run_cli: Any, tmp_path: Path, name: str, *extra: str) -> Path:
    path = tmp_path / name
    done = run_cli("short-video", "plan", SCENARIO, "--planner", "deterministic", "--shots",
                   "3", "-o", str(path), *extra)
    assert done.code == 0, done.err
    return path


def test_short_video_diff_refuses_an_invalid_plan_and_reads_stdin(run_cli: Any,
                                                                   tmp_path: Path) -> None:
    a = _plan(run_cli, tmp_path, "a.json")
    broken = json.loads(a.read_text())
    broken["shots"][1]["index"] = broken["shots"][0]["index"]  # two shots numbered 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))

    invalid = run_cli("short-video", "diff", str(bad), str(bad))
    assert invalid.code == 2 and "not a valid short-video plan" in invalid.err, invalid
    assert "indices" in invalid.err and "same" not in invalid.out

    from_stdin = run_cli("short-video", "diff", "-", str(a), input=a.read_text())
    assert from_stdin.code == 0 and "same" in from_stdin.out, from_stdin
    b = _plan(run_cli, tmp_path, "b.json", "--style", "noir")
    differ = run_cli("short-video", "diff", str(a), "-", "--json", input=b.read_text())
    assert differ.code == 1 and "style" in [c["path"] for c in json.loads(differ.out)["changes"]]

    twice = run_cli("short-video", "diff", "-", "-", input=a.read_text())
    assert twice.code == 2 and "stdin" in twice.err


def test_a_brief_as_people_write_it(tmp_path: Path) -> None:
    """``youtube-shorts`` is vertical, ``Length seconds: 30`` is the length, a label under a
    heading is not part of its text, and a scenario's own marks are not doubled."""
    import os
    import subprocess
    import sys

    (tmp_path / "MARKETING.md").write_text(
        "Platform: youtube-shorts\nLength seconds: 30\n\n## Product\n"
        "One-liner: a hand-hammered copper kettle\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "runway_dynamic", "short-video", "plan",
         "Fresh coffee! The first customer smiles?", "--planner", "deterministic"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    w, _, h = plan["ratio"].partition(":")
    assert int(w) < int(h), plan["ratio"]
    assert plan["duration"] == 30
    assert plan["brief"]["product"] == "a hand-hammered copper kettle"
    prompts = " ".join(s["video_prompt"] for s in plan["shots"])
    assert "coffee!" in prompts and not any(
        mark in prompts for mark in ("!.", "?.", "!:", "..")), prompts


def test_a_field_the_default_model_lacks_names_the_models_that_take_it(
        run_cli: Any, bundled_spec: Any) -> None:
    """A field of other models is a wrong model, not a typo: no "did you mean" a look-alike
    field (``audio`` is not a misspelt ``ratio``); a real typo still gets one."""
    catalog = bundled_spec.catalog
    endpoint = "text_to_video"
    default = catalog.models(endpoint)[0]
    fields = {m: set(catalog.variant(endpoint, m).field_map) for m in catalog.models(endpoint)}
    lacking = sorted({f for m, names in fields.items() if m != default for f in names}
                     - fields[default] - {"model"})
    assert lacking, "every text_to_video field is a field of the default model"
    name = lacking[0]
    takers = [m for m in catalog.models(endpoint) if name in fields[m]]
    done = run_cli("--sandbox", "video", "--prompt", "waves", "--body", json.dumps({name: 1}),
                   "--dry-run")
    line = next((ln for ln in done.err.splitlines() if f"'{name}' is not a field" in ln),
                done.err)
    assert takers[0] in line and "did you mean" not in line, line

    typo = run_cli("--sandbox", "call", endpoint, "--body",
                   json.dumps({"model": default, "promptTxt": "waves"}), "--dry-run")
    assert "did you mean promptText" in typo.err, typo.err
