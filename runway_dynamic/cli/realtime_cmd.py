"""``runway realtime bridge``: relay a realtime avatar session to clients without WebRTC.

Every local check (options, the -o name, the port, the session body's pre-flight, the
optional extras being installed) happens before the first request, so bad input exits 2
with nothing sent. Under ``--sandbox`` the session lives in the in-process sandbox, the
frames are its example video and the relay stays on loopback: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runway_dynamic._constants import EXIT_INTERRUPTED
from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import PROG, current, echo, emit_json

ENV_BRIDGE_TOKEN = "RUNWAY_BRIDGE_TOKEN"
EXTRA_HINT = "pip install 'runway-dynamic[realtime]'"


def parse_bitrate(text: str | None, flag: str = "--bitrate") -> int | None:
    """``200k``, ``1.5M`` or ``200000`` bits per second."""
    if text is None:
        return None
    raw = text.strip().lower().removesuffix("bps").removesuffix("b")
    scale = {"k": 1_000, "m": 1_000_000}.get(raw[-1:], 1)
    number = raw[:-1] if scale != 1 else raw
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a rate; write e.g. 200k or 1.5M") from None
    return int(value * scale)


def require_extras(names: tuple[str, ...]) -> None:
    """Exit 2 (nothing sent) when an optional library the bridge needs is missing."""
    from importlib.util import find_spec

    missing = [name for name in names if find_spec(name) is None]
    if missing:
        raise UsageError(f"realtime bridge needs {', '.join(missing)}: {EXTRA_HINT}")


def bridge(
    session_id: Annotated[str | None, typer.Argument(
        metavar="SESSION_ID", show_default=False,
        help="The realtime session to relay (from 'runway realtime create').")] = None,
    create: Annotated[str | None, typer.Option(
        "--create", metavar="JSON|@FILE|-", show_default=False,
        help="Create the session from this 'realtime create' body first (and delete it "
             "when the bridge stops).")] = None,
    preset: Annotated[str | None, typer.Option(
        "--preset", metavar="NAME", show_default=False,
        help="Start from a preset: watch = 256x256, cover, 8 fps, H.264 fMP4, 200 kbps. "
             "Options given beside it win.")] = None,
    width: Annotated[int | None, typer.Option(
        "--width", metavar="PX", show_default=False,
        help="Output width; alone it keeps the source's aspect.")] = None,
    height: Annotated[int | None, typer.Option(
        "--height", metavar="PX", show_default=False,
        help="Output height (with --width: a fixed surface).")] = None,
    resize: Annotated[str | None, typer.Option(
        "--resize", metavar="cover|fit|stretch", show_default=False,
        help="Fill a fixed surface by a centred crop (cover, default), bars (fit) or "
             "distortion (stretch).")] = None,
    crop_top: Annotated[int | None, typer.Option(
        "--crop-top", metavar="N", show_default=False,
        help="Cut N source pixels off the top first (an avatar's border).")] = None,
    codec: Annotated[str | None, typer.Option(
        "--codec", metavar="h264|h265|jpeg|png", show_default=False,
        help="H.264/H.265 stream as fragmented MP4; JPEG/PNG as one image per frame "
             "(PNG keeps alpha). Default h264.")] = None,
    fps: Annotated[float | None, typer.Option(
        "--fps", metavar="N", show_default=False,
        help="Output frames per second (default 15; a watch wants 6-8).")] = None,
    bitrate: Annotated[str | None, typer.Option(
        "--bitrate", metavar="RATE", show_default=False,
        help="H.264/H.265 bits per second, e.g. 200k.")] = None,
    quality: Annotated[int | None, typer.Option(
        "--quality", metavar="1-100", show_default=False,
        help="JPEG quality (default 55; 45-60 suits small screens).")] = None,
    audio: Annotated[bool, typer.Option(
        "--audio/--no-audio",
        help="Relay the avatar's voice as AAC (48 kHz mono) in the fMP4 stream and in -o "
             "files; JPEG/PNG streams carry no sound. --no-audio leaves it out.")] = True,
    audio_bitrate: Annotated[str | None, typer.Option(
        "--audio-bitrate", metavar="RATE", show_default=False,
        help="AAC bits per second, e.g. 32k (default 64k).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="PATH", show_default=False,
        help="Write to this file (.mp4/.mov) instead of serving HTTP.")] = None,
    host: Annotated[str, typer.Option(
        "--host", help="Address to serve on; off loopback a bearer token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="P", help="Port (0: a free one).")] = 0,
    duration: Annotated[float | None, typer.Option(
        "--duration", metavar="SECONDS", show_default=False,
        help="Stop after this much output (default: until the session ends or Ctrl-C).")
    ] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", help="How long to wait for the session to be READY.")
    ] = 300.0,
    participant: Annotated[str | None, typer.Option(
        "--participant", metavar="IDENTITY", show_default=False,
        help="Relay this participant's video (default: the first video track).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> int:
    """Relay a realtime avatar session as fMP4 or JPEG/PNG frames over HTTP, or to a file."""
    from runway_dynamic._net import is_loopback_host
    from runway_dynamic.realtime.settings import BridgeSettings

    invocation = current()
    invocation.json = invocation.wants_json(json)
    sandbox = invocation.sandbox_url is not None
    settings = BridgeSettings.from_preset(
        preset, width=width, height=height, resize=resize, crop_top=crop_top, codec=codec,
        fps=fps, bitrate=parse_bitrate(bitrate), quality=quality, audio=audio,
        audio_bitrate=parse_bitrate(audio_bitrate, "--audio-bitrate"))
    if duration is not None and duration <= 0:
        raise UsageError("--duration must be more than 0 seconds")
    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {port}")
    if session_id is not None and create is not None:
        raise UsageError("give SESSION_ID or --create, not both")
    if session_id is None and create is None:
        raise UsageError("give a SESSION_ID (see 'runway realtime create') or --create BODY")
    if session_id is not None:
        _check_session_id(invocation, session_id)
    body = _read_create(create)
    require_extras(("av",) if sandbox else ("av", "livekit"))
    if output is None:
        require_extras(("starlette", "uvicorn"))
    token: str | None = None
    loopback = is_loopback_host(host)
    if output is None and not loopback:
        if sandbox:
            raise UsageError(f"--host {host}: under --sandbox the bridge serves loopback "
                             "only (nothing leaves the machine)")
        token = os.environ.get(ENV_BRIDGE_TOKEN) or None
    from runway_dynamic.realtime.bridge import check_output

    target = check_output(output, settings) if output is not None else None
    relay = None
    if target is None:
        from runway_dynamic.realtime.relay import Relay, bind, new_token

        if not loopback and token is None:
            token = new_token()
            sys.stderr.write(f"{PROG}: serving off loopback; clients must send "
                             f"'Authorization: Bearer {token}' (set {ENV_BRIDGE_TOKEN} to "
                             "choose it)\n")
        relay = Relay(settings, bind(host, port), token)
    from runway_dynamic.cli._clients import make_async_client

    client = make_async_client(invocation)
    return asyncio.run(_run(client, session_id, settings, body=body, target=target,
                            relay=relay, sandbox=sandbox, duration=duration, timeout=timeout,
                            participant=participant))


def _check_session_id(invocation: Any, session_id: str) -> None:
    """The id against the session GET's path parameter schema (a uuid pattern today)."""
    import re

    from runway_dynamic.realtime.bridge import SESSION_ENDPOINT

    operation = invocation.spec().catalog.operation(SESSION_ENDPOINT, "GET")
    if operation is None:
        raise UsageError(f"this spec has no GET {SESSION_ENDPOINT}: no realtime sessions")
    for param in operation.params("path"):
        pattern = (param.schema or {}).get("pattern") if hasattr(param, "schema") else None
        if isinstance(pattern, str) and not re.search(pattern, session_id):
            raise UsageError(f"SESSION_ID {session_id!r} is not a session id (the spec wants "
                             f"it to match {pattern})")


