"""The sandbox under load on loopback: no request is ever lost.

A lost create answer is what a batch cannot recover from (Runway has no idempotency key),
so a rehearsal must never lose one where the real API would not. Hundreds of clients
connect at once, each creates a task and polls it on its kept-alive connection; every
request must be answered and the sandbox must have created exactly one task per create.
The request rate is measured in ``benchmarks/bench_sandbox.py``, not here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sandbox_support import spec_headers

from runway_dynamic.sandbox import OrgLimits, Sandbox
from runway_dynamic.spec import Spec

CONNECTIONS = 400


def _text_to_image(spec: Spec) -> dict[str, Any]:
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return {"model": model, "promptText": "a lighthouse", "ratio": ratios[0]}
    raise AssertionError("no text_to_image model with only promptText and ratio")


def test_hundreds_of_connections_at_once_lose_no_request(bundled_spec: Spec) -> None:
    """Every create and poll over CONNECTIONS simultaneous connections is answered, and the
    sandbox created exactly one task per create (none lost, none doubled)."""
    body = _text_to_image(bundled_spec)
    limits = OrgLimits(concurrency=None, daily=None, credits=None)
    errors: list[str] = []

    async def one(client: httpx.AsyncClient, ready: asyncio.Event) -> str | None:
        await ready.wait()  # all at once: the burst of new connections is the point
        try:
            created = await client.post("/v1/text_to_image", json=body)
            created.raise_for_status()
            task_id = created.json()["id"]
            polled = await client.get(f"/v1/tasks/{task_id}")
            polled.raise_for_status()
            return str(task_id)
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return None

    async def burst(url: str) -> list[str | None]:
        pool = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=url, headers=spec_headers(bundled_spec),
                                     limits=pool, timeout=60) as client:
            ready = asyncio.Event()
            runs = [asyncio.create_task(one(client, ready)) for _ in range(CONNECTIONS)]
            await asyncio.sleep(0)
            ready.set()
            return await asyncio.gather(*runs)

    with Sandbox(spec=bundled_spec, task_seconds=0.5, limits=limits) as sandbox:
        ids = asyncio.run(burst(sandbox.base_url))
        stats = httpx.get(sandbox.url("/_sandbox/stats")).json()
    assert errors == []
    assert len(set(ids)) == CONNECTIONS
    assert stats["created"] == CONNECTIONS
