"""Shared pieces of the realtime bridge tests: a synthetic test card, sources, decoding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from io import BytesIO
from pathlib import Path

import av
import numpy as np

from runway_dynamic.realtime.pipeline import Chunk, SourceFrame

#: Rows of white at the top of the card: the "border" --crop-top removes.
BORDER = 20


def make_card(width: int = 320, height: int = 180, alpha: int = 255) -> np.ndarray:
    """RGBA: red rises left → right (0 → 255), green top → bottom, a white top border.

    The red of an output column says which source column it came from; the green of a
    row, which source row: crop lines and pad bars are read off the pixels.
    """
    xs = np.linspace(0, 255, width).round().astype(np.uint8)
    ys = np.linspace(0, 255, height).round().astype(np.uint8)
    card = np.zeros((height, width, 4), np.uint8)
    card[..., 0] = xs[None, :]
    card[..., 1] = ys[:, None]
    card[..., 2] = 128
    card[..., 3] = alpha
    card[:BORDER, :, :3] = 255
    return card


def red_at(x: int, width: int = 320) -> float:
    return x * 255 / (width - 1)


def green_at(y: int, height: int = 180) -> float:
    return y * 255 / (height - 1)


async def card_frames(card: np.ndarray, count: int = 8, fps: float = 8.0,
                      fmt: str = "rgba") -> AsyncIterator[SourceFrame]:
    image = card if fmt == "rgba" else card[..., :3]
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        yield SourceFrame(frame, index / fps)


def as_rgba(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as RGBA pixels (opaque unless the frame has alpha).

    YUV frames go through rgb24: PyAV 18's direct yuv420p → rgba conversion sometimes
    leaves stray bytes at widths that are not a multiple of 16 (seen at 100 px).
    """
    if "a" in frame.format.name:
        return frame.to_ndarray(format="rgba")
    rgb = frame.to_ndarray(format="rgb24")
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def decode_file(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [as_rgba(f) for f in container.decode(video=0)]


def decode_chunks(chunks: Sequence[Chunk]) -> list[np.ndarray]:
    """Decode what a client received: one MP4 stream, or images one by one."""
    if chunks and chunks[0].kind == "init":
        data = b"".join(c.data for c in chunks)
        with av.open(BytesIO(data)) as container:
            return [as_rgba(f) for f in container.decode(video=0)]
    out = []
    for chunk in chunks:
        with av.open(BytesIO(chunk.data)) as container:
            out += [as_rgba(f) for f in container.decode(video=0)]
    return out


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)
