"""Frames in, encoded media out: source → crop → resize → encode → sink, with PyAV.

A *source* is any async iterator of :class:`SourceFrame` (a LiveKit track, a local media
file, the sandbox's example video); the pipeline does not know which. The geometry is
ffmpeg's own ``crop``/``scale``/``pad`` filters in a PyAV filter graph, built from
:meth:`BridgeSettings.geometry` and rebuilt when the source's size changes (a WebRTC
track can change resolution mid-call). Encoding is PyAV's: libx264/libx265 into
fragmented MP4, or one JPEG/PNG image per frame. Encoding runs on one worker thread so the
event loop (the HTTP relay, the LiveKit room) never waits on it.

>>> stats = await run_pipeline(file_frames("avatar.mp4"), settings, [FileSink("out.mp4", settings)])
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import av.filter

from runway_dynamic._exceptions import FileWriteError
from runway_dynamic._files import temp_file_beside
from runway_dynamic.realtime.fmp4 import BoxSplitter, starts_with_sync_sample
from runway_dynamic.realtime.settings import BridgeSettings, FramePacer


@dataclass
class SourceFrame:
    """One picture from a source: ``time`` places it on the source's timeline (seconds;
    frame pacing reads it), ``arrived`` is when the source handed it over (``time.monotonic``;
    latency is measured from it). For a live track the two are the same."""

    image: av.VideoFrame
    time: float
    arrived: float | None = None

    @property
    def since(self) -> float:
        return self.time if self.arrived is None else self.arrived


@dataclass(frozen=True)
class Chunk:
    """Encoded bytes for a client: the stream header (``init``), or one frame's worth.

    ``keyframe``: a client may start here. ``source_time`` is the source frame's time, so
    a sink (or a benchmark) can tell how old the picture is.
    """

    kind: str  # "init" | "fragment" | "image"
    data: bytes
    keyframe: bool = False
    source_time: float | None = None


# --------------------------------------------------------------------------- geometry


class Transform:
    """Crop, scale and pad a frame to the output size and pixel format (ffmpeg filters)."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self._key: tuple[int, int, str] | None = None
        self._graph: Any = None

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        key = (frame.width, frame.height, frame.format.name)
        if key != self._key:
            self._graph = self._build(*key)
            self._key = key
        self._graph.push(frame)
        out: av.VideoFrame = self._graph.pull()
        return out

    def _build(self, width: int, height: int, pix_fmt: str) -> Any:
        geo = self.settings.geometry(width, height)
        target = self.settings.pixel_format
        graph = av.filter.Graph()
        chain = [graph.add_buffer(width=width, height=height,
                                  format=av.VideoFormat(pix_fmt), time_base=Fraction(1, 1000))]
        x, y, w, h = geo.crop
        if (x, y, w, h) != (0, 0, width, height):
            chain.append(graph.add("crop", f"{w}:{h}:{x}:{y}:exact=1"))
        chain.append(graph.add("scale", f"{geo.scale[0]}:{geo.scale[1]}:flags=bicubic"))
        chain.append(graph.add("format", target))
        if geo.pad is not None:
            # Transparent bars for PNG (it keeps alpha), black ones for the others.
            colour = "black@0" if target == "rgba" else "black"
            chain.append(graph.add("pad", "{}:{}:{}:{}:color={}".format(*geo.pad, colour)))
        chain.append(graph.add("setsar", "1"))  # stretch means stretch: square pixels
        chain.append(graph.add("buffersink"))
        for left, right in itertools.pairwise(chain):
            left.link_to(right)
        graph.configure()
        return graph


# --------------------------------------------------------------------------- encoders


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def configure_stream(context: Any, settings: BridgeSettings, size: tuple[int, int]) -> None:
    """Codec settings shared by the live stream and the file (one place for both)."""
    context.width, context.height = size
    context.pix_fmt = settings.pixel_format
    context.time_base = 1 / _rate(settings.fps)
    options: dict[str, str] = {}
    if settings.codec in ("h264", "h265"):
        context.gop_size = settings.gop_size
        context.max_b_frames = 0  # no reordering: a frame goes out as soon as it is encoded
        options.update({"preset": "veryfast", "tune": "zerolatency"})
        if settings.codec == "h265":
            options["x265-params"] = "log-level=error"
        else:
            options["x264-params"] = "scenecut=0"  # key frames on the clock, not on content
        if settings.bitrate is not None:
            context.bit_rate = settings.bitrate
            # A one-second VBV buffer keeps the live rate near the target, not just its mean.
            options.update({"maxrate": str(settings.bitrate), "bufsize": str(settings.bitrate)})
    elif settings.codec == "jpeg":
        context.qmin = context.qmax = settings.jpeg_qscale
    context.options = options


