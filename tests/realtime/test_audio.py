"""The avatar's voice through the pipeline: AAC in files and in the fMP4 stream, kept in
step with the picture, left out where the output cannot carry it or --no-audio says so.

The source is the sandbox's example video (ffmpeg's test picture with a 440 Hz tone, 2 s)
or synthetic sound placed on a chosen timeline; everything is read back with PyAV.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import av
import numpy as np
import pytest
from realtime_support import card_frames, decode_chunks, make_card, run

from runway_dynamic.realtime.audio import (
    GAP_SECONDS,
    LATE_SECONDS,
    AudioTrack,
    SourceAudio,
)
from runway_dynamic.realtime.pipeline import ChunkSink, FileSink, SourceFrame, run_pipeline
from runway_dynamic.realtime.settings import BridgeSettings
from runway_dynamic.realtime.sources import file_frames, sandbox_media

#: How far the sound's length may be from the picture's in a file made from a file: the
#: picture's last frame lasts 1/fps, the sound ends on a 1024-sample AAC frame (21 ms).
LENGTH_TOLERANCE = 0.05
RATE = 48_000


@pytest.fixture(scope="module")
def example_video() -> bytes:
    """The sandbox's example video: 640x360 at 24 fps, 2 s, with a 440 Hz tone."""
    return sandbox_media((640, 360), 24, 2.0)


def tracks(data: bytes | Path) -> set[str]:
    """The kinds of stream in a file or a stream's bytes."""
    with av.open(BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        return {stream.type for stream in container.streams}


def read_back(data: bytes | Path, fps: float = 8.0,
              ) -> tuple[float, np.ndarray, dict[str, str | int]]:
    """(picture seconds: frames at ``fps``, the decoded sound as mono float samples, the
    audio stream's facts)."""
    source = BytesIO(data) if isinstance(data, bytes) else str(data)
    with av.open(source) as container:
        picture = sum(1 for _ in container.decode(video=0)) / fps
    with av.open(BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        audio = container.streams.audio[0]
        facts = {"codec": audio.codec_context.name, "rate": audio.sample_rate,
                 "channels": audio.channels, "bit_rate": audio.codec_context.bit_rate or 0}
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio)])
    return picture, sound, facts


def loudest_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(("codec", "suffix"), [
    ("h264", ".mp4"), ("h264", ".mov"), ("h265", ".mp4"), ("jpeg", ".mov"), ("png", ".mov"),
])
def test_a_file_carries_the_voice_as_aac_48k_mono_as_long_as_the_picture(
        example_video: bytes, tmp_path: Path, codec: str, suffix: str) -> None:
    settings = BridgeSettings.from_preset(None, codec=codec, fps=8, width=160)
    target = tmp_path / f"out{suffix}"
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [FileSink(target, settings)]))
    picture, sound, facts = read_back(target)
    assert (facts["codec"], facts["rate"], facts["channels"]) == ("aac", RATE, 1)
    assert picture == 2.0 and stats.audio
    assert abs(len(sound) / RATE - picture) < LENGTH_TOLERANCE, len(sound) / RATE
    assert abs(loudest_hz(sound) - 440) < 5  # the sandbox's tone, not noise


def test_audio_bitrate_is_the_one_asked_for(example_video: bytes, tmp_path: Path) -> None:
    """AAC at 32 kbps over 4 s of a tone: the payload's rate within ±35% (a pure tone
    leaves the encoder little to spend)."""
    settings = BridgeSettings.from_preset("watch", audio_bitrate=32_000)
    target = tmp_path / "watch.mp4"
    run(run_pipeline(file_frames(example_video, realtime=False, loop=True), settings,
                     [FileSink(target, settings)], duration=4.0))
    with av.open(str(target)) as container:
        audio = container.streams.audio[0]
        payload = sum(p.size for p in container.demux(audio) if p.size)
        seconds = float(audio.duration * audio.time_base)
    assert 0.65 * 32_000 <= payload * 8 / seconds <= 1.35 * 32_000


