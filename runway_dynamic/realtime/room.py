"""The LiveKit leg: get a session's room credentials, join, yield the avatar's frames.

Runway's READY session carries a one-time ``sessionKey``; a POST to the session's
``/consume`` path with it as the bearer answers the LiveKit room's ``url``, ``token`` and
``roomName`` (the spec names the key's purpose; the path is not one of its operations, so
it is built here next to the session's own GET). The room is joined with LiveKit's own
SDK (``livekit.rtc``): the first remote video track subscribed is the avatar's; its
frames are handed to the pipeline as PyAV frames. The room and the stream factories are
parameters, so tests drive this code with a stand-in room and real ``rtc.VideoFrame``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runway_dynamic._exceptions import APIError, RunwayError, UsageError
from runway_dynamic.realtime.pipeline import SourceFrame

SESSION_ENDPOINT = "realtime_sessions/{id}"
#: Appended to the session's own URL (see the module docstring).
CONSUME_SUFFIX = "/consume"
#: How long to wait, once in the room, for the avatar to publish its video.
TRACK_TIMEOUT = 30.0


@dataclass(frozen=True)
class RoomCredentials:
    """Where and how to join a session's LiveKit room (``token`` is a secret)."""

    url: str
    token: str
    room_name: str | None = None

    def __repr__(self) -> str:
        return f"RoomCredentials(url={self.url!r}, room_name={self.room_name!r}, token=***)"

    @classmethod
    def from_json(cls, data: Any) -> RoomCredentials:
        if not isinstance(data, Mapping) or not data.get("url") or not data.get("token"):
            keys = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise APIError(f"the session's consume answer has no LiveKit url and token "
                           f"(got {keys})")
        name = data.get("roomName")
        return cls(str(data["url"]), str(data["token"]), str(name) if name else None)


async def consume(client: Any, session: Mapping[str, Any]) -> RoomCredentials:
    """Trade a READY session's ``sessionKey`` for its room credentials (once: the key is
    single-use, so a lost answer is not retried)."""
    import httpx

    from runway_dynamic._http import prepare_request
    from runway_dynamic._net import guard_hooks

    key = session.get("sessionKey")
    if not isinstance(key, str) or not key:
        raise APIError(f"session {session.get('id')} is {session.get('status')} but has no "
                       "sessionKey to join its room with")
    operation = client.spec.catalog.operation(SESSION_ENDPOINT, "GET")
    if operation is None:
        raise UsageError(f"this spec has no GET {SESSION_ENDPOINT}")
    prepared = prepare_request(operation, base_url=client.base_url, api_key=key,
                               path_params={"id": session["id"]})
    # The client's own boundary: proxies only where it trusts them, and under a sealed
    # sandbox the guard refuses anything that is not loopback.
    core = client._core
    async with httpx.AsyncClient(timeout=30.0, trust_env=core.trust_env,
                                 event_hooks=guard_hooks(core.guard, asynchronous=True)) as http:
        try:
            response = await http.post(prepared.url + CONSUME_SUFFIX,
                                       headers=dict(prepared.headers))
        except httpx.HTTPError as exc:
            raise APIError(f"could not reach the session's consume endpoint "
                           f"({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise APIError(f"joining session {session['id']} was refused "
                       f"(HTTP {response.status_code}); a session key works once")
    return RoomCredentials.from_json(response.json())


