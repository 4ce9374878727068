"""The avatar's sound on the output's timeline: resampled, cut to AAC frames, kept in sync.

A source hands over sound in runs of any length and rate (LiveKit: 10 ms of 48 kHz
mono; a file: its decoder's frames), each placed on the same timeline as the pictures.
:class:`AudioTrack` turns them into the frames the AAC encoder wants (1024 samples of
:data:`~.settings.AUDIO_RATE` mono) stamped by *counting samples* from the picture's
start, so the sound plays continuously even when the source's arrival times jitter. When
the source's time runs ahead of the count (a gap: a muted or stalled track), silence
fills it, so what is said stays with the picture it belongs to; sound that comes so late
that the count is already past it (a burst after a stall the silence covered) is dropped,
so the sound never drifts ahead of the picture either. Resampling is ffmpeg's
(PyAV's ``AudioResampler``), the cutting PyAV's ``AudioFifo``.

>>> track = AudioTrack(settings, origin=first_picture.time)
>>> frames = track.push(sound)   # → encoder, frame.pts in 1/48000 s
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from runway_dynamic.realtime.settings import (
    AUDIO_CODEC,
    AUDIO_LAYOUT,
    AUDIO_RATE,
    BridgeSettings,
)

#: The AAC encoder's frame: 1024 samples (21.3 ms at 48 kHz).
FRAME_SAMPLES = 1024
#: How far the source's time may run ahead of the samples counted before the difference
#: is a gap to fill with silence (live arrival jitter stays below this).
GAP_SECONDS = 0.1
#: How far the count may run ahead of the source's time before late sound is dropped:
#: with GAP_SECONDS, the sound stays within ±0.1 s of where the source placed it.
LATE_SECONDS = 0.1
#: The longest gap filled at once; a source whose clock jumps further (a broken file's
#: timestamps) is followed by re-counting from there, not by minutes of silence.
MAX_GAP_SECONDS = 10.0
#: Sound older than this before the first picture is not kept waiting for it.
PREROLL_SECONDS = 2.0


@dataclass
class SourceAudio:
    """A run of sound from a source: ``time`` is its first sample's place on the source's
    timeline (the clock of :class:`~.pipeline.SourceFrame.time`)."""

    samples: av.AudioFrame
    time: float
    arrived: float | None = None

    @property
    def end(self) -> float:
        return self.time + self.samples.samples / (self.samples.sample_rate or AUDIO_RATE)


def configure_audio(context: Any, settings: BridgeSettings) -> None:
    """The AAC encoder's settings, for the live stream and the file alike."""
    context.sample_rate = AUDIO_RATE
    context.layout = AUDIO_LAYOUT
    context.format = "fltp"
    context.bit_rate = settings.audio_bitrate
    context.time_base = Fraction(1, AUDIO_RATE)


def add_audio_stream(container: Any, settings: BridgeSettings) -> Any:
    stream = container.add_stream(AUDIO_CODEC, rate=AUDIO_RATE)
    configure_audio(stream.codec_context, settings)
    return stream


class AudioTrack:
    """Sound in, AAC-sized frames out on the output timeline (seconds from ``origin``).

    ``limit``: output seconds after which sound is cut (the bridge's ``--duration``).
    """

    def __init__(self, origin: float, limit: float | None = None) -> None:
        self.origin = origin
        self.limit = None if limit is None else round(limit * AUDIO_RATE)
        self._resampler = av.AudioResampler(format="fltp", layout=AUDIO_LAYOUT, rate=AUDIO_RATE)
        self._fifo = av.AudioFifo()
        #: Samples placed on the timeline so far (what the next sample's position is).
        self.written = 0
        #: Samples handed to the encoder so far (the next frame's pts).
        self.read = 0
        #: Samples of silence inserted for gaps, and of late sound dropped.
        self.silence = 0
        self.dropped = 0

    @property
    def seconds(self) -> float:
        return self.read / AUDIO_RATE

    def push(self, sound: SourceAudio) -> list[av.AudioFrame]:
        start = sound.time - self.origin
        if sound.end - self.origin <= 0:
            return []  # before the picture started
        gap = start - self.written / AUDIO_RATE
        if gap < -LATE_SECONDS:
            self.dropped += sound.samples.samples
            return []  # its moment is already covered (by silence, or by earlier sound)
        if GAP_SECONDS < gap <= MAX_GAP_SECONDS:
            self._write_silence(round(gap * AUDIO_RATE))
        elif gap > MAX_GAP_SECONDS:
            # Re-count from here: keep the sound with the picture, without the silence.
            target = round(start * AUDIO_RATE)
            self.read, self.written = target - self._fifo.samples, target
        frame = sound.samples
        frame.pts = None  # the count, not the source, places the samples
        for converted in self._resampler.resample(frame):
            self._write(converted)
        return self._frames(FRAME_SAMPLES)

    def flush(self) -> list[av.AudioFrame]:
        """The rest, including a shorter last frame (AAC takes one)."""
        for converted in self._resampler.resample(None):
            self._write(converted)
        return self._frames(FRAME_SAMPLES) + self._frames(None)

    def _write(self, frame: av.AudioFrame) -> None:
        if self.limit is not None:
            room = self.limit - self.written
            if room <= 0:
                return
            if frame.samples > room:
                frame = _first_samples(frame, room)
        frame.pts = None
        self._fifo.write(frame)
        self.written += frame.samples

    def _write_silence(self, count: int) -> None:
        self.silence += count
        while count > 0:
            size = min(count, AUDIO_RATE)
            quiet = av.AudioFrame.from_ndarray(np.zeros((1, size), np.float32), format="fltp",
                                               layout=AUDIO_LAYOUT)
            quiet.sample_rate = AUDIO_RATE
            self._write(quiet)
            count -= size

    def _frames(self, size: int | None) -> list[av.AudioFrame]:
        out = []
        while self._fifo.samples and (size is None or self._fifo.samples >= size):
            frame = self._fifo.read(size or self._fifo.samples)
            if frame is None:
                break
            frame.pts = self.read
            frame.time_base = Fraction(1, AUDIO_RATE)
            self.read += frame.samples
            out.append(frame)
        return out


def _first_samples(frame: av.AudioFrame, count: int) -> av.AudioFrame:
    array: Any = np.ascontiguousarray(frame.to_ndarray()[:, :count])
    cut = av.AudioFrame.from_ndarray(array, format=frame.format.name,
                                     layout=frame.layout.name)
    cut.sample_rate = frame.sample_rate
    return cut
