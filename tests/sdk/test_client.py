"""RunwayML and AsyncRunwayML over real HTTP to the sandbox: what we add to the official
surface (pre-flight, local files, ``sandbox=True``, creates never resent), and the parts of
its surface the documented programs of test_compat.py do not reach.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic import (
    APIConnectionError,
    AsyncRunwayML,
    BadRequestError,
    InternalServerError,
    PreflightError,
    RequestMayHaveSucceededError,
    RunwayML,
    TaskTimeoutError,
)
from runway_dynamic.naming import python_name
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sandbox.media import png
from runway_dynamic.spec import Spec

KEY = "key_sdk_client_test_0123456789"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(task_seconds=0.1) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[RunwayML]:
    with RunwayML(api_key=KEY, base_url=sandbox.base_url, poll_interval=0.05) as c:
        yield c


def _creates(sandbox: Sandbox, endpoint: str) -> int:
    return len(sandbox.state.requests_to("POST", f"/v1/{endpoint}"))


def test_preflight_names_every_problem_by_python_argument_and_sends_nothing(
        client: RunwayML, sandbox: Sandbox) -> None:
    before = len(sandbox.state.requests)
    with pytest.raises(BadRequestError) as caught:
        client.text_to_video.create(model="gen4.5", prompt_text=5, ratio="999:1")
    error = caught.value
    assert isinstance(error, PreflightError) and error.status_code == 400
    text = str(error)
    assert "nothing was sent" in text
    assert "duration" in text and "999:1" in text and "prompt_text" in text
    assert "promptText" not in text and "--" not in text
    assert len(error.messages) == 3
    assert len(sandbox.state.requests) == before


def test_camel_case_and_snake_case_send_the_same_body(client: RunwayML,
                                                      sandbox: Sandbox) -> None:
    client.text_to_image.create(model="gen4_image", prompt_text="a", ratio="1920:1080")
    client.text_to_image.create(model="gen4_image", promptText="a", ratio="1920:1080")
    first, second = sandbox.state.requests_to("POST", "/v1/text_to_image")
    assert first.body == second.body == {"model": "gen4_image", "promptText": "a",
                                         "ratio": "1920:1080"}


def test_a_local_file_path_is_uploaded_where_a_media_uri_is_expected(
        client: RunwayML, sandbox: Sandbox, tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    still.write_bytes(png(1280, 720))
    task = client.image_to_video.create(model="gen4_turbo", prompt_image=still,
                                        ratio="1280:720", prompt_text="waves")
    done = task.wait_for_task_output(timeout=30)
    assert done.status == "SUCCEEDED" and done.output
    (sent,) = sandbox.state.requests_to("POST", "/v1/image_to_video")
    assert sent.body["promptImage"].startswith(("runway://", "data:image/"))
    assert str(still) not in json.dumps(sent.body)


def test_create_ephemeral_sends_file_metadata_as_the_official_client_does(
        client: RunwayML, sandbox: Sandbox, tmp_path: Path) -> None:
    """``file_metadata`` goes as the upload form's ``metadata`` field; not a str is a
    TypeError before anything is sent (the official client types it ``str``)."""
    still = tmp_path / "still.png"
    still.write_bytes(png(64, 64))
    uri = client.uploads.create_ephemeral(file=still, file_metadata='{"take": 3}').uri
    (upload,) = [u for u in sandbox.state.uploads.values() if u.runway_uri == uri]
    assert upload.received and upload.metadata == '{"take": 3}'
    plain = client.uploads.create_ephemeral(file=still).uri
    assert [u.metadata for u in sandbox.state.uploads.values() if u.runway_uri == plain] == [None]
    before = len(sandbox.state.requests)
    with pytest.raises(TypeError, match="file_metadata"):
        client.uploads.create_ephemeral(file=still, file_metadata={"take": 3})
    assert len(sandbox.state.requests) == before

    async def in_async() -> str:
        async with AsyncRunwayML(api_key=KEY, base_url=sandbox.base_url) as aclient:
            answer = await aclient.uploads.create_ephemeral(file=still, file_metadata="async")
            return str(answer.uri)

    async_uri = asyncio.run(in_async())
    assert [u.metadata for u in sandbox.state.uploads.values()
            if u.runway_uri == async_uri] == ["async"]


def test_history_records_the_sdks_creates_and_their_outcome(sandbox: Sandbox,
                                                            tmp_path: Path) -> None:
    """``history=``: a create made through the official surface lands in ``runway history``
    with its task id, and the wait's answer settles it; a create the API refuses is kept as
    refused; a read is not an entry. Sync and async alike."""
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.history.store import REJECTED

    store_path = tmp_path / "history.sqlite3"
    with RunwayML(api_key=KEY, base_url=sandbox.base_url, poll_interval=0.05,
                  history=store_path) as client:
        task = client.text_to_image.create(model="gen4_image", prompt_text="a lighthouse",
                                           ratio="1920:1080")
        done = task.wait_for_task_output(timeout=30)
        client.tasks.retrieve(task.id)
    async def in_async() -> None:
        async with AsyncRunwayML(api_key=KEY, base_url=sandbox.base_url,
                                 history=store_path) as aclient:
            with pytest.raises(BadRequestError):
                await aclient.text_to_image.create(
                    model="gen4_image", prompt_text="refused", ratio="1920:1080",
                    extra_headers={"X-Sandbox-Fault": "status=400"})

    asyncio.run(in_async())
    with HistoryStore(store_path) as store:
        entries = sorted(store.entries(), key=lambda e: e.id)
    assert [(e.prompt, e.endpoint) for e in entries] == [
        ("a lighthouse", "text_to_image"), ("refused", "text_to_image")]
    assert (entries[0].task_id, entries[0].status) == (task.id, done.status)
    assert entries[0].outputs == tuple(done.output or ())
    assert (entries[1].task_id, entries[1].status) == (None, REJECTED)
    assert KEY.encode() not in store_path.read_bytes()


def test_a_missing_local_file_is_a_preflight_problem_with_the_others(
        client: RunwayML, sandbox: Sandbox) -> None:
    with pytest.raises(PreflightError) as caught:
        client.image_to_video.create(model="gen4_turbo", prompt_image="no-such.png",
                                     ratio="999:1")
    text = str(caught.value)
    assert "prompt_image" in text and "no-such.png" in text and "999:1" in text
    assert _creates(sandbox, "image_to_video") == 0


def test_wait_for_task_output_gives_up_with_task_timeout_error() -> None:
    with Sandbox(task_seconds=30) as slow, RunwayML(
            api_key=KEY, base_url=slow.base_url, poll_interval=0.05) as client:
        task = client.text_to_image.create(model="gen4_image", prompt_text="a",
                                           ratio="1920:1080")
        with pytest.raises(TaskTimeoutError) as caught:
            task.wait_for_task_output(timeout=0.3)
        assert caught.value.task_id == task.id


def test_a_task_creating_call_whose_answer_is_lost_is_not_resent(sandbox: Sandbox) -> None:
    """The official SDK resends it (two billed tasks); ours stops after one and says so."""
    runwayml = pytest.importorskip("runwayml")
    fault = {"X-Sandbox-Fault": "drop=after"}
    args: dict[str, Any] = {"model": "gen4_image", "prompt_text": "a", "ratio": "1920:1080",
                            "extra_headers": fault}
    official = runwayml.RunwayML(api_key=KEY, base_url=sandbox.base_url, max_retries=2)
    with pytest.raises(runwayml.APIConnectionError):
        official.text_to_image.create(**args)
    official.close()
    assert sandbox.state.created_tasks == 3  # the official SDK made three tasks
    with RunwayML(api_key=KEY, base_url=sandbox.base_url, max_retries=2) as ours, \
            pytest.raises(RequestMayHaveSucceededError) as caught:
        ours.text_to_image.create(**args)
    assert isinstance(caught.value, APIConnectionError)  # what its callers catch
    assert "not resent" in str(caught.value)
    assert sandbox.state.created_tasks == 4  # one more, not three


def test_a_create_answered_5xx_is_not_resent_and_is_an_internal_server_error(
        client: RunwayML, sandbox: Sandbox) -> None:
    with pytest.raises(RequestMayHaveSucceededError) as caught:
        client.text_to_image.create(model="gen4_image", prompt_text="a", ratio="1920:1080",
                                    extra_headers={"X-Sandbox-Fault": "status=503"})
    assert isinstance(caught.value, InternalServerError)
    assert caught.value.status_code == 503
    assert _creates(sandbox, "text_to_image") == 1


def test_with_raw_response_gives_status_headers_and_the_parsed_result(
        client: RunwayML) -> None:
    raw = client.text_to_image.with_raw_response.create(
        model="gen4_image", prompt_text="a", ratio="1920:1080")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    task = raw.parse()
    assert task.id == raw.json()["id"] and task.wait_for_task_output(timeout=30).output
    top = client.with_raw_response.organization.retrieve()
    assert top.status_code == 200 and top.parse().to_dict() == top.json()


def test_dir_help_and_signature_come_from_the_spec(client: RunwayML) -> None:
    catalog = client.spec.catalog
    endpoints = {op.endpoint.split("/")[0] for op in catalog.operations}
    assert endpoints <= set(dir(client))
    method = client.text_to_video.create
    params = inspect.signature(method).parameters
    assert {"model", "prompt_text", "ratio", "duration", "extra_headers"} <= set(params)
    models = catalog.operation("text_to_video", "POST").models  # type: ignore[union-attr]
    assert set(params["model"].annotation.__args__) == set(models)
    variant = catalog.variant("text_to_video", models[0])
    assert variant is not None
    one = method.signature_for(models[0]).parameters
    assert params["model"].default is inspect.Parameter.empty
    for field in variant.required:
        assert one[python_name(field)].default is inspect.Parameter.empty
    for key in models:  # every model's ratios are in the all-models signature
        ratios = catalog.variant("text_to_video", key).ratios  # type: ignore[union-attr]
        assert set(ratios or ()) <= set(params["ratio"].annotation.__args__)
    doc = method.__doc__ or ""
    assert all(f"model={m!r}:" in doc for m in models)
    with pytest.raises(AttributeError, match="did you mean text_to_video"):
        _ = client.text_to_vdeo


def test_sandbox_true_needs_no_key_and_stops_its_sandbox(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from runway_dynamic.boundary import PLACEHOLDER_KEY

    monkeypatch.setenv("RUNWAY_API_KEY", "key_of_the_user_never_sent_0123")
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_of_the_user_never_sent_4567")
    client = RunwayML(sandbox=True)
    try:
        assert client.base_url.startswith("http://127.0.0.1:")
        assert client.api_key == PLACEHOLDER_KEY
        assert client.engine._core.boundary.sealed  # loopback only
        done = client.text_to_image.create(model="gen4_image", prompt_text="a",
                                           ratio="1920:1080").wait_for_task_output(timeout=30)
        assert done.status == "SUCCEEDED"
        url = client.base_url
    finally:
        client.close()
    import httpx

    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/v1/organization", timeout=2)


def test_the_async_client_mirrors_the_sync_one(sandbox: Sandbox, tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    still.write_bytes(png(1280, 720))

    async def main() -> list[Any]:
        async with AsyncRunwayML(api_key=KEY, base_url=sandbox.base_url,
                                 poll_interval=0.05) as client:
            with pytest.raises(BadRequestError):
                await client.text_to_image.create(model="gen4_image", ratio="999:1")
            task = await client.image_to_video.create(
                model="gen4_turbo", prompt_image=still, ratio="1280:720")
            done = await task.wait_for_task_output(timeout=30)
            raw = await client.tasks.with_raw_response.retrieve(task.id)
            for n in range(3):
                await client.avatars.create(
                    name=f"A{n}", reference_image="https://example.com/face.png",
                    personality="kind", voice={"type": "runway-live-preset",
                                               "preset_id": "clara"})
            names = [a.name async for a in client.avatars.list(limit=2)]
            first = await client.avatars.list(limit=2)
            return [done.status, raw.status_code, sorted(names), len(first.data),
                    first.has_next_page()]

    assert asyncio.run(main()) == ["SUCCEEDED", 200, ["A0", "A1", "A2"], 2, True]


# --------------------------------------------------------------------- a newer spec


def _newer_spec(base: Spec) -> Spec:
    """The bundled spec plus a new endpoint (``text_to_hologram``, model ``holo1``) and a
    new model on an existing endpoint (``gen9`` on ``text_to_image``)."""
    document = copy.deepcopy(base.document.document)
    paths = document["paths"]
    text_to_image = paths["/v1/text_to_image"]["post"]
    branches = text_to_image["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    gen9 = copy.deepcopy(next(b for b in branches
                              if b["properties"]["model"].get("const") == "gen4_image"))
    gen9["properties"]["model"] = {"type": "string", "const": "gen9"}
    gen9["properties"]["sparkleLevel"] = {"type": "integer", "minimum": 1, "maximum": 3}
    gen9["required"] = [*gen9["required"], "sparkleLevel"]
    branches.append(gen9)
    hologram = copy.deepcopy(paths["/v1/text_to_image"])
    schema = hologram["post"]["requestBody"]["content"]["application/json"]["schema"]
    holo1 = copy.deepcopy(gen9)
    holo1["properties"]["model"] = {"type": "string", "const": "holo1"}
    schema["oneOf"] = [holo1]
    paths["/v1/text_to_hologram"] = hologram
    return Spec.from_bytes(json.dumps(document).encode(), "<newer>")


def test_a_new_endpoint_and_a_new_model_appear_with_no_code_change(bundled_spec: Spec) -> None:
    newer = _newer_spec(bundled_spec)
    with Sandbox(spec=newer, task_seconds=0.1) as sandbox, RunwayML(
            api_key=KEY, base_url=sandbox.base_url, spec=newer, poll_interval=0.05) as client:
        assert "text_to_hologram" in dir(client)
        holo = client.text_to_hologram.create(model="holo1", prompt_text="a",
                                              ratio="1920:1080", sparkle_level=2)
        assert holo.wait_for_task_output(timeout=30).status == "SUCCEEDED"
        assert "sparkle_level" in inspect.signature(client.text_to_image.create).parameters
        with pytest.raises(PreflightError, match="sparkle_level"):
            client.text_to_image.create(model="gen9", prompt_text="a", ratio="1920:1080")
        task = client.text_to_image.create(model="gen9", prompt_text="a", ratio="1920:1080",
                                           sparkle_level=3)
        assert task.wait_for_task_output(timeout=30).status == "SUCCEEDED"
        (sent,) = sandbox.state.requests_to("POST", "/v1/text_to_image")
        assert sent.body["sparkleLevel"] == 3
    with RunwayML(api_key=KEY, base_url="http://127.0.0.1:9", spec=bundled_spec) as older:
        assert "text_to_hologram" not in dir(older)
        with pytest.raises(AttributeError):
            _ = older.text_to_hologram