def _read_create(raw: str | None) -> Any:
    if raw is None:
        return None
    from runway_dynamic.cli.call import read_body

    try:
        body = read_body(raw)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--body", "--create")) from None
    if not isinstance(body, dict):
        raise UsageError("--create: give a JSON object (the 'realtime create' body)")
    return body


async def _run(client: Any, session_id: str | None, settings: Any, *, body: Any, target: Any,
               relay: Any, sandbox: bool, duration: float | None, timeout: float,
               participant: str | None) -> int:
    from runway_dynamic.realtime.bridge import bridge

    invocation = current()
    loop = asyncio.get_running_loop()
    stop_event = asyncio.Event()
    started = False
    stopped = False
    work: asyncio.Future[Any] | None = None

    def stop() -> None:
        """Ctrl-C: once frames flow, end the relay cleanly; before that, give up waiting."""
        nonlocal stopped
        stopped = True
        if started:
            stop_event.set()
        elif work is not None:
            work.cancel()

    seen: set[str] = set()

    def on_event(name: str, details: Any) -> None:
        nonlocal started
        if name == "started":
            started = True
        if name == "waiting":
            if details.get("status") in seen:
                return
            seen.add(details.get("status"))
        if name == "serving":
            echo(details["url"])  # the one line a script reads
            sys.stdout.flush()
        if invocation.json:
            return
        text = {
            "created": f"created realtime session {details.get('id')}",
            "waiting": f"session {details.get('status')} ({details.get('elapsed')} s)",
            "ready": "session READY",
            "joined": ("taking frames from the sandbox's example video (no LiveKit room "
                       "exists there)" if details.get("sandbox") else "joining the room"),
            "serving": f"serving {details.get('url')} (Ctrl-C to stop)",
        }.get(name)
        if text:
            sys.stderr.write(f"{PROG}: {text}\n")
            sys.stderr.flush()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not main thread
            loop.add_signal_handler(sig, stop)
    result = None
    work = asyncio.ensure_future(bridge(
        client, session_id, settings, output=target, relay=relay, create=body,
        sandbox=sandbox, duration=duration, stop=stop_event, timeout=timeout,
        participant=participant, on_event=on_event))
    try:
        result = await work
    except asyncio.CancelledError:
        if not stopped:
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await client.aclose()
    if result is None:
        sys.stderr.write(f"{PROG}: interrupted before the relay started\n")
        return EXIT_INTERRUPTED
    stats = result.stats
    summary = {
        "session": result.session_id,
        "frames": stats.frames_out,
        "seconds": round(stats.output_seconds, 2),
        "size": list(stats.size) if stats.size else None,
        "codec": settings.codec,
        "audio": "aac" if stats.audio else None,
        "audio_seconds": round(stats.audio_seconds, 2),
        "output": str(target) if target is not None and target.exists() else None,
        "stopped": "interrupted" if stopped else "ended",
    }
    if invocation.json:
        emit_json(summary)
    else:
        where = f" to {summary['output']}" if summary["output"] else ""
        sound = " with sound" if stats.audio else ""
        sys.stderr.write(f"{PROG}: bridge stopped ({summary['stopped']}): "
                         f"{summary['frames']} frames, {summary['seconds']} s{sound}{where}\n")
    return 0