def to_av_frame(frame: Any, *, keep_alpha: bool) -> Any:
    """An ``rtc.VideoFrame`` as a PyAV frame: I420 planes as they are, or RGBA when the
    output keeps alpha (PNG). LiveKit converts between its own buffer types."""
    import av
    import numpy as np
    from livekit import rtc

    if keep_alpha or frame.width % 2 or frame.height % 2:
        rgba = frame if frame.type == rtc.VideoBufferType.RGBA else frame.convert(
            rtc.VideoBufferType.RGBA)
        array = np.frombuffer(rgba.data, np.uint8).reshape(rgba.height, rgba.width, 4)
        return av.VideoFrame.from_ndarray(array, format="rgba")
    i420 = frame if frame.type == rtc.VideoBufferType.I420 else frame.convert(
        rtc.VideoBufferType.I420)
    planes = np.frombuffer(i420.data, np.uint8)[: i420.width * i420.height * 3 // 2]
    return av.VideoFrame.from_ndarray(planes.reshape(i420.height * 3 // 2, i420.width),
                                      format="yuv420p")


class NoVideoError(RunwayError):
    """The room never offered a video track (the avatar did not join, or left)."""


async def room_frames(
    credentials: RoomCredentials,
    *,
    keep_alpha: bool = False,
    participant: str | None = None,
    room_factory: Callable[[], Any] | None = None,
    video_stream: Callable[..., Any] | None = None,
    track_timeout: float = TRACK_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[SourceFrame]:
    """Join the room and yield the avatar's video frames until it leaves or the room closes.

    ``participant`` picks whose track (default: the first remote video track subscribed).
    Each frame is stamped with the clock when it arrives: the latency figures measure the
    bridge, not the network before it.
    """
    from livekit import rtc

    room = room_factory() if room_factory is not None else rtc.Room()
    make_stream = video_stream or rtc.VideoStream.from_track
    tracks: asyncio.Queue[Any] = asyncio.Queue()
    ended = asyncio.Event()

    def wanted(track: Any, owner: Any) -> bool:
        return (track.kind == rtc.TrackKind.KIND_VIDEO
                and (participant is None or getattr(owner, "identity", None) == participant))

    def on_subscribed(track: Any, publication: Any, owner: Any) -> None:
        if wanted(track, owner):
            tracks.put_nowait(track)

    def on_unsubscribed(track: Any, publication: Any, owner: Any) -> None:
        if current and track is current[0]:
            ended.set()

    def on_disconnected(*_: Any) -> None:
        ended.set()

    current: list[Any] = []
    room.on("track_subscribed", on_subscribed)
    room.on("track_unsubscribed", on_unsubscribed)
    room.on("disconnected", on_disconnected)
    stream: Any = None
    try:
        try:
            await room.connect(credentials.url, credentials.token,
                               rtc.RoomOptions(auto_subscribe=True))
        except Exception as exc:  # the SDK raises its own ConnectError (and others)
            raise APIError(f"could not join the LiveKit room ({type(exc).__name__}: "
                           f"{_safe(exc, credentials.token)})") from None
        for owner in list(room.remote_participants.values()):  # published before we joined
            for publication in list(owner.track_publications.values()):
                published = getattr(publication, "track", None)
                if published is not None and wanted(published, owner):
                    tracks.put_nowait(published)
        try:
            track = await asyncio.wait_for(tracks.get(), track_timeout)
        except asyncio.TimeoutError:
            raise NoVideoError(f"no avatar video in the room after {track_timeout:g} s") from None
        current.append(track)
        buffer = rtc.VideoBufferType.RGBA if keep_alpha else rtc.VideoBufferType.I420
        stream = make_stream(track=track, format=buffer)
        iterator = stream.__aiter__()
        while not ended.is_set():
            next_event = asyncio.ensure_future(iterator.__anext__())
            stop = asyncio.ensure_future(ended.wait())
            done, _ = await asyncio.wait({next_event, stop},
                                         return_when=asyncio.FIRST_COMPLETED)
            if next_event not in done:
                next_event.cancel()
                with contextlib.suppress(BaseException):
                    await next_event
                break
            stop.cancel()
            try:
                event = next_event.result()
            except StopAsyncIteration:
                break
            yield SourceFrame(to_av_frame(event.frame, keep_alpha=keep_alpha), clock())
    finally:
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()
        with contextlib.suppress(Exception):
            await room.disconnect()


def _safe(exc: BaseException, secret: str) -> str:
    return str(exc).replace(secret, "***") if secret else str(exc)
