"""The sandbox plays Runway's per-model organization limits: concurrency (THROTTLED, in
submission order), the rolling daily generation cap (429) and the credit balance (400)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.sandbox import OrgLimits, Sandbox
from runway_dynamic.sandbox.examples import example
from runway_dynamic.spec import Spec


def _image_bodies(spec: Spec) -> list[dict[str, Any]]:
    """A valid text_to_image body for each of two models (each model is its own lane)."""
    out = []
    for model in spec.models("text_to_image"):
        variant = spec.catalog.variant("text_to_image", model)
        assert variant is not None
        body = dict(example(variant.schema))
        if not [p for p in spec.preflight("text_to_image", body) if p.is_error]:
            out.append(body)
    assert len(out) >= 2, "the bundled spec has two text_to_image models"
    return out


def _client(sb: Sandbox, spec: Spec) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url, headers=spec_headers(spec), timeout=10)


@pytest.fixture
def limited(bundled_spec: Spec) -> Iterator[Sandbox]:
    limits = OrgLimits(concurrency=2, daily=4, credits=None)
    with Sandbox(spec=bundled_spec, task_seconds=0.4, limits=limits) as sb:
        yield sb


def test_tasks_beyond_the_concurrency_limit_wait_throttled_in_order(
    limited: Sandbox, bundled_spec: Spec
) -> None:
    body = _image_bodies(bundled_spec)[0]
    with _client(limited, bundled_spec) as api:
        ids = [api.post("/v1/text_to_image", json=body).json()["id"] for _ in range(4)]
        first = [api.get(f"/v1/tasks/{i}").json()["status"] for i in ids]
        assert first[:2] != ["THROTTLED"] * 2 and "THROTTLED" not in first[:2]
        assert first[2:] == ["THROTTLED", "THROTTLED"]
        time.sleep(0.5)  # the first two finished: the queued two took their slots
        second = [api.get(f"/v1/tasks/{i}").json()["status"] for i in ids]
        assert second[:2] == ["SUCCEEDED", "SUCCEEDED"]
        assert "THROTTLED" not in second[2:]


def test_the_daily_cap_refuses_with_429_per_model(limited: Sandbox, bundled_spec: Spec) -> None:
    capped, other = _image_bodies(bundled_spec)[:2]
    with _client(limited, bundled_spec) as api:
        for _ in range(4):
            assert api.post("/v1/text_to_image", json=capped).status_code == 200
        refused = api.post("/v1/text_to_image", json=capped)
        assert refused.status_code == 429
        assert "daily generation limit" in refused.json()["error"]
        assert float(refused.headers["Retry-After"]) > 3600
        assert api.post("/v1/text_to_image", json=other).status_code == 200, "a separate lane"
        org = api.get("/v1/organization").json()
    model = capped["model"]
    assert org["tier"]["models"][model] == {"maxConcurrentGenerations": 2,
                                            "maxDailyGenerations": 4}
    assert org["usage"]["models"][model]["dailyGenerations"] == 4
    assert limited.state.created_tasks == 5


def test_a_create_beyond_the_credit_balance_is_refused(bundled_spec: Spec) -> None:
    body = _image_bodies(bundled_spec)[0]
    with Sandbox(spec=bundled_spec, task_seconds=5, limits=OrgLimits(credits=60)) as sb, \
            _client(sb, bundled_spec) as api:
        first = api.post("/v1/text_to_image", json=body).json()
        assert api.post("/v1/text_to_image", json=body).status_code == 200
        refused = api.post("/v1/text_to_image", json=body)
        assert refused.status_code == 400 and "credits" in refused.json()["error"]
        assert api.get("/v1/organization").json()["creditBalance"] == 10
        api.delete(f"/v1/tasks/{first['id']}")  # cancelling refunds the estimate
        assert api.post("/v1/text_to_image", json=body).status_code == 200


def test_task_listing_and_stats_show_what_was_created(sandbox: Sandbox,
                                                      bundled_spec: Spec) -> None:
    body = _image_bodies(bundled_spec)[0]
    with _client(sandbox, bundled_spec) as api:
        made = api.post("/v1/text_to_image", json=body).json()["id"]
        api.delete(f"/v1/tasks/{made}")
        api.delete(f"/v1/tasks/{made}")  # the second call deletes the cancelled task
        kept = api.post("/v1/text_to_image", json={**body, "promptText": "second"}).json()["id"]
        listing = httpx.get(sandbox.url("/_sandbox/tasks")).json()["data"]
        stats = httpx.get(sandbox.url("/_sandbox/stats")).json()
    assert [t["id"] for t in listing] == [kept]
    assert listing[0]["body"]["promptText"] == "second" and listing[0]["model"] == body["model"]
    assert stats["created"] == 2 and stats["tasks"] == 1
