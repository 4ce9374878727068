"""Both clients against a scripted fake (httpx.MockTransport): every test runs sync AND async.

These pin the wiring — headers, pre-flight, the retry policy in action, waiting,
resubmission, downloads, uploads, secrets. The real-server tests are in test_client_sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_fakes import API_KEY, BASE, UPLOAD_URL, FakeRunway, Harness

from runway_dynamic._exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    PreflightError,
    RateLimitError,
    RequestMayHaveSucceededError,
    TaskCancelledError,
    TaskFailedError,
    TaskTimeoutError,
    UsageError,
)
from runway_dynamic._http import USER_AGENT
from runway_dynamic._version import __version__
from runway_dynamic.client import RunwayClient
from runway_dynamic.spec import Spec
from runway_dynamic.tasks import Task

GEN = "POST /v1/text_to_image"


def test_headers_come_from_the_spec(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], bundled_spec: Spec
) -> None:
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    assert isinstance(task, Task) and task.status is None
    sent = fake.log[0]
    op = bundled_spec.operation("text_to_image", "POST")
    assert op is not None and op.constant_headers  # the version header is the spec's const
    for name, value in op.constant_headers.items():
        assert sent.headers[name] == value
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["user-agent"] == USER_AGENT == f"runway-dynamic/{__version__}"
    assert sent.url == httpx.URL(f"{BASE}/v1/text_to_image")
    import json

    assert json.loads(sent.content) == image_body


def test_generate_builds_the_body_from_keywords(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    h = harness()
    fields = {k: v for k, v in image_body.items() if k != "model"}
    task = h.call("generate", "text_to_image", model=image_body["model"], seed=None, **fields)
    import json

    assert json.loads(fake.log[0].content) == image_body  # None fields are left out
    assert task.id in fake.tasks


def test_preflight_blocks_bad_bodies_before_any_request(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    h = harness()
    bad = {**image_body, "ratio": "999:1"}
    del bad["promptText"]
    with pytest.raises(PreflightError) as info:
        h.call("create_task", "text_to_image", bad)
    kinds = {p.kind for p in info.value.problems}
    assert {"missing_field", "unsupported_ratio"} <= kinds  # all problems, at once
    assert fake.log == []
    off = harness(preflight=False)
    off.call("create_task", "text_to_image", bad)
    assert len(fake.log) == 1


def test_wait_reports_progress_and_returns_the_finished_task(
    harness: Any, image_body: dict[str, Any]
) -> None:
    h = harness()
    seen: list[tuple[str, float | None]] = []
    task = h.call("create_task", "text_to_image", image_body)
    done = h.call("tasks.wait", task, on_progress=lambda s, p, e: seen.append((s, p)))
    assert done.status == "SUCCEEDED" and done.output
    assert seen == [("PENDING", None), ("RUNNING", 0.5), ("SUCCEEDED", None)]
    assert h.sleeps == [1.0, 1.0]


def test_wait_raises_on_failed_and_cancelled(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    h = harness()
    fake.failures = [{"failure": "moderated", "failureCode": "SAFETY.INPUT.TEXT"}]
    task = h.call("create_task", "text_to_image", image_body)
    with pytest.raises(TaskFailedError) as info:
        h.call("tasks.wait", task)
    assert (info.value.task_id, info.value.failure_code) == (task.id, "SAFETY.INPUT.TEXT")
    other = h.call("create_task", "text_to_image", image_body)
    h.call("tasks.cancel", other)
    with pytest.raises(TaskCancelledError):
        h.call("tasks.wait", other.id)


def test_wait_times_out(harness: Any, fake: FakeRunway, image_body: dict[str, Any]) -> None:
    fake.lifecycle = [{"status": "THROTTLED"}]
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    with pytest.raises(TaskTimeoutError) as info:
        h.call("tasks.wait", task, timeout=2.5)
    assert info.value.task_id == task.id
    assert sum(h.sleeps) == pytest.approx(2.5)


def test_cancel_on_interrupt(harness: Any, fake: FakeRunway, image_body: dict[str, Any]) -> None:
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        h.call("tasks.wait", task, on_progress=interrupt, cancel_on_interrupt=True)
    assert fake.calls(f"DELETE /v1/tasks/{task.id}") == 1
    second = h.call("create_task", "text_to_image", image_body)
    with pytest.raises(KeyboardInterrupt):
        h.call("tasks.wait", second, on_progress=interrupt)
    assert fake.calls(f"DELETE /v1/tasks/{second.id}") == 0


# --------------------------------------------------------------------------- retries


def test_429_on_create_is_retried_after_retry_after(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.queue(GEN, httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "busy"}))
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    assert fake.calls(GEN) == 2 and task.id
    assert h.sleeps == [3.0]


def test_429_exhausted_raises_rate_limit(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.queue(
        GEN,
        *[
            httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "limit"})
            for _ in range(3)
        ],
    )
    h = harness()
    with pytest.raises(RateLimitError) as info:
        h.call("create_task", "text_to_image", image_body)
    assert fake.calls(GEN) == 3  # first try + max_retries (2)
    assert info.value.retry_after == 1.0 and info.value.status_code == 429


@pytest.mark.parametrize("status", [502, 503, 504, 500])
def test_transient_status_on_get_is_retried(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], status: int
) -> None:
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    route = f"GET /v1/tasks/{task.id}"
    fake.queue(route, httpx.Response(status, json={"error": "upstream"}))
    got = h.call("tasks.get", task)
    assert got.status == "PENDING" and fake.calls(route) == 2
    assert len(h.sleeps) == 1 and 0.375 <= h.sleeps[0] <= 0.5


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("gone")],
)
def test_network_errors_on_get_are_retried(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], error: Exception
) -> None:
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    route = f"GET /v1/tasks/{task.id}"
    fake.queue(route, error)
    assert h.call("tasks.get", task.id).id == task.id
    assert fake.calls(route) == 2


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
)
def test_get_gives_up_after_the_budget(
    harness: Any, fake: FakeRunway, error: Exception, raised: type[Exception]
) -> None:
    fake.queue("GET /v1/tasks/abc", error, error, error)
    h = harness()
    with pytest.raises(raised):
        h.call("tasks.get", "abc")
    assert fake.calls("GET /v1/tasks/abc") == 3


def test_connect_error_on_create_is_retried(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.queue(GEN, httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"))
    h = harness()
    assert h.call("create_task", "text_to_image", image_body).id
    assert fake.calls(GEN) == 3


@pytest.mark.parametrize(
    "answer",
    [
        lambda: httpx.Response(503, json={"error": "unavailable"}),
        lambda: httpx.Response(500),
        lambda: httpx.ReadTimeout("slow"),
        lambda: httpx.RemoteProtocolError("Server disconnected"),
        lambda: httpx.ReadError("reset"),
    ],
    ids=["503", "500", "read-timeout", "disconnected", "read-error"],
)
def test_create_that_may_have_succeeded_is_never_resent(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], answer: Any
) -> None:
    fake.queue(GEN, answer())
    h = harness()
    with pytest.raises(RequestMayHaveSucceededError) as info:
        h.call("create_task", "text_to_image", image_body)
    assert fake.calls(GEN) == 1
    message = str(info.value)
    assert "may" in message and "task" in message and "not resent" in message
    assert "dashboard" in message  # how to check


def test_client_errors_are_not_retried_and_carry_the_body(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.queue(
        GEN,
        httpx.Response(
            400,
            headers={"x-request-id": "req-1"},
            json={"error": "Validation of body failed", "issues": [{"message": "ratio is wrong"}]},
        ),
    )
    h = harness()
    with pytest.raises(BadRequestError) as info:
        h.call("create_task", "text_to_image", image_body)
    err = info.value
    assert fake.calls(GEN) == 1
    assert (err.status_code, err.request_id) == (400, "req-1")
    assert err.body["error"] == "Validation of body failed"
    assert "ratio is wrong" in str(err) and "req-1" in str(err)
    fake.queue("GET /v1/tasks/x", httpx.Response(401, json={"error": "bad key"}))
    with pytest.raises(AuthenticationError):
        h.call("tasks.get", "x")
    with pytest.raises(NotFoundError):
        h.call("tasks.get", "missing")
    assert fake.calls("GET /v1/tasks/missing") == 1


# --------------------------------------------------------------------------- resubmission


def test_internal_failure_is_resubmitted(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.failures = [{"failure": "bad output", "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"}]
    h = harness(retry_on_internal_error=1, retry_backoff_seconds=7)
    submitted: list[str] = []
    done = h.call("run", "text_to_image", image_body, on_submit=lambda t: submitted.append(t.id))
    assert done.status == "SUCCEEDED"
    assert fake.calls(GEN) == 2 and len(submitted) == 2 and done.id == submitted[1]
    assert 7 in h.sleeps


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("SAFETY.INPUT.TEXT", 3),
        ("INPUT_VALIDATION.BAD_IMAGE", 3),
        ("INTERNAL.BAD_OUTPUT.CODE01", 0),
    ],
)
def test_other_failures_are_not_resubmitted(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], code: str, allowed: int
) -> None:
    fake.failures = [{"failureCode": code}]
    h = harness(retry_on_internal_error=allowed)
    with pytest.raises(TaskFailedError, match=code.replace(".", r"\.")):
        h.call("run", "text_to_image", image_body)
    assert fake.calls(GEN) == 1


def test_resubmissions_are_bounded(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any]
) -> None:
    fake.failures = [{"failureCode": "INTERNAL.X"}] * 5
    h = harness()
    with pytest.raises(TaskFailedError):
        h.call(
            "run", "text_to_image", image_body, retry_on_internal_error=2, retry_backoff_seconds=0
        )
    assert fake.calls(GEN) == 3


# --------------------------------------------------------------------------- files


def test_download_names_every_output_and_sends_no_key(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], tmp_path: Path
) -> None:
    fake.outputs = 2
    h = harness()
    task = h.call("run", "text_to_image", image_body)
    paths = h.call("download", task, tmp_path, prefix="lighthouse")
    compact = task.id.replace("-", "")
    assert [p.name.split("-", 3)[-1] for p in paths] == [f"{compact}-1.png", f"{compact}-2.png"]
    assert all(p.name.startswith("lighthouse-") for p in paths)
    assert paths[0].read_bytes() == f"DATA:/{task.id}/0.png".encode()
    file_requests = [r for r in fake.log if r.url.host == "files.test"]
    assert len(file_requests) == 2
    assert all("authorization" not in r.headers for r in file_requests)
    again = h.call("download", task.id, tmp_path, prefix="lighthouse")
    assert len({*paths, *again}) == 4  # a second download never reuses a name
    assert [p.read_bytes() for p in paths] == [f"DATA:/{task.id}/{i}.png".encode() for i in (0, 1)]


def test_download_at_a_fixed_time_never_overwrites(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], tmp_path: Path
) -> None:
    from datetime import datetime, timezone

    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    h = harness()
    task = h.call("run", "text_to_image", image_body)
    first = h.call("download", task, tmp_path, when=when)
    second = h.call("download", task, tmp_path, when=when)
    assert first[0] != second[0] and first[0].exists() and second[0].exists()
    assert second[0].name == first[0].name.replace(".png", ".2.png")


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks off after the first chunk."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"partial"
        raise httpx.ReadError("connection reset mid-body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"partial"
        raise httpx.ReadError("connection reset mid-body")


def test_broken_download_leaves_no_file(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], tmp_path: Path
) -> None:
    h = harness()
    task = h.call("run", "text_to_image", image_body)
    fake.queue(
        f"GET /{task.id}/0.png",
        httpx.Response(200, headers={"content-type": "image/png"}, stream=BrokenStream()),
    )
    with pytest.raises(APIConnectionError, match="broke off"):
        h.call("download", task, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_without_outputs_is_a_usage_error(
    harness: Any, image_body: dict[str, Any], tmp_path: Path
) -> None:
    h = harness()
    task = h.call("create_task", "text_to_image", image_body)
    with pytest.raises(UsageError, match="no outputs"):
        h.call("download", task.id, tmp_path)


def test_upload_two_steps_without_the_key_on_the_upload_url(
    harness: Any, fake: FakeRunway, tmp_path: Path
) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(b"\x89PNG-bytes")
    h = harness()
    uri = h.call("upload", path)
    assert uri == "runway://uploads/cat.png"
    import json

    create, put = fake.log
    assert create.url.path == "/v1/uploads"
    assert json.loads(create.content) == {"filename": "cat.png", "type": "ephemeral"}
    assert str(put.url) == UPLOAD_URL and "authorization" not in put.headers
    assert put.headers["content-type"].startswith("multipart/form-data")
    assert b'name="key"' in put.content and b"k/cat.png" in put.content
    assert b"\x89PNG-bytes" in put.content
    with pytest.raises(UsageError):
        h.call("upload", tmp_path / "missing.png")
    assert len(fake.log) == 2  # nothing sent for the missing file


# --------------------------------------------------------------------------- generic calls


def test_request_handles_paths_queries_and_204(harness: Any, fake: FakeRunway) -> None:
    seen: list[httpx.Request] = []

    def avatars(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "nextCursor": None})

    fake.queue("GET /v1/avatars", avatars)
    fake.queue("DELETE /v1/avatars/a/b", httpx.Response(204))  # the fake routes on decoded paths
    h = harness()
    assert h.call("request", "avatars", query={"limit": 5, "cursor": None}) == {
        "data": [],
        "nextCursor": None,
    }
    assert seen[0].url.params["limit"] == "5" and "cursor" not in seen[0].url.params
    assert h.call("request", "avatars/{id}", method="DELETE", path_params={"id": "a/b"}) is None
    assert fake.log[-1].url.raw_path == b"/v1/avatars/a%2Fb"  # one segment, encoded
    with pytest.raises(UsageError, match="path parameter"):
        h.call("request", "avatars/{id}", method="GET")
    with pytest.raises(UsageError, match="unknown endpoint"):
        h.call("request", "no_such_thing")


def test_wait_for_any_resource_uses_the_schema_statuses(harness: Any, fake: FakeRunway) -> None:
    answers = [{"id": "av", "status": "PROCESSING"}, {"id": "av", "status": "READY"}]
    fake.queue("GET /v1/avatars/av", *[httpx.Response(200, json=a) for a in answers])
    h = harness()
    got = h.call("wait_for", "avatars/{id}", "av")
    assert got["status"] == "READY" and h.sleeps == [1.0]
    fake.queue(
        "GET /v1/avatars/bad",
        httpx.Response(200, json={"id": "bad", "status": "FAILED", "failureReason": "x"}),
    )
    with pytest.raises(TaskFailedError):
        h.call("wait_for", "avatars/{id}", "bad")


# --------------------------------------------------------------------------- secrets


def test_the_key_never_shows(
    harness: Any, fake: FakeRunway, image_body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": f"key {API_KEY} is revoked", "header": f"Bearer {API_KEY}"}
    fake.queue(
        GEN,
        httpx.Response(429, json={"error": "wait"}),
        httpx.Response(401, json=echo, headers={"x-request-id": "r"}),
    )
    h = harness()
    assert API_KEY not in repr(h.client)
    assert API_KEY[-4:] in repr(h.client)
    with pytest.raises(AuthenticationError) as info:
        h.call("create_task", "text_to_image", image_body)
    err = info.value
    texts = [str(err), repr(err), str(err.to_dict()), caplog.text]
    prepared = h.client._core.prepare("text_to_image", body=image_body)
    texts += [repr(prepared), str(prepared.to_dict())]
    for text in texts:
        assert API_KEY not in text
    assert "revoked" in str(err)  # the message itself survives, masked


def test_client_configuration(bundled_spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="RUNWAY_API_KEY"):
        RunwayClient(spec=bundled_spec)
    monkeypatch.setenv("RUNWAY_API_KEY", API_KEY)
    with RunwayClient(spec=bundled_spec) as client:
        assert client.base_url == bundled_spec.catalog.servers[0]
        assert client._core.key_source == "environment variable RUNWAY_API_KEY"
    monkeypatch.setenv("RUNWAY_BASE_URL", "http://127.0.0.1:9/")
    with RunwayClient(spec=bundled_spec, max_retries=0) as client:
        assert client.base_url == "http://127.0.0.1:9"
    with RunwayClient(spec=bundled_spec, base_url="https://explicit.example") as client:
        assert client.base_url == "https://explicit.example"


def test_default_spec_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_API_KEY", API_KEY)
    with RunwayClient() as client:
        assert client.spec.catalog.operation("tasks/{id}", "GET") is not None


def test_harness_mirrors_both_kinds(client_kind: str, fake: FakeRunway, bundled_spec: Spec) -> None:
    h = Harness(client_kind, fake, bundled_spec)
    try:
        assert type(h.client).__name__ == (
            "RunwayClient" if client_kind == "sync" else "AsyncRunwayClient"
        )
    finally:
        h.close()


def test_run_on_a_spec_without_a_task_endpoint_sends_nothing(
    client_kind: str, fake: FakeRunway, image_body: dict[str, Any], bundled_spec: Spec
) -> None:
    """run() must follow the task it creates: with no GET tasks/{id} in the spec it refuses
    before the (paid) create, not after it."""
    import json

    document = json.loads(bundled_spec.document.data)
    del document["paths"]["/v1/tasks/{id}"]
    h = Harness(client_kind, fake, Spec.from_bytes(json.dumps(document).encode()))
    try:
        with pytest.raises(UsageError, match=r"has no GET tasks/\{id\}.*nothing was sent"):
            h.call("run", "text_to_image", image_body)
    finally:
        h.close()
    assert fake.log == []
