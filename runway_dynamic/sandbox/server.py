"""Serving: uvicorn on a socket bound at once, its event loop in a thread of its own.

The socket is bound and listening when :class:`SandboxServer` is made, so the port (and the
base URL) is known before anything is imported or served. :meth:`~SandboxServer.start` runs
uvicorn's ``Server`` on that socket in a daemon thread and returns once it serves;
:meth:`~SandboxServer.stop` closes every connection (requests still waiting, e.g. on a
``delay`` fault, end as dropped connections) and frees the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runway_dynamic.sandbox.asgi import ASGIApp

#: Pending connections the kernel queues: a thousand clients may connect at once.
BACKLOG = 2048
#: Idle keep-alive connections stay open this long. Longer than any client's pool keeps
#: them (httpx: 5 s), so that the client, never the server, closes an idle connection: a
#: request sent on a connection the server is closing at that instant is lost.
KEEP_ALIVE_SECONDS = 120
SERVER_HEADER = "runway-sandbox"
_TICK_SECONDS = 1.0  # how often the Date header is renewed


class SandboxServer:
    """An ASGI app served by uvicorn on ``host:port`` (port 0: a free one); set ``app``
    before :meth:`start` (the port is known first, for an app that needs its base URL)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
                 app: ASGIApp | None = None) -> None:
        self.app = app
        self.verbose = verbose
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
        # so, and uvicorn writes headers and body apart (a 40 ms stall per answer).
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(BACKLOG)
        except OSError:
            self.socket.close()
            raise
        self.port: int = self.socket.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._closed = False

    def start(self) -> None:
        """Serve in a daemon thread; returns when the server accepts requests."""
        if self._closed:
            raise RuntimeError("this server was stopped; create a new one")
        if self._thread is not None:
            return
        if self.app is None:
            raise RuntimeError("no ASGI app to serve")
        self._thread = threading.Thread(target=self._run, name=f"runway-sandbox:{self.port}",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            self._close()
            raise RuntimeError(f"the sandbox could not start: {self._failure}") from self._failure

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close open connections and free the port."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
            thread.join(timeout)
        self._thread = None
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.socket.close()

    # ---- the server thread

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start() when it happens before serving
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        import uvicorn

        app: Any = self.app  # an ASGI 3 callable; uvicorn's own types are narrower
        config = uvicorn.Config(
            app, http="h11", ws="none", lifespan="off", interface="asgi3",
            log_config=_log_config() if self.verbose else None,
            access_log=self.verbose, proxy_headers=False, server_header=False,
            headers=[("Server", SERVER_HEADER)], backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        server = uvicorn.Server(config)
        config.load()
        server.lifespan = config.lifespan_class(config)
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        await server.startup(sockets=[self.socket])
        self._ready.set()
        try:
            while not self._stop.is_set():
                await server.on_tick(0)  # renews the Date header
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), _TICK_SECONDS)
        finally:
            await _shutdown(server)


async def _shutdown(server: Any) -> None:
    """Close the listener and every connection now; requests still running are cancelled
    (the app drops their connections): what stopping a rehearsal means."""
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    tasks = list(server.server_state.tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2.0)
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        if transport is not None:
            transport.close()


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up: one line per request on stderr (``--verbose``)."""
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG
