"""The HTTP relay: one encoded stream, any number of clients, none able to stall the rest.

``GET /stream`` answers a fragmented MP4 (``video/mp4``: the header, then fragments from
the next key frame on) or, for JPEG/PNG, ``multipart/x-mixed-replace`` with one image per
part; ``GET /frame`` answers the newest image alone (JPEG/PNG) and ``GET /status`` a JSON
summary. Each client has a bounded queue: a client that falls behind loses frames (for MP4,
the rest of the group up to the next key frame), never the others' frames.

Served by uvicorn on a socket bound before the bridge starts (a taken port fails early).
Off loopback a bearer token of the bridge's own is required on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.realtime.pipeline import Chunk
from runway_dynamic.realtime.settings import BridgeSettings

BOUNDARY = "runway-frame"
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
#: Chunks a client may have waiting before it starts losing them (~2 s at 8 fps).
CLIENT_QUEUE = 16
_END = Chunk("end", b"")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a one-line :class:`UsageError` (exit 2: nothing was sent)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise UsageError(f"--host {host!r}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def new_token() -> str:
    return secrets.token_urlsafe(24)


class _Client:
    __slots__ = ("queue", "synced")

    def __init__(self, synced: bool) -> None:
        self.queue: asyncio.Queue[Chunk] = asyncio.Queue(CLIENT_QUEUE)
        #: For MP4: the client has a key frame to start from (else it waits for one).
        self.synced = synced


class Broadcaster:
    """Fans chunks out to client queues; keeps the MP4 header and the newest image."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self.init: Chunk | None = None
        self.latest: Chunk | None = None
        self.clients: set[_Client] = set()
        self.closed = False
        self.sent = 0
        self.dropped = 0

    def publish(self, chunk: Chunk) -> None:
        if chunk.kind == "init":
            self.init = chunk
            return
        self.latest = chunk
        for client in list(self.clients):
            if not client.synced:
                if not chunk.keyframe:
                    continue
                client.synced = True
            if client.queue.full():
                self.dropped += 1
                if chunk.kind == "fragment":
                    # A gap in an H.264 group breaks the picture: skip to the next key frame.
                    client.synced = False
                    _clear(client.queue)
                    continue
                client.queue.get_nowait()  # images stand alone: drop the oldest
            client.queue.put_nowait(chunk)
            self.sent += 1

    def close(self) -> None:
        """End every client's stream (the bridge is stopping)."""
        self.closed = True
        for client in self.clients:
            _clear(client.queue)
            client.queue.put_nowait(_END)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[_Client]:
        client = _Client(synced=not self.settings.is_video)
        self.clients.add(client)
        if self.closed:
            client.queue.put_nowait(_END)
        try:
            yield client
        finally:
            self.clients.discard(client)


def _clear(queue: asyncio.Queue[Chunk]) -> None:
    while not queue.empty():
        queue.get_nowait()


def build_app(broadcaster: Broadcaster, token: str | None) -> Any:
    """The Starlette app of the relay."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    settings = broadcaster.settings
    image_type = IMAGE_TYPES.get(settings.codec)

    def authorised(request: Request) -> bool:
        if token is None:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def refused() -> Response:
        return JSONResponse({"error": "a bearer token is required (see the bridge's output)"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    async def chunks(client: _Client) -> AsyncIterator[Chunk]:
        while True:
            chunk = await client.queue.get()
            if chunk is _END:
                return
            yield chunk

    async def stream(request: Request) -> Response:
        if not authorised(request):
            return refused()
        if broadcaster.closed:
            return JSONResponse({"error": "the bridge is stopping"}, status_code=503)

        async def mp4_body() -> AsyncIterator[bytes]:
            async with broadcaster.subscribe() as client:
                while broadcaster.init is None and not broadcaster.closed:
                    await asyncio.sleep(0.02)
                if broadcaster.init is not None:
                    yield broadcaster.init.data
                async for chunk in chunks(client):
                    yield chunk.data

        async def multipart_body() -> AsyncIterator[bytes]:
            async with broadcaster.subscribe() as client:
                async for chunk in chunks(client):
                    yield (f"--{BOUNDARY}\r\nContent-Type: {image_type}\r\n"
                           f"Content-Length: {len(chunk.data)}\r\n\r\n").encode()
                    yield chunk.data + b"\r\n"

        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if settings.is_video:
            return StreamingResponse(mp4_body(), media_type="video/mp4", headers=headers)
        return StreamingResponse(
            multipart_body(), headers=headers,
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}")

    async def frame(request: Request) -> Response:
        if not authorised(request):
            return refused()
        if image_type is None:
            return JSONResponse({"error": f"{settings.codec} is a video stream: read /stream"},
                                status_code=404)
        latest = broadcaster.latest
        if latest is None:
            return JSONResponse({"error": "no frame yet"}, status_code=503,
                                headers={"Retry-After": "1"})
        return Response(latest.data, media_type=image_type, headers={"Cache-Control": "no-store"})

    async def status(request: Request) -> Response:
        if not authorised(request):
            return refused()
        return JSONResponse({"codec": settings.codec, "clients": len(broadcaster.clients),
                             "sent": broadcaster.sent, "dropped": broadcaster.dropped,
                             "settings": settings.describe()})

    return Starlette(routes=[Route("/stream", stream), Route("/frame", frame),
                             Route("/status", status)])


class Relay:
    """The relay's server on an already bound socket; ``deliver`` feeds it chunks."""

    def __init__(self, settings: BridgeSettings, sock: socket.socket,
                 token: str | None = None) -> None:
        import uvicorn

        self.settings = settings
        self.socket = sock
        self.token = token
        self.broadcaster = Broadcaster(settings)
        config = uvicorn.Config(build_app(self.broadcaster, token), log_level="warning",
                                lifespan="off", access_log=False, timeout_graceful_shutdown=2)
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def deliver(self, chunk: Chunk) -> None:
        self.broadcaster.publish(chunk)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.socket]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        self.broadcaster.close()
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.socket.close()


def _quiet_server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn without its signal handlers: the bridge decides what Ctrl-C does."""

        def install_signal_handlers(self) -> None:
            return None

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    return QuietServer


def _QuietServer(config: Any) -> Any:
    return _quiet_server_class()(config)
