"""Every example in the README runs or is checked.

- Every `runway ...` line of a code block names a real command and only flags it accepts.
- The main job of the Quick start runs as written (offline, `--sandbox`).
- The shown pre-flight output is what the CLI prints today.
- Every Python block runs against a real sandbox.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from doc_commands import check_command_line, command_lines

from runway_dynamic.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
LINES = command_lines(README)


def runway(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runway_dynamic", *args], cwd=cwd, capture_output=True,
        text=True, timeout=180, env={**os.environ, **(env or {})},
    )


def test_readme_has_examples() -> None:
    assert len(LINES) >= 20
    assert any(lang == "python" for lang, _ in BLOCKS)


@pytest.mark.parametrize("line", LINES)
def test_every_readme_command_exists_and_accepts_its_flags(line: str) -> None:
    check_command_line(line)


def test_quick_start_main_job_runs_offline(tmp_path: Path) -> None:
    """The Quick start's runway commands, as written, with no key: a video lands on disk."""
    quick = next(body for lang, body in BLOCKS if lang == "sh" and "--sandbox" in body)
    commands = [c.strip() for c in quick.split("&&") if c.strip().startswith("runway ")]
    assert len(commands) >= 3
    for command in commands:
        proc = runway(*shlex.split(command)[1:], cwd=tmp_path,
                      env={"RUNWAY_SANDBOX_TASK_SECONDS": "0.3"})
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
    outputs = list((tmp_path / "runway-output").glob("*.mp4"))
    assert len(outputs) == 1 and outputs[0].stat().st_size > 0


def test_shown_preflight_output_is_current(tmp_path: Path) -> None:
    """The README's pre-flight transcript is exactly what the CLI prints."""
    transcript = next(
        body for lang, body in BLOCKS if lang == "text" and body.startswith("$ runway")
    )
    command, *expected = transcript.rstrip("\n").splitlines()
    proc = runway(*shlex.split(command.removeprefix("$ "))[1:], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.rstrip("\n").splitlines() == expected


@pytest.mark.parametrize(
    "source",
    [body for lang, body in BLOCKS if lang == "python"],
    ids=lambda s: s.split("\n")[2][:40],
)
def test_python_example_runs_against_the_sandbox(source: str, tmp_path: Path) -> None:
    with Sandbox(task_seconds=0.2) as sandbox:
        proc = subprocess.run(
            [sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True,
            timeout=120,
            env={**os.environ, "RUNWAY_BASE_URL": sandbox.base_url,
                 "RUNWAY_API_KEY": "key_readme_example_0123456789"},
        )
    assert proc.returncode == 0, proc.stderr
    assert "key_readme_example" not in proc.stdout + proc.stderr
