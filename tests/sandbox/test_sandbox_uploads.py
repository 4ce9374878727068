"""Uploads are refused where the spec's media limits say so, and never held in memory.

The limits come from :func:`runway_dynamic.media_limits.media_limits` (the spec's media
fields), never from a list here: the tests ask the same function for the types and the cap.
The large-file test uses a sparse file (no disk, no time to write) and a sandbox in its own
process, whose peak RSS (``VmHWM``) is read from ``/proc``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_support import spec_headers

from runway_dynamic.media_limits import human_size, media_limits
from runway_dynamic.sandbox import Sandbox
from runway_dynamic.spec import Spec

MB = 1024 * 1024
#: The sandbox process's peak RSS may grow this much during a big upload (its chunks,
#: buffers and the allocator's slack), a small part of any file that is not kept in memory.
RSS_ROOM = 64 * MB


def _slot(client: httpx.Client, filename: str) -> dict[str, object]:
    response = client.post("/v1/uploads", json={"filename": filename, "type": "ephemeral"})
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_limits_come_from_the_spec_media_fields(bundled_spec: Spec) -> None:
    """Every media type family some media field names is uploadable, and each data-URI cap
    is the largest maxLength the spec gives that family."""
    limits = media_limits(bundled_spec.catalog)
    families = set()
    for op in bundled_spec.catalog.operations:
        for variant in op.variants:
            for field in variant.fields:
                if field.media and field.media.data_mime_prefix:
                    families.add(field.media.data_mime_prefix)
                    assert field.media.data_max_length is not None
                    assert limits.data_uri_limit(field.media.data_mime_prefix + "x") \
                        >= field.media.data_max_length
    assert families and families <= set(limits.upload_types)
    assert limits.upload_max_bytes > max(limits.data_uri_max.values())


def test_a_slot_for_a_file_that_is_not_media_is_refused(
    api: httpx.Client, bundled_spec: Spec, sandbox: Sandbox
) -> None:
    limits = media_limits(bundled_spec.catalog)
    for name in ("notes.txt", "archive.zip", "no-extension"):
        response = api.post("/v1/uploads", json={"filename": name, "type": "ephemeral"})
        assert response.status_code == 400, name
        [issue] = response.json()["issues"]
        assert issue["path"] == ["filename"] and name in issue["message"]
        assert all(f.rstrip("/") in issue["message"] for f in limits.upload_types)
    assert not sandbox.state.uploads


def test_a_file_of_another_type_than_media_is_refused(api: httpx.Client) -> None:
    slot = _slot(api, "cat.png")
    response = httpx.post(str(slot["uploadUrl"]), data=slot["fields"],  # type: ignore[arg-type]
                          files={"file": ("cat.png", b"#!/bin/sh\n", "text/x-shellscript")})
    assert response.status_code == 400
    assert "text/x-shellscript" in response.json()["error"]


def test_a_file_over_the_cap_is_refused_while_it_streams_and_nothing_is_kept(
    bundled_spec: Spec, tmp_path: Path
) -> None:
    """Without a Content-Length (chunked), the file is cut at the cap: 413, no file left."""
    cap = 256 * 1024
    with Sandbox(spec=bundled_spec, task_seconds=0.1, upload_max_bytes=cap) as sandbox, \
            httpx.Client(base_url=sandbox.base_url, headers=spec_headers(bundled_spec)) as api:
        slot = _slot(api, "clip.mp4")
        request = httpx.Request("POST", str(slot["uploadUrl"]), data=slot["fields"],  # type: ignore[arg-type]
                                files={"file": ("clip.mp4", b"\0" * (8 * cap), "video/mp4")})
        body = request.read()

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 64 * 1024):
                yield body[start:start + 64 * 1024]

        response = httpx.post(str(slot["uploadUrl"]), content=chunks(),
                              headers={"Content-Type": request.headers["Content-Type"]})
        assert response.status_code == 413
        assert human_size(cap) in response.json()["error"]
        upload = next(iter(sandbox.state.uploads.values()))
        assert not upload.received
        assert list(sandbox.state.upload_dir().iterdir()) == []
        fits = httpx.post(str(slot["uploadUrl"]), data=slot["fields"],  # type: ignore[arg-type]
                          files={"file": ("clip.mp4", b"\0" * cap, "video/mp4")})
        assert fits.status_code == 204 and upload.size == cap


@pytest.fixture
def sandbox_process() -> Iterator[tuple[str, int]]:
    """``python -m runway_dynamic.sandbox`` in its own process: its URL and pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic.sandbox", "--port", "0", "--no-auth"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r"http://[\d.]+:\d+", process.stdout.readline())
        assert found, "the sandbox did not start"
        yield found.group(0), process.pid
    finally:
        process.terminate()
        process.communicate(timeout=20)


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found, "no VmHWM in /proc (Linux only)"
    return int(found.group(1)) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_2_gb_sparse_png_is_refused_and_the_sandbox_memory_stays_bounded(
    sandbox_process: tuple[str, int], bundled_spec: Spec, tmp_path: Path
) -> None:
    """A 2 GB file is refused (413, the cap named) before its bytes are read; a file just
    within the cap (128 MB) is streamed to disk: the sandbox's peak RSS grows by far less."""
    url, pid = sandbox_process
    limits = media_limits(bundled_spec.catalog)
    headers = spec_headers(bundled_spec)
    with httpx.Client(base_url=url, headers=headers, timeout=120) as api:
        api.get("/v1/organization").raise_for_status()  # warm: first answers allocate
        before = _peak_rss(pid)
        huge = _sparse(tmp_path / "huge.png", 2 * 1024 * MB)
        slot = _slot(api, huge.name)
        with huge.open("rb") as handle:
            refused = httpx.post(str(slot["uploadUrl"]), data=slot["fields"],  # type: ignore[arg-type]
                                 files={"file": (huge.name, handle, "image/png")}, timeout=120)
        assert refused.status_code == 413
        message = refused.json()["error"]
        assert "2 GB" in message and human_size(limits.upload_max_bytes) in message
        assert _peak_rss(pid) - before < RSS_ROOM

        near_cap = _sparse(tmp_path / "clip.mp4", min(limits.upload_max_bytes, 128 * MB))
        slot = _slot(api, near_cap.name)
        with near_cap.open("rb") as handle:
            stored = httpx.post(str(slot["uploadUrl"]), data=slot["fields"],  # type: ignore[arg-type]
                                files={"file": (near_cap.name, handle, "video/mp4")},
                                timeout=120)
        assert stored.status_code == 204, stored.text
        assert _peak_rss(pid) - before < RSS_ROOM
