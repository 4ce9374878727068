"""Fixtures for the batch tests: a fast sandbox, a throwaway PostgreSQL server, and the
hypothesis strategies' path."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

# The body strategies live with the spec-engine tests; the batch properties reuse them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "spec_engine"))


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        yield sb


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL server for this test session (one per xdist worker), or a
    skip that says what is missing."""
    import pg_cluster as pg

    why = pg.unavailable()
    if why is not None:
        if os.environ.get("RUNWAY_REQUIRE_POSTGRES"):  # .ci/run installed it: must work
            pytest.fail(f"PostgreSQL was installed but cannot be used: {why}")
        pytest.skip(f"no PostgreSQL here: {why}")
    with pg.cluster() as running:
        yield running


@pytest.fixture
def pg_url(pg_cluster: Any, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the session's server."""
    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return str(pg_cluster.database(name))
