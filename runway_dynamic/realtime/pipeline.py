"""Frames in, encoded media out: source → crop → resize → encode → sink, with PyAV.

A *source* is any async iterator of :class:`SourceFrame` pictures and, when it has sound,
:class:`~.audio.SourceAudio` runs (a LiveKit room, a local media file, the sandbox's
example video); the pipeline does not know which. A source with sound yields some before
its first picture: the output then carries an AAC track (an fMP4 stream, a file; not the
one-image-per-frame streams), placed by :class:`~.audio.AudioTrack` on the picture's
timeline. The geometry is
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
from runway_dynamic.realtime.audio import (
    PREROLL_SECONDS,
    AudioTrack,
    SourceAudio,
    add_audio_stream,
)
from runway_dynamic.realtime.fmp4 import BoxSplitter, children, starts_with_sync_sample
from runway_dynamic.realtime.settings import BridgeSettings, FramePacer

#: Track IDs as the MP4 muxer numbers the streams: the picture is added first.
VIDEO_TRACK, AUDIO_TRACK = 1, 2


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

    ``keyframe``: a client may start here (for MP4, the fragment's picture starts with a
    key frame). ``source_time`` is the newest source frame's time in it, so a sink (or a
    benchmark) can tell how old the picture is.
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
        self._audio: Any = None
        self._context: Any = None
        self._collector = _Collector()
        self._boxes = BoxSplitter()
        self._pending_init = b""
        self._times: list[float] = []
        self.size: tuple[int, int] | None = None
        #: Add an AAC track when the stream opens (the pipeline decides, before it opens).
        self.audio = False

    def _open(self, size: tuple[int, int]) -> None:
        self.size = size
        if self.settings.is_video:
            self._container = av.open(self._collector, "w", format="mp4",
                                      options=self._mp4_options())
            self._stream = self._container.add_stream(self.settings.encoder,
                                                      rate=_rate(self.settings.fps))
            configure_stream(self._stream.codec_context, self.settings, size)
            if self.audio:
                self._audio = add_audio_stream(self._container, self.settings)
        else:
            self._context = av.CodecContext.create(self.settings.encoder, "w")
            configure_stream(self._context, self.settings, size)

    def _mp4_options(self) -> dict[str, str]:
        if not self.audio:
            # One fragment per frame: a client gets each picture as soon as it is made.
            return {"movflags": "empty_moov+default_base_moof+frag_every_frame",
                    "flush_packets": "1"}
        # With sound, one fragment per packet would be ~47 tiny audio fragments a second
        # (~40 kbps of headers): cut one per frame interval instead, and before each key
        # frame so a late client starts on one. The interleaver may hold a packet for the
        # other track at most one frame interval (its default is 10 s).
        interval = str(max(1, round(1_000_000 / self.settings.fps)))
        return {"movflags": "empty_moov+default_base_moof+frag_keyframe",
                "frag_duration": interval, "max_interleave_delta": interval,
                "flush_packets": "1"}

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

    def encode_audio(self, frame: av.AudioFrame) -> list[Chunk]:
        if self._audio is None:
            return []
        for packet in self._audio.encode(frame):
            self._container.mux(packet)
        return self._drain()

    def close(self) -> list[Chunk]:
        if self.size is None:
            return []
        if not self.settings.is_video:
            return [Chunk("image", bytes(p), True) for p in self._context.encode(None)]
        for stream in (self._stream, self._audio):
            if stream is not None:
                for packet in stream.encode(None):
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
                pictures = _samples(moof, VIDEO_TRACK)
                when = None
                for _ in range(min(pictures, len(self._times))):
                    when = self._times.pop(0)
                chunks.append(Chunk("fragment", moof + box,
                                    starts_with_sync_sample(moof, VIDEO_TRACK), when))
        return chunks


def _samples(moof: bytes, track: int) -> int:
    """How many samples of ``track`` a ``moof`` describes (its ``trun`` sample counts)."""
    count = 0
    for kind, offset, size in children(moof):
        if kind != "traf":
            continue
        traf = moof[offset:offset + size]
        ours = False
        for sub, at, _ in children(traf):
            if sub == "tfhd":
                ours = int.from_bytes(traf[at + 12:at + 16], "big") == track
            elif sub == "trun" and ours:
                count += int.from_bytes(traf[at + 12:at + 16], "big")
    return count


class FileEncoder:
    """Encode into a media file (MP4/MOV), written beside the target (``_files``' temporary
    file) and renamed on close, so a half-written file never has the target's name."""

    def __init__(self, path: str | os.PathLike[str], settings: BridgeSettings) -> None:
        self.path = Path(path)
        self.settings = settings
        self.partial: Path | None = None
        self._container: Any = None
        self._stream: Any = None
        self._audio: Any = None
        self.size: tuple[int, int] | None = None
        self.frames = 0
        #: Add an AAC track when the file opens (the pipeline decides, before it opens).
        self.audio = False

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
            if self.audio:
                self._audio = add_audio_stream(self._container, self.settings)
        for packet in self._stream.encode(_fresh(frame, pts, self.settings)):
            self._container.mux(packet)
        self.frames += 1
        return []

    def encode_audio(self, frame: av.AudioFrame) -> list[Chunk]:
        if self._audio is not None:
            for packet in self._audio.encode(frame):
                self._container.mux(packet)
        return []

    def close(self) -> list[Chunk]:
        if self._container is None:
            return []
        for stream in (self._stream, self._audio):
            if stream is not None:
                for packet in stream.encode(None):
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


