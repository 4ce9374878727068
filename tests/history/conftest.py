"""Fixtures for the history tests: a sandbox, the real ``runway`` in a subprocess, the store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from history_support import KEY, PNG, Result, Runner

from runway_dynamic.history import Entry, HistoryStore
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        yield sb


@pytest.fixture
def api_env(sandbox: Sandbox) -> dict[str, str]:
    """The environment of a run against the test's sandbox with the (secret) key."""
    return {"RUNWAY_BASE_URL": sandbox.base_url, "RUNWAY_API_KEY": KEY}


@pytest.fixture
def runway(api_env: dict[str, str]) -> Runner:
    """``runway(*args)`` in a subprocess against the sandbox; the key is never printed."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            cwd: Path | None = None) -> Result:
        done = subprocess.run([sys.executable, "-m", "runway_dynamic", *args],
                              capture_output=True, text=True, input=input, timeout=120,
                              env={**os.environ, **api_env, **(env or {})}, cwd=cwd)
        result = Result(done.returncode, done.stdout, done.stderr)
        assert KEY not in result.out + result.err, "the API key was printed"
        return result

    return run


@pytest.fixture
def history_path() -> Path:
    """Where the CLI keeps the history in these tests (the data dir points at tmp)."""
    return Path(os.environ["RUNWAY_DATA_DIR"]) / "history.sqlite3"


@pytest.fixture
def entries(history_path: Path) -> Any:
    """``entries()``: the history's entries now, newest first."""

    def read() -> list[Entry]:
        with HistoryStore(history_path) as store:
            return store.entries()

    return read


@pytest.fixture
def still(tmp_path: Path) -> Path:
    path = tmp_path / "still.png"
    path.write_bytes(PNG)
    return path


@pytest.fixture
def image_args(bundled_spec: Spec) -> list[str]:
    """Flags of a valid ``runway image`` call for a model needing only a prompt and a ratio."""
    for model in bundled_spec.models("text_to_image"):
        variant = bundled_spec.catalog.variant("text_to_image", model)
        assert variant is not None
        if set(variant.required) <= {"model", "promptText", "ratio"} and variant.ratios:
            return ["--model", model, "--ratio", variant.ratios[0]]
    pytest.skip("no simple text_to_image model in the bundled spec")
