"""Fixtures for the batch tests: a fast sandbox and the hypothesis strategies' path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

# The body strategies live with the spec-engine tests; the batch properties reuse them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "spec_engine"))


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        yield sb
