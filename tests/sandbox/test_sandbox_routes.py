"""The sandbox serves each operation as the catalog classifies it (Operation.kind).

Before, the sandbox had its own rule for "this POST creates a task" (an ``id`` the success
schema requires), the client another (an ``id`` it names): on a spec whose answer names an
optional ``id`` the client waited for a task the sandbox never made.
"""

from __future__ import annotations

import json

import httpx
import pytest
from sandbox_support import spec_headers
from spec_corpus import tiny_spec

from runway_dynamic.catalog import CREATES_RESOURCE, CREATES_TASK, LISTS
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sandbox.app import SandboxApp
from runway_dynamic.sandbox.state import SandboxState
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

_SPECS = {"bundled": bundled_spec_path().read_bytes(), "tiny": json.dumps(tiny_spec()).encode()}


@pytest.mark.parametrize("name", sorted(_SPECS))
def test_every_route_follows_the_operation_kind(name: str) -> None:
    spec = Spec.from_bytes(_SPECS[name])
    app = SandboxApp(spec, SandboxState(), base_url=lambda: "http://127.0.0.1:1")
    assert len(app.routes) == len(spec.catalog.operations)
    for route in app.routes:
        op = route.op
        nested = route.parent is not None
        if op.kind == CREATES_TASK and not nested:
            assert route.action == "task", op
        elif op.kind == CREATES_RESOURCE and not nested:
            assert route.action in ("create", "invoke"), op
            if route.action == "invoke":
                assert op.result_endpoint is not None
                assert op.result_endpoint.startswith(route.target or "?"), op
        elif route.action == "task":
            raise AssertionError(f"{op} is served as a task but is {op.kind}")
        if route.action == "list":
            assert op.kind == LISTS, op


def test_a_post_whose_answer_names_an_optional_id_makes_a_task() -> None:
    """tiny's ``POST /v1/make`` answers ``{id?}``: the catalog (and so the client's retry
    policy and --wait) says it creates a task; the sandbox now makes one (before: a generic
    echo with no task behind it)."""
    spec = Spec.from_bytes(_SPECS["tiny"])
    operation = spec.catalog.operation("make", "POST")
    assert operation is not None and operation.kind == CREATES_TASK
    headers = spec_headers(spec)
    with Sandbox(spec=spec, task_seconds=0.01) as sb:
        made = httpx.post(sb.url("/v1/make"), json={"model": "m2", "promptText": "p"},
                          headers=headers)
        assert made.status_code == 200, made.text
        task_id = made.json()["id"]
        assert task_id in sb.state.tasks
        assert sb.state.created_tasks == 1
