"""Sandbox semantics over real HTTP: auth, pre-flight 400s, task lifecycle, files, uploads, CRUD."""

from __future__ import annotations

import io
import time
import wave

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.sandbox import Sandbox
from runway_dynamic.sandbox.examples import example
from runway_dynamic.sandbox.media import mp4_boxes, mp4_size, png_size
from runway_dynamic.spec import Spec


def _body(spec: Spec, endpoint: str, model: str, **fields: object) -> dict[str, object]:
    variant = spec.catalog.variant(endpoint, model)
    assert variant is not None
    return {**example(variant.schema), **fields}


def _wait(client: httpx.Client, task_id: str, timeout: float = 5.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if task["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish")


# ---------------------------------------------------------------- auth and headers


def test_missing_key_is_a_runway_shaped_401(sandbox: Sandbox, bundled_spec: Spec) -> None:
    headers = {k: v for k, v in spec_headers(bundled_spec).items() if k != "Authorization"}
    response = httpx.get(sandbox.url("/v1/organization"), headers=headers)
    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]


def test_empty_bearer_token_is_refused(sandbox: Sandbox, bundled_spec: Spec) -> None:
    headers = {**spec_headers(bundled_spec), "Authorization": "Bearer"}
    assert httpx.get(sandbox.url("/v1/organization"), headers=headers).status_code == 401


def test_auth_can_be_switched_off(bundled_spec: Spec) -> None:
    headers = {k: v for k, v in spec_headers(bundled_spec).items() if k != "Authorization"}
    with Sandbox(spec=bundled_spec, require_auth=False) as sb:
        assert httpx.get(sb.url("/v1/organization"), headers=headers).status_code == 200


@pytest.mark.parametrize("value", [None, "1999-01-01"])
def test_the_pinned_version_header_is_required(
    sandbox: Sandbox, bundled_spec: Spec, value: str | None
) -> None:
    op = bundled_spec.catalog.operation("organization", "GET")
    assert op is not None
    (name, expected), = op.constant_headers.items()
    headers = {k: v for k, v in spec_headers(bundled_spec).items() if k != name}
    if value is not None:
        headers[name] = value
    response = httpx.get(sandbox.url("/v1/organization"), headers=headers)
    assert response.status_code == 400
    assert name in response.json()["error"] and expected in response.json()["error"]


def test_key_is_never_kept_in_the_request_log(sandbox: Sandbox, api: httpx.Client) -> None:
    api.get("/v1/organization")
    logged = sandbox.state.requests[-1]
    assert logged.headers["Authorization"] == "Bearer ****0000"  # last 4 characters at most
    assert "sandbox-test-key" not in repr(sandbox.state.requests)


# ---------------------------------------------------------------- pre-flight 400s


