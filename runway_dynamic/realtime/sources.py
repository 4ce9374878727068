"""Local sources: a media file, and the sandbox's example video (with a tone) for a session.

Each is an async iterator of :class:`~runway_dynamic.realtime.pipeline.SourceFrame`
pictures and :class:`~runway_dynamic.realtime.audio.SourceAudio` sound, like the LiveKit
room (:mod:`runway_dynamic.realtime.room`), so the pipeline, the sandbox and the tests
share one code path. Decoding is PyAV's, on a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from io import BytesIO
from typing import Any

import av

from runway_dynamic.realtime.audio import SourceAudio
from runway_dynamic.realtime.pipeline import SourceFrame

#: The sandbox session's picture: a 16:9 frame at a rate an avatar call might have.
SANDBOX_SIZE = (640, 360)
SANDBOX_FPS = 24
SANDBOX_LOOP_SECONDS = 2.0


#: Pictures a file source holds back while waiting for its first sound (see _decode).
HOLD_FRAMES = 64


def _decode(media: str | os.PathLike[str] | BytesIO, *, audio: bool = True,
            ) -> Iterator[tuple[SourceFrame | SourceAudio, float]]:
    """Every picture (and, with ``audio``, every run of sound) of ``media``, in the order
    the file holds them, each with its time in seconds from the media's start.

    A file with sound yields its first sound before its first picture (pictures wait for
    it, up to :data:`HOLD_FRAMES`): that is how the pipeline knows the output has sound.
    """
    source = media if isinstance(media, BytesIO) else os.fspath(media)
    with av.open(source, "r") as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        sound = container.streams.audio[0] if audio and container.streams.audio else None
        start = container.start_time / 1_000_000 if container.start_time is not None else None
        held: list[tuple[SourceFrame | SourceAudio, float]] = []
        heard = sound is None
        for packet in container.demux(*(s for s in (video, sound) if s is not None)):
            for decoded in packet.decode():
                if not isinstance(decoded, av.AudioFrame | av.VideoFrame):
                    continue
                at = float(decoded.time) if decoded.time is not None else 0.0
                start = at if start is None else start
                item: SourceFrame | SourceAudio
                if isinstance(decoded, av.AudioFrame):
                    item = SourceAudio(decoded, at - start)
                    if not heard:
                        heard = True
                        yield item, at - start
                        yield from held
                        held.clear()
                        continue
                else:
                    item = SourceFrame(decoded, at - start)
                    if not heard:
                        held.append((item, at - start))
                        heard = len(held) >= HOLD_FRAMES
                        if heard:
                            yield from held
                            held.clear()
                        continue
                yield item, at - start
        yield from held


async def file_frames(
    media: str | os.PathLike[str] | bytes,
    *,
    loop: bool = False,
    realtime: bool = True,
    audio: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[SourceFrame | SourceAudio]:
    """Pictures and sound of a media file (path or bytes), as a live source would give them.

    ``realtime`` paces them at the file's own timing (a live track's pace); without it
    they come as fast as they decode (tests, benchmarks), still placed on the file's
    timeline. ``loop`` starts again at the end, forever. ``audio=False`` leaves the
    sound out (it is not even decoded).
    """
    start = clock()
    offset = 0.0
    while True:
        data = BytesIO(media) if isinstance(media, bytes) else media
        items = _decode(data, audio=audio)
        end = 0.0
        while True:
            found = await asyncio.to_thread(next, items, None)
            if found is None:
                break
            item, at = found
            end = max(end, _end(item, at))
            due = start + offset + at
            if realtime:
                delay = due - clock()
                if delay > 0:
                    await sleep(delay)
            item.time, item.arrived = due, clock()
            yield item
        if not loop:
            return
        offset += end


def _end(item: SourceFrame | SourceAudio, at: float) -> float:
    """Where ``item`` ends on the file's timeline (a picture lasts its frame duration)."""
    if isinstance(item, SourceAudio):
        return at + item.samples.samples / (item.samples.sample_rate or 1)
    image = item.image
    if image.duration and image.time_base:
        return at + float(image.duration * image.time_base)
    return at + 1.0 / SANDBOX_FPS


def sandbox_media(size: tuple[int, int] = SANDBOX_SIZE, fps: int = SANDBOX_FPS,
                  seconds: float = SANDBOX_LOOP_SECONDS) -> bytes:
    """The sandbox's example video (what its tasks return as output), at ``size``, with a
    tone for the avatar's voice (when ffmpeg makes it; the fallback file is silent)."""
    from runway_dynamic.sandbox import media

    return media.mp4(size[0], size[1], seconds, fps=fps, tone=True)


async def sandbox_frames(session_id: str, *, size: tuple[int, int] = SANDBOX_SIZE,
                         fps: int = SANDBOX_FPS, **kwargs: Any,
                         ) -> AsyncIterator[SourceFrame | SourceAudio]:
    """The frame source the sandbox offers for a realtime session: its example video,
    looped at its own pace (no LiveKit room exists there). ``session_id`` is the session
    it stands for (the bridge has waited for it to be READY in the sandbox)."""
    del session_id  # every sandbox session shows the same example video
    media = await asyncio.to_thread(sandbox_media, size, fps)
    async for frame in file_frames(media, loop=True, **kwargs):
        yield frame