class _EncodingSink:
    """What both sinks do alike: hand frames to their encoder (they differ in the encoder
    and in where the encoded chunks go)."""

    encoder: FileEncoder | StreamEncoder
    carries_audio: bool

    def add_audio(self) -> None:
        self.encoder.audio = True

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]:
        return self.encoder.encode(frame, pts, source_time)

    def encode_audio(self, frame: av.AudioFrame) -> list[Chunk]:
        return self.encoder.encode_audio(frame)

    def close(self) -> list[Chunk]:
        return self.encoder.close()


class FileSink(_EncodingSink):
    """Write the output to a file (``-o``); MP4 and MOV carry sound with any picture codec."""

    def __init__(self, path: str | os.PathLike[str], settings: BridgeSettings) -> None:
        self.encoder = FileEncoder(path, settings)
        self.carries_audio = settings.audio

    async def publish(self, chunks: list[Chunk]) -> None:
        return None


class ChunkSink(_EncodingSink):
    """Encode for live clients and hand each chunk to ``deliver`` (the HTTP relay, a test)."""

    def __init__(self, settings: BridgeSettings,
                 deliver: Callable[[Chunk], Any]) -> None:
        self.encoder = StreamEncoder(settings)
        self.deliver = deliver
        self.carries_audio = settings.streams_audio

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
    #: Seconds of sound encoded (0.0: the output has no audio track).
    audio_seconds: float = 0.0
    #: Whether the output carries an audio track.
    audio: bool = False


class Sink(Protocol):
    """Where encoded output goes: ``encode``/``encode_audio``/``close`` run on the
    pipeline's worker thread, ``publish`` on the event loop. ``carries_audio``: the output
    can hold sound; ``add_audio`` is called before the first ``encode`` when it will."""

    carries_audio: bool

    def add_audio(self) -> None: ...

    def encode(self, frame: av.VideoFrame, pts: int, source_time: float) -> list[Chunk]: ...

    def encode_audio(self, frame: av.AudioFrame) -> list[Chunk]: ...

    def close(self) -> list[Chunk]: ...

    async def publish(self, chunks: list[Chunk]) -> None: ...


async def run_pipeline(
    source: AsyncIterator[SourceFrame | SourceAudio],
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
    finished) in all these cases.

    Sound that comes before the first picture decides that the output has an audio track
    (in the sinks that can carry one, unless ``settings.audio`` is off); its timeline
    starts at the first picture, like the picture's."""
    stats = PipelineStats()
    pacer = FramePacer(settings.fps)
    transform = Transform(settings)
    worker = ThreadPoolExecutor(1, thread_name_prefix="runway-bridge-encode")
    loop = asyncio.get_running_loop()
    cpu_start, wall_start = time.process_time(), clock()
    limit = None if duration is None else max(1, round(duration * settings.fps))
    waiting: list[SourceAudio] = []  # sound before the first picture
    listeners: list[Sink] = []  # the sinks given an audio track
    track: AudioTrack | None = None
    started = False

    def work(frame: SourceFrame, pts: int) -> list[list[Chunk]]:
        image = transform(frame.image)
        made = [sink.encode(image, pts, frame.since) for sink in sinks]
        stats.latencies.append(clock() - frame.since)
        stats.size = (image.width, image.height)
        return made

    def sound(items: list[SourceAudio]) -> list[list[Chunk]]:
        assert track is not None
        frames = [out for item in items for out in track.push(item)]
        return [[chunk for out in frames for chunk in sink.encode_audio(out)]
                if sink in listeners else [] for sink in sinks]

    def finish() -> list[list[Chunk]]:
        tail = track.flush() if track is not None else []
        return [[chunk for out in tail for chunk in sink.encode_audio(out)]
                + sink.close() if sink in listeners else sink.close() for sink in sinks]

    async def publish(made: list[list[Chunk]]) -> None:
        for sink, chunks in zip(sinks, made, strict=False):
            await sink.publish(chunks)

    try:
        async for item in _until(source, stop):
            if isinstance(item, SourceAudio):
                if track is not None:
                    await publish(await loop.run_in_executor(worker, sound, [item]))
                elif settings.audio and not started:
                    waiting.append(item)
                    while waiting[0].end < item.time - PREROLL_SECONDS:
                        waiting.pop(0)
                continue
            frame = item
            stats.frames_in += 1
            pts = pacer.admit(frame.time)
            if pts is None:
                continue
            if limit is not None and pts >= limit:
                break
            if not started:
                started = True
                listeners = [sink for sink in sinks if sink.carries_audio] if waiting else []
                if listeners:
                    for sink in listeners:
                        sink.add_audio()
                    track = AudioTrack(frame.time,
                                       None if limit is None else limit / settings.fps)
            made = await loop.run_in_executor(worker, work, frame, pts)
            stats.frames_out += 1
            stats.output_seconds = (pts + 1) / settings.fps
            await publish(made)
            if waiting and track is not None:
                await publish(await loop.run_in_executor(worker, sound, waiting))
            waiting.clear()
            if on_frame is not None:
                on_frame(stats)
    finally:
        closing = await asyncio.shield(loop.run_in_executor(worker, finish))
        for sink, chunks in zip(sinks, closing, strict=False):
            with contextlib.suppress(Exception):
                await sink.publish(chunks)
        worker.shutdown(wait=True)
        stats.cpu_seconds = time.process_time() - cpu_start
        stats.wall_seconds = clock() - wall_start
        stats.audio = track is not None
        stats.audio_seconds = track.seconds if track is not None else 0.0
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    return stats


async def _until(source: AsyncIterator[SourceFrame | SourceAudio],
                 stop: asyncio.Event | None) -> AsyncIterator[SourceFrame | SourceAudio]:
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
