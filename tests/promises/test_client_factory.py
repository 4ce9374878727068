"""The CLI's one client factory: every command's client gets the same settings."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from runway_dynamic.cli import _clients
from runway_dynamic.cli._context import Invocation
from runway_dynamic.cli._run import RunOptions


def _invocation(*, sandbox: bool = False) -> Invocation:
    invocation = Invocation()
    invocation.sandbox = sandbox
    invocation.sandbox_url = "http://127.0.0.1:9" if sandbox else None
    return invocation


@pytest.fixture
def configured_poll(monkeypatch: pytest.MonkeyPatch) -> float:
    config = Path(os.environ["RUNWAY_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({"poll-interval": 2.5}))
    monkeypatch.setenv("RUNWAY_API_KEY", "rk_factory_test_key_0001")
    return 2.5


def test_the_poll_interval_setting_reaches_sync_and_async_clients(configured_poll: float
                                                                  ) -> None:
    """Bug fixed: batch, recipes, short-video and wf (the async client) ignored it."""
    invocation = _invocation()
    with _clients.make_client(invocation, RunOptions()) as client:
        assert client._core.poll_interval == configured_poll

    async def check() -> float:
        async with _clients.make_async_client(invocation) as client:
            return client._core.poll_interval

    assert asyncio.run(check()) == configured_poll


def test_a_given_interval_wins_and_the_sandbox_polls_fast(configured_poll: float) -> None:
    assert _clients.poll_interval(_invocation(), 0.7) == 0.7
    assert _clients.poll_interval(_invocation(sandbox=True), None) == configured_poll
    os.remove(Path(os.environ["RUNWAY_CONFIG_DIR"]) / "config.json")
    assert _clients.poll_interval(_invocation(sandbox=True), None) == (
        _clients.SANDBOX_POLL_INTERVAL)
    assert _clients.poll_interval(_invocation(), None) is None
