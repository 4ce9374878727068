"""The LiveKit leg, against the SDK's public API with a stand-in room.

No LiveKit server can run here, so ``rtc.Room`` is replaced by a double that speaks its
public surface (``on``, ``connect``, ``disconnect``, ``remote_participants``, the
``track_subscribed``/``track_unsubscribed``/``disconnected`` events). The frames are real
``rtc.VideoFrame``s, converted by the SDK's own code, and the avatar's voice real
``rtc.AudioFrame``s (a 440 Hz tone, 10 ms at a time, as ``rtc.AudioStream`` hands them
out). The first tests check that the double matches the installed SDK, so a change in
LiveKit's API fails here.
What is not exercised: a real WebRTC connection, a server's tokens, network jitter.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from typing import Any

import numpy as np
import pytest
from livekit import rtc
from realtime_support import decode_chunks, run

from runway_dynamic._exceptions import APIError
from runway_dynamic.realtime.pipeline import ChunkSink, FileSink, run_pipeline
from runway_dynamic.realtime.room import (
    NoVideoError,
    RoomCredentials,
    consume,
    room_frames,
    to_av_audio,
    to_av_frame,
)
from runway_dynamic.realtime.settings import BridgeSettings

CREDENTIALS = RoomCredentials("wss://livekit.invalid", "jwt-secret-token", "room-1")


def i420_frame(width: int = 64, height: int = 48, luma: int = 180) -> rtc.VideoFrame:
    y = np.full((height, width), luma, np.uint8)
    uv = np.full((height // 2) * (width // 2), 128, np.uint8)
    data = np.concatenate([y.ravel(), uv, uv]).tobytes()
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.I420, data)


class FakeTrack:
    def __init__(self, kind: int, sid: str) -> None:
        self.kind = kind
        self.sid = sid


class FakePublication:
    def __init__(self, track: FakeTrack) -> None:
        self.track = track
        self.sid = track.sid


class FakeParticipant:
    def __init__(self, identity: str, tracks: tuple[FakeTrack, ...] = ()) -> None:
        self.identity = identity
        self.track_publications = {t.sid: FakePublication(t) for t in tracks}


class FakeRoom:
    """``rtc.Room``'s public surface, as far as the bridge uses it."""

    def __init__(self, script: list[tuple[str, Any]] | None = None,
                 present: tuple[FakeParticipant, ...] = (),
                 fail: Exception | None = None) -> None:
        self.handlers: dict[str, list[Any]] = {}
        self.script = script or []
        self.remote_participants = {p.identity: p for p in present}
        self.fail = fail
        self.connected_with: tuple[str, str, Any] | None = None
        self.disconnected = False

    def on(self, event: str, callback: Any = None) -> Any:
        self.handlers.setdefault(event, []).append(callback)
        return callback

    def emit(self, event: str, *args: Any) -> None:
        for handler in self.handlers.get(event, []):
            handler(*args)

    async def connect(self, url: str, token: str, options: Any = None) -> None:
        if self.fail is not None:
            raise self.fail
        self.connected_with = (url, token, options)
        for event, args in self.script:
            asyncio.get_running_loop().call_soon(self.emit, event, *args)

    async def disconnect(self, *, reason: Any = None) -> None:
        self.disconnected = True


class FakeStream:
    """What ``rtc.VideoStream.from_track`` returns: async frames, then ``aclose``."""

    made: typing.ClassVar[list[FakeStream]] = []

    def __init__(self, track: Any, format: Any, frames: int = 10,
                 after: Any = None) -> None:
        self.track, self.format, self.frames, self.after = track, format, frames, after
        self.closed = False
        FakeStream.made.append(self)

    def __aiter__(self) -> FakeStream:
        self.sent = 0
        return self

    async def __anext__(self) -> rtc.VideoFrameEvent:
        if self.sent == self.frames:
            if self.after is not None:
                self.after()
                self.after = None
            await asyncio.sleep(3600)  # a live track: no more frames, no end either
        self.sent += 1
        await asyncio.sleep(1 / 30)
        frame = i420_frame()
        if self.format == rtc.VideoBufferType.RGBA:
            frame = frame.convert(rtc.VideoBufferType.RGBA)
        return rtc.VideoFrameEvent(frame=frame, timestamp_us=self.sent * 33_333, rotation=0)

    async def aclose(self) -> None:
        self.closed = True