def test_missing_required_field_is_a_400_naming_the_field(
    api: httpx.Client, bundled_spec: Spec, sandbox: Sandbox
) -> None:
    variant = bundled_spec.catalog.variant("text_to_video", "gen4.5")
    assert variant is not None
    body = example(variant.schema)
    missing = next(n for n in variant.required if n != "model")
    del body[missing]
    response = api.post("/v1/text_to_video", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["error"]
    assert [missing] in [issue["path"] for issue in error["issues"]]
    assert all({"code", "path", "message"} <= set(issue) for issue in error["issues"])
    assert not sandbox.state.tasks, "a refused body must not create a task"


def test_unsupported_ratio_names_the_accepted_ones(api: httpx.Client, bundled_spec: Spec) -> None:
    body = _body(bundled_spec, "text_to_video", "gen4.5", ratio="999:1")
    issues = api.post("/v1/text_to_video", json=body).json()["issues"]
    ratio_issue = next(i for i in issues if i["path"] == ["ratio"])
    ratios = bundled_spec.ratios("text_to_video", "gen4.5")
    assert ratios and ratios[0] in ratio_issue["message"]


def test_every_model_endpoint_refuses_a_model_its_spec_does_not_list(
    api: httpx.Client, bundled_spec: Spec, sandbox: Sandbox
) -> None:
    """Runway answers 400 for a model id it does not know; so does the rehearsal, on every
    model-discriminated endpoint of the spec (the client only warns and sends it)."""
    endpoints = [op for op in bundled_spec.catalog.operations if op.is_model_endpoint]
    assert endpoints
    for op in endpoints:
        unknown = op.models[0] + "fast-not-listed"
        response = api.request(op.method, op.path, json={"model": unknown, "promptText": "x"})
        assert response.status_code == 400, (op.path, response.text)
        [issue] = [i for i in response.json()["issues"] if i["path"] == ["model"]]
        assert issue["code"] == "unknown_model" and unknown in issue["message"]
        assert all(model in issue["message"] for model in op.models)
    assert not sandbox.state.tasks, "a refused model must not create a task"


def test_invalid_json_is_a_400(api: httpx.Client) -> None:
    response = api.post("/v1/text_to_video", content=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["issues"][0]["code"] == "invalid_json"


def test_unknown_path_and_wrong_method(api: httpx.Client) -> None:
    assert api.get("/v1/no_such_thing").status_code == 404
    response = api.put("/v1/text_to_video", json={})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_bad_path_parameter_and_unknown_task(api: httpx.Client) -> None:
    assert api.get("/v1/tasks/not-a-uuid").status_code == 400
    missing = api.get("/v1/tasks/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "error" in missing.json()


# ---------------------------------------------------------------- tasks


def test_task_runs_pending_running_succeeded_with_progress(bundled_spec: Spec) -> None:
    # 2 s tasks: 0.4 s PENDING, long enough for the first poll on a loaded machine.
    with Sandbox(spec=bundled_spec, task_seconds=2.0) as sandbox, httpx.Client(
            base_url=sandbox.base_url, headers=spec_headers(bundled_spec), timeout=10) as api:
        _watch_one_task(api, bundled_spec, sandbox)


def _watch_one_task(api: httpx.Client, bundled_spec: Spec, sandbox: Sandbox) -> None:
    created = api.post("/v1/text_to_video", json=_body(bundled_spec, "text_to_video", "gen4.5"))
    assert created.status_code == 200 and set(created.json()) >= {"id"}
    task_id = created.json()["id"]
    seen: list[str] = []
    progress: list[float] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        task = api.get(f"/v1/tasks/{task_id}").json()
        if not seen or seen[-1] != task["status"]:
            seen.append(task["status"])
        if task["status"] == "RUNNING":
            progress.append(task["progress"])
        if task["status"] == "SUCCEEDED":
            break
        time.sleep(0.01)
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)
    assert task["output"] and task["output"][0].startswith(sandbox.base_url + "/_sandbox/files/")


def test_thousand_tasks_are_cheap(bundled_spec: Spec) -> None:
    """Task state is computed from timestamps: no thread per task."""
    import threading

    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        body = _body(bundled_spec, "text_to_image", "gen4_image")
        threads_before = threading.active_count()
        ids = [client.post("/v1/text_to_image", json=body).json()["id"] for _ in range(200)]
        assert threading.active_count() <= threads_before + 2
        time.sleep(0.15)
        assert {client.get(f"/v1/tasks/{i}").json()["status"] for i in ids} == {"SUCCEEDED"}


def test_delete_cancels_a_running_task_then_deletes_it(bundled_spec: Spec) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=30) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        task_id = client.post("/v1/text_to_video",
                              json=_body(bundled_spec, "text_to_video", "gen4.5")).json()["id"]
        assert client.delete(f"/v1/tasks/{task_id}").status_code == 204
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] == "CANCELLED"
        assert client.delete(f"/v1/tasks/{task_id}").status_code == 204
        assert client.get(f"/v1/tasks/{task_id}").status_code == 404
        assert client.delete(f"/v1/tasks/{task_id}").status_code == 404


def test_delete_of_a_finished_task_deletes_it_and_its_files(
    api: httpx.Client, bundled_spec: Spec
) -> None:
    task_id = api.post("/v1/text_to_image",
                       json=_body(bundled_spec, "text_to_image", "gen4_image")).json()["id"]
    url = _wait(api, task_id)["output"][0]
    assert api.get(url).status_code == 200
    assert api.delete(f"/v1/tasks/{task_id}").status_code == 204
    assert api.get(f"/v1/tasks/{task_id}").status_code == 404
    assert api.get(url).status_code == 404


# ---------------------------------------------------------------- output files


def _ratio_cases(spec: Spec, endpoint: str) -> list[tuple[str, str]]:
    cases = []
    for model, ratios in spec.catalog.ratio_matrix().get(endpoint, {}).items():
        for ratio in ratios:
            if ":" in ratio and ratio.replace(":", "").isdigit():
                cases.append((model, ratio))
    return cases


def _aspect_close(size: tuple[int, int], ratio: str, tolerance: float = 0.04) -> bool:
    width, height = (int(x) for x in ratio.split(":"))
    return abs((size[0] / size[1]) / (width / height) - 1) <= tolerance


