"""An optional ``MARKETING.md`` brief: platform, ratio, length and tone defaults.

People keep a short marketing brief in their project; when one is in the working
directory, ``short-video`` takes its defaults from it (a flag always wins). The format is
loose Markdown: ``Platform: TikTok`` lines, bullets (``- **Length**: 30s``) or a heading
followed by its value. Questions are asked only with ``--interactive``, on stderr.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

BRIEF_NAME = "MARKETING.md"
#: Size we read at most: a brief is a page, not a book.
MAX_BRIEF_BYTES = 256 * 1024

#: Where a video is posted → the frame shape it wants (the model's closest ratio is used).
PLATFORM_SHAPES: dict[str, str] = {
    "tiktok": "9:16", "reels": "9:16", "instagram reels": "9:16", "shorts": "9:16",
    "youtube shorts": "9:16", "stories": "9:16", "snapchat": "9:16",
    "youtube": "16:9", "web": "16:9", "website": "16:9", "landing page": "16:9",
    "linkedin": "1:1", "instagram": "4:5", "instagram feed": "4:5", "facebook": "1:1",
    "x": "16:9", "twitter": "16:9",
}
_KEYS = {
    "platform": "platform", "channel": "platform", "where": "platform",
    "ratio": "ratio", "aspect": "ratio", "aspect ratio": "ratio", "format": "ratio",
    "length": "length", "duration": "length", "runtime": "length",
    "tone": "tone", "style": "tone", "voice": "tone", "look": "tone",
    "audience": "audience", "product": "product", "goal": "goal", "call to action": "cta",
    "cta": "cta",
}
_LINE = re.compile(
    r"^\s*(?:[-*+]\s*)?(?:\*\*|__)?([A-Za-z][A-Za-z _()\-]{0,40}?)(?:\*\*|__)?\s*:\s*(.+)$")
#: A unit in a key (``Length seconds: 30``, ``Duration (min): 1``): said of the bare value.
_KEY_UNIT = re.compile(r"\s*\(?\b(?:in\s+)?(seconds|second|secs|sec|s|minutes|minute|mins|min)"
                       r"\b\)?\s*$")
_HEADING = re.compile(r"^\s*#{1,6}\s*(.+?)\s*#*\s*$")


@dataclass
class Brief:
    """What the brief says (raw values) and the defaults derived from it."""

    values: dict[str, str] = field(default_factory=dict)
    path: str | None = None

    @property
    def platform(self) -> str | None:
        return self.values.get("platform")

    def shape(self) -> str | None:
        """The frame shape: an explicit ratio in the brief, else the platform's shape."""
        ratio = self.values.get("ratio")
        if ratio:
            match = re.search(r"(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)", ratio)
            if match:
                return f"{match.group(1)}:{match.group(2)}"
        platform = re.sub(r"[-_]+", " ", self.platform or "").strip().lower()
        if platform in PLATFORM_SHAPES:
            return PLATFORM_SHAPES[platform]
        for name in sorted(PLATFORM_SHAPES, key=len, reverse=True):
            if re.search(rf"\b{re.escape(name)}\b", platform):
                return PLATFORM_SHAPES[name]
        return None

    def seconds(self) -> float | None:
        return parse_seconds(self.values.get("length"))

    def tone(self) -> str | None:
        return self.values.get("tone")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.values)
        out["shape"] = self.shape()
        out["seconds"] = self.seconds()
        return out


def parse_seconds(text: str | None) -> float | None:
    """``30s``, ``30 seconds``, ``0:45``, ``1 minute``, ``1.5 min`` → seconds."""
    if not text:
        return None
    value = text.strip().lower()
    clock = re.search(r"\b(\d+):(\d{2})\b", value)
    if clock:
        return float(int(clock.group(1)) * 60 + int(clock.group(2)))
    match = re.search(r"(\d+(?:\.\d+)?)\s*(m|min|mins|minute|minutes|s|sec|secs|second|seconds)?\b",
                      value)
    if not match:
        return None
    number = float(match.group(1))
    unit = match.group(2) or "s"
    seconds = number * 60 if unit.startswith("m") else number
    return seconds if seconds > 0 else None


def parse_brief(text: str, path: str | None = None) -> Brief:
    """Read ``key: value`` lines and ``## Key`` headings followed by a value."""
    values: dict[str, str] = {}
    pending: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING.match(line)
        if heading:
            pending = _KEYS.get(heading.group(1).strip().lower().rstrip(":"))
            continue
        match = _LINE.match(line)
        if match:
            key, value = _key_and_value(match.group(1), match.group(2))
            if key is None and pending and pending not in values:
                # "## Product" then "One-liner: a copper kettle": the label is not the text
                values[pending] = _clean(value)
            elif key and key not in values:
                values[key] = _clean(value)
            pending = None
            continue
        if pending and pending not in values:
            values[pending] = _clean(line.lstrip("-*+ "))
            pending = None
    return Brief(values, path)


def _key_and_value(label: str, value: str) -> tuple[str | None, str]:
    """The brief key a label names (``youtube-shorts``-style hyphens and a trailing unit
    allowed), and the value with the key's unit added when the value has none."""
    name = re.sub(r"[-_]+", " ", label).strip().lower()
    unit = _KEY_UNIT.search(name)
    if unit and name[: unit.start()].strip() in _KEYS:
        key = _KEYS[name[: unit.start()].strip()]
        if key == "length" and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
            value = f"{value.strip()} {unit.group(1)}"
        return key, value
    return _KEYS.get(name), value


def _clean(text: str) -> str:
    return re.sub(r"[*_`]", "", text).strip()


def find_brief(directory: Path) -> Brief | None:
    """The brief in ``directory`` (read up to :data:`MAX_BRIEF_BYTES`), if there is one."""
    path = directory / BRIEF_NAME
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BRIEF_BYTES)
    except OSError:
        return None
    return parse_brief(data.decode("utf-8", errors="replace"), str(path))


def ask_missing(brief: Brief | None, *, ask: Callable[[str], str] | None = None,
                stream: TextIO | None = None) -> Brief:
    """With ``--interactive``: ask for what the brief leaves open (questions on stderr)."""
    out = stream or sys.stderr
    reader = ask or _stdin_reader(out)
    brief = brief or Brief()
    questions = (("platform", "Where will this video be posted (e.g. TikTok, YouTube)?"),
                 ("length", "How long should it be (e.g. 20s)?"),
                 ("tone", "What tone or look (e.g. warm, playful, cinematic)?"))
    for key, question in questions:
        if key not in brief.values:
            answer = reader(question).strip()
            if answer:
                brief.values[key] = answer
    return brief


def _stdin_reader(out: TextIO) -> Callable[[str], str]:
    def read(question: str) -> str:
        out.write(question + " ")
        out.flush()
        line = sys.stdin.readline()
        return line.rstrip("\n")

    return read
