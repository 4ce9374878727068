"""The sandbox answers alike over both of uvicorn's HTTP implementations: httptools (used
where it is importable) and h11 (the fallback). What touches the connection is checked on
each: keep-alive answers, HEAD, a body over the cap (413 and ``Connection: close``), a
dropped connection, a streamed upload."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.sandbox import FAULT_HEADER, Sandbox, asgi, server
from runway_dynamic.sandbox.app import Headers
from runway_dynamic.spec import Spec

CAP = 64 * 1024


def test_httptools_where_importable_else_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = importlib.util.find_spec("httptools") is not None  # a dependency: it is
    assert server.http_implementation() == ("httptools" if installed else "h11")
    monkeypatch.setitem(sys.modules, "httptools", None)  # what a failed import looks like
    assert server.http_implementation() == "h11"


@pytest.fixture(params=["httptools", "h11"])
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
        bundled_spec: Spec) -> Iterator[tuple[httpx.Client, Sandbox]]:
    implementation: str = request.param
    if implementation == "httptools" and importlib.util.find_spec("httptools") is None:
        pytest.skip("httptools is not installed here (pip install -e . installs it)")
    monkeypatch.setattr(server, "http_implementation", lambda: implementation)
    monkeypatch.setattr(asgi, "MAX_BODY_BYTES", CAP)
    with Sandbox(spec=bundled_spec, task_seconds=0.1, upload_max_bytes=CAP) as sandbox, \
            httpx.Client(base_url=sandbox.base_url, headers=spec_headers(bundled_spec),
                         timeout=10) as client:
        yield client, sandbox


def _body(spec: Spec) -> dict[str, str]:
    for model in spec.models("text_to_image"):
        ratios = spec.ratios("text_to_image", model)
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        if ratios and required <= {"model", "promptText", "ratio"}:
            return {"model": model, "promptText": "a kite", "ratio": ratios[0]}
    raise AssertionError("no plain text_to_image model in the bundled spec")


def test_a_task_is_created_polled_and_its_output_fetched_on_one_connection(
    api: tuple[httpx.Client, Sandbox], bundled_spec: Spec
) -> None:
    client, _ = api
    created = client.post("/v1/text_to_image", json=_body(bundled_spec))
    assert created.status_code == 200, created.text
    assert created.headers["content-type"] == "application/json"
    assert created.headers["content-length"] == str(len(created.content))
    task_id = created.json()["id"]
    while (task := client.get(f"/v1/tasks/{task_id}").json())["status"] != "SUCCEEDED":
        assert task["status"] in ("PENDING", "THROTTLED", "RUNNING")
    url = task["output"][0]
    fetched, head = client.get(url), client.head(url)
    assert fetched.status_code == head.status_code == 200
    assert fetched.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert head.content == b"" and head.headers["content-length"] == str(len(fetched.content))
    deleted = client.delete(f"/v1/tasks/{task_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert "content-type" not in deleted.headers


def test_a_body_over_the_cap_is_refused_and_the_connection_closed(
    api: tuple[httpx.Client, Sandbox], bundled_spec: Spec
) -> None:
    client, sandbox = api
    declared = client.post("/v1/text_to_image", content=b" " * (CAP + 1),
                           headers={"Content-Type": "application/json"})

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is found while reading
        for _ in range(4):
            yield b" " * (CAP // 2)

    streamed = client.post("/v1/text_to_image", content=chunks(),
                           headers={"Content-Type": "application/json"})
    for refused in (declared, streamed):
        assert refused.status_code == 413, refused.text
        assert str(CAP) in refused.json()["error"]
        assert refused.headers["connection"] == "close"
    assert not sandbox.state.tasks
    assert client.post("/v1/text_to_image", json=_body(bundled_spec)).status_code == 200


def test_a_drop_fault_closes_the_connection_and_the_server_keeps_serving(
    api: tuple[httpx.Client, Sandbox], bundled_spec: Spec
) -> None:
    client, sandbox = api
    with pytest.raises(httpx.TransportError):
        client.post("/v1/text_to_image", json=_body(bundled_spec),
                    headers={FAULT_HEADER: "drop"})
    assert not sandbox.state.tasks and sandbox.state.requests[-1].status is None
    assert client.get("/v1/organization").status_code == 200


def test_an_upload_streams_to_disk_and_one_over_the_cap_is_refused(
    api: tuple[httpx.Client, Sandbox],
) -> None:
    client, sandbox = api
    slots = [client.post("/v1/uploads", json={"filename": "clip.mp4", "type": "ephemeral"})
             .json() for _ in range(2)]
    stored = client.post(slots[0]["uploadUrl"], data=slots[0]["fields"],
                         files={"file": ("clip.mp4", b"\0" * CAP, "video/mp4")})
    assert stored.status_code == 204, stored.text
    refused = client.post(slots[1]["uploadUrl"], data=slots[1]["fields"],
                          files={"file": ("clip.mp4", b"\0" * (4 * CAP), "video/mp4")})
    assert refused.status_code == 413, refused.text
    assert [u.received for u in sandbox.state.uploads.values()] == [True, False]


def test_a_streamed_body_whose_first_chunk_is_over_the_cap_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """However the server cuts the body into messages, the cap holds (``None``: a 413)."""
    monkeypatch.setattr(asgi, "MAX_BODY_BYTES", CAP)
    messages = iter([{"type": "http.request", "body": b" " * (CAP + 1), "more_body": True},
                     {"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, object]:
        return next(messages)

    assert asyncio.run(asgi._read_body(Headers(), receive)) is None
