"""The realtime avatar bridge: a session's LiveKit video, re-encoded for small clients.

Modules, in the order frames move: :mod:`.room` (LiveKit) or :mod:`.sources` (a file, the
sandbox's example video) → :mod:`.pipeline` (crop, resize, encode with PyAV; the sound
through :mod:`.audio`) → a file or :mod:`.relay` (HTTP). :mod:`.settings` holds the
output rules and presets (no PyAV); :mod:`.bridge` ties them to a session. Names load on
first use, so importing this package costs nothing until the optional libraries
(``runway-dynamic[realtime]``) are needed.

>>> from runway_dynamic.realtime import BridgeSettings, bridge
>>> await bridge(client, session_id, BridgeSettings.from_preset("watch"), output="w.mp4")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "BridgeSettings": "settings", "PRESETS": "settings", "FramePacer": "settings",
    "bridge": "bridge", "BridgeResult": "bridge",
    "run_pipeline": "pipeline", "SourceFrame": "pipeline", "FileSink": "pipeline",
    "SourceAudio": "audio", "AudioTrack": "audio",
    "ChunkSink": "pipeline", "PipelineStats": "pipeline",
    "file_frames": "sources", "sandbox_frames": "sources",
    "room_frames": "room", "consume": "room", "RoomCredentials": "room",
    "Relay": "relay",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