def _fresh(frame: av.VideoFrame, pts: int, settings: BridgeSettings) -> av.VideoFrame:
    frame.pts = pts
    frame.time_base = 1 / _rate(settings.fps)
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        frame.pict_type = av.video.frame.PictureType.NONE  # the encoder picks key frames
    return frame


class _Collector:
    """A write-only file object for PyAV's muxer: it keeps what was written."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class StreamEncoder:
    """Encode for live clients: fragmented MP4 (one fragment per frame) or single images.

    Returns :class:`Chunk` objects; the MP4 header is ``init``, each ``moof``+``mdat`` pair a
    ``fragment`` whose ``keyframe`` says whether a newly joined client can start there.
    """

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self._container: Any = None
        self._stream: Any = None
        self._context: Any = None
        self._collector = _Collector()
        self._boxes = BoxSplitter()
        self._pending_init = b""
        self._times: list[float] = []
        self.size: tuple[int, int] | None = None

    def _open(self, size: tuple[int, int]) -> None:
        self.size = size
        if self.settings.is_video:
            self._container = av.open(self._collector, "w", format="mp4", options={
                "movflags": "empty_moov+default_base_moof+frag_every_frame",
                "flush_packets": "1"})
            self._stream = self._container.add_stream(self.settings.encoder,
                                                      rate=_rate(self.settings.fps))
            configure_stream(self._stream.codec_context, self.settings, size)
        else:
            self._context = av.CodecContext.create(self.settings.encoder, "w")
            configure_stream(self._context, self.settings, size)

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]:
        if self.size is None:
            self._open((frame.width, frame.height))
        frame = _fresh(frame, pts, self.settings)
        if not self.settings.is_video:
            return [Chunk("image", bytes(packet), True, source_time)
                    for packet in self._context.encode(frame)]
        self._times.append(source_time)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._drain()

    def close(self) -> list[Chunk]:
        if self.size is None:
            return []
        if not self.settings.is_video:
            return [Chunk("image", bytes(p), True) for p in self._context.encode(None)]
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._drain()

    def _drain(self) -> list[Chunk]:
        chunks = []
        for kind, box in self._boxes.feed(self._collector.take()):
            if kind in ("ftyp", "moov"):
                self._pending_init += box
                if kind == "moov":
                    chunks.append(Chunk("init", self._pending_init, True))
                    self._pending_init = b""
            elif kind == "moof":
                self._pending_init = box  # reused as "the moof waiting for its mdat"
            elif kind == "mdat" and self._pending_init:
                moof, self._pending_init = self._pending_init, b""
                when = self._times.pop(0) if self._times else None
                chunks.append(Chunk("fragment", moof + box, starts_with_sync_sample(moof), when))
        return chunks


class FileEncoder:
    """Encode into a media file (MP4/MOV), written beside the target (``_files``' temporary
    file) and renamed on close, so a half-written file never has the target's name."""

    def __init__(self, path: str | os.PathLike[str], settings: BridgeSettings) -> None:
        self.path = Path(path)
        self.settings = settings
        self.partial: Path | None = None
        self._container: Any = None
        self._stream: Any = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]:
        if self._container is None:
            self.size = (frame.width, frame.height)
            fmt = "mov" if self.path.suffix.lower() == ".mov" else "mp4"
            options = {"movflags": "+faststart"} if fmt == "mp4" else {}
            try:
                fd, self.partial = temp_file_beside(self.path, ".partial")
            except OSError as exc:
                raise FileWriteError(self.path.parent, exc.strerror) from None
            os.close(fd)
            self._container = av.open(str(self.partial), "w", format=fmt, options=options)
            self._stream = self._container.add_stream(self.settings.encoder,
                                                      rate=_rate(self.settings.fps))
            configure_stream(self._stream.codec_context, self.settings, self.size)
        for packet in self._stream.encode(_fresh(frame, pts, self.settings)):
            self._container.mux(packet)
        self.frames += 1
        return []

    def close(self) -> list[Chunk]:
        if self._container is None:
            return []
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None
        assert self.partial is not None
        try:
            with open(self.partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.partial, self.path)
        except OSError as exc:
            self.partial.unlink(missing_ok=True)
            raise FileWriteError(self.path, exc.strerror) from None
        return []