TONE_HZ = 440


class FakeAudioStream:
    """What ``rtc.AudioStream.from_track`` returns: 10 ms runs of a tone, on the clock."""

    made: typing.ClassVar[list[FakeAudioStream]] = []

    def __init__(self, track: Any, sample_rate: int, num_channels: int) -> None:
        self.track, self.sample_rate, self.num_channels = track, sample_rate, num_channels
        self.closed = False
        self.sent = 0
        FakeAudioStream.made.append(self)

    def __aiter__(self) -> FakeAudioStream:
        self.start = asyncio.get_running_loop().time()
        return self

    async def __anext__(self) -> rtc.AudioFrameEvent:
        due = self.start + self.sent * 0.01
        await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        count = self.sample_rate // 100
        at = (self.sent * count + np.arange(count)) / self.sample_rate
        tone = (8000 * np.sin(2 * np.pi * TONE_HZ * at)).astype(np.int16)
        self.sent += 1
        frame = rtc.AudioFrame(np.repeat(tone, self.num_channels).tobytes(), self.sample_rate,
                               self.num_channels, count)
        return rtc.AudioFrameEvent(frame=frame)

    async def aclose(self) -> None:
        self.closed = True


def audio_factory() -> Any:
    def make(*, track: Any, sample_rate: int, num_channels: int) -> FakeAudioStream:
        return FakeAudioStream(track, sample_rate, num_channels)
    return make


VIDEO = FakeTrack(rtc.TrackKind.KIND_VIDEO, "TR_video")
AUDIO = FakeTrack(rtc.TrackKind.KIND_AUDIO, "TR_audio")
AVATAR = FakeParticipant("avatar", (VIDEO, AUDIO))


def stream_factory(**kwargs: Any) -> Any:
    def make(*, track: Any, format: Any) -> FakeStream:
        return FakeStream(track, format, **kwargs)
    return make


# --------------------------------------------------------------------------- the double vs the SDK


def test_the_double_speaks_the_installed_sdks_room_api() -> None:
    for name in ("on", "connect", "disconnect"):
        real = inspect.signature(getattr(rtc.Room, name))
        double = inspect.signature(getattr(FakeRoom, name))
        assert list(real.parameters)[: len(double.parameters)] == list(double.parameters), name
    assert isinstance(inspect.getattr_static(rtc.Room, "remote_participants"), property)
    events = set(typing.get_args(rtc.room.EventTypes))
    assert {"track_subscribed", "track_unsubscribed", "disconnected"} <= events
    assert "auto_subscribe" in inspect.signature(rtc.RoomOptions).parameters
    stream = inspect.signature(rtc.VideoStream.from_track).parameters
    assert {"track", "format"} <= set(stream)
    sound = inspect.signature(rtc.AudioStream.from_track).parameters
    assert {"track", "sample_rate", "num_channels"} <= set(sound)
    assert set(inspect.signature(rtc.AudioFrameEvent).parameters) == {"frame"}
    assert {"data", "sample_rate", "num_channels", "samples_per_channel"} <= set(
        dir(rtc.AudioFrame))
    assert {"frame", "timestamp_us", "rotation"} <= set(
        inspect.signature(rtc.VideoFrameEvent).parameters)
    assert {"identity", "track_publications"} <= set(dir(rtc.RemoteParticipant))


# --------------------------------------------------------------------------- frames


