"""Just enough ISO-BMFF reading to relay fragmented MP4: box boundaries and key frames.

The muxer (PyAV's) writes the stream; the relay only has to know where the header ends,
where each fragment (``moof`` + ``mdat``) ends, and whether a fragment starts with a sync
sample, so a client that joins late starts on a key frame. Nothing here touches codec data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

#: ``sample_is_non_sync_sample`` in ISO/IEC 14496-12 sample flags.
NON_SYNC = 0x0001_0000


class BoxSplitter:
    """Feed bytes in any pieces; get whole top-level boxes ``(type, bytes)`` out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[str, bytes]]:
        self._buffer += data
        while len(self._buffer) >= 8:
            size, kind = struct.unpack(">I4s", self._buffer[:8])
            if size == 1:
                if len(self._buffer) < 16:
                    return
                size = struct.unpack(">Q", self._buffer[8:16])[0]
            if size < 8:
                raise ValueError(f"bad MP4 box size {size}")
            if len(self._buffer) < size:
                return
            box = bytes(self._buffer[:size])
            del self._buffer[:size]
            yield kind.decode("latin-1"), box


def children(data: bytes, start: int = 8) -> Iterator[tuple[str, int, int]]:
    """``(type, offset, size)`` of the boxes inside ``data[start:]``."""
    position = start
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        if size < 8 or position + size > len(data):
            return
        yield kind.decode("latin-1"), position, size
        position += size


def starts_with_sync_sample(moof: bytes, track: int | None = None) -> bool:
    """Whether a ``moof``'s first sample (of track ID ``track``, when given) is a sync (key)
    frame; a fragment without a sample of ``track`` does not start with one.

    The first sample's flags are ``trun``'s first-sample flags, else its per-sample flags,
    else ``tfhd``'s defaults; without any, a sample counts as sync.
    """
    for kind, offset, size in children(moof):
        if kind != "traf":
            continue
        traf = moof[offset:offset + size]
        default: int | None = None
        for sub, at, _ in children(traf):
            flags = int.from_bytes(traf[at + 9:at + 12], "big")
            body = at + 12
            if sub == "tfhd":
                if track is not None and struct.unpack(">I", traf[body:body + 4])[0] != track:
                    break  # another track's samples
                body += 4  # track_ID
                body += 8 if flags & 0x01 else 0
                body += 4 if flags & 0x02 else 0
                body += 4 if flags & 0x08 else 0
                body += 4 if flags & 0x10 else 0
                if flags & 0x20:
                    default = struct.unpack(">I", traf[body:body + 4])[0]
            elif sub == "trun":
                body += 4  # sample_count
                body += 4 if flags & 0x01 else 0
                if flags & 0x04:
                    first = struct.unpack(">I", traf[body:body + 4])[0]
                    return not first & NON_SYNC
                if flags & 0x400:
                    body += 4 if flags & 0x100 else 0
                    body += 4 if flags & 0x200 else 0
                    first = struct.unpack(">I", traf[body:body + 4])[0]
                    return not first & NON_SYNC
                return default is None or not default & NON_SYNC
    return track is None