def test_image_outputs_are_pngs_of_every_requested_aspect(
    api: httpx.Client, bundled_spec: Spec
) -> None:
    cases = _ratio_cases(bundled_spec, "text_to_image")
    assert cases
    ids = {}
    for model, ratio in cases:
        body = _body(bundled_spec, "text_to_image", model, ratio=ratio)
        response = api.post("/v1/text_to_image", json=body)
        assert response.status_code == 200, response.text
        ids[response.json()["id"]] = ratio
    for task_id, ratio in ids.items():
        url = _wait(api, task_id)["output"][0]
        image = api.get(url)
        assert image.headers["content-type"] == "image/png"
        assert int(image.headers["content-length"]) == len(image.content)
        assert _aspect_close(png_size(image.content), ratio), (ratio, png_size(image.content))


def test_video_output_is_an_mp4_of_the_ratio(api: httpx.Client, bundled_spec: Spec) -> None:
    cases = _ratio_cases(bundled_spec, "text_to_video")
    model, ratio = next(c for c in cases if c[1] != "1280:720")
    body = _body(bundled_spec, "text_to_video", model, ratio=ratio)
    url = _wait(api, api.post("/v1/text_to_video", json=body).json()["id"])["output"][0]
    assert url.endswith(".mp4")
    video = api.get(url)
    assert video.headers["content-type"] == "video/mp4"
    assert [b[0] for b in mp4_boxes(video.content)][:1] == ["ftyp"]
    assert _aspect_close(mp4_size(video.content), ratio)


def test_audio_output_is_a_wav(api: httpx.Client, bundled_spec: Spec) -> None:
    endpoint = next(e for e in bundled_spec.endpoints() if "speech" in e)
    model = bundled_spec.models(endpoint)[0]
    task_id = api.post(f"/v1/{endpoint}", json=_body(bundled_spec, endpoint, model)).json()["id"]
    audio = api.get(_wait(api, task_id)["output"][0])
    assert audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getnframes() > 0 and wav.getframerate() > 0


def test_output_count_gives_that_many_files(api: httpx.Client, bundled_spec: Spec) -> None:
    model = next(m for m in bundled_spec.models("text_to_image")
                 if "outputCount" in bundled_spec.catalog.variant("text_to_image", m).field_map)
    limit = bundled_spec.catalog.variant("text_to_image", model).field_map["outputCount"].schema
    count = min(2, limit.get("maximum", 2))
    body = _body(bundled_spec, "text_to_image", model, outputCount=count)
    task = _wait(api, api.post("/v1/text_to_image", json=body).json()["id"])
    assert len(task["output"]) == count
    assert all(api.get(url).status_code == 200 for url in task["output"])


def test_files_of_unfinished_tasks_are_not_served(bundled_spec: Spec) -> None:
    with Sandbox(spec=bundled_spec, task_seconds=30) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        task_id = client.post("/v1/text_to_image",
                              json=_body(bundled_spec, "text_to_image", "gen4_image")).json()["id"]
        assert client.get(f"/_sandbox/files/{task_id}/0.png").status_code == 404


# ---------------------------------------------------------------- uploads


def test_upload_round_trip_makes_a_runway_uri_usable(
    api: httpx.Client, bundled_spec: Spec, sandbox: Sandbox
) -> None:
    slot = api.post("/v1/uploads", json={"filename": "cat.png", "type": "ephemeral"})
    assert slot.status_code == 200
    data = slot.json()
    assert data["uploadUrl"].startswith(sandbox.base_url)
    payload = bytes(range(256)) * 40 + b"\r\n--tricky\r\n"
    body = _body(bundled_spec, "image_to_video", "gen4.5", promptImage=data["runwayUri"])
    refused = api.post("/v1/image_to_video", json=body)
    assert refused.status_code == 400, "an upload not yet received cannot be used"
    assert refused.json()["issues"][-1]["path"] == ["promptImage"]
    stored = httpx.post(data["uploadUrl"], data=data["fields"],
                        files={"file": ("cat.png", payload, "image/png")})
    assert stored.status_code == 204
    upload = next(iter(sandbox.state.uploads.values()))
    assert upload.data == payload and upload.content_type == "image/png"
    assert api.post("/v1/image_to_video", json=body).status_code == 200


