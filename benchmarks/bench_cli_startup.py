"""Whole-process start-up of one command per family against a one-command typer app.

Goal (issue 16): every command within 1.3x the CPU of a one-command typer app. Every run
uses a warmed index (RUNWAY_CACHE_DIR points at a temp dir filled once), so what is
measured is the dispatcher, the cached index load and the one command it builds. CPU
(user + system) is measured, not wall time: on a shared machine a process also waits for a
core. Rounds are interleaved (each round runs every case once), so drift in the machine's
load touches every case alike; the medians of the rounds are compared.

    python benchmarks/bench_cli_startup.py [--repeat 15] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import fmt, process_cpu_seconds

#: The goal, in CPU relative to the one-command typer app.
GOAL = 1.3

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

PACKAGE = Path(__file__).resolve().parent.parent / "runway_dynamic"
BASELINES = ("python -c pass", "typer one-command app")

#: One representative command per family (argv after ``runway``).
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("video", "--help"),
    ("--sandbox", "call", "text_to_video", "--model", "gen4.5", "--prompt-text", "a cat",
     "--ratio", "1280:720", "--duration", "5", "--dry-run"),
    ("--sandbox", "video", "--model", "gen4.5", "--prompt-text", "a cat", "--ratio",
     "1280:720", "--duration", "5", "--dry-run"),
    # refused by pre-flight (exit 2): the problems are explained, nothing is sent
    ("--sandbox", "video", "--model", "gen4.5", "--prompt-text", "a cat", "--ratio",
     "1280:720", "--duration", "50", "--dry-run"),
    ("models",),
    ("models", "schema", "gen4.5"),
    ("models", "ratios"),
    ("avatars", "list", "--help"),
    ("history",),
    ("batch", "--help"),
    ("batch", "run", "--help"),
    ("task", "get", "--help"),
    ("spec", "show"),
    ("config", "list"),
    ("tools", "export", "--help"),
    ("help", "exit-codes"),
    ("__complete", "video", "--model", ""),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="only commands containing this text")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "one_command.py"
        app.write_text(ONE_COMMAND_APP, encoding="utf-8")
        env = {**os.environ, "RUNWAY_CACHE_DIR": str(Path(tmp) / "cache"),
               "RUNWAY_CONFIG_DIR": str(Path(tmp) / "config"),
               "RUNWAY_DATA_DIR": str(Path(tmp) / "data")}
        # Bytecode as an installed package has it: PYTHONDONTWRITEBYTECODE (set in some
        # shells and CI) would make every run compile the modules edited since the last
        # byte-compilation, which no user pays.
        env = {k: v for k, v in env.items()
               if k not in ("RUNWAY_SPEC", "RUNWAY_API_KEY", "PYTHONDONTWRITEBYTECODE")}
        subprocess.run([python, "-m", "compileall", "-q", str(PACKAGE)], env=env, check=True)
        cases = {BASELINES[0]: [python, "-c", "pass"],
                 BASELINES[1]: [python, str(app), "gen4.5"]}
        for command in COMMANDS:
            name = "runway " + " ".join(a if a else "''" for a in command)
            if args.only in name:
                cases[name] = [python, "-m", "runway_dynamic", *command]
        for argv in cases.values():  # warm the index and the page cache
            subprocess.run(argv, env=env, capture_output=True, check=False)
        rounds: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                rounds[name].append(process_cpu_seconds(argv, env=env))
    cpu = {name: statistics.median(values) for name, values in rounds.items()}
    base, typer_app = cpu[BASELINES[0]], cpu[BASELINES[1]]
    print(f"{'case (CPU, median of ' + str(args.repeat) + ')':74} {'CPU':>11} "
          f"{'x python':>9} {'x typer app':>12}")
    over = []
    for name, seconds in cpu.items():
        ratio = seconds / typer_app
        mark = "" if name in BASELINES or ratio <= GOAL else "  OVER"
        if mark:
            over.append(name)
        shown = name if len(name) <= 74 else name[:50] + "…" + name[-23:]  # keep the tail
        print(f"{shown:74} {fmt(seconds)} {seconds / base:8.2f}x {ratio:11.2f}x{mark}")
    print(f"goal: every command <= {GOAL}x the typer app: "
          + ("met" if not over else f"{len(over)} over"))


if __name__ == "__main__":
    main()
