"""Small, real media files for task outputs: PNG, WAV and MP4 of a chosen aspect.

Everything is built with the standard library (zlib, wave, struct) so that the sandbox
has no dependency. Video prefers an H.264 MP4 from ``ffmpeg`` when one is on PATH (what
players expect) and otherwise writes a hand-built MP4 whose one track is uncompressed RGB
(``raw `` sample entry): a valid ISO-BMFF file that ffprobe and box parsers read.
Results are cached per (kind, size, duration): a thousand tasks share one encode.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import tempfile
import threading
import wave
import zlib
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from runway_dynamic.boundary import child_environment

#: Output kind → (file extension, Content-Type).
KINDS: dict[str, tuple[str, str]] = {
    "image": ("png", "image/png"),
    "video": ("mp4", "video/mp4"),
    "audio": ("wav", "audio/wav"),
}
MAX_SIDE = 64
SAMPLE_RATE = 8000
VIDEO_FPS = 4
#: The tone an example video carries when asked (the realtime bridge's avatar "voice"):
#: 48 kHz mono, LiveKit's own rate, at a frequency that is easy to find in a spectrum.
TONE_RATE = 48_000
TONE_HZ = 440
_LOCK = threading.Lock()


def size_for_ratio(
    ratio: tuple[int, int] | None, kind: str, max_side: int = MAX_SIDE
) -> tuple[int, int]:
    """A small (width, height) with the aspect of ``ratio``; even sides for video encoders.

    ``1280:720`` → 64×36 (exact 16:9); ratios whose reduced form is too large are rounded.
    """
    if ratio is None:
        ratio = (16, 9) if kind == "video" else (1, 1)
    width, height = ratio
    divisor = math.gcd(width, height) or 1
    a, b = width // divisor, height // divisor
    step = 2 if kind == "video" else 1
    scale = max_side // max(a, b)
    if kind == "video" and (a % 2 or b % 2):  # yuv420p encoders need even sides
        scale = 2 * max(1, scale // 2)
        if max(a, b) * scale > 2 * max_side:
            scale = 0
    if scale >= 1:
        return a * scale, b * scale
    if a >= b:
        w, h = max_side, max(step, round(max_side * b / a / step) * step)
    else:
        w, h = max(step, round(max_side * a / b / step) * step), max_side
    return w, h


def render(kind: str, width: int, height: int, seconds: float = 1.0) -> bytes:
    """The bytes of one output file of ``kind`` (image/video/audio)."""
    if kind == "image":
        return png(width, height)
    if kind == "audio":
        return wav(seconds)
    if kind == "video":
        return mp4(width, height, seconds)
    raise ValueError(f"unknown media kind {kind!r}")


# --------------------------------------------------------------------------- PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=64)
def png(width: int, height: int) -> bytes:
    """An RGB PNG with a diagonal gradient (so it is visibly an image, not a flat colour)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes((x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), 160))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --------------------------------------------------------------------------- WAV


@lru_cache(maxsize=16)
def wav(seconds: float = 1.0, frequency: float = 440.0) -> bytes:
    """A mono 16-bit PCM WAV with a quiet sine tone."""
    frames = int(SAMPLE_RATE * seconds)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE)))
        for i in range(frames)
    )
    buffer = BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples)
    return buffer.getvalue()


