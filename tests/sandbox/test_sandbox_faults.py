"""Fault injection: the grammar, its counters, and each fault over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.sandbox.examples import example
from runway_dynamic.sandbox.faults import (
    Fault,
    FaultCounters,
    FaultSyntaxError,
    effective_fault,
    parse_fault,
)
from runway_dynamic.spec import Spec

# ---------------------------------------------------------------- grammar (pure)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("status=503", Fault(status=503)),
        ("status=429; retry-after=2", Fault(status=429, retry_after=2.0)),
        ("status=500;times=3", Fault(status=500, times=3)),
        ("drop", Fault(drop="before")),
        ("drop=after", Fault(drop="after")),
        ("delay=0.5", Fault(delay=0.5)),
        ("task=throttled:2", Fault(throttled_seconds=2.0)),
        ("task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=1",
         Fault(fail_code="INTERNAL.BAD_OUTPUT.CODE01", times=1)),
        (" STATUS=502 ; ", Fault(status=502)),
    ],
)
def test_fault_specs_parse(spec: str, expected: Fault) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("status=200", "4xx or 5xx"),
        ("status=abc", "integer"),
        ("explode=1", "unknown fault directive"),
        ("drop=later", "after"),
        ("task=failed:2", "throttled"),
        ("task-fail=", "failure code"),
        ("delay=-1", "negative"),
    ],
)
def test_malformed_fault_specs_say_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(FaultSyntaxError, match=words):
        parse_fault(spec)


def test_times_counts_per_exact_spec_string() -> None:
    counters = FaultCounters()
    once, twice = parse_fault("status=503; times=1"), parse_fault("status=503;times=2")
    assert [effective_fault([once], counters).status for _ in range(3)] == [503, None, None]
    assert [effective_fault([twice], counters).status for _ in range(3)] == [503, 503, None]


def test_server_and_request_faults_combine() -> None:
    merged = effective_fault([parse_fault("delay=0.1"), parse_fault("status=429; retry-after=1")],
                             FaultCounters())
    assert (merged.delay, merged.status, merged.retry_after) == (0.1, 429, 1.0)


# ---------------------------------------------------------------- over HTTP


def _gen_body(spec: Spec) -> dict[str, object]:
    variant = spec.catalog.variant("text_to_image", "gen4_image")
    assert variant is not None
    return example(variant.schema)


def _posts(sb: Sandbox) -> int:
    return len(sb.state.requests_to("POST", "/v1/text_to_image"))


def test_status_fault_answers_a_runway_shaped_error(api: httpx.Client, sandbox: Sandbox) -> None:
    response = api.get("/v1/organization", headers={FAULT_HEADER: "status=503"})
    assert response.status_code == 503
    assert set(response.json()) == {"error"}
    assert not sandbox.state.tasks


def test_429_with_retry_after_then_passes_after_times(
    api: httpx.Client, sandbox: Sandbox, bundled_spec: Spec
) -> None:
    header = {FAULT_HEADER: "status=429; retry-after=2; times=1"}
    first = api.post("/v1/text_to_image", json=_gen_body(bundled_spec), headers=header)
    second = api.post("/v1/text_to_image", json=_gen_body(bundled_spec), headers=header)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert second.status_code == 200
    assert len(sandbox.state.tasks) == 1, "the refused POST must not create a task"


def test_drop_closes_without_response_and_changes_nothing(
    api: httpx.Client, sandbox: Sandbox, bundled_spec: Spec
) -> None:
    with pytest.raises(httpx.TransportError):
        api.post("/v1/text_to_image", json=_gen_body(bundled_spec), headers={FAULT_HEADER: "drop"})
    assert not sandbox.state.tasks
    assert _posts(sandbox) == 1 and sandbox.state.requests[-1].status is None
    assert api.get("/v1/organization").status_code == 200, "the server keeps serving"


def test_drop_after_creates_the_task_but_loses_the_response(
    api: httpx.Client, sandbox: Sandbox, bundled_spec: Spec
) -> None:
    with pytest.raises(httpx.TransportError):
        api.post("/v1/text_to_image", json=_gen_body(bundled_spec),
                 headers={FAULT_HEADER: "drop=after"})
    assert len(sandbox.state.tasks) == 1, "the lost response hides a task that exists"
    assert _posts(sandbox) == 1


def test_delay_slows_the_answer(api: httpx.Client) -> None:
    started = time.monotonic()
    assert api.get("/v1/organization", headers={FAULT_HEADER: "delay=0.3"}).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_delay_beyond_the_client_timeout_is_a_timeout(sandbox: Sandbox, bundled_spec: Spec) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers=spec_headers(bundled_spec),
                      timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/v1/organization", headers={FAULT_HEADER: "delay=0.5"})


def test_throttled_task_waits_before_running(bundled_spec: Spec) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        task_id = client.post("/v1/text_to_image", json=_gen_body(bundled_spec),
                              headers={FAULT_HEADER: "task=throttled:0.3"}).json()["id"]
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] == "THROTTLED"
        time.sleep(0.45)
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] == "SUCCEEDED"


@pytest.mark.parametrize("code", ["INTERNAL.BAD_OUTPUT.CODE01", "SAFETY.INPUT.TEXT"])
def test_task_fail_ends_failed_with_the_code(
    api: httpx.Client, bundled_spec: Spec, code: str
) -> None:
    task_id = api.post("/v1/text_to_image", json=_gen_body(bundled_spec),
                       headers={FAULT_HEADER: f"task-fail={code}"}).json()["id"]
    time.sleep(0.25)
    task = api.get(f"/v1/tasks/{task_id}").json()
    assert (task["status"], task["failureCode"]) == ("FAILED", code)
    assert task["failure"] and "output" not in task


def test_task_fail_with_times_fails_only_the_first_tasks(
    api: httpx.Client, bundled_spec: Spec
) -> None:
    """The resubmission case: the first task fails, the second (same header) succeeds."""
    header = {FAULT_HEADER: "task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=1"}
    ids = [api.post("/v1/text_to_image", json=_gen_body(bundled_spec), headers=header).json()["id"]
           for _ in range(2)]
    time.sleep(0.25)
    assert [api.get(f"/v1/tasks/{i}").json()["status"] for i in ids] == ["FAILED", "SUCCEEDED"]


def test_constructor_faults_apply_to_every_request(bundled_spec: Spec) -> None:
    with Sandbox(spec=bundled_spec, faults=["status=502; times=2"]) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        codes = [client.get("/v1/organization").status_code for _ in range(3)]
    assert codes == [502, 502, 200]


def test_malformed_fault_header_is_a_400(api: httpx.Client) -> None:
    response = api.get("/v1/organization", headers={FAULT_HEADER: "status=2000"})
    assert response.status_code == 400
    assert FAULT_HEADER in response.json()["error"]


def test_faults_reach_file_downloads(api: httpx.Client, bundled_spec: Spec) -> None:
    task_id = api.post("/v1/text_to_image", json=_gen_body(bundled_spec)).json()["id"]
    time.sleep(0.25)
    url = api.get(f"/v1/tasks/{task_id}").json()["output"][0]
    assert httpx.get(url, headers={FAULT_HEADER: "status=500"}).status_code == 500
    with pytest.raises(httpx.TransportError):
        httpx.get(url, headers={FAULT_HEADER: "drop"})
    assert httpx.get(url).status_code == 200
