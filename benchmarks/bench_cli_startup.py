"""Whole-process start-up of the CLI against a one-command typer app, same interpreter.

Target (issue 5): ``runway --help`` and ``runway video --help`` within 1.5x a one-command
typer app. Every run uses a warmed index (RUNWAY_CACHE_DIR points at a temp dir filled
once), so what is measured is the dispatcher, the cached index load and the one command it
builds. Machines are noisy: read the ratios, not the milliseconds.

    python benchmarks/bench_cli_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import fmt, median_process_seconds

#: The baseline: one typer command with one argument and one option, the smallest
#: realistic CLI (what a hand-written ``runway models schema`` would be).
ONE_COMMAND_APP = '''
from typing import Annotated
import typer
app = typer.Typer(add_completion=False)
@app.command()
def schema(model: Annotated[str, typer.Argument()],
           json: Annotated[bool, typer.Option("--json")] = False) -> None:
    print(model)
app()
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "one_command.py"
        app.write_text(ONE_COMMAND_APP, encoding="utf-8")
        env = {**os.environ, "RUNWAY_CACHE_DIR": str(Path(tmp) / "cache"),
               "RUNWAY_CONFIG_DIR": str(Path(tmp) / "config")}
        env = {k: v for k, v in env.items() if k != "RUNWAY_SPEC"}
        subprocess.run([python, "-m", "runway_dynamic", "models"], env=env,
                       capture_output=True, check=True)  # warm the index
        cases = [
            ("python -c pass", [python, "-c", "pass"]),
            ("typer one-command app", [python, str(app), "gen4.5"]),
            ("runway --help", [python, "-m", "runway_dynamic", "--help"]),
            ("runway video --help", [python, "-m", "runway_dynamic", "video", "--help"]),
            ("runway avatars list --help",
             [python, "-m", "runway_dynamic", "avatars", "list", "--help"]),
            ("runway models schema gen4.5",
             [python, "-m", "runway_dynamic", "models", "schema", "gen4.5"]),
            ("runway __complete video --model",
             [python, "-m", "runway_dynamic", "__complete", "video", "--model", ""]),
        ]
        times = {name: median_process_seconds(argv, repeat=args.repeat, env=env)
                 for name, argv in cases}
    base = times["python -c pass"]
    typer_app = times["typer one-command app"]
    print(f"{'case':34} {'median':>11} {'x python':>9} {'x typer app':>12}")
    for name, seconds in times.items():
        print(f"{name:34} {fmt(seconds)} {seconds / base:8.2f}x {seconds / typer_app:11.2f}x")
    for name in ("runway --help", "runway video --help"):
        verdict = "ok" if times[name] <= 1.5 * typer_app else "OVER the 1.5x target"
        print(f"{name}: {times[name] / typer_app:.2f}x the typer app ({verdict})")


if __name__ == "__main__":
    main()