def test_no_audio_writes_the_picture_alone(example_video: bytes, tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset("watch", audio=False)
    target = tmp_path / "mute.mp4"
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [FileSink(target, settings)]))
    found = tracks(target)
    assert found == {"video"} and not stats.audio and stats.audio_seconds == 0
    assert stats.frames_out == 16


def test_duration_cuts_the_sound_where_it_cuts_the_picture(example_video: bytes,
                                                           tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset("watch")
    target = tmp_path / "cut.mp4"
    stats = run(run_pipeline(file_frames(example_video, realtime=False, loop=True), settings,
                             [FileSink(target, settings)], duration=3.0))
    picture, sound, _ = read_back(target)
    assert stats.frames_out == 24 and picture == 3.0
    assert abs(len(sound) / RATE - 3.0) < LENGTH_TOLERANCE
    assert abs(stats.audio_seconds - 3.0) < LENGTH_TOLERANCE


def test_a_source_without_sound_makes_no_empty_track(tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset(None, codec="h264", fps=8, width=64)
    target = tmp_path / "card.mp4"
    stats = run(run_pipeline(card_frames(make_card()), settings, [FileSink(target, settings)]))
    assert tracks(target) == {"video"} and not stats.audio


# --------------------------------------------------------------------------- the live stream


def test_the_fmp4_stream_has_both_tracks_and_late_clients_start_on_a_key_frame(
        example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch")
    chunks: list = []
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [ChunkSink(settings, chunks.append)]))
    data = b"".join(c.data for c in chunks)
    picture, sound, facts = read_back(data)
    assert (facts["codec"], facts["rate"], facts["channels"]) == ("aac", RATE, 1)
    # The stream has no edit list for AAC's 1024-sample priming: up to 2 frames more.
    assert picture == 2.0 and abs(len(sound) / RATE - picture) < LENGTH_TOLERANCE + 0.043
    assert stats.frames_out == len(decode_chunks(chunks)) == 16
    keys = [i for i, c in enumerate(chunks) if c.kind == "fragment" and c.keyframe]
    assert len(keys) == 2  # key frames once a second, and only fragments with one say so
    late = [chunks[0], *chunks[keys[1]:]]
    assert len(decode_chunks(late)) == 8  # the picture decodes from the second key frame
    _, late_sound, _ = read_back(b"".join(c.data for c in late))
    assert 0.8 < len(late_sound) / RATE < 1.2  # and the sound of that second


@pytest.mark.parametrize("codec", ["jpeg", "png"])
def test_image_streams_carry_no_sound(example_video: bytes, codec: str) -> None:
    settings = BridgeSettings.from_preset(None, codec=codec, fps=8, width=64)
    chunks: list = []
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [ChunkSink(settings, chunks.append)]))
    assert not stats.audio and {c.kind for c in chunks} == {"image"}
    assert len(chunks) == stats.frames_out == 16


