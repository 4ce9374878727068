"""Helpers to run the real ``runway`` CLI: in a subprocess (goldens, start-up, errors) or
in-process through ``main(argv)`` (everything else: fast, same code path)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from runway_dynamic.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture
def run_cli() -> Runner:
    """``run_cli(*args, env=None, input=None)``: the CLI in a subprocess (``-m runway_dynamic``).

    The environment is the test's (conftest scrubs RUNWAY_* and points the cache at tmp).
    """

    def runner(*args: str, env: dict[str, str] | None = None, input: str | None = None
               ) -> Result:
        full_env = {**os.environ, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "runway_dynamic", *args], capture_output=True, text=True,
            env=full_env, input=input, timeout=60,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return runner


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    """``cli(*args)``: ``runway_dynamic.cli.main(args)`` in-process, output captured."""

    def runner(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return runner
