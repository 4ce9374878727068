"""The HTTP relay under load, over real loopback HTTP (uvicorn), fed by the real pipeline."""

from __future__ import annotations

import asyncio
from io import BytesIO

import av
import httpx
import pytest
from realtime_support import run

from runway_dynamic._exceptions import UsageError
from runway_dynamic.realtime.pipeline import ChunkSink, run_pipeline
from runway_dynamic.realtime.relay import BOUNDARY, Relay, bind
from runway_dynamic.realtime.settings import BridgeSettings
from runway_dynamic.realtime.sources import file_frames, sandbox_media

SECONDS = 3.0


@pytest.fixture(scope="module")
def example_video() -> bytes:
    return sandbox_media((640, 360), 24, 2.0)


async def relay_session(settings: BridgeSettings, media: bytes, clients, *,  # type: ignore[no-untyped-def]
                        token: str | None = None, seconds: float = SECONDS):
    """Serve ``seconds`` of the example video live; run ``clients(url)`` meanwhile."""
    relay = Relay(settings, bind("127.0.0.1", 0), token)
    await relay.start()
    feeding = asyncio.create_task(run_pipeline(
        file_frames(media, loop=True), settings, [ChunkSink(settings, relay.deliver)],
        duration=seconds))
    reading = asyncio.create_task(clients(relay.url, relay))
    try:
        await feeding
        relay.broadcaster.close()  # the source ended: every stream ends
        found = await reading
    finally:
        await relay.stop()
    return found, relay


async def read_stream(url: str, *, limit: int | None = None,
                      headers: dict | None = None) -> bytes:
    data = bytearray()
    async with httpx.AsyncClient(timeout=30) as http, \
            http.stream("GET", url + "/stream", headers=headers) as response:
        assert response.status_code == 200
        async for piece in response.aiter_bytes():
            data += piece
            if limit is not None and len(data) >= limit:
                break
    return bytes(data)


def mp4_frames(data: bytes) -> int:
    with av.open(BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (256, 256)
        return sum(1 for _ in container.decode(stream))


def test_ten_clients_read_the_fmp4_stream_at_once(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch")

    async def clients(url: str, relay: Relay) -> list[bytes]:
        return await asyncio.gather(*(read_stream(url) for _ in range(10)))

    streams, relay = run(relay_session(settings, example_video, clients))
    counts = [mp4_frames(data) for data in streams]
    # Each client decodes a whole stream: from the first key frame it saw to the end.
    assert len(counts) == 10
    assert all(count >= 8 for count in counts), counts
    assert max(counts) <= SECONDS * 8
    assert relay.broadcaster.dropped == 0


@pytest.mark.parametrize("audio", [True, False])
def test_the_fmp4_stream_over_http_carries_the_voice_unless_told_not_to(
        example_video: bytes, audio: bool) -> None:
    """Read over real HTTP: a video track and an AAC 48 kHz mono track whose sound is as
    long as the picture (±0.1 s: the client joins and leaves at fragment boundaries);
    with ``audio=False`` (--no-audio) the picture alone."""
    settings = BridgeSettings.from_preset("watch", audio=audio)

    async def clients(url: str, relay: Relay) -> bytes:
        return await read_stream(url)

    data, _ = run(relay_session(settings, example_video, clients))
    with av.open(BytesIO(data)) as container:
        kinds = sorted(stream.type for stream in container.streams)
        pictures = sum(1 for _ in container.decode(video=0))
    assert pictures >= 8
    if not audio:
        assert kinds == ["video"]
        return
    assert kinds == ["audio", "video"]
    with av.open(BytesIO(data)) as container:
        sound = container.streams.audio[0]
        assert (sound.codec_context.name, sound.sample_rate, sound.channels) == ("aac",
                                                                                48_000, 1)
        samples = sum(frame.samples for frame in container.decode(sound))
    assert abs(samples / 48_000 - pictures / 8) < 0.1, (samples / 48_000, pictures / 8)


def test_a_client_that_disconnects_does_not_stop_the_others(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch")

    async def clients(url: str, relay: Relay) -> tuple[bytes, list[bytes], int]:
        quitter = asyncio.create_task(read_stream(url, limit=2000))
        stayers = [asyncio.create_task(read_stream(url)) for _ in range(3)]
        short = await quitter
        await asyncio.sleep(0.5)
        connected = len(relay.broadcaster.clients)  # the quitter is gone, the rest stay
        return short, list(await asyncio.gather(*stayers)), connected

    (short, full, connected), _ = run(relay_session(settings, example_video, clients))
    assert connected == 3
    assert len(short) >= 2000
    assert all(mp4_frames(data) >= 8 for data in full)


def test_multipart_jpeg_frames(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch", codec="jpeg", quality=50)

    async def clients(url: str, relay: Relay) -> tuple[str, bytes, httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as http:
            async with http.stream("GET", url + "/stream") as response:
                kind = response.headers["content-type"]
                body = b""
                async for piece in response.aiter_bytes():
                    body += piece
            await asyncio.sleep(0)
            latest = await http.get(url + "/frame")
        return kind, body, latest

    (kind, body, latest), _ = run(relay_session(settings, example_video, clients,
                                                seconds=1.5))
    assert kind == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    parts = [p for p in body.split(f"--{BOUNDARY}\r\n".encode()) if p]
    assert len(parts) >= 8
    for part in parts:
        head, _, image = part.partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert image[:2] == b"\xff\xd8" and len(image) == length + 2  # + the part's CRLF
        with av.open(BytesIO(image[:length])) as picture:
            frame = next(picture.decode(video=0))
            assert (frame.width, frame.height) == (256, 256)
    assert latest.status_code == 200 and latest.content[:2] == b"\xff\xd8"


def test_a_token_is_required_when_one_is_set(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch", codec="png")

    async def clients(url: str, relay: Relay) -> list[int]:
        async with httpx.AsyncClient(timeout=10) as http:
            codes = [(await http.get(url + "/status")).status_code,
                     (await http.get(url + "/status",
                                     headers={"Authorization": "Bearer wrong"})).status_code,
                     (await http.get(url + "/frame")).status_code]
            good = await http.get(url + "/status", headers={"Authorization": "Bearer s3cret"})
            codes.append(good.status_code)
            assert good.json()["codec"] == "png"
        return codes

    codes, _ = run(relay_session(settings, example_video, clients, token="s3cret",
                                 seconds=0.5))
    assert codes == [401, 401, 401, 200]


def test_a_slow_client_loses_frames_not_the_others(example_video: bytes) -> None:
    """A client that stops reading fills its socket, then its queue; the others still
    get every frame (PNG frames are large, so the kernel's buffers fill quickly)."""
    settings = BridgeSettings.from_preset(None, codec="png", fps=24)

    async def clients(url: str, relay: Relay) -> list[bytes]:
        async with httpx.AsyncClient(timeout=30) as http, \
                http.stream("GET", url + "/stream") as stalled:
            assert stalled.status_code == 200
            readers = [asyncio.create_task(read_stream(url)) for _ in range(2)]
            found = list(await asyncio.gather(*readers))
        return found

    streams, relay = run(relay_session(settings, example_video, clients, seconds=4))
    assert relay.broadcaster.dropped > 0  # the stalled client's queue overflowed
    for data in streams:
        assert data.count(f"--{BOUNDARY}\r\n".encode()) >= 3 * 24


def test_binding_a_taken_port_is_a_usage_error() -> None:
    first = bind("127.0.0.1", 0)
    try:
        with pytest.raises(UsageError, match="cannot listen"):
            bind("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
