"""Both clients against the real local sandbox on loopback, faults injected per request.

These are the end-to-end proofs of the retry policy: the sandbox's request log shows what
actually went over the wire (one POST when a response was lost, two when a 429 was retried).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic._exceptions import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    PreflightError,
    RequestMayHaveSucceededError,
    TaskFailedError,
)
from runway_dynamic.client import AsyncRunwayClient, RunwayClient
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.spec import Spec
from runway_dynamic.uploads import resolve_media

KEY = "key_sandbox_s3cret_never_shown_91ab"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GEN_PATH = "/v1/text_to_image"


@pytest.fixture
def sandbox(bundled_spec: Spec) -> Iterator[Sandbox]:
    with Sandbox(spec=bundled_spec, task_seconds=0.2) as sb:
        yield sb


class Sleeps(list[float]):
    """Records every requested sleep; really sleeps at most 50 ms (tasks run on wall time)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.05))

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))


def sync_client(sb: Sandbox, spec: Spec, sleeps: Sleeps | None = None, **kw: Any) -> RunwayClient:
    return RunwayClient(
        KEY,
        base_url=sb.base_url,
        spec=spec,
        poll_interval=0.05,
        sleep=sleeps if sleeps is not None else Sleeps(),
        timeout=10,
        **kw,
    )


def async_client(
    sb: Sandbox, spec: Spec, sleeps: Sleeps | None = None, **kw: Any
) -> AsyncRunwayClient:
    return AsyncRunwayClient(
        KEY,
        base_url=sb.base_url,
        spec=spec,
        poll_interval=0.05,
        sleep=(sleeps if sleeps is not None else Sleeps()).asleep,
        timeout=10,
        **kw,
    )


def fault(text: str) -> dict[str, str]:
    return {FAULT_HEADER: text}


def posts(sb: Sandbox) -> int:
    return len(sb.state.requests_to("POST", GEN_PATH))


# --------------------------------------------------------------------------- happy paths


def test_generate_wait_download_sync(
    bundled_spec: Spec, image_body: dict[str, Any], tmp_path: Path
) -> None:
    seen: list[str] = []
    # RUNNING lasts 0.8 s here (16 polls): a loaded machine cannot step over all of it
    with Sandbox(spec=bundled_spec, task_seconds=1.0) as sandbox, \
            sync_client(sandbox, bundled_spec) as client:
        fields = {k: v for k, v in image_body.items() if k != "model"}
        task = client.generate("text_to_image", model=image_body["model"], **fields)
        done = client.tasks.wait(task, on_progress=lambda s, p, e: seen.append(s))
        paths = client.download(done, tmp_path, prefix="sb")
    assert done.status == "SUCCEEDED" and done.id == task.id
    assert seen[0] in ("PENDING", "RUNNING") and seen[-1] == "SUCCEEDED" and "RUNNING" in seen
    assert len(paths) == len(done.output) >= 1
    assert paths[0].name.startswith("sb-") and task.id.replace("-", "") in paths[0].name
    assert paths[0].suffix == ".png" and paths[0].read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_generate_wait_download_async(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], tmp_path: Path
) -> None:
    async def scenario() -> tuple[Any, list[Path]]:
        async with async_client(sandbox, bundled_spec) as client:
            done = await client.run("text_to_image", image_body)
            return done, await client.download(done, tmp_path)

    done, paths = asyncio.run(scenario())
    assert done.status == "SUCCEEDED"
    assert paths[0].read_bytes().startswith(PNG_MAGIC)


