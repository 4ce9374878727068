"""Serving: uvicorn on a socket bound at once, its event loop in a thread of its own.

The socket is bound and listening when :class:`SandboxServer` is made, so the port (and the
base URL) is known before anything is imported or served, and a client may connect at any
time after: the kernel holds the connection until it is accepted. :meth:`~SandboxServer.
start` runs uvicorn's ``Server`` (HTTP parsed by httptools, or h11 where httptools is
missing: :func:`http_implementation`) on that socket in a daemon thread and returns once it
serves; with ``lazy=True`` it returns at once and the thread waits (without holding the
GIL) for the first client before uvicorn and the app are made: a
``runway --sandbox`` command that never sends a request pays for none of it (the port is
bound with the C module ``_socket``: ``socket.py`` and its enum tables, ~1.6 ms to import,
load only when serving starts).
:meth:`~SandboxServer.stop` closes every connection (requests still waiting, e.g. on a
``delay`` fault, end as dropped connections) and frees the port.
"""

from __future__ import annotations

import _socket
import contextlib
import select
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    import socket

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
    """The ASGI app that ``app_factory`` makes, served by uvicorn on ``host:port`` (port 0:
    a free one). The factory is called once, in the server thread, when a client comes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False,
                 app_factory: Callable[[], ASGIApp]) -> None:
        self.app_factory = app_factory
        self.verbose = verbose
        self._family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
        # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
        # so, and uvicorn writes headers and body apart (a 40 ms stall per answer).
        self._listener: Any = _socket.socket(self._family, _socket.SOCK_STREAM,
                                             _socket.IPPROTO_TCP)
        try:
            self._listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(BACKLOG)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]
        self._wake_reader, self._wake_writer = _socket_pair()
        self._serving_socket: socket.socket | None = None
        self._stopping = threading.Event()
        self._serving = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closed = False

    def start(self, *, lazy: bool = False) -> None:
        """Serve from a daemon thread; returns once it serves, or at once when ``lazy``
        (the server is then made when the first client connects)."""
        if self._closed:
            raise RuntimeError("this server was stopped; create a new one")
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(lazy,), daemon=True,
                                        name=f"runway-sandbox:{self.port}")
        self._thread.start()
        if not lazy:
            self._serving.wait()
            if self._failure is not None:
                self.stop()
                raise RuntimeError(f"the sandbox could not start: {self._failure}")

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop; Ctrl-C while it is still starting
        is a normal stop too (the port is bound before it serves, so a client may already
        be answered when the interrupt arrives)."""
        try:
            self.start()
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close open connections and free the port."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            for sock in (self._serving_socket or self._listener, self._wake_reader,
                         self._wake_writer):
                sock.close()

    def _listening_socket(self) -> socket.socket:
        """The listening socket as ``socket.socket`` (what uvicorn serves on), made from the
        bound one when serving starts."""
        if self._serving_socket is None:
            import socket

            self._serving_socket = socket.socket(self._family, socket.SOCK_STREAM,
                                                 socket.IPPROTO_TCP,
                                                 fileno=self._listener.detach())
        return self._serving_socket

    # ---- the server thread

    def _run(self, lazy: bool) -> None:
        try:
            if lazy:
                readable, _, _ = select.select([self._listener, self._wake_reader], [], [])
                if self._listener not in readable or self._stopping.is_set():
                    return
            import asyncio  # only now: a lazy sandbox nobody calls never loads it

            asyncio.run(self._serve())
        except Exception as exc:
            self._failure = exc
            if lazy:  # nobody to raise to: say it, and refuse clients from now on
                print(f"runway sandbox: the server failed: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
            with contextlib.suppress(OSError):
                (self._serving_socket or self._listener).shutdown(_socket.SHUT_RDWR)
        finally:
            self._serving.set()

    async def _serve(self) -> None:
        import asyncio

        import uvicorn

        app: Any = self.app_factory()  # an ASGI 3 callable; uvicorn's own types are narrower
        config = uvicorn.Config(
            app, http=http_implementation(), ws="none", lifespan="off", interface="asgi3",
            log_config=_log_config() if self.verbose else None,
            access_log=self.verbose, proxy_headers=False, server_header=False,
            headers=[("Server", SERVER_HEADER)], backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        server = uvicorn.Server(config)
        config.load()
        server.lifespan = config.lifespan_class(config)
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stopping.is_set():  # stop() ran before the loop existed
            return
        await server.startup(sockets=[self._listening_socket()])
        self._serving.set()
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
    import asyncio

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


def http_implementation() -> str:
    """uvicorn's HTTP protocol: ``httptools`` (llhttp, in C) where it is importable, else
    ``h11`` (pure Python). Parsing and writing HTTP with h11 was a third of the sandbox's
    CPU per request, and kept it above a third of a client's (``benchmarks/bench_sandbox.py``);
    the two answer alike (``tests/sandbox/test_sandbox_http.py`` runs both)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up: one line per request on stderr (``--verbose``)."""
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG


def _socket_pair() -> tuple[Any, Any]:
    """A connected pair to wake the lazy server's wait: ``_socket``'s own where it has one
    (POSIX), else ``socket.socketpair``."""
    pair = getattr(_socket, "socketpair", None)
    if pair is not None:
        return pair()
    import socket

    return socket.socketpair()