# --------------------------------------------------------------------------- MP4


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def mp4_handbuilt(width: int, height: int, seconds: float = 1.0, fps: int = VIDEO_FPS) -> bytes:
    """An MP4 (ISO-BMFF, moov before mdat) with one uncompressed RGB24 video track."""
    count = max(1, round(seconds * fps))
    frames = []
    for index in range(count):
        shade = 60 + (150 * index) // max(1, count - 1)
        row = b"".join(bytes((x * 255 // max(1, width - 1), shade, 255 - shade))
                       for x in range(width))
        frames.append(row * height)
    frame_size = width * height * 3
    duration_ms = count * 1000 // fps

    def moov(chunk_offset: int) -> bytes:
        mvhd = _full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, duration_ms),
                         struct.pack(">IH", 0x10000, 0x100), b"\0" * 10, _MATRIX, b"\0" * 24,
                         struct.pack(">I", 2))
        tkhd = _full_box(b"tkhd", 0, 3, struct.pack(">IIII", 0, 0, 1, 0),
                         struct.pack(">I", duration_ms), b"\0" * 8,
                         struct.pack(">hhhH", 0, 0, 0, 0),
                         _MATRIX, struct.pack(">II", width << 16, height << 16))
        mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, fps, count),
                         struct.pack(">HH", 0x55C4, 0))
        hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", b"\0" * 12,
                         b"SandboxVideo\0")
        vmhd = _full_box(b"vmhd", 0, 1, struct.pack(">HHHH", 0, 0, 0, 0))
        dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1),
                                       _full_box(b"url ", 0, 1)))
        name = b"sandbox raw"
        entry = _box(b"raw ", b"\0" * 6, struct.pack(">H", 1), b"\0" * 16,
                     struct.pack(">HHIII", width, height, 0x480000, 0x480000, 0),
                     struct.pack(">H", 1), bytes([len(name)]) + name.ljust(31, b"\0"),
                     struct.pack(">Hh", 24, -1))
        stbl = _box(
            b"stbl",
            _full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
            _full_box(b"stts", 0, 0, struct.pack(">III", 1, count, 1)),
            _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
            _full_box(b"stsz", 0, 0, struct.pack(">II", frame_size, count)),
            _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        )
        minf = _box(b"minf", vmhd, dinf, stbl)
        return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2mp41")
    head = ftyp + moov(0)
    offset = len(head) + 8  # the mdat header precedes the first frame
    return ftyp + moov(offset) + _box(b"mdat", *frames)


def _mp4_ffmpeg(width: int, height: int, seconds: float, fps: int,
                tone: bool = False) -> bytes | None:
    """An H.264 MP4 from ffmpeg's test source (with ``tone``: and an AAC sine tone as long
    as the picture), or ``None`` when ffmpeg is absent or fails."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="runway-sandbox-") as tmp:
        target = Path(tmp) / "out.mp4"
        sound = (["-f", "lavfi", "-i",
                  f"sine=frequency={TONE_HZ}:sample_rate={TONE_RATE}:duration={seconds}",
                  "-c:a", "aac", "-ac", "1", "-b:a", "64k"] if tone else [])
        for codec in (["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:v", "mpeg4"]):
            command = [binary, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                       f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
                       *sound, *codec, "-movflags", "+faststart", str(target)]
            try:
                subprocess.run(command, check=True, capture_output=True, timeout=30,
                               env=child_environment())
            except (OSError, subprocess.SubprocessError):
                continue
            data = target.read_bytes()
            if data:
                return data
    return None


_MP4_CACHE: dict[tuple[int, int, float, int | None, bool], bytes] = {}


def mp4(width: int, height: int, seconds: float = 1.0, fps: int | None = None,
        tone: bool = False) -> bytes:
    """A small MP4: ffmpeg's H.264 when available, else the hand-built RGB one.

    ``fps`` and ``tone``: the realtime bridge plays this video as a session's avatar, at
    a live-call rate and with a voice (a sine tone; the hand-built fallback has none).
    """
    key = (width, height, seconds, fps, tone)
    with _LOCK:
        cached = _MP4_CACHE.get(key)
        if cached is None:
            cached = (_mp4_ffmpeg(width, height, seconds, fps or VIDEO_FPS * 2, tone)
                      or mp4_handbuilt(width, height, seconds, fps or VIDEO_FPS))
            _MP4_CACHE[key] = cached
        return cached


def mp4_boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """Top-level boxes of an ISO-BMFF byte range as (type, offset, size); raises if malformed."""
    end = len(data) if end is None else end
    boxes = []
    position = start
    while position < end:
        if end - position < 8:
            raise ValueError(f"truncated box header at {position}")
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        if size == 1:
            size = struct.unpack(">Q", data[position + 8:position + 16])[0]
        elif size == 0:
            size = end - position
        if size < 8 or position + size > end:
            raise ValueError(f"bad box size {size} at {position}")
        boxes.append((kind.decode("latin-1"), position, size))
        position += size
    return boxes


def mp4_size(data: bytes) -> tuple[int, int]:
    """(width, height) of the first video track, read from its ``tkhd`` box."""
    def find(kind: str, start: int, end: int, header: int = 8) -> tuple[int, int]:
        for name, offset, size in mp4_boxes(data, start, end):
            if name == kind:
                return offset + header, offset + size
        raise ValueError(f"no {kind} box")

    moov = find("moov", 0, len(data))
    trak = find("trak", *moov)
    start, _ = find("tkhd", *trak)
    version = data[start]
    body = start + 4 + (32 if version == 1 else 20) + 8 + 8 + 36
    width, height = struct.unpack(">II", data[body:body + 8])
    return width >> 16, height >> 16