def test_upload_needs_the_issued_fields(api: httpx.Client) -> None:
    data = api.post("/v1/uploads", json={"filename": "a.wav", "type": "ephemeral"}).json()
    response = httpx.post(data["uploadUrl"], files={"file": ("a.wav", b"RIFF", "audio/wav")})
    assert response.status_code == 400 and "key" in response.json()["error"]


def test_unknown_runway_uri_is_refused(api: httpx.Client, bundled_spec: Spec) -> None:
    body = _body(bundled_spec, "image_to_video", "gen4.5", promptImage="runway://nowhere/x.png")
    response = api.post("/v1/image_to_video", json=body)
    assert response.status_code == 400
    assert response.json()["issues"][0]["code"] == "unknown_runway_uri"


# ---------------------------------------------------------------- resources


def test_resource_crud_keeps_state(api: httpx.Client, bundled_spec: Spec) -> None:
    op = bundled_spec.catalog.operation("documents", "POST")
    assert op is not None
    body = {**example(op.variants[0].schema), "name": "notes"}
    created = api.post("/v1/documents", json=body).json()
    doc_id = created["id"]
    assert created["name"] == "notes"
    assert api.get(f"/v1/documents/{doc_id}").json() == created
    assert api.patch(f"/v1/documents/{doc_id}", json={"name": "renamed"}).status_code // 100 == 2
    again = api.get(f"/v1/documents/{doc_id}").json()
    assert again["name"] == "renamed" and again["content"] == created["content"]
    assert [d["id"] for d in api.get("/v1/documents").json()["data"]] == [doc_id]
    assert api.delete(f"/v1/documents/{doc_id}").status_code == 204
    assert api.get(f"/v1/documents/{doc_id}").status_code == 404
    assert api.get("/v1/documents").json()["data"] == []


def test_lists_paginate_with_cursor_and_limit(api: httpx.Client, bundled_spec: Spec) -> None:
    op = bundled_spec.catalog.operation("documents", "POST")
    assert op is not None
    made = [api.post("/v1/documents", json={**example(op.variants[0].schema), "name": f"d{i}"})
            .json()["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2, "order": "asc"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/documents", params=params).json()
        seen += [d["id"] for d in page["data"]]
        pages += 1
        cursor = page["nextCursor"]
        assert page["hasMore"] == (cursor is not None)
        if not cursor:
            break
    assert seen == made and pages == 3
    assert api.get("/v1/documents", params={"cursor": "garbage"}).status_code == 400


def test_polled_resources_become_ready(bundled_spec: Spec) -> None:
    """A voice goes PROCESSING → READY over task_seconds, like a task."""
    op = bundled_spec.catalog.operation("voices", "POST")
    assert op is not None
    with Sandbox(spec=bundled_spec, task_seconds=0.2) as sb, httpx.Client(
        base_url=sb.base_url, headers=spec_headers(bundled_spec)
    ) as client:
        voice_id = client.post("/v1/voices", json=example(op.variants[0].schema)).json()["id"]
        first = client.get(f"/v1/voices/{voice_id}").json()
        time.sleep(0.25)
        later = client.get(f"/v1/voices/{voice_id}").json()
    assert (first["status"], later["status"]) == ("PROCESSING", "READY")
    assert later["createdAt"] == first["createdAt"]


def test_organization_reflects_spent_credits(api: httpx.Client, bundled_spec: Spec) -> None:
    before = api.get("/v1/organization").json()["creditBalance"]
    api.post("/v1/text_to_image", json=_body(bundled_spec, "text_to_image", "gen4_image"))
    after = api.get("/v1/organization").json()
    assert after["creditBalance"] < before
    assert after["usage"]["models"]["gen4_image"]["dailyGenerations"] == 1


def test_cli_rehearsal_of_an_unlisted_model_fails_like_the_real_api(bundled_spec: Spec) -> None:
    """``runway --sandbox video --model <typo>``: the client warns and sends, the sandbox
    answers Runway's 400 naming the models, and the command fails (it used to succeed)."""
    import os
    import subprocess
    import sys

    listed = bundled_spec.models("text_to_video")
    typo = listed[0].replace("_", "") + "fast"
    assert typo not in listed
    result = subprocess.run(
        [sys.executable, "-m", "runway_dynamic", "--sandbox", "video", "--model", typo,
         "--prompt-text", "a fox"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "RUNWAY_SANDBOX_TASK_SECONDS": "0.1"})
    assert result.returncode != 0, result.stdout
    assert "400" in result.stderr and f"Invalid model {typo!r}" in result.stderr
    assert all(model in result.stderr for model in listed)
