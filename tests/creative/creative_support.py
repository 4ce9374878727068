"""Helpers shared by the creative tests (a module of its own: ``conftest`` is a name every
test directory has, so importing from it depends on which directories are collected)."""

from __future__ import annotations

from typing import Any

from runway_dynamic.sandbox import Sandbox


def posts(sandbox: Sandbox, endpoint: str) -> list[Any]:
    """Bodies of the POSTs the sandbox received at ``/v1/<endpoint>``."""
    return [r.body for r in sandbox.state.requests_to("POST", f"/v1/{endpoint}")]
