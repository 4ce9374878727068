"""What the bridge makes of a live avatar track: size, resize mode, crop, codec, rate.

Pure data and arithmetic (no PyAV, no LiveKit): the CLI checks a user's options here and
fails with exit 2 before anything is sent, and the pipeline asks the same functions for
its geometry and frame pacing, so the rules live once.

>>> settings = BridgeSettings.from_preset("watch", crop_top=12)
>>> settings.output_size(720, 1280)
(256, 256)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from runway_dynamic._exceptions import UsageError

RESIZE_MODES = ("cover", "fit", "stretch")
#: Codec name → what the encoder library calls it and the pixel format it encodes.
CODECS: dict[str, tuple[str, str]] = {
    "h264": ("libx264", "yuv420p"),
    "h265": ("libx265", "yuv420p"),
    "jpeg": ("mjpeg", "yuvj420p"),
    "png": ("png", "rgba"),
}
#: Codecs streamed as fragmented MP4; the others are streamed as one image per frame.
VIDEO_CODECS = frozenset({"h264", "h265"})
IMAGE_CODECS = frozenset({"jpeg", "png"})
#: Output file suffixes each codec can be written into (``-o``).
FILE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "h264": (".mp4", ".mov"),
    "h265": (".mp4", ".mov"),
    "jpeg": (".mov", ".mp4"),
    "png": (".mov",),
}

#: Named starting points; options given beside a preset override its values.
PRESETS: dict[str, dict[str, Any]] = {
    # A watch: a small square surface, few frames, a low bitrate (160-300 kbps works).
    "watch": {"width": 256, "height": 256, "resize": "cover", "fps": 8.0, "codec": "h264",
              "bitrate": 200_000},
}

DEFAULT_FPS = 15.0
#: JPEG quality when none is given: small screens look fine at 45-60.
DEFAULT_JPEG_QUALITY = 55
#: Seconds between key frames of H.264/H.265 (a client joining waits at most this long).
KEYFRAME_SECONDS = 1.0
MAX_SIDE = 4096
MAX_FPS = 60.0
MIN_BITRATE = 16_000
MAX_BITRATE = 50_000_000

#: The sound the bridge relays: AAC (what MP4/MOV players and MSE all take), mono at
#: LiveKit's own rate (an avatar speaks in one voice; no resampling on the live path).
AUDIO_CODEC = "aac"
AUDIO_RATE = 48_000
AUDIO_LAYOUT = "mono"
DEFAULT_AUDIO_BITRATE = 64_000
MIN_AUDIO_BITRATE = 16_000
MAX_AUDIO_BITRATE = 320_000


@dataclass(frozen=True)
class Geometry:
    """How one source size becomes the output size, in three steps ffmpeg's filters do.

    ``crop`` (x, y, w, h) is applied first (``crop_top`` and, for ``cover``, the centred
    cut), then ``scale`` (w, h), then ``pad`` (W, H, x, y) for ``fit`` (``None`` when the
    scaled image already fills the output).
    """

    crop: tuple[int, int, int, int]
    scale: tuple[int, int]
    pad: tuple[int, int, int, int] | None

    @property
    def size(self) -> tuple[int, int]:
        return (self.pad[0], self.pad[1]) if self.pad else self.scale


@dataclass(frozen=True)
class BridgeSettings:
    """The output the bridge makes. ``width`` alone keeps the source's aspect (after the
    crop); ``width`` and ``height`` give a fixed surface that ``resize`` fills."""

    width: int | None = None
    height: int | None = None
    resize: str = "cover"
    crop_top: int = 0
    codec: str = "h264"
    fps: float = DEFAULT_FPS
    #: Bits per second for H.264/H.265 (``None``: the encoder's constant-quality default).
    bitrate: int | None = None
    #: JPEG quality 1-100 (``None``: :data:`DEFAULT_JPEG_QUALITY`).
    quality: int | None = None
    keyframe_seconds: float = field(default=KEYFRAME_SECONDS)
    #: Relay the avatar's sound where the output can carry it (fMP4, a file); ``False``
    #: is ``--no-audio``.
    audio: bool = True
    #: AAC bits per second.
    audio_bitrate: int = DEFAULT_AUDIO_BITRATE

    @classmethod
    def from_preset(cls, name: str | None, **overrides: Any) -> BridgeSettings:
        """A preset's values with ``overrides`` (``None`` values are "not given")."""
        base: dict[str, Any] = {}
        if name is not None:
            if name not in PRESETS:
                raise UsageError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
            base = dict(PRESETS[name])
        given = {k: v for k, v in overrides.items() if v is not None}
        if given.get("codec") and given["codec"] != base.get("codec") and "bitrate" in base:
            base.pop("bitrate")  # a preset's bitrate is for its own codec
        settings = cls(**{**base, **given})
        settings.check()
        return settings

    def check(self) -> None:
        """Raise one :class:`UsageError` naming every bad value (nothing is sent)."""
        problems = list(self.problems())
        if problems:
            raise UsageError("; ".join(problems))

    def problems(self) -> list[str]:
        found = []
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and not 2 <= value <= MAX_SIDE:
                found.append(f"--{name} must be 2..{MAX_SIDE} pixels, got {value}")
        if self.height is not None and self.width is None:
            found.append("--height needs --width (width alone keeps the aspect)")
        if self.resize not in RESIZE_MODES:
            found.append(f"--resize must be one of {', '.join(RESIZE_MODES)}, "
                         f"got {self.resize!r}")
        if self.crop_top < 0:
            found.append(f"--crop-top must not be negative, got {self.crop_top}")
        if self.codec not in CODECS:
            found.append(f"--codec must be one of {', '.join(CODECS)}, got {self.codec!r}")
        if not 0 < self.fps <= MAX_FPS:
            found.append(f"--fps must be above 0 and at most {MAX_FPS:g}, got {self.fps:g}")
        if self.bitrate is not None:
            if self.codec not in VIDEO_CODECS:
                found.append(f"--bitrate applies to h264 and h265, not {self.codec}")
            elif not MIN_BITRATE <= self.bitrate <= MAX_BITRATE:
                found.append(f"--bitrate must be {MIN_BITRATE // 1000}k..{MAX_BITRATE // 1000}k "
                             f"bits per second, got {self.bitrate}")
        if self.quality is not None:
            if self.codec != "jpeg":
                found.append(f"--quality applies to jpeg, not {self.codec}")
            elif not 1 <= self.quality <= 100:
                found.append(f"--quality must be 1..100, got {self.quality}")
        if not MIN_AUDIO_BITRATE <= self.audio_bitrate <= MAX_AUDIO_BITRATE:
            found.append(f"--audio-bitrate must be {MIN_AUDIO_BITRATE // 1000}k.."
                         f"{MAX_AUDIO_BITRATE // 1000}k bits per second, "
                         f"got {self.audio_bitrate}")
        if self.keyframe_seconds <= 0:
            found.append("the key frame interval must be above 0 seconds")
        return found

    # ---- derived values

    @property
    def is_video(self) -> bool:
        """Streamed as fragmented MP4 (else one image per frame)."""
        return self.codec in VIDEO_CODECS

    @property
    def streams_audio(self) -> bool:
        """The live stream carries sound (fMP4 does; one image per frame cannot)."""
        return self.audio and self.is_video

    @property
    def encoder(self) -> str:
        return CODECS[self.codec][0]

    @property
    def pixel_format(self) -> str:
        return CODECS[self.codec][1]

    @property
    def jpeg_qscale(self) -> int:
        """JPEG quality 1-100 as the encoder's quantiser 31-2 (lower is better)."""
        quality = DEFAULT_JPEG_QUALITY if self.quality is None else self.quality
        return round(2 + (100 - quality) * 29 / 99)

    @property
    def gop_size(self) -> int:
        return max(1, round(self.fps * self.keyframe_seconds))

    def output_size(self, source_width: int, source_height: int) -> tuple[int, int]:
        return self.geometry(source_width, source_height).size

    def geometry(self, source_width: int, source_height: int) -> Geometry:
        """The crop, scale and pad that turn a source frame into an output frame."""
        if source_width < 1 or source_height < 1:
            raise ValueError(f"bad source size {source_width}x{source_height}")
        top = min(self.crop_top, source_height - 1)
        w, h = source_width, source_height - top
        even = self.codec in ("h264", "h265", "jpeg")  # 4:2:0 chroma needs even sides
        if self.width is None:
            return Geometry((0, top, w, h), _fit_even((w, h), even), None)
        if self.height is None:
            out = _fit_even((self.width, max(1, round(self.width * h / w))), even)
            return Geometry((0, top, w, h), out, None)
        out_w, out_h = _fit_even((self.width, self.height), even)
        if self.resize == "stretch":
            return Geometry((0, top, w, h), (out_w, out_h), None)
        if self.resize == "cover":
            # The largest centred cut with the output's aspect, then a plain scale.
            if w * out_h > h * out_w:  # source wider than the output: cut the sides
                cut_w = max(1, round(h * out_w / out_h))
                return Geometry(((w - cut_w) // 2, top, cut_w, h), (out_w, out_h), None)
            cut_h = max(1, round(w * out_h / out_w))
            return Geometry((0, top + (h - cut_h) // 2, w, cut_h), (out_w, out_h), None)
        # fit: scale inside the output, then pad the rest (bars centred).
        if w * out_h > h * out_w:
            inner = (out_w, max(1, round(out_w * h / w)))
        else:
            inner = (max(1, round(out_h * w / h)), out_h)
        inner = _fit_even(inner, even, ceiling=(out_w, out_h))
        pad = (out_w, out_h, (out_w - inner[0]) // 2, (out_h - inner[1]) // 2)
        return Geometry((0, top, w, h), inner, None if inner == (out_w, out_h) else pad)

    def describe(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> BridgeSettings:
        updated = replace(self, **changes)
        updated.check()
        return updated


def _fit_even(size: tuple[int, int], even: bool,
              ceiling: tuple[int, int] | None = None) -> tuple[int, int]:
    """Round sides to even numbers (at least 2) when the codec needs it."""
    if not even:
        return max(1, size[0]), max(1, size[1])
    out = []
    for index, side in enumerate(size):
        value = max(2, round(side / 2) * 2)
        if ceiling is not None:
            value = min(value, ceiling[index] - ceiling[index] % 2 or 2)
        out.append(value)
    return out[0], out[1]


class FramePacer:
    """Which source frames become output frames at ``fps``, and their output index.

    A frame is kept when it falls in a later output slot than the last kept one, so a
    fast source is thinned and a slow one is passed through as it comes (never
    duplicated: a live viewer wants the newest frame, not a copy of an old one). Slots
    are counted from the first frame's time.
    """

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._start: float | None = None
        self._last = -1

    def admit(self, time: float) -> int | None:
        """The output index for a frame taken at ``time`` (seconds), or ``None`` to drop it."""
        if self._start is None:
            self._start = time
        slot = int((time - self._start) * self.fps + 1e-6)
        if slot <= self._last:
            return None
        self._last = slot
        return slot
