"""The pipeline on real frames: sizes, geometry (pixel checks), codecs, rates, alpha.

Real frames are the sandbox's example video (what a ``--sandbox`` session shows) and a
synthetic test card whose pixels say where they came from (see realtime_support).
Everything is read back with PyAV.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from realtime_support import (
    BORDER,
    card_frames,
    decode_chunks,
    decode_file,
    green_at,
    make_card,
    red_at,
    run,
)

from runway_dynamic.realtime.pipeline import ChunkSink, FileSink, run_pipeline
from runway_dynamic.realtime.settings import BridgeSettings
from runway_dynamic.realtime.sources import file_frames, sandbox_media

#: yuv420 round trips move colours a little; a crop line off by one column moves red ~1.
TOLERANCE = 14


@pytest.fixture(scope="module")
def example_video() -> bytes:
    """The sandbox's example video: 640x360 at 24 fps, 2 s."""
    return sandbox_media((640, 360), 24, 2.0)


def encode_card(settings: BridgeSettings, tmp_path: Path, card: np.ndarray | None = None,
                suffix: str = ".mov", fmt: str = "rgba") -> list[np.ndarray]:
    target = tmp_path / f"card{suffix}"
    run(run_pipeline(card_frames(make_card() if card is None else card, fmt=fmt), settings,
                     [FileSink(target, settings)]))
    return decode_file(target)


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(("options", "expected"), [
    ({"width": 320}, (320, 180)),                                  # aspect kept
    ({"width": 256, "height": 256}, (256, 256)),                   # fixed surface
    ({"width": 200, "height": 100, "resize": "fit"}, (200, 100)),
    ({"width": 101, "height": 99, "resize": "stretch"}, (100, 100)),  # 4:2:0 wants even
    ({"width": 320, "crop_top": 40}, (320, 160)),                  # aspect after the crop
    ({}, (640, 360)),
])
def test_output_size_on_the_sandbox_example_video(example_video: bytes, tmp_path: Path,
                                                  options: dict, expected: tuple) -> None:
    settings = BridgeSettings.from_preset(None, codec="h264", fps=8, **options)
    target = tmp_path / "out.mp4"
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [FileSink(target, settings)]))
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == expected
        frames = list(container.decode(stream))
    assert stats.size == expected
    assert len(frames) == stats.frames_out == 16  # 2 s at 8 fps, from a 24 fps source
    assert stats.frames_in == 48