def test_no_audio_stream_is_video_only(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch", audio=False)
    chunks: list = []
    run(run_pipeline(file_frames(example_video, realtime=False), settings,
                     [ChunkSink(settings, chunks.append)]))
    assert tracks(b"".join(c.data for c in chunks)) == {"video"}


# --------------------------------------------------------------------------- keeping step


def tone(start: float, seconds: float, step: float = 0.02,
         level: float = 0.3) -> list[SourceAudio]:
    """A 440 Hz tone in ``step``-second runs, placed from ``start`` on the timeline."""
    runs = []
    count = round(step * RATE)
    for index in range(round(seconds / step)):
        at = np.arange(index * count, (index + 1) * count) / RATE
        samples = (level * np.sin(2 * np.pi * 440 * at)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = RATE
        runs.append(SourceAudio(frame, start + index * step))
    return runs


async def with_sound(pictures: int, fps: float, sound: list[SourceAudio],
                     ) -> AsyncIterator[SourceFrame | SourceAudio]:
    """Card pictures and ``sound`` merged by time (sound first at a tie)."""
    frames = [f async for f in card_frames(make_card(64, 36), pictures, fps)]
    items: list[SourceFrame | SourceAudio] = [*sound, *frames]
    items.sort(key=lambda item: (item.time, isinstance(item, SourceFrame)))
    for item in items:
        yield item


def relay_sound(sound: list[SourceAudio], pictures: int, tmp_path: Path) -> np.ndarray:
    """Card pictures at 8 fps with ``sound`` into an MP4; its decoded sound, whose length
    is checked against the picture's."""
    settings = BridgeSettings.from_preset(None, codec="h264", fps=8, width=64)
    target = tmp_path / "sound.mp4"
    stats = run(run_pipeline(with_sound(pictures, 8.0, sound), settings,
                             [FileSink(target, settings)]))
    _, decoded, _ = read_back(target)
    assert stats.audio and abs(len(decoded) / RATE - pictures / 8) < LENGTH_TOLERANCE
    return decoded


def loudness(sound: np.ndarray, start: float, end: float) -> float:
    part = sound[round(start * RATE):round(end * RATE)]
    return float(np.sqrt(np.mean(part ** 2)))


def test_a_gap_in_the_sound_stays_where_it_was_said(tmp_path: Path) -> None:
    """Sound 0-0.5 s and 1.0-2.0 s: the output is quiet in between, loud around it, so what
    is said after a pause still meets its picture."""
    decoded = relay_sound(tone(0.0, 0.5) + tone(1.0, 1.0), 16, tmp_path)
    assert loudness(decoded, 0.1, 0.4) > 0.15
    assert loudness(decoded, 0.6, 0.9) < 0.01
    assert loudness(decoded, 1.1, 1.9) > 0.15


def test_sound_before_the_first_picture_is_dropped_not_shifted(tmp_path: Path) -> None:
    """A voice loud for 0.5 s before the picture starts, then quiet: the output starts with
    the picture and the (quiet) sound of that moment; the early part is not pushed in."""
    decoded = relay_sound(tone(-0.5, 0.5) + tone(0.0, 1.0, level=0.0), 8, tmp_path)
    assert loudness(decoded, 0.0, 0.95) < 0.01


def test_arrival_jitter_does_not_chop_the_sound() -> None:
    """Live runs stamped on arrival, up to ±40 ms late or early: the samples are counted,
    not placed by their stamps, so nothing is inserted or lost."""
    rng = np.random.default_rng(7)
    runs = tone(0.0, 2.0, step=0.01)
    for item in runs:
        item.time += float(rng.uniform(-0.04, 0.04))
    track = AudioTrack(origin=0.0)
    frames = [f for item in runs for f in track.push(item)] + track.flush()
    assert track.silence == 0 and sum(f.samples for f in frames) == 2 * RATE
    assert [f.pts for f in frames] == [i * 1024 for i in range(len(frames))]
    assert GAP_SECONDS > 0.04


def test_a_burst_after_a_stall_does_not_push_the_sound_ahead() -> None:
    """A live track stalls 0.5 s, then delivers the late runs all at once: the gap became
    silence, so the late runs are dropped and the sound ends with the source's clock."""
    runs = tone(0.0, 2.0, step=0.01)
    for item in runs[100:150]:
        item.time = 1.5  # runs due at 1.0-1.5 s all arrive at 1.5 s
    track = AudioTrack(origin=0.0)
    frames = [f for item in runs for f in track.push(item)] + track.flush()
    total = sum(f.samples for f in frames) / RATE
    assert track.silence > 0 and track.dropped > 0
    assert abs(total - 2.0) <= LATE_SECONDS + 0.01, total  # + one 10 ms run


def test_resampled_sound_keeps_its_length() -> None:
    """44.1 kHz stereo in, 48 kHz mono out: one second stays one second."""
    samples = np.zeros((1, 2 * 44_100), np.int16)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
    frame.sample_rate = 44_100
    track = AudioTrack(origin=0.0)
    out = track.push(SourceAudio(frame, 0.0)) + track.flush()
    assert abs(sum(f.samples for f in out) - RATE) <= 64
    assert {f.sample_rate for f in out} == {RATE} and {f.layout.name for f in out} == {"mono"}
