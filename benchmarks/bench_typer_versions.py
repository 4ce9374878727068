"""Why typer is pinned below 0.29: a one-command app's start-up on two typer releases.

Creates two throwaway venvs (typer 0.28.0 and the newest release, from PyPI) and times the
same one-command app in each, as whole processes, against `python -c pass` in the same run.

Run: python benchmarks/bench_typer_versions.py [NEWER_VERSION]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import fmt, median_process_seconds

APP = '''
import typer
app = typer.Typer()
@app.command()
def schema(model: str, json: bool = typer.Option(False, "--json")) -> None:
    print(model)
app()
'''


def main() -> None:
    newer = sys.argv[1] if len(sys.argv) > 1 else "0.29.2"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = root / "app.py"
        app.write_text(APP)
        base = median_process_seconds([sys.executable, "-c", "pass"], repeat=21)
        print(f"python -c pass            {fmt(base)}")
        for version in ("0.28.0", newer):
            env_dir = root / f"typer-{version}"
            venv.create(env_dir, with_pip=True)
            python = str(env_dir / "bin" / "python")
            subprocess.run([python, "-m", "pip", "install", "-q", f"typer=={version}"], check=True)
            took = median_process_seconds([python, str(app), "gen4.5"], repeat=21)
            ratio = took / base
            print(f"typer {version:<8} one-command app {fmt(took)}  ({ratio:.1f}x python -c pass)")


if __name__ == "__main__":
    main()
