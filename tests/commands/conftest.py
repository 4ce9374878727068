"""Fixtures of the command tests: the CLI in-process and in a subprocess, a warm index, and
a sandbox the CLI talks to through ``RUNWAY_BASE_URL``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from commands_support import Result, Runner

from runway_dynamic.cli import main
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding the bundled spec's derived index (built once per session)."""
    path = tmp_path_factory.mktemp("warm-cache")
    old = os.environ.get("RUNWAY_CACHE_DIR")
    os.environ["RUNWAY_CACHE_DIR"] = str(path)
    try:
        Spec.load(None)
    finally:
        if old is None:
            del os.environ["RUNWAY_CACHE_DIR"]
        else:
            os.environ["RUNWAY_CACHE_DIR"] = old
    return path


@pytest.fixture(autouse=True)
def _warm(clean_env: None, warm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command test starts from the warm index (the per-test dirs stay private)."""
    monkeypatch.setenv("RUNWAY_CACHE_DIR", str(warm_cache))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    """``cli(*args)``: ``runway_dynamic.cli.main(args)`` in-process, output captured."""

    def runner(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return runner


@pytest.fixture
def run_cli() -> Runner:
    """``run_cli(*args, env=None)``: the real CLI in a subprocess (``-m runway_dynamic``)."""

    def runner(*args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "runway_dynamic", *args], capture_output=True, text=True,
            env={**os.environ, "COLUMNS": "100", **(env or {})}, timeout=60,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return runner


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(task_seconds=0.1) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Point the CLI at the sandbox with a key (any key is accepted there)."""
    monkeypatch.setenv("RUNWAY_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("RUNWAY_API_KEY", "sandbox-test-key")
    return sandbox