# --------------------------------------------------------------------------- sinks


class FileSink:
    """Write the output to a file (``-o``)."""

    def __init__(self, path: str | os.PathLike[str], settings: BridgeSettings) -> None:
        self.encoder = FileEncoder(path, settings)

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]:
        return self.encoder.encode(frame, pts, source_time)

    def close(self) -> list[Chunk]:
        return self.encoder.close()

    async def publish(self, chunks: list[Chunk]) -> None:
        return None


class ChunkSink:
    """Encode for live clients and hand each chunk to ``deliver`` (the HTTP relay, a test)."""

    def __init__(self, settings: BridgeSettings,
                 deliver: Callable[[Chunk], Any]) -> None:
        self.encoder = StreamEncoder(settings)
        self.deliver = deliver

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]:
        return self.encoder.encode(frame, pts, source_time)

    def close(self) -> list[Chunk]:
        return self.encoder.close()

    async def publish(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            result = self.deliver(chunk)
            if asyncio.iscoroutine(result):
                await result


# --------------------------------------------------------------------------- running


@dataclass
class PipelineStats:
    """What a run did: frames seen and kept, output size, per-frame latency (seconds from
    the source frame's time to its encoded packet) and the CPU time the run used."""

    frames_in: int = 0
    frames_out: int = 0
    size: tuple[int, int] | None = None
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    output_seconds: float = 0.0


class Sink(Protocol):
    """Where encoded output goes: ``encode``/``close`` run on the pipeline's worker thread,
    ``publish`` on the event loop."""

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]: ...

    def close(self) -> list[Chunk]: ...

    async def publish(self, chunks: list[Chunk]) -> None: ...


async def run_pipeline(
    source: AsyncIterator[SourceFrame],
    settings: BridgeSettings,
    sinks: Sequence[Sink],
    *,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_frame: Callable[[PipelineStats], None] | None = None,
) -> PipelineStats:
    """Pull frames from ``source`` until it ends, ``duration`` seconds of output are made,
    ``stop`` is set (Ctrl-C) or the task is cancelled; every sink is closed (files
    finished) in all these cases."""
    stats = PipelineStats()
    pacer = FramePacer(settings.fps)
    transform = Transform(settings)
    worker = ThreadPoolExecutor(1, thread_name_prefix="runway-bridge-encode")
    loop = asyncio.get_running_loop()
    cpu_start, wall_start = time.process_time(), clock()
    limit = None if duration is None else max(1, round(duration * settings.fps))

    def work(frame: SourceFrame, pts: int) -> list[list[Chunk]]:
        image = transform(frame.image)
        made = [sink.encode(image, pts, frame.since) for sink in sinks]
        stats.latencies.append(clock() - frame.since)
        stats.size = (image.width, image.height)
        return made

    try:
        async for frame in _until(source, stop):
            stats.frames_in += 1
            pts = pacer.admit(frame.time)
            if pts is None:
                continue
            if limit is not None and pts >= limit:
                break
            made = await loop.run_in_executor(worker, work, frame, pts)
            stats.frames_out += 1
            stats.output_seconds = (pts + 1) / settings.fps
            for sink, chunks in zip(sinks, made, strict=False):
                await sink.publish(chunks)
            if on_frame is not None:
                on_frame(stats)
    finally:
        closing = [await asyncio.shield(loop.run_in_executor(worker, sink.close))
                   for sink in sinks]
        for sink, chunks in zip(sinks, closing, strict=False):
            with contextlib.suppress(Exception):
                await sink.publish(chunks)
        worker.shutdown(wait=True)
        stats.cpu_seconds = time.process_time() - cpu_start
        stats.wall_seconds = clock() - wall_start
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    return stats


async def _until(source: AsyncIterator[SourceFrame],
                 stop: asyncio.Event | None) -> AsyncIterator[SourceFrame]:
    """``source``'s frames until it ends or ``stop`` is set (even while it is waiting)."""
    if stop is None:
        async for frame in source:
            yield frame
        return
    iterator = source.__aiter__()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            following = asyncio.ensure_future(iterator.__anext__())
            await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                following.cancel()
                with contextlib.suppress(BaseException):
                    await following
                return
            try:
                yield following.result()
            except StopAsyncIteration:
                return
    finally:
        stopping.cancel()