def relay_room(room: FakeRoom, settings: BridgeSettings, **kwargs: Any) -> tuple[list, Any]:
    """Run the room's frames through the pipeline; the stream's 10 frames, then the room
    disconnects (the fake streams call ``after`` when they run out)."""
    chunks: list = []
    kwargs.setdefault("audio_stream", audio_factory())
    source = room_frames(CREDENTIALS, keep_alpha=settings.codec == "png",
                         room_factory=lambda: room, **kwargs)
    stats = run(asyncio.wait_for(
        run_pipeline(source, settings, [ChunkSink(settings, chunks.append)]), 30))
    return chunks, stats


def ending(room: FakeRoom) -> Any:
    return stream_factory(after=lambda: room.emit("disconnected", 1))


def test_the_avatars_video_track_flows_through_the_pipeline() -> None:
    FakeStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (AUDIO, None, AVATAR)),
                            ("track_subscribed", (VIDEO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="h264", fps=30, width=32)
    chunks, stats = relay_room(room, settings, video_stream=ending(room))
    url, token, options = room.connected_with  # type: ignore[misc]
    assert (url, token) == (CREDENTIALS.url, CREDENTIALS.token)
    assert isinstance(options, rtc.RoomOptions) and options.auto_subscribe
    made = FakeStream.made[-1]
    assert made.track is VIDEO and made.format == rtc.VideoBufferType.I420  # audio skipped
    frames = decode_chunks(chunks)
    assert stats.frames_in == 10 and stats.frames_out == len(frames) >= 3
    assert frames[0].shape == (24, 32, 4)
    assert abs(int(frames[0][12, 16, 0]) - 190) < 20  # luma 180 (video range) → ~190 RGB
    assert room.disconnected and made.closed


def test_png_asks_livekit_for_rgba_frames() -> None:
    FakeStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="png", fps=30)
    chunks, _ = relay_room(room, settings, video_stream=ending(room))
    assert FakeStream.made[-1].format == rtc.VideoBufferType.RGBA
    assert decode_chunks(chunks)[0].shape == (48, 64, 4)


def test_a_track_published_before_the_bridge_joined_is_found() -> None:
    FakeStream.made.clear()
    room = FakeRoom(present=(AVATAR,))
    settings = BridgeSettings.from_preset(None, codec="jpeg", fps=30)
    chunks, _ = relay_room(room, settings, video_stream=ending(room))
    assert FakeStream.made[-1].track is VIDEO and chunks


def test_participant_picks_whose_video() -> None:
    FakeStream.made.clear()
    other_video = FakeTrack(rtc.TrackKind.KIND_VIDEO, "TR_other")
    viewer = FakeParticipant("someone-else", (other_video,))
    room = FakeRoom(script=[("track_subscribed", (other_video, None, viewer)),
                            ("track_subscribed", (VIDEO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="jpeg", fps=30)
    relay_room(room, settings, video_stream=ending(room), participant="avatar")
    assert FakeStream.made[-1].track is VIDEO


def test_the_source_ends_when_the_avatar_leaves() -> None:
    """track_unsubscribed for the relayed track ends the source; the room is left."""
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR))])
    leave = lambda: room.emit("track_unsubscribed", VIDEO, None, AVATAR)  # noqa: E731
    settings = BridgeSettings.from_preset(None, codec="jpeg", fps=30)
    chunks: list = []
    source = room_frames(CREDENTIALS, room_factory=lambda: room,
                         video_stream=stream_factory(frames=4, after=leave))
    stats = run(asyncio.wait_for(run_pipeline(source, settings,
                                              [ChunkSink(settings, chunks.append)]), 10))
    assert stats.frames_in == 4 and room.disconnected


def test_the_source_ends_when_the_room_disconnects() -> None:
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="jpeg", fps=30)
    source = room_frames(CREDENTIALS, room_factory=lambda: room,
                         video_stream=stream_factory(frames=3,
                                                     after=lambda: room.emit("disconnected", 1)))
    stats = run(asyncio.wait_for(run_pipeline(source, settings,
                                              [ChunkSink(settings, lambda c: None)]), 10))
    assert stats.frames_in == 3