def test_run_waits_one_interval_before_its_first_poll(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    """A task created a moment ago is never done: run() sleeps one poll interval before the
    first GET (a request per task saved); wait() on a finished task asks at once."""

    def task_gets() -> int:
        return sum(1 for r in sandbox.state.requests
                   if r.method == "GET" and r.path.startswith("/v1/tasks/"))

    class Watching(Sleeps):
        """Notes how many task GETs had been made at each sleep."""

        gets_at_sleep: list[int]

        def __call__(self, seconds: float) -> None:
            self.gets_at_sleep = [*getattr(self, "gets_at_sleep", []), task_gets()]
            super().__call__(seconds)

        async def asleep(self, seconds: float) -> None:
            self.gets_at_sleep = [*getattr(self, "gets_at_sleep", []), task_gets()]
            await super().asleep(seconds)

    sleeps = Watching()
    with sync_client(sandbox, bundled_spec, sleeps) as client:
        done = client.run("text_to_image", image_body)
        assert sleeps[0] == 0.05 and sleeps.gets_at_sleep[0] == 0, "slept before the 1st GET"
        before = (len(sleeps), task_gets())
        client.tasks.wait(done.id)
    assert (len(sleeps), task_gets()) == (before[0], before[1] + 1), (
        "a wait on a finished task asks once, without sleeping first")

    async def scenario() -> Watching:
        asleeps = Watching()
        async with async_client(sandbox, bundled_spec, asleeps) as client:
            await client.run("text_to_image", image_body)
        return asleeps

    gets = task_gets()
    asleeps = asyncio.run(scenario())
    assert asleeps[0] == 0.05 and asleeps.gets_at_sleep[0] == gets


def test_many_concurrent_async_tasks(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    async def scenario() -> list[Any]:
        async with async_client(sandbox, bundled_spec) as client:
            return list(
                await asyncio.gather(*[client.run("text_to_image", image_body) for _ in range(10)])
            )

    done = asyncio.run(scenario())
    assert {t.status for t in done} == {"SUCCEEDED"} and len({t.id for t in done}) == 10


def test_throttled_progress_is_reported(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    seen: list[str] = []
    with sync_client(sandbox, bundled_spec) as client:
        task = client.create_task(
            "text_to_image", image_body, extra_headers=fault("task=throttled:0.2")
        )
        client.tasks.wait(task, on_progress=lambda s, p, e: seen.append(s))
    assert seen[0] == "THROTTLED" and seen[-1] == "SUCCEEDED"


def test_upload_and_media_resolution(sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    small.write_bytes(PNG_MAGIC + b"\0" * 64)
    with sync_client(sandbox, bundled_spec) as client:
        uri = client.upload(small)
        media = next(
            f.media
            for op in bundled_spec.catalog.operations
            for v in op.variants
            for f in v.fields
            if f.media and f.media.data_max_length and f.media.data_mime_prefix == "image/"
        )
        assert media is not None and media.data_max_length is not None
        inline = resolve_media(str(small), media, client.upload)
        big = tmp_path / "big.png"
        big.write_bytes(PNG_MAGIC + b"\0" * media.data_max_length)
        uploaded = resolve_media(str(big), media, client.upload)
    assert uri.startswith("runway://")
    stored = sandbox.state.resolve_uri(uri)
    assert stored is not None and stored.data == small.read_bytes()
    assert inline.startswith("data:image/png;base64,")
    assert uploaded.startswith("runway://")
    stored_big = sandbox.state.resolve_uri(uploaded)
    assert stored_big is not None and stored_big.data == big.read_bytes()


def test_async_upload(sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    path.write_bytes(b"RIFF----WAVEfmt ")

    async def scenario() -> str:
        async with async_client(sandbox, bundled_spec) as client:
            return await client.upload(path)

    uri = asyncio.run(scenario())
    stored = sandbox.state.resolve_uri(uri)
    assert stored is not None and stored.data == path.read_bytes()


# --------------------------------------------------------------------------- retries


def test_429_on_create_is_retried_honouring_retry_after(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    sleeps = Sleeps()
    with sync_client(sandbox, bundled_spec, sleeps) as client:
        task = client.create_task(
            "text_to_image", image_body, extra_headers=fault("status=429; retry-after=2; times=1")
        )
    assert task.id and posts(sandbox) == 2
    assert sleeps == [2.0]
    assert len(sandbox.state.tasks) == 1


def test_429_on_create_is_retried_async(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    sleeps = Sleeps()

    async def scenario() -> Any:
        async with async_client(sandbox, bundled_spec, sleeps) as client:
            return await client.create_task(
                "text_to_image",
                image_body,
                extra_headers=fault("status=429; retry-after=1; times=2"),
            )

    assert asyncio.run(scenario()).id and posts(sandbox) == 3 and sleeps == [1.0, 1.0]


def test_a_call_can_take_its_own_retry_budget(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    """max_retries=0 on one call hands a 429 straight back (a batch paces itself)."""
    from runway_dynamic import RateLimitError

    sleeps = Sleeps()
    with sync_client(sandbox, bundled_spec, sleeps) as client, \
            pytest.raises(RateLimitError) as caught:
        client.create_task("text_to_image", image_body, max_retries=0,
                           extra_headers=fault("status=429; retry-after=2"))
    assert caught.value.retry_after == 2 and posts(sandbox) == 1 and sleeps == []

    async def scenario() -> Any:
        async with async_client(sandbox, bundled_spec, sleeps) as client:
            return await client.create_task("text_to_image", image_body, max_retries=1,
                                            extra_headers=fault("status=429; times=3"))

    with pytest.raises(RateLimitError):
        asyncio.run(scenario())
    assert posts(sandbox) == 1 + 2 and len(sleeps) == 1, "one retry, as asked"


@pytest.mark.parametrize("injected", ["status=503; times=1", "drop; times=2"])
def test_get_is_retried_on_503_and_dropped_connections(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], injected: str
) -> None:
    with sync_client(sandbox, bundled_spec) as client:
        task = client.create_task("text_to_image", image_body)
        got = client.tasks.get(task, extra_headers=fault(injected))
    assert got.id == task.id
    gets = sandbox.state.requests_to("GET", f"/v1/tasks/{task.id}")
    assert len(gets) == int(injected[-1]) + 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_lost_create_response_is_not_resent(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], kind: str
) -> None:
    """drop=after: the task IS created, the answer is lost; we say so and send nothing more."""
    headers = fault("drop=after")
    if kind == "sync":
        with (
            sync_client(sandbox, bundled_spec) as client,
            pytest.raises(RequestMayHaveSucceededError) as info,
        ):
            client.create_task("text_to_image", image_body, extra_headers=headers)
    else:

        async def scenario() -> None:
            async with async_client(sandbox, bundled_spec) as client:
                await client.create_task("text_to_image", image_body, extra_headers=headers)

        with pytest.raises(RequestMayHaveSucceededError) as info:
            asyncio.run(scenario())
    assert posts(sandbox) == 1
    assert len(sandbox.state.tasks) == 1  # the task exists: a resend would have paid twice
    assert "task" in str(info.value) and KEY not in str(info.value)


def test_503_on_create_is_not_resent(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    with (
        sync_client(sandbox, bundled_spec) as client,
        pytest.raises(RequestMayHaveSucceededError, match="503"),
    ):
        client.create_task("text_to_image", image_body, extra_headers=fault("status=503"))
    assert posts(sandbox) == 1


def test_read_timeout_on_create_is_not_resent(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    client = RunwayClient(KEY, base_url=sandbox.base_url, spec=bundled_spec, timeout=0.2)
    with client, pytest.raises(RequestMayHaveSucceededError, match="ReadTimeout"):
        client.create_task("text_to_image", image_body, extra_headers=fault("delay=1"))
    assert posts(sandbox) == 1


def test_connection_refused_is_retried_then_reported(
    bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    with Sandbox(spec=bundled_spec) as sb:
        url = sb.base_url  # a port that was free a moment ago and is closed now
    sleeps = Sleeps()
    client = RunwayClient(KEY, base_url=url, spec=bundled_spec, sleep=sleeps)
    with client, pytest.raises(APIConnectionError) as info:
        client.create_task("text_to_image", image_body)
    assert not isinstance(info.value, RequestMayHaveSucceededError)
    assert len(sleeps) == 2  # nothing was sent, so a create may be retried


# --------------------------------------------------------------------------- resubmission


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_internal_failure_is_resubmitted(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], kind: str
) -> None:
    headers = fault("task-fail=INTERNAL.BAD_OUTPUT.CODE01; times=1")
    options = {"retry_on_internal_error": 1, "retry_backoff_seconds": 0.01}
    if kind == "sync":
        with sync_client(sandbox, bundled_spec, **options) as client:
            done = client.run("text_to_image", image_body, extra_headers=headers)
    else:

        async def scenario() -> Any:
            async with async_client(sandbox, bundled_spec, **options) as client:
                return await client.run("text_to_image", image_body, extra_headers=headers)

        done = asyncio.run(scenario())
    assert done.status == "SUCCEEDED"
    assert posts(sandbox) == 2


def test_safety_failure_is_not_resubmitted(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    client = sync_client(sandbox, bundled_spec, retry_on_internal_error=3)
    with client, pytest.raises(TaskFailedError) as info:
        client.run("text_to_image", image_body, extra_headers=fault("task-fail=SAFETY.INPUT.TEXT"))
    assert info.value.failure_code == "SAFETY.INPUT.TEXT"
    assert posts(sandbox) == 1


# --------------------------------------------------------------------------- files, secrets


def test_failed_download_leaves_no_file(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], tmp_path: Path
) -> None:
    from runway_dynamic.sandbox.faults import parse_fault

    with sync_client(sandbox, bundled_spec) as client:
        done = client.run("text_to_image", image_body)
        sandbox.app.faults.append(parse_fault("drop"))  # from now on every request is dropped
        with pytest.raises(APIConnectionError):
            client.download(done, tmp_path)
    assert list(tmp_path.iterdir()) == []
    file_gets = [r for r in sandbox.state.requests if r.path.startswith("/_sandbox/files/")]
    assert len(file_gets) == 3  # the download (a GET) was retried, then given up cleanly


def test_preflight_stops_bad_bodies_before_the_sandbox(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    with sync_client(sandbox, bundled_spec) as client, pytest.raises(PreflightError):
        client.create_task("text_to_image", {**image_body, "ratio": "1:999"})
    assert posts(sandbox) == 0


def test_the_key_is_never_printed_or_logged(
    bundled_spec: Spec,
    image_body: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with Sandbox(spec=bundled_spec, task_seconds=0.1) as sb:
        with sync_client(sb, bundled_spec) as client:
            print(repr(client))
            done = client.run(
                "text_to_image",
                image_body,
                extra_headers=fault("status=429; retry-after=0; times=1"),
            )
            client.download(done, tmp_path)
            for bad in ("status=401", "status=503", "drop=after"):
                try:
                    client.create_task("text_to_image", image_body, extra_headers=fault(bad))
                except Exception as exc:
                    print(exc, repr(exc), getattr(exc, "to_dict", dict)())
        logged = [str(r.headers) for r in sb.state.requests]
    out = capsys.readouterr()
    for text in (out.out, out.err, caplog.text, *logged):
        assert KEY not in text
    assert "****" in out.out  # the repr shows the masked key


def test_sandbox_rejects_a_missing_key_as_authentication_error(
    sandbox: Sandbox, bundled_spec: Spec
) -> None:
    with sync_client(sandbox, bundled_spec) as client:
        client._core._api_key = ""  # what a misconfigured caller would send
        with pytest.raises(AuthenticationError):
            client.tasks.get("00000000-0000-4000-8000-000000000000")


def test_upload_streams_the_file_and_closes_it(
    sandbox: Sandbox, bundled_spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large video is sent from disk in chunks (never read whole into memory) and every
    handle opened for the upload is closed afterwards; the sandbox stores the same bytes."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(3 * 1024 * 1024))
    opened: list[Any] = []
    real_open = Path.open

    def tracking_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, *args, **kwargs)
        if self == clip:
            opened.append(handle)
        return handle

    def no_whole_reads(self: Path) -> bytes:
        raise AssertionError(f"{self} was read whole into memory")

    monkeypatch.setattr(Path, "open", tracking_open)
    monkeypatch.setattr(Path, "read_bytes", no_whole_reads)
    with sync_client(sandbox, bundled_spec) as client:
        uri = client.upload(clip)
    monkeypatch.undo()
    stored = sandbox.state.resolve_uri(uri)
    assert stored is not None and stored.data == clip.read_bytes()
    assert opened and all(handle.closed for handle in opened)


def test_download_url_names_by_type_and_never_overwrites(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], tmp_path: Path
) -> None:
    """A suffix-less target takes its extension from the answer; a taken name is kept."""
    with sync_client(sandbox, bundled_spec) as client:
        done = client.tasks.wait(client.create_task("text_to_image", image_body))
        first = client.download_url(done.output[0], tmp_path / "job-1")
        second = client.download_url(done.output[0], tmp_path / "job-1")
        explicit = client.download_url(done.output[0], tmp_path / "kept.bin")
    assert first == tmp_path / "job-1.png" and first.read_bytes().startswith(PNG_MAGIC)
    assert second == tmp_path / "job-1.2.png"
    assert explicit == tmp_path / "kept.bin"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_async_download_url(
    sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any], tmp_path: Path
) -> None:
    async def go() -> Path:
        async with async_client(sandbox, bundled_spec) as client:
            done = await client.tasks.wait(await client.create_task("text_to_image", image_body))
            return await client.download_url(done.output[0], tmp_path / "a")

    path = asyncio.run(go())
    assert path.name == "a.png" and path.read_bytes().startswith(PNG_MAGIC)


# --------------------------------------------------------------------------- unknown models


def _near_miss(spec: Spec, model: str) -> str:
    """A mistyping of ``model`` (its last letter dropped) that the catalog takes for one."""
    near = model[:-1]
    assert model[-1].isalpha() and spec.catalog.near_misses(near)[:1] == [model]
    return near


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_near_miss_model_id_is_refused_unless_the_client_allows_unknown_models(
    kind: str, sandbox: Sandbox, bundled_spec: Spec, image_body: dict[str, Any]
) -> None:
    """As ``--allow-unknown-model`` on the command line: a near miss of a listed id is a
    typo, refused before anything is sent; ``allow_unknown_model=True`` sends it as
    written (the sandbox, knowing only the spec's models, then answers 400)."""
    model = image_body["model"]
    body = {**image_body, "model": _near_miss(bundled_spec, model)}

    def create(**kw: Any) -> None:
        if kind == "sync":
            with sync_client(sandbox, bundled_spec, **kw) as client:
                client.create_task("text_to_image", body)
            return

        async def go() -> None:
            async with async_client(sandbox, bundled_spec, **kw) as client:
                await client.create_task("text_to_image", body)

        asyncio.run(go())

    with pytest.raises(PreflightError, match=model):
        create()
    assert posts(sandbox) == 0, "nothing is sent for a typo"
    with pytest.raises(BadRequestError) as sent:
        create(allow_unknown_model=True, max_retries=0)
    assert not isinstance(sent.value, PreflightError)
    assert posts(sandbox) == 1
    assert sandbox.state.requests_to("POST", GEN_PATH)[0].body["model"] == body["model"]
