"""The bridge: a realtime session's avatar, relayed to clients that cannot speak WebRTC.

Steps: (create the session when asked) → wait until it is READY (the client's resource
waiter) → take its frames (the LiveKit room, or the sandbox's local source) → the
pipeline → a file or the HTTP relay. A session the bridge created is deleted when the
bridge stops, so an idle avatar is not left running.

>>> async with AsyncRunwayClient() as client:
...     result = await bridge(client, session_id, BridgeSettings.from_preset("watch"),
...                           output="watch.mp4", duration=30)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import DEFAULT_WAIT_TIMEOUT
from runway_dynamic._exceptions import APIError, PreflightError, UsageError
from runway_dynamic.realtime.settings import FILE_SUFFIXES, BridgeSettings
from runway_dynamic.tasks import check_outcome

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.realtime.audio import SourceAudio
    from runway_dynamic.realtime.pipeline import PipelineStats, SourceFrame
    from runway_dynamic.realtime.relay import Relay

logger = logging.getLogger("runway_dynamic.realtime")

SESSIONS_ENDPOINT = "realtime_sessions"
SESSION_ENDPOINT = "realtime_sessions/{id}"
READY = "READY"

#: ``on_event(name, details)``: ``created``, ``waiting``, ``ready``, ``joined``, ``serving``
#: (the relay's URL), ``started`` (frames flow from here on).
EventCallback = Callable[[str, Mapping[str, Any]], None]


@dataclass
class BridgeResult:
    session_id: str
    stats: PipelineStats
    output: Path | None = None
    url: str | None = None
    created: bool = False
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def check_output(path: str | Path, settings: BridgeSettings) -> Path:
    """The ``-o`` target, checked before anything is sent (suffix, folder)."""
    target = Path(path)
    allowed = FILE_SUFFIXES[settings.codec]
    if target.suffix.lower() not in allowed:
        raise UsageError(f"-o {target}: {settings.codec} is written as "
                         f"{' or '.join(allowed)}; name the file so")
    if target.is_dir():
        raise UsageError(f"-o {target}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"-o {target}: folder {target.parent} does not exist")
    return target


def check_create_body(client: AsyncRunwayClient, body: Mapping[str, Any]) -> None:
    """Pre-flight the session body against the spec (nothing is sent when it fails)."""
    from runway_dynamic.validation import errors

    problems = errors(client.spec.preflight(SESSIONS_ENDPOINT, dict(body), method="POST"))
    if problems:
        raise PreflightError(SESSIONS_ENDPOINT, problems)


async def wait_until_ready(client: AsyncRunwayClient, session_id: str, *,
                           timeout: float | None = DEFAULT_WAIT_TIMEOUT,
                           on_event: EventCallback | None = None) -> Mapping[str, Any]:
    """The session once it is READY; FAILED/CANCELLED raise, an ended session too."""

    def progress(status: str, _progress: float | None, elapsed: float) -> None:
        if on_event is not None:
            on_event("waiting", {"status": status, "elapsed": round(elapsed, 1)})

    session = await client.wait_for(SESSION_ENDPOINT, session_id, timeout=timeout,
                                    on_progress=progress)
    check_outcome(session, label="realtime session")
    status = str(session.get("status") or "")
    if status.upper() != READY:
        raise APIError(f"realtime session {session_id} is {status or 'in an unknown state'}, "
                       "not READY: it cannot be joined (start a new one)")
    return session


async def bridge(
    client: AsyncRunwayClient,
    session_id: str | None,
    settings: BridgeSettings,
    *,
    output: str | Path | None = None,
    relay: Relay | None = None,
    create: Mapping[str, Any] | None = None,
    sandbox: bool = False,
    source: AsyncIterator[SourceFrame | SourceAudio] | None = None,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    participant: str | None = None,
    on_event: EventCallback | None = None,
) -> BridgeResult:
    """Relay a session's avatar to ``output`` (a file) or ``relay`` (HTTP clients).

    ``create``: a ``realtime_sessions`` body; the session is made (and later deleted) here.
    ``sandbox``: the API is the local sandbox, so frames come from its example video and
    no room is joined. ``source`` replaces the frames altogether (tests, other inputs).
    Setting ``stop`` (Ctrl-C) ends the relay cleanly: the file is finished, clients'
    streams end, and the result is returned; cancelling the task does the same cleanup
    and raises.
    """
    from runway_dynamic.realtime.pipeline import ChunkSink, FileSink, PipelineStats, run_pipeline

    if (output is None) == (relay is None):
        raise UsageError("give the bridge exactly one output: a file or a relay")
    target = check_output(output, settings) if output is not None else None
    if create is not None:
        check_create_body(client, create)
    elif not session_id:
        raise UsageError("give a SESSION_ID, or a session body to create one")

    def emit(name: str, **details: Any) -> None:
        if on_event is not None:
            on_event(name, details)

    created = False
    result = BridgeResult(session_id or "", PipelineStats())
    try:
        if create is not None:
            answer = await client.request(SESSIONS_ENDPOINT, method="POST", body=dict(create))
            session_id = str((answer or {}).get("id") or "")
            if not session_id:
                raise APIError("creating the realtime session answered no id")
            created = True
            result.session_id, result.created = session_id, True
            emit("created", id=session_id)
        assert session_id is not None
        session = await wait_until_ready(client, session_id, timeout=timeout, on_event=on_event)
        emit("ready", id=session_id)
        if target is not None:
            sink: Any = FileSink(target, settings)
        else:
            assert relay is not None
            sink = ChunkSink(settings, relay.deliver)
        frames = source
        if frames is None:
            frames = await _session_frames(client, session, settings, sandbox=sandbox,
                                           participant=participant, audio=sink.carries_audio)
        emit("joined", id=session_id, sandbox=sandbox)
        if relay is not None:
            await relay.start()
            result.url = relay.url
            emit("serving", url=relay.url + "/stream")
        emit("started", output=str(target) if target is not None else None)
        try:
            result.stats = await run_pipeline(frames, settings, [sink], duration=duration,
                                              stop=stop)
        finally:
            if relay is not None:
                await relay.stop()
        if target is not None and target.exists():
            result.output = target
        return result
    finally:
        if created and session_id:
            result.deleted = await _delete_quietly(client, session_id)


async def _session_frames(client: AsyncRunwayClient, session: Mapping[str, Any],
                          settings: BridgeSettings, *, sandbox: bool, participant: str | None,
                          audio: bool) -> AsyncIterator[SourceFrame | SourceAudio]:
    """The session's pictures, and its sound when the output carries it (else the sound
    is not even subscribed to or decoded)."""
    if sandbox:
        from runway_dynamic.realtime.sources import sandbox_frames

        return sandbox_frames(str(session["id"]), audio=audio)
    from runway_dynamic.realtime.room import consume, room_frames

    credentials = await consume(client, session)
    return room_frames(credentials, keep_alpha=settings.codec == "png", audio=audio,
                       participant=participant)


async def _delete_quietly(client: AsyncRunwayClient, session_id: str) -> bool:
    with contextlib.suppress(Exception):
        await asyncio.shield(client.request(SESSION_ENDPOINT, method="DELETE",
                                            path_params={"id": session_id}))
        return True
    logger.warning("could not delete realtime session %s; it ends at its maxDuration",
                   session_id)
    return False
