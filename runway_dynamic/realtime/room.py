"""The LiveKit leg: get a session's room credentials, join, yield the avatar's frames.

Runway's READY session carries a one-time ``sessionKey``; a POST to the session's
``/consume`` path with it as the bearer answers the LiveKit room's ``url``, ``token`` and
``roomName`` (the spec names the key's purpose; the path is not one of its operations, so
it is built here next to the session's own GET). The room is joined with LiveKit's own
SDK (``livekit.rtc``): the first remote video track subscribed is the avatar's, and the
same participant's audio track its voice; pictures and sound are handed to the pipeline
as PyAV frames (``rtc.AudioStream`` resamples to 48 kHz mono on LiveKit's side). The room
and the stream factories are parameters, so tests drive this code with a stand-in room
and real ``rtc.VideoFrame``s and ``rtc.AudioFrame``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runway_dynamic._exceptions import APIError, RunwayError, UsageError
from runway_dynamic.realtime.audio import SourceAudio
from runway_dynamic.realtime.pipeline import SourceFrame
from runway_dynamic.realtime.settings import AUDIO_RATE

SESSION_ENDPOINT = "realtime_sessions/{id}"
#: Appended to the session's own URL (see the module docstring).
CONSUME_SUFFIX = "/consume"
#: How long to wait, once in the room, for the avatar to publish its video.
TRACK_TIMEOUT = 30.0
#: Once the video is found: how long to wait for the avatar's audio track, and then for
#: its first sound (an avatar publishes both at once; a silent one costs this at start).
AUDIO_WAIT = 2.0


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


def to_av_audio(frame: Any) -> Any:
    """An ``rtc.AudioFrame`` (interleaved 16-bit samples) as a PyAV frame."""
    import av
    import numpy as np

    samples = np.frombuffer(frame.data, np.int16).reshape(1, -1)
    layout = "mono" if frame.num_channels == 1 else "stereo" if frame.num_channels == 2 else None
    if layout is None:  # more than two channels: keep the first
        samples = np.ascontiguousarray(samples.reshape(-1, frame.num_channels)[:, :1].T)
        layout = "mono"
    out = av.AudioFrame.from_ndarray(samples, format="s16", layout=layout)
    out.sample_rate = frame.sample_rate
    return out


class NoVideoError(RunwayError):
    """The room never offered a video track (the avatar did not join, or left)."""


async def room_frames(
    credentials: RoomCredentials,
    *,
    keep_alpha: bool = False,
    audio: bool = True,
    participant: str | None = None,
    room_factory: Callable[[], Any] | None = None,
    video_stream: Callable[..., Any] | None = None,
    audio_stream: Callable[..., Any] | None = None,
    track_timeout: float = TRACK_TIMEOUT,
    audio_wait: float = AUDIO_WAIT,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[SourceFrame | SourceAudio]:
    """Join the room and yield the avatar's pictures (and, with ``audio``, its sound) until
    it leaves or the room closes.

    ``participant`` picks whose tracks (default: the first remote video track subscribed,
    and the audio track of the same participant). Each frame and each run of sound is
    stamped with the clock when it arrives: the latency figures measure the bridge, not
    the network before it. When the avatar has an audio track, pictures start once its
    first sound has come (up to ``audio_wait`` seconds), so the output knows it has sound.
    """
    from livekit import rtc

    room = room_factory() if room_factory is not None else rtc.Room()
    make_stream = video_stream or rtc.VideoStream.from_track
    make_audio_stream = audio_stream or rtc.AudioStream.from_track
    tracks: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    sounds: list[tuple[Any, Any]] = []
    sound_found = asyncio.Event()
    ended = asyncio.Event()

    def whose(owner: Any) -> bool:
        return participant is None or getattr(owner, "identity", None) == participant

    def offer(track: Any, owner: Any) -> None:
        if not whose(owner):
            return
        if track.kind == rtc.TrackKind.KIND_VIDEO:
            tracks.put_nowait((track, owner))
        elif audio and track.kind == rtc.TrackKind.KIND_AUDIO:
            sounds.append((track, owner))
            sound_found.set()

    def on_subscribed(track: Any, publication: Any, owner: Any) -> None:
        offer(track, owner)

    def on_unsubscribed(track: Any, publication: Any, owner: Any) -> None:
        if current and track is current[0]:
            ended.set()

    def on_disconnected(*_: Any) -> None:
        ended.set()

    current: list[Any] = []
    room.on("track_subscribed", on_subscribed)
    room.on("track_unsubscribed", on_unsubscribed)
    room.on("disconnected", on_disconnected)
    streams: list[Any] = []
    pending: dict[asyncio.Future[Any], str] = {}
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
                if published is not None:
                    offer(published, owner)
        try:
            track, owner = await asyncio.wait_for(tracks.get(), track_timeout)
        except asyncio.TimeoutError:
            raise NoVideoError(f"no avatar video in the room after {track_timeout:g} s") from None
        current.append(track)
        buffer = rtc.VideoBufferType.RGBA if keep_alpha else rtc.VideoBufferType.I420
        streams.append(make_stream(track=track, format=buffer))
        iterators = {"video": streams[0].__aiter__()}
        voice = await _voice(sounds, sound_found, owner, audio_wait) if audio else None
        if voice is not None:
            streams.append(make_audio_stream(track=voice, sample_rate=AUDIO_RATE,
                                             num_channels=1))
            iterators["audio"] = streams[1].__aiter__()
        heard = voice is None
        deadline = clock() + audio_wait

        def pull(kind: str) -> None:
            pending[asyncio.ensure_future(iterators[kind].__anext__())] = kind

        for kind in iterators:
            pull(kind)
        stop = asyncio.ensure_future(ended.wait())
        pending[stop] = "stop"
        while not ended.is_set():
            done, _ = await asyncio.wait(set(pending), return_when=asyncio.FIRST_COMPLETED)
            if stop in done:
                break
            # Sound first: a picture and a sound arriving together keep that order.
            for future in sorted(done, key=lambda f: pending[f] != "audio"):
                kind = pending.pop(future)
                try:
                    event = future.result()
                except StopAsyncIteration:
                    if kind == "video":
                        return
                    heard = True  # the voice ended: pictures need not wait for it
                    continue
                pull(kind)
                if kind == "audio":
                    heard = True
                    yield SourceAudio(to_av_audio(event.frame), clock())
                elif heard or clock() >= deadline:
                    heard = True
                    yield SourceFrame(to_av_frame(event.frame, keep_alpha=keep_alpha), clock())
    finally:
        for future in pending:
            future.cancel()
            with contextlib.suppress(BaseException):
                await future
        for stream in streams:
            with contextlib.suppress(Exception):
                await stream.aclose()
        with contextlib.suppress(Exception):
            await room.disconnect()


async def _voice(sounds: list[tuple[Any, Any]], found: asyncio.Event, owner: Any,
                 wait: float) -> Any:
    """The audio track of the video's participant, waiting up to ``wait`` seconds for it."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        for track, its_owner in sounds:
            if its_owner is owner or getattr(its_owner, "identity", None) == getattr(
                    owner, "identity", None):
                return track
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        found.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(found.wait(), left)


def _safe(exc: BaseException, secret: str) -> str:
    return str(exc).replace(secret, "***") if secret else str(exc)
