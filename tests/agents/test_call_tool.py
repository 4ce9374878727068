"""``call_tool``/``acall_tool`` against the real sandbox: pre-flight, submit, wait, outputs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic._exceptions import PreflightError, TaskFailedError, UsageError
from runway_dynamic.client import AsyncRunwayClient, RunwayClient
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec
from runway_dynamic.tools import (
    Progress,
    Toolbox,
    acall_tool,
    call_tool,
    render_error,
    tool_error,
)

KEY = "sandbox-key-0000"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(task_seconds=0.2) as sb:
        yield sb


@pytest.fixture()
def client(sandbox: Sandbox, bundled_spec: Spec) -> Iterator[RunwayClient]:
    with RunwayClient(KEY, base_url=sandbox.base_url, spec=bundled_spec,
                      poll_interval=0.05) as c:
        yield c


def _body(spec: Spec, endpoint: str) -> dict[str, Any]:
    """A valid body for the first model of ``endpoint`` that takes only a prompt and ratio."""
    for model in spec.models(endpoint):
        variant = spec.catalog.variant(endpoint, model)
        assert variant is not None
        if set(variant.required) <= {"model", "promptText", "ratio"} and variant.ratios:
            return {"model": model, "promptText": "a lighthouse at dusk",
                    "ratio": variant.ratios[0]}
    raise AssertionError(f"no prompt-and-ratio model on {endpoint}")


def test_generation_tool_runs_end_to_end(client: RunwayClient, bundled_spec: Spec,
                                          sandbox: Sandbox) -> None:
    events: list[Progress] = []
    body = _body(bundled_spec, "text_to_image")
    result = call_tool("runway_text_to_image", body, client=client, on_progress=events.append)
    assert result["done"] is True and result["status"] == "SUCCEEDED"
    assert result["model"] == body["model"] and result["endpoint"] == "text_to_image"
    assert result["output"] and all(u.startswith(sandbox.base_url) for u in result["output"])
    assert events and {e.task_id for e in events} == {result["taskId"]}
    assert events[-1].status == "SUCCEEDED"
    # the helper tools see the same task
    got = call_tool("runway_task_get", {"taskId": result["taskId"]}, client=client)
    assert got["status"] == "SUCCEEDED" and got["output"] == result["output"]
    waited = call_tool("runway_task_wait", {"taskId": result["taskId"]}, client=client)
    assert waited["output"] == result["output"]


def test_preflight_error_names_field_flag_and_accepted_values(
    client: RunwayClient, bundled_spec: Spec, sandbox: Sandbox
) -> None:
    body = {**_body(bundled_spec, "text_to_image"), "ratio": "999:1"}
    accepted = bundled_spec.ratios("text_to_image", body["model"])
    before = len(sandbox.state.requests)
    with pytest.raises(PreflightError) as caught:
        call_tool("runway_text_to_image", body, client=client)
    assert len(sandbox.state.requests) == before, "nothing may be sent"
    text = render_error(caught.value)
    assert "ratio" in text and ", ".join(accepted) in text
    assert "--" not in text, "a tool names arguments, not the CLI's flags"
    data = tool_error(caught.value)
    (problem,) = [p for p in data["problems"] if p["field"] == "ratio"]
    assert "flag" not in problem and problem["details"]["accepted"] == accepted
    assert "Nothing was sent" in data["hint"]


def test_missing_fields_are_all_reported_at_once(client: RunwayClient, bundled_spec: Spec) -> None:
    model = bundled_spec.models("text_to_video")[0]
    required = [n for n in bundled_spec.catalog.variant("text_to_video", model).required
                if n != "model"]
    with pytest.raises(PreflightError) as caught:
        call_tool("runway_text_to_video", {"model": model}, client=client)
    assert {p.field for p in caught.value.problems} >= set(required)


def test_helper_arguments_and_unknown_tools_are_usage_errors(client: RunwayClient) -> None:
    with pytest.raises(UsageError, match="taskId"):
        call_tool("runway_task_get", {}, client=client)
    with pytest.raises(UsageError, match="did you mean runway_text_to_image"):
        call_tool("runway_text_to_imag", {}, client=client)
    with pytest.raises(UsageError, match="JSON object"):
        call_tool("runway_text_to_image", ["not", "a", "dict"], client=client)


def test_models_schema_tool_answers_from_the_spec(client: RunwayClient, bundled_spec: Spec,
                                                  sandbox: Sandbox) -> None:
    model = bundled_spec.models("text_to_video")[0]
    before = len(sandbox.state.requests)
    facts = call_tool("runway_models_schema", {"model": model}, client=client)
    assert list(facts["endpoints"]) == bundled_spec.endpoints_for(model)
    assert len(sandbox.state.requests) == before


def test_upload_tool_returns_a_runway_uri_usable_by_generation(
    client: RunwayClient, bundled_spec: Spec, tmp_path: Path
) -> None:
    image = tmp_path / "frame.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    uploaded = call_tool("runway_upload", {"path": str(image)}, client=client)
    assert uploaded["uri"].startswith("runway://")
    model = next(m for m in bundled_spec.models("image_to_video")
                 if set(bundled_spec.catalog.variant("image_to_video", m).required)
                 <= {"model", "promptImage", "ratio", "promptText"})
    variant = bundled_spec.catalog.variant("image_to_video", model)
    body: dict[str, Any] = {"model": model, "promptImage": uploaded["uri"]}
    if "ratio" in variant.required:
        body["ratio"] = variant.ratios[0]
    if "promptText" in variant.required:
        body["promptText"] = "the frame comes alive"
    result = call_tool("runway_image_to_video", body, client=client)
    assert result["status"] == "SUCCEEDED" and result["output"]


def test_a_wait_that_runs_out_is_a_result_not_an_error(
    sandbox: Sandbox, bundled_spec: Spec
) -> None:
    with Sandbox(task_seconds=30) as slow, RunwayClient(
        KEY, base_url=slow.base_url, spec=bundled_spec, poll_interval=0.05
    ) as client:
        result = call_tool("runway_text_to_image", _body(bundled_spec, "text_to_image"),
                           client=client, timeout=0.2)
    assert result["done"] is False and result["taskId"]
    assert "runway_task_wait" in result["message"]


def test_failed_task_raises_with_a_retry_hint(bundled_spec: Spec) -> None:
    with Sandbox(task_seconds=0.1, faults=["task-fail=SAFETY.INPUT.TEXT"]) as sb, RunwayClient(
        KEY, base_url=sb.base_url, spec=bundled_spec, poll_interval=0.05
    ) as client, pytest.raises(TaskFailedError) as caught:
        call_tool("runway_text_to_image", _body(bundled_spec, "text_to_image"), client=client)
    assert "do not resubmit" in tool_error(caught.value)["hint"]


def test_async_twin_gives_the_same_result(sandbox: Sandbox, bundled_spec: Spec) -> None:
    async def run() -> tuple[dict[str, Any], list[Progress]]:
        events: list[Progress] = []
        async with AsyncRunwayClient(KEY, base_url=sandbox.base_url, spec=bundled_spec,
                                     poll_interval=0.05) as client:
            result = await acall_tool("runway_text_to_image",
                                      _body(bundled_spec, "text_to_image"), client=client,
                                      on_progress=events.append)
            with pytest.raises(PreflightError):
                await acall_tool("runway_text_to_image",
                                 {**_body(bundled_spec, "text_to_image"), "ratio": "1:999"},
                                 client=client)
        return result, events

    result, events = asyncio.run(run())
    assert result["status"] == "SUCCEEDED" and result["output"] and events


def test_toolbox_plan_checks_without_a_client(bundled_spec: Spec) -> None:
    box = Toolbox(bundled_spec, ["text_to_image"])
    plan = box.plan("runway_text_to_image", _body(bundled_spec, "text_to_image"))
    assert plan.tool.endpoint == "text_to_image" and plan.resource_endpoint is None
    assert box.tools[0].name == "runway_text_to_image"


def _shape(result: dict[str, Any]) -> dict[str, Any]:
    """A result without what differs from one task to the next (ids, URLs, timestamps)."""
    varying = {"taskId", "id", "output", "uri", "createdAt", "message", "progress"}
    return {k: (type(v).__name__ if k in varying else v) for k, v in result.items()}


def test_call_and_acall_answer_every_action_alike(bundled_spec: Spec, tmp_path: Path) -> None:
    """Sync and async share one dispatch step: each action (generation, task get/wait, a wait
    that runs out, models schema, upload) gives the same result through either client."""
    image = tmp_path / "frame.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    body = _body(bundled_spec, "text_to_image")
    box = Toolbox(bundled_spec)

    def calls(finished: str, running: str) -> list[tuple[str, dict[str, Any], float | None]]:
        return [("runway_task_wait", {"taskId": running, "timeoutSeconds": 0.1}, None),
                ("runway_text_to_image", body, None),
                ("runway_task_get", {"taskId": finished}, None),
                ("runway_task_wait", {"taskId": finished}, None),
                ("runway_text_to_image", body, 0.1),
                ("runway_models_schema", {"model": body["model"]}, None),
                ("runway_upload", {"path": str(image)}, None)]

    with Sandbox(task_seconds=1.0) as sb:
        def sync_results() -> list[dict[str, Any]]:
            with RunwayClient(KEY, base_url=sb.base_url, spec=bundled_spec,
                              poll_interval=0.05) as client:
                finished = box.call("runway_text_to_image", body, client=client)["taskId"]
                running = client.create_task("text_to_image", body).id
                return [box.call(name, args, client=client, timeout=timeout or 30)
                        for name, args, timeout in calls(finished, running)]

        async def async_results() -> list[dict[str, Any]]:
            async with AsyncRunwayClient(KEY, base_url=sb.base_url, spec=bundled_spec,
                                         poll_interval=0.05) as client:
                finished = (await box.acall("runway_text_to_image", body,
                                            client=client))["taskId"]
                running = (await client.create_task("text_to_image", body)).id
                return [await box.acall(name, args, client=client, timeout=timeout or 30)
                        for name, args, timeout in calls(finished, running)]

        sync, async_ = sync_results(), asyncio.run(async_results())
    assert [r.get("done") for r in sync] == [False, True, None, True, False, None, None]
    assert [_shape(r) for r in sync] == [_shape(r) for r in async_]
