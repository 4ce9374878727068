"""Fixtures for the creative tests: a sandbox, the CLI run in-process against it."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        yield sb


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> Any:
    """``cli(*args, stdin=None) -> Result``: ``runway`` in-process, pointed at the sandbox."""
    from runway_dynamic.cli import main

    monkeypatch.setenv("RUNWAY_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("RUNWAY_API_KEY", "test-key")
    monkeypatch.setenv("RUNWAY_NO_FAST_EXIT", "1")

    def run(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
