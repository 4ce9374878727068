"""Local frame sources: a media file, and the sandbox's example video for a session.

Each is an async iterator of :class:`~runway_dynamic.realtime.pipeline.SourceFrame`, like
the LiveKit track (:mod:`runway_dynamic.realtime.livekit`), so the pipeline, the sandbox
and the tests share one code path. Decoding is PyAV's, on a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from io import BytesIO
from typing import Any

import av

from runway_dynamic.realtime.pipeline import SourceFrame

#: The sandbox session's picture: a 16:9 frame at a rate an avatar call might have.
SANDBOX_SIZE = (640, 360)
SANDBOX_FPS = 24
SANDBOX_LOOP_SECONDS = 2.0


def _decode(media: str | os.PathLike[str] | BytesIO) -> Iterator[tuple[av.VideoFrame, float]]:
    """Every video frame of ``media`` with its time in seconds from the stream's start."""
    source = media if isinstance(media, BytesIO) else os.fspath(media)
    with av.open(source, "r") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first: float | None = None
        for frame in container.decode(stream):
            at = float(frame.time) if frame.time is not None else 0.0
            first = at if first is None else first
            yield frame, at - first


async def file_frames(
    media: str | os.PathLike[str] | bytes,
    *,
    loop: bool = False,
    realtime: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[SourceFrame]:
    """Frames of a media file (path or bytes), as a live source would give them.

    ``realtime`` paces frames at the file's own timing (a live track's pace); without it
    frames come as fast as they decode (tests, benchmarks), still placed on the file's
    timeline. ``loop`` starts again at the end, forever.
    """
    start = clock()
    offset = 0.0
    while True:
        data = BytesIO(media) if isinstance(media, bytes) else media
        frames = _decode(data)
        last = 0.0
        while True:
            found = await asyncio.to_thread(next, frames, None)
            if found is None:
                break
            frame, at = found
            last = at
            due = start + offset + at
            if realtime:
                delay = due - clock()
                if delay > 0:
                    await sleep(delay)
            yield SourceFrame(frame, due, clock())
        if not loop:
            return
        offset += last + (1.0 / SANDBOX_FPS)


def sandbox_media(size: tuple[int, int] = SANDBOX_SIZE, fps: int = SANDBOX_FPS,
                  seconds: float = SANDBOX_LOOP_SECONDS) -> bytes:
    """The sandbox's example video (what its tasks return as output), at ``size``."""
    from runway_dynamic.sandbox import media

    return media.mp4(size[0], size[1], seconds, fps=fps)


async def sandbox_frames(session_id: str, *, size: tuple[int, int] = SANDBOX_SIZE,
                         fps: int = SANDBOX_FPS, **kwargs: Any) -> AsyncIterator[SourceFrame]:
    """The frame source the sandbox offers for a realtime session: its example video,
    looped at its own pace (no LiveKit room exists there). ``session_id`` is the session
    it stands for (the bridge has waited for it to be READY in the sandbox)."""
    del session_id  # every sandbox session shows the same example video
    media = await asyncio.to_thread(sandbox_media, size, fps)
    async for frame in file_frames(media, loop=True, **kwargs):
        yield frame