def test_no_video_in_time_is_an_error() -> None:
    room = FakeRoom(script=[("track_subscribed", (AUDIO, None, AVATAR))])
    source = room_frames(CREDENTIALS, room_factory=lambda: room,
                         video_stream=stream_factory(), track_timeout=0.2)
    settings = BridgeSettings.from_preset(None, codec="jpeg")
    with pytest.raises(NoVideoError, match="no avatar video"):
        run(run_pipeline(source, settings, [ChunkSink(settings, lambda c: None)]))
    assert room.disconnected


def test_a_refused_connection_names_the_error_without_the_token() -> None:
    room = FakeRoom(fail=rtc.ConnectError(f"bad token {CREDENTIALS.token}"))
    source = room_frames(CREDENTIALS, room_factory=lambda: room)
    settings = BridgeSettings.from_preset(None, codec="jpeg")
    with pytest.raises(APIError) as caught:
        run(run_pipeline(source, settings, [ChunkSink(settings, lambda c: None)]))
    assert "ConnectError" in str(caught.value) and CREDENTIALS.token not in str(caught.value)
    assert CREDENTIALS.token not in repr(CREDENTIALS)


# --------------------------------------------------------------------------- the voice


def tone_peak(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency in ``samples`` (Hz)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def relay_room_to_file(room: FakeRoom, target: Any, settings: BridgeSettings,
                       **kwargs: Any) -> Any:
    kwargs.setdefault("audio_stream", audio_factory())
    source = room_frames(CREDENTIALS, room_factory=lambda: room, **kwargs)
    return run(asyncio.wait_for(run_pipeline(source, settings, [FileSink(target, settings)]),
                                30))


def test_the_avatars_voice_is_relayed_beside_its_video(tmp_path: Any) -> None:
    """The same participant's audio track, asked of LiveKit as 48 kHz mono, lands in the
    file as AAC whose length is the picture's (±0.15 s: the live clock decides both) and
    whose tone is the one the avatar spoke."""
    import av

    FakeStream.made.clear()
    FakeAudioStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR)),
                            ("track_subscribed", (AUDIO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="h264", fps=30, width=32)
    target = tmp_path / "avatar.mp4"
    stats = relay_room_to_file(room, target, settings, video_stream=ending(room))
    voice = FakeAudioStream.made[-1]
    assert (voice.track, voice.sample_rate, voice.num_channels) == (AUDIO, 48_000, 1)
    assert voice.closed and room.disconnected and stats.audio
    with av.open(str(target)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (audio.codec_context.name, audio.sample_rate, audio.channels) == ("aac", 48_000, 1)
        picture = float(video.duration * video.time_base)
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio)])
    assert abs(len(sound) / 48_000 - picture) < 0.15, (len(sound) / 48_000, picture)
    assert abs(tone_peak(sound, 48_000) - TONE_HZ) < 10


