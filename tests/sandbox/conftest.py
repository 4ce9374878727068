"""Fixtures for the sandbox tests: a running sandbox and an httpx client that talks to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.2) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox, bundled_spec: Spec) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=spec_headers(bundled_spec),
                      timeout=10) as client:
        yield client
