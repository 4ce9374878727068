"""``RunwayClient(history=…)`` and its async twin against the real sandbox on loopback.

Both clients share one recording logic (``client._ClientCore``): each test runs with both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic._exceptions import (
    BadRequestError,
    RequestMayHaveSucceededError,
    TaskFailedError,
)
from runway_dynamic.client import AsyncRunwayClient, RunwayClient
from runway_dynamic.history import ANSWER_LOST, REJECTED, HistoryStore
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.spec import Spec

KEY = "key_history_s3cret_never_stored_5e7d"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 3


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        yield sb


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sandbox: Sandbox, bundled_spec: Spec
        ) -> Callable[..., Any]:
    """``run(script, history=…)``: call ``script(client)`` with a sync client, or await it
    with an async one (the script awaits what :func:`call` gives it)."""
    kind = request.param

    def go(script: Callable[..., Any], **options: Any) -> Any:
        options = {"base_url": sandbox.base_url, "spec": bundled_spec, "poll_interval": 0.05,
                   **options}
        if kind == "sync":
            with RunwayClient(KEY, **options) as client:
                return _drive(script(client), None)

        async def main() -> Any:
            async with AsyncRunwayClient(KEY, **options) as client:
                steps = script(client)
                answer: Any = None
                failure: BaseException | None = None
                while True:
                    try:
                        step = steps.throw(failure) if failure else steps.send(answer)
                    except StopIteration as done:
                        return done.value
                    try:
                        answer, failure = await step(), None
                    except Exception as exc:
                        answer, failure = None, exc

        return asyncio.run(main())

    return go


def _drive(steps: Any, answer: Any) -> Any:
    failure: BaseException | None = None
    while True:
        try:
            step = steps.throw(failure) if failure else steps.send(answer)
        except StopIteration as done:
            return done.value
        try:
            answer, failure = step(), None
        except Exception as exc:
            answer, failure = None, exc


def image_body(spec: Spec, prompt: str = "a lighthouse at dusk") -> dict[str, Any]:
    model = next(m for m in spec.models("text_to_image")
                 if {f.name for f in spec.fields("text_to_image", m)["required"]}
                 <= {"model", "promptText", "ratio"})
    ratios = spec.ratios("text_to_image", model)
    assert ratios
    return {"model": model, "promptText": prompt, "ratio": ratios[0]}


def test_a_generation_is_recorded_once_with_its_task_status_outputs_and_files(
        run: Callable[..., Any], bundled_spec: Spec, tmp_path: Path) -> None:
    store_path = tmp_path / "history.sqlite3"
    body = image_body(bundled_spec, "Un phare à l'aube, маяк")

    def script(client: Any) -> Any:
        task = yield lambda: client.run("text_to_image", body)
        files = yield lambda: client.download(task, tmp_path / "out")
        return task, files

    task, files = run(script, history=store_path)
    with HistoryStore(store_path) as store:
        entries = store.entries()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.task_id, entry.status, entry.endpoint, entry.model) == (
        task.id, "SUCCEEDED", "text_to_image", body["model"])
    assert entry.body == body and entry.prompt == body["promptText"]
    assert entry.outputs == task.output and entry.files == tuple(str(f) for f in files)
    assert entry.spec_sha == bundled_spec.sha256 and entry.sandbox is False
    assert KEY.encode() not in store_path.read_bytes()
    assert store.search("маяк")[0].id == entry.id


def test_reads_uploads_and_resources_are_not_recorded(
        run: Callable[..., Any], tmp_path: Path) -> None:
    store_path = tmp_path / "history.sqlite3"
    image = tmp_path / "still.png"
    image.write_bytes(PNG)

    def script(client: Any) -> Any:
        yield lambda: client.request("organization", method="GET")
        yield lambda: client.upload(image)

    run(script, history=store_path)
    assert HistoryStore(store_path).entries() == []


def test_a_lost_answer_is_recorded_before_sending_and_marked_answer_lost(
        run: Callable[..., Any], bundled_spec: Spec, sandbox: Sandbox, tmp_path: Path) -> None:
    store_path = tmp_path / "history.sqlite3"
    body = image_body(bundled_spec, "a lost kite")

    def script(client: Any) -> Any:
        with pytest.raises(RequestMayHaveSucceededError):
            yield lambda: client.create_task("text_to_image", body,
                                             extra_headers={FAULT_HEADER: "drop=after"})

    run(script, history=store_path)
    with HistoryStore(store_path) as store:
        [entry] = store.entries()
        assert [e.id for e in store.uncertain()] == [entry.id]
    assert entry.status == ANSWER_LOST and entry.task_id is None
    assert entry.body == body and entry.failure


def test_a_refused_create_is_rejected_and_a_failed_task_keeps_its_code(
        run: Callable[..., Any], bundled_spec: Spec, tmp_path: Path) -> None:
    store_path = tmp_path / "history.sqlite3"
    body = image_body(bundled_spec, "a refused kite")

    def script(client: Any) -> Any:
        with pytest.raises(BadRequestError):
            yield lambda: client.create_task("text_to_image", body,
                                             extra_headers={FAULT_HEADER: "status=400"})
        with pytest.raises(TaskFailedError):
            yield lambda: client.run("text_to_image", body, extra_headers={
                FAULT_HEADER: "task-fail=SAFETY.INPUT.TEXT"})

    run(script, history=store_path)
    failed, refused = HistoryStore(store_path).entries()
    assert (refused.status, refused.failure_code, refused.task_id) == (REJECTED, "HTTP 400", None)
    assert (failed.status, failed.failure_code) == ("FAILED", "SAFETY.INPUT.TEXT")
    assert failed.task_id


def test_an_inlined_file_is_recorded_as_its_path_never_its_bytes(
        run: Callable[..., Any], bundled_spec: Spec, tmp_path: Path) -> None:
    import base64

    from runway_dynamic.sandbox.examples import Context, example
    from runway_dynamic.uploads import plan_media

    store_path = tmp_path / "history.sqlite3"
    image = tmp_path / "still.png"
    image.write_bytes(PNG)
    operation = bundled_spec.catalog.model_operation("image_to_video")
    assert operation is not None
    variant = next(v for v in operation.variants if "promptImage" in v.field_map)
    facts = variant.field_map["promptImage"].media
    inlined = plan_media(str(image), facts).value
    assert inlined.startswith("data:image/png;base64,")
    body = {**example(variant.schema, Context(root=variant.schema)), "promptImage": inlined}

    def script(client: Any) -> Any:
        yield lambda: client.create_task("image_to_video", body)

    run(script, history=store_path, preflight=False)
    [entry] = HistoryStore(store_path).entries()
    assert entry.body["promptImage"] == str(image)
    assert entry.media[0]["how"] == "inline" and entry.media[0]["file"] == str(image)
    assert base64.b64encode(PNG).decode()[:32].encode() not in store_path.read_bytes()


def test_without_history_nothing_is_written(run: Callable[..., Any], bundled_spec: Spec,
                                            tmp_path: Path) -> None:
    def script(client: Any) -> Any:
        yield lambda: client.create_task("text_to_image", image_body(bundled_spec))

    run(script)
    assert not list(tmp_path.home().rglob("history.sqlite3"))


def test_a_broken_history_never_fails_the_request(
        run: Callable[..., Any], bundled_spec: Spec, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "history.sqlite3"
    broken.write_bytes(b"this is not SQLite" * 50)

    def script(client: Any) -> Any:
        task = yield lambda: client.create_task("text_to_image", image_body(bundled_spec))
        return task

    assert run(script, history=broken).id
    assert "not recording any more" in caplog.text
    assert broken.read_bytes() == b"this is not SQLite" * 50