def test_no_audio_never_subscribes_to_the_voice(tmp_path: Any) -> None:
    import av

    FakeAudioStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR)),
                            ("track_subscribed", (AUDIO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="h264", fps=30, width=32, audio=False)
    target = tmp_path / "mute.mp4"
    stats = relay_room_to_file(room, target, settings, video_stream=ending(room), audio=False)
    assert not FakeAudioStream.made and not stats.audio
    with av.open(str(target)) as container:
        assert not container.streams.audio and container.streams.video[0].frames > 0


def test_a_silent_avatar_is_relayed_without_a_sound_track(tmp_path: Any) -> None:
    """No audio track within ``audio_wait``: the picture goes out alone (no empty track)."""
    import av

    FakeAudioStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (VIDEO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="h264", fps=30, width=32)
    target = tmp_path / "silent.mp4"
    stats = relay_room_to_file(room, target, settings, video_stream=ending(room),
                               audio_wait=0.2)
    assert not FakeAudioStream.made and not stats.audio and stats.frames_in == 10
    with av.open(str(target)) as container:
        assert not container.streams.audio


def test_someone_elses_voice_is_not_the_avatars(tmp_path: Any) -> None:
    other_voice = FakeTrack(rtc.TrackKind.KIND_AUDIO, "TR_other_audio")
    viewer = FakeParticipant("someone-else", (other_voice,))
    FakeAudioStream.made.clear()
    room = FakeRoom(script=[("track_subscribed", (other_voice, None, viewer)),
                            ("track_subscribed", (VIDEO, None, AVATAR)),
                            ("track_subscribed", (AUDIO, None, AVATAR))])
    settings = BridgeSettings.from_preset(None, codec="jpeg", fps=30)
    relay_room_to_file(room, tmp_path / "o.mov", settings, video_stream=ending(room))
    assert [s.track for s in FakeAudioStream.made] == [AUDIO]


def test_livekit_audio_frames_become_pyav_frames() -> None:
    samples = np.arange(-480, 480, 2, dtype=np.int16)
    stereo = rtc.AudioFrame(np.repeat(samples, 2).tobytes(), 48_000, 2, 480)
    converted = to_av_audio(stereo)
    assert (converted.samples, converted.sample_rate, converted.layout.name) == (
        480, 48_000, "stereo")
    assert converted.to_ndarray()[0, :4].tolist() == [-480, -480, -478, -478]


def test_odd_sized_frames_go_through_rgba() -> None:
    frame = i420_frame(64, 48).convert(rtc.VideoBufferType.RGBA)
    odd = rtc.VideoFrame(63, 47, rtc.VideoBufferType.RGBA,
                         np.frombuffer(frame.data, np.uint8).reshape(48, 64, 4)[:47, :63]
                         .tobytes())
    converted = to_av_frame(odd, keep_alpha=False)
    assert (converted.width, converted.height, converted.format.name) == (63, 47, "rgba")


# --------------------------------------------------------------------------- consume


def test_consume_trades_the_session_key_for_room_credentials(bundled_spec: Any) -> None:
    """Over real loopback HTTP: the key goes as the bearer, the spec's version header too."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.realtime.relay import bind

    seen: list[dict[str, str]] = []

    async def consume_route(request: Request) -> JSONResponse:
        seen.append({"path": request.url.path, **request.headers})
        if request.headers.get("authorization") != "Bearer sk-session":
            return JSONResponse({"error": "no"}, status_code=401)
        return JSONResponse({"url": "wss://lk.invalid", "token": "jwt", "roomName": "r1"})

    app = Starlette(routes=[Route("/v1/realtime_sessions/{id}/consume", consume_route,
                                  methods=["POST"])])

    async def scenario() -> tuple[RoomCredentials, Exception]:
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        client = AsyncRunwayClient("key_account_0123456789", base_url=url, spec=bundled_spec)
        try:
            got = await consume(client, {"id": "s-1", "status": "READY",
                                         "sessionKey": "sk-session"})
            try:
                await consume(client, {"id": "s-1", "status": "READY",
                                       "sessionKey": "sk-spent-0000"})
            except APIError as exc:
                refused: Exception = exc
        finally:
            await client.aclose()
            server.should_exit = True
            await serving
        return got, refused

    got, refused = run(scenario())
    assert got == RoomCredentials("wss://lk.invalid", "jwt", "r1")
    assert seen[0]["path"] == "/v1/realtime_sessions/s-1/consume"
    version = next(p for p in bundled_spec.catalog.operation(
        "realtime_sessions/{id}", "GET").params("header"))
    assert seen[0][version.name.lower()] == str(version.constant)
    assert "key_account" not in str(seen)  # the account key is not the bearer here
    assert "401" in str(refused) and "sk-spent" not in str(refused)


def test_a_session_without_a_key_cannot_be_joined(bundled_spec: Any) -> None:
    with pytest.raises(APIError, match="no sessionKey"):
        run(consume(object(), {"id": "s", "status": "READY"}))