def test_watch_preset_reads_back_as_h264_256_square_8fps(example_video: bytes,
                                                         tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset("watch")
    target = tmp_path / "watch.mp4"
    run(run_pipeline(file_frames(example_video, realtime=False), settings,
                     [FileSink(target, settings)]))
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (256, 256)
        assert stream.average_rate == 8
        assert stream.codec_context.pix_fmt == "yuv420p"


@pytest.mark.parametrize(("codec", "suffix", "decoder", "fps"), [
    ("h264", ".mp4", "h264", 8), ("h265", ".mp4", "hevc", 6), ("jpeg", ".mov", "mjpeg", 12),
    ("png", ".mov", "png", 5), ("h264", ".mov", "h264", 12),
])
def test_codec_and_frame_rate_read_back(example_video: bytes, tmp_path: Path, codec: str,
                                        suffix: str, decoder: str, fps: int) -> None:
    settings = BridgeSettings.from_preset(None, codec=codec, fps=fps, width=160)
    target = tmp_path / f"out{suffix}"
    run(run_pipeline(file_frames(example_video, realtime=False), settings,
                     [FileSink(target, settings)]))
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == decoder
        assert stream.average_rate == Fraction(fps)
        assert len(list(container.decode(stream))) == 2 * fps


def test_fractional_frame_rate_is_kept(example_video: bytes, tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset(None, codec="h264", fps=7.5, width=160)
    target = tmp_path / "out.mp4"
    run(run_pipeline(file_frames(example_video, realtime=False), settings,
                     [FileSink(target, settings)]))
    with av.open(str(target)) as container:
        assert container.streams.video[0].average_rate == Fraction(15, 2)


# --------------------------------------------------------------------------- geometry


def test_cover_cuts_the_sides_of_a_wide_source_centred(tmp_path: Path) -> None:
    """320x180 → 90x90 cover: the centred 180x180 cut, source columns 70..249."""
    settings = BridgeSettings.from_preset(None, codec="png", width=90, height=90,
                                          resize="cover")
    frame = encode_card(settings, tmp_path)[0].astype(int)
    assert frame.shape == (90, 90, 4)
    middle = frame[45]
    assert abs(middle[0, 0] - red_at(70)) < TOLERANCE   # left crop line
    assert abs(middle[-1, 0] - red_at(249)) < TOLERANCE  # right crop line
    assert middle[0, 0] > 40 and middle[-1, 0] < 215     # a cut happened on both sides
    assert abs(frame[-1, 45, 1] - green_at(179)) < TOLERANCE  # full height kept
    assert (frame[0, 45, :3] > 240).all()                      # the border row is still there


def test_cover_cuts_top_and_bottom_of_a_tall_source(tmp_path: Path) -> None:
    """180x320 (portrait) → 90x45 cover: full width, rows 115..204 of the 320."""
    card = make_card(180, 320)
    settings = BridgeSettings.from_preset(None, codec="png", width=90, height=45)
    frame = encode_card(settings, tmp_path, card)[0].astype(int)
    assert frame.shape == (45, 90, 4)
    assert abs(frame[0, 45, 1] - green_at(115, 320)) < TOLERANCE
    assert abs(frame[-1, 45, 1] - green_at(204, 320)) < TOLERANCE
    assert frame[20, 0, 0] < TOLERANCE and frame[20, -1, 0] > 255 - TOLERANCE


def test_fit_pads_bars_and_keeps_every_source_pixel(tmp_path: Path) -> None:
    """320x180 → 100x100 fit: a 100x56 picture between two bars of 22 rows."""
    settings = BridgeSettings.from_preset(None, codec="h264", width=100, height=100,
                                          resize="fit")
    frame = encode_card(settings, tmp_path, suffix=".mp4")[-1].astype(int)
    assert frame.shape == (100, 100, 4)
    assert frame[:20, :, :3].max() < 24          # top bar: black
    assert frame[-20:, :, :3].max() < 24         # bottom bar: black
    row = frame[60]
    assert row[1, 0] < TOLERANCE + 6 and row[-2, 0] > 255 - TOLERANCE - 6  # no side cut
    assert (frame[23, 50, :3] > 200).all()       # the border is the picture's first row


def test_fit_bars_are_transparent_in_png(tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset(None, codec="png", width=100, height=100,
                                          resize="fit")
    frame = encode_card(settings, tmp_path)[0]
    assert frame[0, 50, 3] == 0 and frame[-1, 50, 3] == 0   # bars: alpha 0
    assert frame[50, 50, 3] == 255                          # picture: opaque


def test_stretch_fills_the_surface_without_cutting(tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset(None, codec="png", width=100, height=100,
                                          resize="stretch")
    frame = encode_card(settings, tmp_path)[0].astype(int)
    assert frame.shape == (100, 100, 4)
    assert frame[60, 0, 0] < TOLERANCE and frame[60, -1, 0] > 255 - TOLERANCE
    assert frame[-1, 50, 1] > 255 - TOLERANCE
    with av.open(str(tmp_path / "card.mov")) as container:
        ratio = container.streams.video[0].sample_aspect_ratio
    assert ratio in (None, Fraction(1, 1), Fraction(0, 1))  # square pixels: really stretched


def test_crop_top_removes_the_border_before_resizing(tmp_path: Path) -> None:
    plain = BridgeSettings.from_preset(None, codec="png", width=160)
    cropped = plain.with_(crop_top=BORDER)
    before = encode_card(plain, tmp_path)[0].astype(int)
    after = encode_card(cropped, tmp_path)[0].astype(int)
    assert before.shape == (90, 160, 4)
    assert after.shape == (80, 160, 4)             # 320x160 after the crop, width 160
    assert (before[0, 80, :3] > 240).all()          # the white border…
    assert not (after[0, 80, :3] > 240).all()       # …is gone
    assert abs(after[0, 80, 1] - green_at(BORDER)) < TOLERANCE


def test_png_keeps_the_source_alpha(tmp_path: Path) -> None:
    settings = BridgeSettings.from_preset(None, codec="png", width=64)
    frames = encode_card(settings, tmp_path, make_card(alpha=100))
    assert frames and all(int(f[20, 32, 3]) == 100 for f in frames)
    with av.open(str(tmp_path / "card.mov")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "rgba"


def test_a_size_change_mid_stream_is_followed(tmp_path: Path) -> None:
    """A WebRTC track can change resolution: the filters are rebuilt, the output holds."""
    async def frames():  # type: ignore[no-untyped-def]
        async for frame in card_frames(make_card(320, 180), 4):
            yield frame
        async for frame in card_frames(make_card(160, 160), 4):
            frame.time += 0.5
            yield frame

    settings = BridgeSettings.from_preset(None, codec="png", width=64, height=64)
    chunks: list = []
    run(run_pipeline(frames(), settings, [ChunkSink(settings, chunks.append)]))
    images = decode_chunks(chunks)
    assert len(images) == 8 and {i.shape for i in images} == {(64, 64, 4)}


# --------------------------------------------------------------------------- rate control


def test_bitrate_stays_within_25_percent_of_the_target(example_video: bytes,
                                                       tmp_path: Path) -> None:
    """The watch preset's 200 kbps over 6 s of the example video (looped): ±25%."""
    settings = BridgeSettings.from_preset("watch")
    target = tmp_path / "watch.mp4"

    async def six_seconds():  # type: ignore[no-untyped-def]
        async for frame in file_frames(example_video, realtime=False, loop=True):
            yield frame

    stats = run(run_pipeline(six_seconds(), settings, [FileSink(target, settings)],
                             duration=6.0))
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        payload = sum(p.size for p in container.demux(stream) if p.size)
        seconds = float(stream.duration * stream.time_base)
    assert stats.frames_out == 48
    rate = payload * 8 / seconds
    assert 0.75 * 200_000 <= rate <= 1.25 * 200_000, rate


def test_jpeg_quality_trades_size_for_fidelity(example_video: bytes) -> None:
    sizes = {}
    for quality in (20, 55, 95):
        settings = BridgeSettings.from_preset(None, codec="jpeg", quality=quality, width=320)
        chunks: list = []
        run(run_pipeline(file_frames(example_video, realtime=False), settings,
                         [ChunkSink(settings, chunks.append)], duration=0.5))
        assert chunks and chunks[0].data[:2] == b"\xff\xd8"  # JPEG start-of-image
        sizes[quality] = sum(len(c.data) for c in chunks)
    assert sizes[20] < sizes[55] < sizes[95]


# --------------------------------------------------------------------------- the live stream


def test_fmp4_stream_is_an_init_then_one_fragment_per_frame(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch")
    chunks: list = []
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [ChunkSink(settings, chunks.append)]))
    assert chunks[0].kind == "init" and chunks[0].data[4:8] == b"ftyp"
    fragments = chunks[1:]
    assert len(fragments) == stats.frames_out == 16
    assert all(c.kind == "fragment" and c.data[4:8] == b"moof" for c in fragments)
    # Key frames once a second (8 frames) and only there: a late client starts on one.
    assert [i for i, c in enumerate(fragments) if c.keyframe] == [0, 8]
    assert len(decode_chunks(chunks)) == 16
    late = [chunks[0], *fragments[8:]]  # what a client joining at the second key frame gets
    assert len(decode_chunks(late)) == 8


def test_latency_is_measured_per_frame(example_video: bytes) -> None:
    settings = BridgeSettings.from_preset("watch")
    stats = run(run_pipeline(file_frames(example_video, realtime=False), settings,
                             [ChunkSink(settings, lambda chunk: None)]))
    assert len(stats.latencies) == stats.frames_out
    assert all(0 <= value < 5 for value in stats.latencies)
    assert stats.cpu_seconds > 0
